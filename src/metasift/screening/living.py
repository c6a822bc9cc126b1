"""A living review's update, the pure part: calibrated scores, the inclusion threshold, and the
expected number of relevant records among the new ones.

Screening scores only order records. To say how many of an update's records are likely
relevant, scores are mapped to probabilities by Platt scaling (a logistic curve fitted to
scores and labels of the review's earlier records; Platt 1999), with the scores of labelled
records taken out of fold, so that the curve is fitted on scores of records the model did not
train on, as the new records' are.

- The inclusion threshold (:func:`inclusion_threshold`) is the calibrated probability above
  which the earlier rounds' relevant records reach the review's target recall (its stopping
  rule's ``target_recall``, 95% by default): listing the new records above it is expected to
  find that share of the relevant new records, the recall the review already accepted when it
  stopped screening. The lowest-ranked relevant record would do as threshold too, but one odd
  inclusion would then list almost everything.
- The expected number of relevant new records (:func:`expected_relevant`) is the sum of their
  calibrated probabilities. Its interval is the equal-tailed interval of the count's
  distribution: given the probabilities, a Poisson-binomial (which records turn out
  relevant); to hold the fitted curve's own uncertainty too, the average of those
  distributions over Platt curves refitted on :data:`DRAWS` bootstrap samples of the
  calibration records (:func:`calibration_draws`). Exact while the work is small
  (:data:`EXACT_WORK`), a normal approximation with the same mean and variance beyond. What
  no interval holds is a change between rounds in what the searches find (a topic's share of
  relevant records drifting): the estimate assumes the new records resemble the earlier ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, special, stats
from sklearn.model_selection import StratifiedKFold

from metasift.errors import MetasiftError
from metasift.screening.learner import fit_scores
from metasift.screening.models import ScreeningModel

# The exact distribution is computed while draws x records^2 stays below this (about a second).
EXACT_WORK = 2e8
FOLDS = 5
DRAWS = 200


@dataclass(frozen=True)
class Calibration:
    """Platt's curve: ``p = 1 / (1 + exp(-(slope * score + intercept)))``."""

    slope: float
    intercept: float
    n_records: int
    n_relevant: int

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of relevance of ``scores``."""
        z = self.slope * np.asarray(scores, dtype=np.float64) + self.intercept
        return 1.0 / (1.0 + np.exp(-z))


def fit_calibration(scores: np.ndarray, labels: np.ndarray) -> Calibration:
    """Fit Platt's curve to ``scores`` with relevance ``labels`` (1/0), using Platt's smoothed
    targets ((n+ + 1)/(n+ + 2) and 1/(n- + 2)) so that a perfectly separated set does not give
    probabilities of exactly 0 and 1.

    Args:
        scores: relevance scores of records the model was not trained on.
        labels: 1 for relevant, 0 for irrelevant, one per score.
    """
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels, dtype=np.int64).ravel()
    positives, negatives = int(labels.sum()), int(len(labels) - labels.sum())
    if positives == 0 or negatives == 0:
        raise MetasiftError(
            "calibrating the update's scores needs earlier records both included and excluded; "
            f"the review has {positives} included and {negatives} excluded."
        )
    high, low = (positives + 1) / (positives + 2), 1 / (negatives + 2)
    target = np.where(labels == 1, high, low)

    # Platt's negative log-likelihood of (slope, intercept) and its gradient, minimised with
    # scipy as scikit-learn's sigmoid calibration does (its function for it is private).
    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = theta[0] * scores + theta[1]
        # log(1 + e^z) without overflow; p = sigmoid(z)
        value = float(np.sum(np.logaddexp(0.0, z) - target * z))
        gap = special.expit(z) - target
        return value, np.array([float(gap @ scores), float(gap.sum())])

    start = np.array([0.0, math.log((positives + 1) / (negatives + 1))])
    # The slope may not be negative: a model whose out-of-fold scores rank the earlier
    # relevant records below the others tells nothing about the new ones, and at slope 0 every
    # new record gets the earlier rounds' share of relevant records (all are listed).
    fitted = optimize.minimize(
        loss, start, jac=True, method="L-BFGS-B", bounds=[(0.0, None), (None, None)]
    )
    return Calibration(float(fitted.x[0]), float(fitted.x[1]), len(labels), positives)


def inclusion_threshold(relevant: np.ndarray, target_recall: float) -> float:
    """The highest probability ``t`` such that at least ``target_recall`` of the earlier
    rounds' relevant records have a calibrated probability of ``t`` or more.

    Args:
        relevant: calibrated (out-of-fold) probabilities of the earlier relevant records.
        target_recall: the review's target recall (its stopping rule's).
    """
    ordered = np.sort(np.asarray(relevant, dtype=np.float64))[::-1]
    if not len(ordered):
        raise MetasiftError("the review has no included record to set a threshold from.")
    k = max(1, math.ceil(target_recall * len(ordered) - 1e-9))
    return float(ordered[k - 1])


@dataclass(frozen=True)
class Expected:
    """How many relevant records a set holds: the expectation and an interval around it."""

    mean: float
    low: int
    high: int
    level: float
    method: str  # "exact Poisson-binomial" or "normal approximation"


def calibration_draws(
    scores: np.ndarray, labels: np.ndarray, *, draws: int = DRAWS, seed: int = 0
) -> list[Calibration]:
    """Platt's curve refitted on ``draws`` bootstrap samples of the calibration records
    (relevant and irrelevant ones resampled apart, so that each sample keeps the review's
    counts): how far the fitted curve could be from the true one.

    Args:
        scores: the calibration records' scores.
        labels: their relevance (1/0).
        draws: how many bootstrap samples.
        seed: the review's seed.
    """
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels, dtype=np.int64).ravel()
    rng = np.random.default_rng([seed, len(scores)])
    groups = [np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)]
    out = []
    for _ in range(draws):
        sample = np.concatenate([rng.choice(g, size=len(g), replace=True) for g in groups])
        out.append(fit_calibration(scores[sample], labels[sample]))
    return out


def _mixture_pmf(rows: np.ndarray) -> np.ndarray:
    """The count's distribution: the average over ``rows`` (draws x records) of each draw's
    Poisson-binomial distribution, by the usual recursion over records, all draws at once."""
    draws, n = rows.shape
    pmf = np.zeros((draws, n + 1))
    pmf[:, 0] = 1.0
    for j in range(n):
        q = rows[:, j : j + 1]
        pmf[:, 1 : j + 2] = pmf[:, 1 : j + 2] * (1.0 - q) + pmf[:, : j + 1] * q
        pmf[:, 0] *= 1.0 - rows[:, j]
    return pmf.mean(axis=0)


def expected_relevant(
    probabilities: np.ndarray, level: float = 0.95, *, draws: np.ndarray | None = None
) -> Expected:
    """The expected number of relevant records among records with these calibrated
    probabilities, with the equal-tailed ``level`` interval of that count.

    Args:
        probabilities: calibrated probabilities of relevance, one per record.
        level: the interval's coverage.
        draws: the same records' probabilities under each bootstrap calibration (draws x
            records, see :func:`calibration_draws`): the interval is then that of the
            mixture of their distributions, so that it holds the curve's uncertainty too.
    """
    p = np.clip(np.asarray(probabilities, dtype=np.float64).ravel(), 0.0, 1.0)
    rows = p[None, :] if draws is None else np.clip(np.asarray(draws, dtype=np.float64), 0, 1)
    mean, n = float(p.sum()), len(p)
    tail = (1.0 - level) / 2
    what = "Poisson-binomial" if draws is None else f"over {len(rows)} calibration draws"
    if rows.shape[0] * n * n <= EXACT_WORK:
        cdf = np.cumsum(_mixture_pmf(rows))
        low = int(np.searchsorted(cdf, tail - 1e-12))
        high = int(np.searchsorted(cdf, 1.0 - tail - 1e-12))
        return Expected(mean, low, min(high, n), level, f"exact, {what}")
    totals = rows.sum(axis=1)
    variance = float((rows * (1 - rows)).sum(axis=1).mean() + totals.var())
    z = float(stats.norm.ppf(1.0 - tail))
    low = max(0, math.floor(float(totals.mean()) - z * math.sqrt(variance)))
    high = min(n, math.ceil(float(totals.mean()) + z * math.sqrt(variance)))
    return Expected(mean, low, high, level, f"normal approximation, {what}")


def _scores(X: Any, labelled: np.ndarray, y: np.ndarray, model: ScreeningModel, seed: int):
    fitted = fit_scores(X, labelled, y, model, seed, None)
    if fitted is None or fitted[0] != "classifier":
        raise MetasiftError(
            "the review's decisions include no record or exclude none: the model cannot be "
            "trained to score new records."
        )
    return fitted[1]


def score_update(
    X: Any,
    labels: np.ndarray,
    new: np.ndarray,
    model: ScreeningModel,
    *,
    seed: int,
    target_recall: float,
) -> dict[str, Any]:
    """Scores, calibrated probabilities, threshold and expected count of the ``new`` records.

    The model is trained on every labelled record. For calibration, the labelled records'
    scores come out of :data:`FOLDS` stratified folds (each scored by a model that did not see
    it); the earlier records left unlabelled (a closed round's unscreened records) count as
    irrelevant, as the PRISMA diagram counts them (marked ineligible by the stopping rule),
    and are scored by the full model.

    Args:
        X: features of every record (a matrix, or one per member of an ensemble model).
        labels: per record 1 relevant, 0 irrelevant, -1 unlabelled; the new records' are -1.
        new: positions of the new records.
        model: the review's screening model.
        seed: the review's seed.
        target_recall: the review's target recall (sets the threshold).

    Returns:
        ``scores`` and ``probabilities`` of the new records, ``threshold``, ``expected`` and
        ``calibration`` (the fields of :class:`metasift.screening.NewScores`).
    """
    labels = np.asarray(labels, dtype=np.int64)
    new = np.asarray(new, dtype=np.int64)
    is_new = np.zeros(len(labels), dtype=bool)
    is_new[new] = True
    labelled = np.flatnonzero((labels >= 0) & ~is_new)
    y = labels[labelled]
    full = _scores(X, labelled, y, model, seed)
    folds = min(FOLDS, int(y.sum()), int(len(y) - y.sum()))
    held_out = full[labelled].copy()
    if folds >= 2:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        for train, test in splitter.split(labelled, y):
            fold = _scores(X, labelled[train], y[train], model, seed)
            held_out[test] = fold[labelled[test]]
    unlabelled = np.flatnonzero((labels < 0) & ~is_new)
    cal_scores = np.concatenate([held_out, full[unlabelled]])
    cal_labels = np.concatenate([y, np.zeros(len(unlabelled), dtype=np.int64)])
    calibration = fit_calibration(cal_scores, cal_labels)
    probabilities = calibration.probabilities(full[new])
    threshold = inclusion_threshold(calibration.probabilities(held_out[y == 1]), target_recall)
    spread = np.stack(
        [c.probabilities(full[new]) for c in calibration_draws(cal_scores, cal_labels, seed=seed)]
    )
    return {
        "scores": full[new],
        "probabilities": probabilities,
        "threshold": threshold,
        "expected": expected_relevant(probabilities, draws=spread),
        "calibration": calibration,
    }
