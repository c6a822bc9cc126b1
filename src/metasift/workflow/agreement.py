"""Inter-reviewer agreement: percent agreement, Cohen's kappa, Fleiss' kappa, with CIs.

Written on numpy/scipy because the formulas are short and the well-known Python packages
either lack confidence intervals (scikit-learn's ``cohen_kappa_score``) or pull in a
statistics stack for one function (statsmodels). Cohen's kappa uses the large-sample
variance of Fleiss, Cohen & Everitt (1969), as Fleiss & Paik (2003) and Stata's ``kapci``.
Fleiss' kappa (1971) gets a percentile bootstrap CI over subjects, seeded so that the same
decisions always give the same interval: its closed-form variances hold only under the null
hypothesis of chance agreement, which is not what a confidence interval needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Agreement:
    n_subjects: int
    n_raters: int
    percent_agreement: float
    kappa: float
    se: float | None
    ci_lb: float
    ci_ub: float
    method: str


def _table(a: Sequence[str], b: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    categories = sorted(set(a) | set(b))
    index = {c: i for i, c in enumerate(categories)}
    table = np.zeros((len(categories), len(categories)))
    for x, y in zip(a, b, strict=True):
        table[index[x], index[y]] += 1
    return table, categories


def cohen_kappa_table(table: np.ndarray, level: float = 0.95) -> Agreement:
    """Cohen's kappa of a square contingency table (rows: rater 1, columns: rater 2)."""
    table = np.asarray(table, dtype=float)
    n = table.sum()
    if n == 0:
        raise ValueError("no subjects rated by both reviewers")
    p = table / n
    rows, cols = p.sum(axis=1), p.sum(axis=0)
    po = float(np.trace(p))
    pe = float(rows @ cols)
    z = stats.norm.ppf(0.5 + level / 2)
    if pe == 1.0:
        # Both reviewers used one and the same category throughout: kappa is undefined.
        return Agreement(int(n), 2, po, float("nan"), None, float("nan"), float("nan"), "cohen")
    kappa = (po - pe) / (1 - pe)
    diag = np.diag(p)
    term1 = float(np.sum(diag * (1 - (rows + cols) * (1 - kappa)) ** 2))
    off = p.copy()
    np.fill_diagonal(off, 0)
    term2 = (1 - kappa) ** 2 * float(np.sum(off * (cols[:, None] + rows[None, :]) ** 2))
    term3 = (kappa - pe * (1 - kappa)) ** 2
    var = max(term1 + term2 - term3, 0.0) / (n * (1 - pe) ** 2)
    se = float(np.sqrt(var))
    lb, ub = float(kappa - z * se), float(kappa + z * se)
    return Agreement(int(n), 2, po, float(kappa), se, lb, ub, "cohen")


def cohen_kappa(a: Sequence[str], b: Sequence[str], level: float = 0.95) -> Agreement:
    """Cohen's kappa between two reviewers' decisions on the same subjects (same order)."""
    table, _ = _table(a, b)
    return cohen_kappa_table(table, level)


def _fleiss(counts: np.ndarray) -> tuple[float, float]:
    n_raters = counts.sum(axis=1)[0]
    p_j = counts.sum(axis=0) / counts.sum()
    p_i = (np.sum(counts**2, axis=1) - n_raters) / (n_raters * (n_raters - 1))
    p_bar = float(p_i.mean())
    pe = float(np.sum(p_j**2))
    if pe == 1.0:
        return p_bar, float("nan")
    return p_bar, (p_bar - pe) / (1 - pe)


def fleiss_kappa_counts(
    counts: np.ndarray, level: float = 0.95, n_boot: int = 2000, seed: int = 20
) -> Agreement:
    """Fleiss' kappa from a subjects x categories matrix of rating counts.

    Every subject must have the same number of ratings (at least two).
    """
    counts = np.asarray(counts, dtype=float)
    per_subject = counts.sum(axis=1)
    if counts.shape[0] == 0:
        raise ValueError("no subjects rated")
    if not np.all(per_subject == per_subject[0]) or per_subject[0] < 2:
        raise ValueError("Fleiss' kappa needs the same number (>= 2) of ratings per subject")
    p_bar, kappa = _fleiss(counts)
    rng = np.random.default_rng(seed)
    n = counts.shape[0]
    boots = np.array([_fleiss(counts[rng.integers(0, n, n)])[1] for _ in range(n_boot)])
    boots = boots[np.isfinite(boots)]
    alpha = 1 - level
    lb, ub = (
        (float(np.quantile(boots, alpha / 2)), float(np.quantile(boots, 1 - alpha / 2)))
        if boots.size
        else (float("nan"), float("nan"))
    )
    return Agreement(n, int(per_subject[0]), p_bar, float(kappa), None, lb, ub, "fleiss")


def fleiss_kappa(ratings: Sequence[Sequence[str]], level: float = 0.95) -> Agreement:
    """Fleiss' kappa from one list of decisions per subject (one decision per reviewer)."""
    categories = sorted({c for row in ratings for c in row})
    index = {c: i for i, c in enumerate(categories)}
    counts = np.zeros((len(ratings), len(categories)))
    for i, row in enumerate(ratings):
        for c in row:
            counts[i, index[c]] += 1
    return fleiss_kappa_counts(counts, level)
