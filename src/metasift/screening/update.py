"""Scoring a living review's new records with the project's screening model.

:func:`score_new_records` is the one place an update's records get their scores: the model of
the review (its features fitted on the project's records, its classifier trained on every
title/abstract decision of the earlier rounds) ranks the new records, and the earlier records'
out-of-fold scores calibrate those scores into probabilities (see
:mod:`metasift.screening.living` for the threshold and the estimate). It scores in this
process; a scale-out scorer can stand behind the same signature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from metasift.errors import MetasiftError
from metasift.screening.living import Calibration, Expected, score_update
from metasift.screening.models import get_model
from metasift.screening.session import build_corpus
from metasift.screening.settings import screening_settings
from metasift.screening.store import relevance_labels

if TYPE_CHECKING:
    from metasift.project import Project


@dataclass(frozen=True)
class NewScores:
    """The new records' scores and what they amount to."""

    record_ids: list[int]
    scores: np.ndarray
    probabilities: np.ndarray
    threshold: float  # calibrated probability; see living.inclusion_threshold
    target_recall: float
    expected: Expected
    calibration: Calibration

    def above_threshold(self) -> list[tuple[int, float]]:
        """(record id, probability) of the records at or above the threshold, best first."""
        order = np.argsort(-self.probabilities, kind="stable")
        return [
            (self.record_ids[i], float(self.probabilities[i]))
            for i in order
            if self.probabilities[i] >= self.threshold
        ]


def score_new_records(project: Project, ids: list[int]) -> NewScores:
    """Score the records ``ids`` (an update's new records) with the project's model.

    The classifier is trained on the title/abstract decisions on every other screenable
    record (:func:`~metasift.screening.store.relevance_labels`), and calibrated
    as :func:`metasift.screening.living.score_update` says.

    Args:
        project: the open project (store, protocol and its screening settings).
        ids: the new records' ids; each must be screenable (not a removed duplicate).
    """
    settings = screening_settings(project.protocol)
    corpus = build_corpus(project.engine, project.protocol)
    model = get_model(settings.model, len(corpus.record_ids))
    missing = [rid for rid in ids if rid not in corpus.position]
    if missing:
        raise MetasiftError(
            f"records {', '.join(map(str, missing[:10]))} are not among the records to screen "
            "(removed as duplicates?); score only the update's new records."
        )
    new = np.array([corpus.position[rid] for rid in ids], dtype=np.int64)
    relevance = relevance_labels(project.engine)
    labels = np.array([relevance.get(rid, -1) for rid in corpus.record_ids], dtype=np.int64)
    labels[new] = -1
    scored = score_update(
        corpus.X, labels, new, model, seed=settings.seed, target_recall=settings.target_recall
    )
    return NewScores(record_ids=list(ids), target_recall=settings.target_recall, **scored)
