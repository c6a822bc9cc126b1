"""Classifiers, class balancing and an ensemble, all in the scikit-learn estimator shape.

Screening data are heavily imbalanced (often 1-5% relevant) and the training set is tiny at
first, so every classifier is trained with balanced sample weights by default. Scores are
continuous relevance scores (higher = more likely relevant); only their order matters.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import ComplementNB
from sklearn.svm import LinearSVC

from metasift.errors import MetasiftError

CLASSIFIERS = ("logistic", "svm", "nb", "ensemble")


def balance_weights(y: np.ndarray, balance: str | float = "balanced") -> np.ndarray | None:
    """Per-record sample weights for labels ``y`` (0/1), with mean weight 1.

    ``"balanced"`` weighs both classes the same in total (each record inversely to its class's
    frequency); a number ``r`` makes the relevant records' total weight ``r`` times the
    irrelevant ones' (``r = 1`` is ``"balanced"``); ``"none"`` returns ``None`` (unweighted).
    """
    if balance == "none" or balance is None:
        return None
    ratio = 1.0 if balance == "balanced" else float(balance)
    counts = np.bincount(y, minlength=2).astype(np.float64)
    per_class = np.array([1.0 / max(counts[0], 1.0), ratio / max(counts[1], 1.0)])
    weights = per_class[y]
    return weights * (len(y) / weights.sum())


def relevance_scores(estimator: Any, X: Any) -> np.ndarray:
    """Continuous relevance scores of a fitted binary classifier, higher = more relevant."""
    if hasattr(estimator, "relevance_scores"):
        return estimator.relevance_scores(X)
    coef = getattr(estimator, "coef_", None)
    if coef is not None and coef.shape[0] == 1 and hasattr(estimator, "decision_function"):
        # Linear models: score in X's own dtype, without the float64 copy of all of X that
        # decision_function would make.
        w = np.asarray(coef, dtype=X.dtype).ravel()
        return np.asarray(X @ w, dtype=np.float64).ravel() + float(estimator.intercept_[0])
    if hasattr(estimator, "decision_function"):
        return np.asarray(estimator.decision_function(X), dtype=np.float64).ravel()
    # Naive Bayes: log odds keeps the order among saturated probabilities.
    logp = estimator.predict_log_proba(X)
    return np.asarray(logp[:, 1] - logp[:, 0], dtype=np.float64)


def nearest_relevant_scores(X: Any, positives: np.ndarray, k: int = 1) -> np.ndarray:
    """Each record's mean cosine similarity to the ``k`` relevant records most like it.

    A linear model scores a record by how much it resembles the relevant records on the
    whole; a record like one of them alone (another report of an included trial, an abstract
    in an unusual style) can score low there and high here. The rows of ``X`` are unit
    vectors (TF-IDF), so a product is a cosine.

    Args:
        X: every record's features, rows of unit length.
        positives: the positions of the records labelled relevant (at least one).
        k: how many of the most similar relevant records are averaged (fewer when fewer are
            labelled).
    """
    sims = X @ X[positives].T
    sims = np.asarray(sims.toarray() if hasattr(sims, "toarray") else sims, dtype=np.float64)
    k = min(k, sims.shape[1])
    if k == 1:
        return sims.max(axis=1)
    return np.partition(sims, -k, axis=1)[:, -k:].mean(axis=1)


class RankEnsemble(ClassifierMixin, BaseEstimator):
    """Average of the members' standardised scores: each member votes on the same scale."""

    def __init__(self, estimators: list[Any] | None = None) -> None:
        self.estimators = estimators

    def fit(self, X: Any, y: np.ndarray, sample_weight: np.ndarray | None = None) -> RankEnsemble:
        self.estimators_ = [
            clone(e).fit(X, y, sample_weight=sample_weight) for e in self.estimators
        ]
        self.classes_ = np.unique(y)
        return self

    def relevance_scores(self, X: Any) -> np.ndarray:
        total = None
        for estimator in self.estimators_:
            s = relevance_scores(estimator, X)
            s = (s - s.mean()) / (s.std() or 1.0)
            total = s if total is None else total + s
        return total / len(self.estimators_)

    def decision_function(self, X: Any) -> np.ndarray:
        return self.relevance_scores(X)


def make_classifier(name: str = "logistic", seed: int = 0, **params: Any):
    """A fresh classifier by name (one of :data:`CLASSIFIERS`); ``params`` override defaults."""
    if name == "logistic":
        return LogisticRegression(
            **{
                "C": 1.0,
                "solver": "liblinear",
                "dual": True,
                "random_state": seed,
                "max_iter": 1000,
                **params,
            }
        )
    if name == "svm":
        return LinearSVC(**{"C": 1.0, "random_state": seed, "max_iter": 5000, **params})
    if name == "nb":
        return ComplementNB(**{"alpha": 1.0, **params})
    if name == "ensemble":
        members = params.get("members", ("logistic", "svm", "nb"))
        return RankEnsemble([make_classifier(m, seed) for m in members])
    raise MetasiftError(f"unknown classifier {name!r}; use one of: {', '.join(CLASSIFIERS)}.")
