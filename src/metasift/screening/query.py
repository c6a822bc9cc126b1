"""Query strategies: which unlabelled records to show next, given the classifier's scores.

Each strategy's :meth:`order` returns candidate positions in the order they should be screened.
Ties are broken by record position, never by hash or thread order, so an order is a pure
function of the scores and the seed.
"""

from __future__ import annotations

import numpy as np

from metasift.errors import MetasiftError

QUERIES = ("max", "uncertainty", "mixed")


def top_k(keys: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` smallest ``keys``, ascending, ties by position (exact, stable)."""
    n = len(keys)
    if k >= n:
        return np.argsort(keys, kind="stable")
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    threshold = keys[np.argpartition(keys, k - 1)[:k]].max()
    candidates = np.flatnonzero(keys <= threshold)
    ranked = candidates[np.argsort(keys[candidates], kind="stable")]
    return ranked[:k]


class MaxQuery:
    """Most relevant first (relevance feedback): finds relevant records fastest."""

    def order(self, scores: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
        return top_k(-scores, k)


class UncertaintyQuery:
    """Records closest to the decision boundary (score 0) first: improves the model fastest."""

    def order(self, scores: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
        return top_k(np.abs(scores), k)


class MixedQuery:
    """Most relevant first, with a share ``exploration`` of records drawn at random.

    The random picks guard against a model that keeps circling one cluster of relevant records
    while another kind of relevant record waits unseen.
    """

    def __init__(self, exploration: float = 0.05) -> None:
        self.exploration = exploration

    def order(self, scores: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
        n = len(scores)
        k = min(k, n)
        best = top_k(-scores, n if k >= n else k)
        explore = rng.random(k) < self.exploration
        if not explore.any():
            return best[:k]
        taken = np.zeros(n, dtype=bool)
        out: list[int] = []
        b = 0
        for pick_random in explore:
            if pick_random:
                free = np.flatnonzero(~taken)
                choice = int(free[rng.integers(len(free))])
            else:
                while taken[best[b]]:
                    b += 1
                choice = int(best[b])
            taken[choice] = True
            out.append(choice)
        return np.asarray(out, dtype=np.int64)


def make_query(name: str = "max", exploration: float = 0.05):
    if name == "max":
        return MaxQuery()
    if name == "uncertainty":
        return UncertaintyQuery()
    if name == "mixed":
        return MixedQuery(exploration)
    raise MetasiftError(f"unknown query strategy {name!r}; use one of: {', '.join(QUERIES)}.")
