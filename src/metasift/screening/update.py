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
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.model_selection import StratifiedKFold

from metasift.errors import MetasiftError
from metasift.screening.learner import fit_scores
from metasift.screening.living import (
    Calibration,
    Expected,
    expected_relevant,
    fit_calibration,
    inclusion_threshold,
)
from metasift.screening.models import get_model
from metasift.screening.session import build_corpus
from metasift.screening.settings import screening_settings
from metasift.screening.store import TITLE_ABSTRACT, standing_decisions

if TYPE_CHECKING:
    from metasift.project import Project

FOLDS = 5


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


def _relevance(project: Project) -> dict[int, int]:
    """Record id -> 1 when a reviewer's standing title/abstract decision includes it (or says
    maybe: it goes on to full text), else 0."""
    out: dict[int, int] = {}
    for d in standing_decisions(project.engine, stage=TITLE_ABSTRACT):
        out[d.record_id] = max(out.get(d.record_id, 0), int(d.decision != "exclude"))
    return out


def _scores(X: Any, labelled: np.ndarray, y: np.ndarray, model: Any, seed: int) -> np.ndarray:
    fitted = fit_scores(X, labelled, y, model, seed, None)
    if fitted is None or fitted[0] != "classifier":
        raise MetasiftError(
            "the review's decisions include no record or exclude none: the model cannot be "
            "trained to score new records."
        )
    return fitted[1]


def score_new_records(project: Project, ids: list[int]) -> NewScores:
    """Score the records ``ids`` (an update's new records) with the project's model.

    The classifier is trained on the title/abstract decisions on every other screenable
    record. For calibration, those records' scores come out of :data:`FOLDS` stratified folds
    (each labelled record scored by a model that did not see it); records of earlier rounds
    left unscreened when screening stopped count as irrelevant, as the PRISMA diagram counts
    them (marked ineligible by the stopping rule), and are scored by the full model.

    Args:
        project: the open project (store, protocol and its screening settings).
        ids: the new records' ids; each must be screenable (not a removed duplicate).
    """
    settings = screening_settings(project.protocol)
    model = get_model(settings.model)
    corpus = build_corpus(project.engine, project.protocol)
    missing = [rid for rid in ids if rid not in corpus.position]
    if missing:
        raise MetasiftError(
            f"records {', '.join(map(str, missing[:10]))} are not among the records to screen "
            "(removed as duplicates?); score only the update's new records."
        )
    new = np.array([corpus.position[rid] for rid in ids], dtype=np.int64)
    is_new = np.zeros(len(corpus.record_ids), dtype=bool)
    is_new[new] = True
    relevance = _relevance(project)
    earlier = np.flatnonzero(~is_new)
    labels = np.array([relevance.get(corpus.record_ids[i], -1) for i in earlier])
    labelled, y = earlier[labels >= 0], labels[labels >= 0]
    full = _scores(corpus.X, labelled, y, model, settings.seed)

    # Out-of-fold scores of the labelled records, for calibration.
    folds = min(FOLDS, int(y.sum()), int(len(y) - y.sum()))
    held_out = full[labelled].copy()
    if folds >= 2:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=settings.seed)
        for train, test in splitter.split(labelled, y):
            held_out[test] = _scores(corpus.X, labelled[train], y[train], model, settings.seed)[
                labelled[test]
            ]
    unlabelled = earlier[labels < 0]
    calibration = fit_calibration(
        np.concatenate([held_out, full[unlabelled]]),
        np.concatenate([y, np.zeros(len(unlabelled), dtype=np.int64)]),
    )
    probabilities = calibration.probabilities(full[new])
    threshold = inclusion_threshold(
        calibration.probabilities(held_out[y == 1]), settings.target_recall
    )
    return NewScores(
        record_ids=list(ids),
        scores=full[new],
        probabilities=probabilities,
        threshold=threshold,
        target_recall=settings.target_recall,
        expected=expected_relevant(probabilities),
        calibration=calibration,
    )
