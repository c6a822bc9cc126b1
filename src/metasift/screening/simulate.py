"""Simulated screening on labelled data: the learner screens a dataset whose labels are known.

The core (:func:`simulate`) is pure: texts and labels in, the screening order and its metrics
out. Loading a dataset from disk lives in :mod:`metasift.screening.datasets`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from metasift.errors import MetasiftError
from metasift.screening import metrics
from metasift.screening.bm25 import bm25_scores
from metasift.screening.learner import Learner
from metasift.screening.models import ScreeningModel, get_model
from metasift.screening.stopping import StoppingRule, default_rules


@dataclass
class Prior:
    """How screening starts: ``n_included`` + ``n_excluded`` labelled records drawn by seed,
    or ``criteria``: no labels, records ranked by BM25 similarity to the eligibility criteria."""

    n_included: int = 1
    n_excluded: int = 1
    criteria: bool = False

    def describe(self) -> str:
        if self.criteria:
            return "criteria"
        return f"{self.n_included} included + {self.n_excluded} excluded"


@dataclass
class SimulationResult:
    order: list[int]  # record positions in screening order, priors first
    labels: list[int]  # their labels, same order
    n_prior: int
    model: ScreeningModel
    seed: int
    prior: Prior
    metrics: dict[str, Any]
    stopping: dict[str, dict[str, Any]] = field(default_factory=dict)
    wall_time: float = 0.0
    feature_time: float = 0.0
    n_rankings: int = 0


def choose_priors(labels: np.ndarray, prior: Prior, seed: int) -> list[int]:
    """Prior records drawn with ``seed``: the included ones first, then the excluded ones."""
    if prior.criteria:
        return []
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    for value, k in ((1, prior.n_included), (0, prior.n_excluded)):
        pool = np.flatnonzero(labels == value)
        if k > len(pool):
            kind = "included" if value else "excluded"
            raise MetasiftError(
                f"the dataset has {len(pool)} {kind} records; cannot draw {k} as priors."
            )
        chosen.extend(int(i) for i in rng.choice(pool, size=k, replace=False))
    return chosen


def simulate(
    texts: Sequence[str],
    labels: Sequence[int],
    *,
    model: ScreeningModel | str | None = None,
    seed: int = 0,
    prior: Prior | None = None,
    criteria_text: str | None = None,
    rules: Sequence[StoppingRule] | None = None,
    features: Any = None,
    prior_indices: Sequence[int] | None = None,
    until_all_found: bool = False,
    on_step: Callable[[int, int], None] | None = None,
) -> SimulationResult:
    """Screen every record in the learner's order, answering with the known labels.

    ``features``: a precomputed feature matrix (to share one between runs); by default the
    model's extractor is fitted on ``texts``. ``prior_indices``: explicit prior records
    (instead of drawing them by seed). ``until_all_found``: stop once every relevant record is
    found (the rest follow in file order, all irrelevant), as peers' simulations do by default.
    """
    model = model if isinstance(model, ScreeningModel) else get_model(model)
    model = model.for_records(len(texts))
    prior = prior or Prior()
    y = np.asarray(labels, dtype=np.int64)
    if len(texts) != len(y):
        raise MetasiftError("texts and labels differ in length.")
    if not y.any():
        raise MetasiftError("the dataset has no included records; nothing to find.")
    start = time.perf_counter()
    X = features if features is not None else model.make_features().fit_transform(texts)
    feature_time = time.perf_counter() - start
    cold = None
    if prior.criteria:
        if not criteria_text:
            raise MetasiftError(
                "--prior criteria needs eligibility criteria (criteria.txt in a SYNERGY folder, "
                "or the protocol's question, PICO and criteria)."
            )
        cold = bm25_scores(texts, criteria_text)
    learner = Learner(X, model, seed=seed, cold_scores=cold)
    priors = list(prior_indices) if prior_indices is not None else choose_priors(y, prior, seed)
    outside = [i for i in priors if not 0 <= i < len(y)]
    if outside or len(set(priors)) < len(priors):
        what = f"record {outside[0]} is not in the dataset" if outside else "a record repeats"
        raise MetasiftError(
            f"prior records: {what}; give distinct positions from 0 to {len(y) - 1}."
        )
    for i, index in enumerate(priors):
        learner.teach(index, int(y[index]), retrain=i == len(priors) - 1)
    n, total = len(y), int(y.sum())
    while (proposal := learner.propose()) is not None:
        label = int(y[proposal.index])
        # The last relevant record ends a simulation run until all are found: the retrain
        # it would trigger (the costliest, on the most labels) would rank nothing.
        done = until_all_found and learner.n_included + label == total
        learner.teach(proposal.index, label, retrain=not done)
        if on_step:
            on_step(learner.n_labelled, n)
        if done:
            break
    learner.close()
    wall = time.perf_counter() - start
    order = list(learner.history)
    if len(order) < n:
        seen = set(order)
        order += [i for i in range(n) if i not in seen]
    order_labels = [int(y[i]) for i in order]
    result = SimulationResult(
        order=order,
        labels=order_labels,
        n_prior=len(priors),
        model=model,
        seed=seed,
        prior=prior,
        metrics=metrics.summary(order_labels, len(priors)),
        wall_time=wall,
        feature_time=feature_time,
        n_rankings=learner.ranking.index,
    )
    for rule in default_rules() if rules is None else rules:
        result.stopping[rule.name] = rule.simulate(np.asarray(order_labels), n)
    return result


def result_document(result: SimulationResult, record_ids: Sequence[Any], dataset: str) -> dict:
    """The JSON document of ``metasift simulate --json``: order, metrics, stopping, wall time."""
    return {
        "dataset": dataset,
        "model": result.model.name,
        "model_params": result.model.params(),
        "seed": result.seed,
        "prior": result.prior.describe(),
        "n_prior": result.n_prior,
        "order": [
            {"record_id": record_ids[i], "label": label}
            for i, label in zip(result.order, result.labels, strict=True)
        ],
        "metrics": result.metrics,
        "stopping": result.stopping,
        "wall_time": result.wall_time,
        "feature_time": result.feature_time,
        "n_rankings": result.n_rankings,
    }
