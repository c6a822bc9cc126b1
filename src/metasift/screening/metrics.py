"""Screening metrics on a screening order: the labels (1 relevant, 0 not) in the order screened.

Definitions (all positions count every record screened, prior records included):

* ``screened_to(r)``: records screened until ``ceil(r * R)`` of the ``R`` relevant are found;
* WSS@r (work saved over sampling, Cohen et al. 2006): ``(N - screened_to(r)) / N - (1 - r)``;
* recall@p: share of relevant records found after ``ceil(p * N)`` records;
* ATD (average time to discovery, Ferdinands et al. 2023): the mean, over relevant records that
  were not given as priors, of the share of all records screened when each was found.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def _labels(order_labels: Sequence[int]) -> np.ndarray:
    return np.asarray(order_labels, dtype=np.int64)


def recall_curve(order_labels: Sequence[int]) -> np.ndarray:
    """Recall after 1, 2, ..., N records screened."""
    labels = _labels(order_labels)
    total = labels.sum()
    return np.cumsum(labels) / total if total else np.zeros(len(labels))


def screened_to(order_labels: Sequence[int], recall: float) -> int | None:
    """Records screened until recall ``recall`` is reached (``None`` if never)."""
    labels = _labels(order_labels)
    needed = math.ceil(round(recall * labels.sum(), 9))
    if needed == 0:
        return 0
    found = np.cumsum(labels)
    hit = np.searchsorted(found, needed)
    return int(hit) + 1 if hit < len(labels) else None


def wss(order_labels: Sequence[int], recall: float) -> float | None:
    n = len(order_labels)
    at = screened_to(order_labels, recall)
    return None if at is None or n == 0 else (n - at) / n - (1.0 - recall)


def recall_at(order_labels: Sequence[int], fraction: float) -> float:
    labels = _labels(order_labels)
    total = labels.sum()
    k = math.ceil(round(fraction * len(labels), 9))
    return float(labels[:k].sum() / total) if total else 0.0


def atd(order_labels: Sequence[int], n_prior: int = 0) -> float | None:
    labels = _labels(order_labels)
    positions = np.flatnonzero(labels[n_prior:] == 1) + n_prior + 1
    return float(positions.mean() / len(labels)) if len(positions) else None


def summary(order_labels: Sequence[int], n_prior: int = 0) -> dict[str, float | int | None]:
    """Every metric of the module for one screening order."""
    return {
        "n_records": len(order_labels),
        "n_relevant": int(_labels(order_labels).sum()),
        "wss@95": wss(order_labels, 0.95),
        "wss@100": wss(order_labels, 1.0),
        "recall@10%": recall_at(order_labels, 0.10),
        "recall@20%": recall_at(order_labels, 0.20),
        "atd": atd(order_labels, n_prior),
        "screened_to_95": screened_to(order_labels, 0.95),
        "screened_to_100": screened_to(order_labels, 1.0),
    }
