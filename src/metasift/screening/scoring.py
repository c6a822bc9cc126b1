"""A project's screening model, frozen, to score records that are not in the project.

A living review ranks each week's new records with the model of a finished screening, and at
PubMed scale the records come in shards read on many machines. :func:`train_project_model`
fits the project's model on all of its records and decisions once, as the learner would at
its next retrain, and freezes it into a :class:`ProjectModel`: fitted feature extractors and,
per group of members that share features, one linear function. :func:`score_records` applies
it to any records; the result of each record depends on that record alone, so scoring in one
process, in chunks, or on a cluster of workers gives the same numbers, bit for bit.

The features need no shared vocabulary: hashed word n-grams (:class:`HashedTfidf`), whose
columns and inverse document frequencies are frozen from the project's records; an n-gram
the project never saw weighs nothing, as in the project's own ranking. The default model
already works this way, so it is the very model the project ranks with. A model whose
features carry a vocabulary (``words``, ``chars``) or whose classifier is not linear is
scored by its hashed twin (:func:`hashed_twin`): the same text fields and n-grams, hashed,
with a linear classifier, trained on the project's labels; :attr:`ProjectModel.model` names
what was trained.

Scores are the mean of the members' standardised scores (each member's mean and deviation over
the project's records, as the learner's ranking uses): 0 is a typical project record, and a
new record above the project's included records' scores ranks where they did.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from metasift.errors import MetasiftError
from metasift.records.model import Record
from metasift.screening.features import record_texts
from metasift.screening.learner import LINEAR, _prepare_all, linear_ensemble_weights
from metasift.screening.models import ScreeningModel

HASHED = ("hashed-words", "hashed-words+stems", "embeddings")


@dataclass(frozen=True)
class ScoreGroup:
    """Members that share one feature extractor, collapsed to ``X @ weights + offset``."""

    extractor: Any
    weights: np.ndarray
    offset: float
    share: float  # the group's members as a share of all members


@dataclass(frozen=True)
class ProjectModel:
    """A project's screening model trained on all its decisions, ready to score new records.

    ``model`` is the screening model trained (the project's own, or its hashed twin: see
    ``ranks_with``); ``included_scores`` are the scores of the project's relevant records
    (their lowest is a natural threshold for new ones).
    """

    model: str
    ranks_with: str
    text_fields: tuple[str, ...]
    groups: tuple[ScoreGroup, ...]
    n_records: int
    n_labelled: int
    n_included: int
    seed: int
    included_scores: np.ndarray

    @property
    def twin(self) -> bool:
        """Whether the model scored is a hashed twin of the one the project ranks with."""
        return self.model != self.ranks_with

    def __repr__(self) -> str:
        kind = f"hashed twin of {self.ranks_with}" if self.twin else "the project's model"
        return (
            f"ProjectModel({self.model!r}, {kind}; trained on {self.n_labelled} decisions "
            f"({self.n_included} relevant) over {self.n_records} records, seed {self.seed})"
        )


def _hashed_member(member: ScreeningModel) -> ScreeningModel:
    features, params = member.features, dict(member.feature_params)
    if features not in HASHED:
        # The twin hashes the same word n-grams; vocabulary-only settings have no meaning.
        keep = ("ngram_max", "stop_words", "max_df", "stem")
        params = {k: v for k, v in params.items() if k in keep}
        features = "hashed-words"
    classifier = member.classifier if member.classifier in LINEAR else "logistic"
    params_c = member.classifier_params if classifier == member.classifier else {}
    return dataclasses.replace(
        member,
        features=features,
        feature_params=params,
        classifier=classifier,
        classifier_params=params_c,
    )


def hashed_twin(model: ScreeningModel) -> ScreeningModel:
    """``model`` itself when it can score records one by one without a vocabulary (hashed or
    embedded features, linear classifiers), else a twin with hashed word n-grams and, for a
    non-linear classifier, logistic regression.

    Args:
        model: the project's screening model.
    """
    members = model.members or (model,)
    twins = tuple(_hashed_member(m) for m in members)
    if twins == members:
        return model
    name = f"{model.name}/hashed"
    if model.members:
        return dataclasses.replace(model, name=name, members=twins)
    return dataclasses.replace(twins[0], name=name)


def train_project_model(
    records: Sequence[Record], labels: dict[int, int], model: ScreeningModel, seed: int = 0
) -> ProjectModel:
    """Fit ``model`` (or its :func:`hashed_twin`) on a project's records and decisions.

    Args:
        records: every screenable record of the project (the features are fitted on all).
        labels: position in ``records`` -> 1 relevant / 0 irrelevant, for the decided ones.
        model: the screening model the project ranks with.
        seed: the project's screening seed.

    Raises:
        MetasiftError: when the decisions do not hold both a relevant and an irrelevant record.
    """
    y_all = np.fromiter(labels.values(), dtype=np.int64, count=len(labels))
    if not ((y_all == 1).any() and (y_all == 0).any()):
        raise MetasiftError(
            "a screening model needs at least one relevant and one irrelevant decision; "
            "screen more records first ('metasift screen')."
        )
    trained = hashed_twin(model)
    members = trained.members or (trained,)
    ensemble = trained if trained.members else dataclasses.replace(trained, members=members)
    texts = record_texts(records, trained.text_fields)
    features = ensemble.make_features()
    X = _prepare_all(features.fit_transform(texts))
    extractors = features.extractors
    order = sorted(labels)
    labelled = np.asarray(order, dtype=np.int64)
    y = np.asarray([labels[i] for i in order], dtype=np.int64)
    # Members on equal extractor settings share one matrix (MemberFeatures), and its first
    # member's extractor is the one fitted: group as the learner does.
    grouped: dict[int, list[int]] = {}
    for i, Xm in enumerate(X):
        grouped.setdefault(id(Xm), []).append(i)
    groups = []
    for indices in grouped.values():
        group = dataclasses.replace(ensemble, members=tuple(members[i] for i in indices))
        weights, offset = linear_ensemble_weights(X[indices[0]], labelled, y, group, seed)
        groups.append(
            ScoreGroup(extractors[indices[0]], weights, offset, len(indices) / len(members))
        )
    project = ProjectModel(
        model=trained.name,
        ranks_with=model.name,
        text_fields=trained.text_fields,
        groups=tuple(groups),
        n_records=len(records),
        n_labelled=len(labels),
        n_included=int(y.sum()),
        seed=seed,
        included_scores=np.empty(0),
    )
    included = [records[i] for i in labelled[y == 1]]
    return dataclasses.replace(project, included_scores=score_records(project, included))


def score_texts(project_model: ProjectModel, texts: Sequence[str]) -> np.ndarray:
    """Relevance scores (float64) of texts made by :func:`record_texts` with the model's
    ``text_fields``; each text's score depends on that text alone.

    Args:
        project_model: from :func:`train_project_model`.
        texts: one text per record.
    """
    total = np.zeros(len(texts))
    if not len(texts):
        return total
    for group in project_model.groups:
        X = group.extractor.transform(texts)
        w = group.weights.astype(X.dtype)
        total += group.share * (np.asarray(X @ w, dtype=np.float64).ravel() + group.offset)
    return total


def score_records(project_model: ProjectModel, records: Sequence[Record]) -> np.ndarray:
    """Relevance scores (float64, higher = more likely relevant) of ``records``, in order.

    The one scoring function of a project's model: in process, in ``metasift score`` on a Dask
    cluster, and for a living review's new records.

    Args:
        project_model: from :func:`train_project_model`.
        records: any records (title, abstract and, for models that read them, MeSH headings).
    """
    return score_texts(project_model, record_texts(records, project_model.text_fields))
