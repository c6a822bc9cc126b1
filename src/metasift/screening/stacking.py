"""Member weights of an ensemble learnt from the decisions its rankings led to (stacking).

A record screened under a ranking was scored by every member before its label was known, so
each member's score of it is an out-of-sample prediction (Wolpert 1992; Breiman 1996). A
logistic regression of the labels on those scores says how much each member deserves: a
member that ranked the records later found relevant above those found irrelevant gains weight
as the review goes on, one that did not loses it. The regression is shrunk towards equal
weights, the plain mean of standardised scores, so that few labels move the weights little, and
no weight goes below zero: members are correlated, and unconstrained stacking then gives one of
them a negative weight, ranking by what it says is irrelevant (Breiman 1996 found the bound
necessary for stacking to help).

Written here rather than with sklearn's LogisticRegression: that penalises the weights towards
zero, which would rank by the intercept alone; here they shrink towards the mean.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

# The strength of the pull towards equal weights: 1 / (2 C) per squared unit, the scale of
# sklearn's default logistic regression (C=1). Not tuned.
STACKING_C = 1.0


def stacked_weights(scores: np.ndarray, labels: np.ndarray, C: float = STACKING_C) -> np.ndarray:
    """Each member's weight from out-of-sample scores and the labels that followed.

    Minimises the class-balanced logistic loss of ``labels`` on ``scores @ w + b`` plus
    ``||w - 1||^2 / (2 C)`` over ``w >= 0``: with no labels of one class the weights stay
    equal (all 1).

    Args:
        scores: one row per labelled record, one column per member: the member's standardised
            score of the record in the ranking under which it was screened.
        labels: the records' labels, 1 relevant and 0 irrelevant.
        C: the inverse strength of the pull towards equal weights.

    Returns:
        The members' weights (length ``scores.shape[1]``).
    """
    k = scores.shape[1]
    y = np.asarray(labels, dtype=np.float64)
    n_relevant = y.sum()
    if n_relevant == 0 or n_relevant == len(y):
        return np.ones(k)
    # Balanced: each class weighs as much as the other (sklearn's "balanced").
    sample = np.where(y == 1, len(y) / (2 * n_relevant), len(y) / (2 * (len(y) - n_relevant)))

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:k], theta[k]
        z = scores @ w + b
        p = 0.5 * (1 + np.tanh(z / 2))  # the logistic function, without overflow
        value = float(sample @ (np.logaddexp(0, z) - y * z) + ((w - 1) ** 2).sum() / (2 * C))
        residual = sample * (p - y)
        grad = np.append(scores.T @ residual + (w - 1) / C, residual.sum())
        return value, grad

    bounds = [(0.0, None)] * k + [(None, None)]
    result = minimize(loss, np.append(np.ones(k), 0.0), jac=True, method="L-BFGS-B", bounds=bounds)
    return result.x[:k]
