"""Leave-one-out and cumulative meta-analysis, as metafor's ``leave1out()`` and ``cumul()``.

Each refit is an intercept-only model with the method, test and control of the original fit
(metafor drops moderators here too); a refit that fails gives missing values in its row.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from metasift.synthesis.errors import SynthesisError
from metasift.synthesis.models import RMAResult, SynthesisWarning, rma

FIELDS = ("estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "Q", "Qp", "tau2", "I2", "H2")


@dataclass
class SensitivityResult:
    """One row per study: the estimate without it (leave1out) or up to it (cumul)."""

    slab: list[str]
    estimate: np.ndarray
    se: np.ndarray
    zval: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    Q: np.ndarray
    Qp: np.ndarray
    tau2: np.ndarray
    I2: np.ndarray
    H2: np.ndarray
    order: np.ndarray

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for i, label in enumerate(self.slab):
            row: dict[str, Any] = {"study": label}
            for key in FIELDS:
                value = float(getattr(self, key)[i])
                row[key] = None if np.isnan(value) else value
            out.append(row)
        return out


def _refit(res: RMAResult, idx: np.ndarray) -> RMAResult | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SynthesisWarning)
            return rma(
                res.yi[idx],
                res.vi[idx],
                method=res.method,
                test=res.test,
                control=res.control,
                level=res.level,
                tau2_ci=False,
            )
    except SynthesisError:
        return None


def _collect(fits: list[RMAResult | None], slab: list[str], order: np.ndarray) -> SensitivityResult:
    values = {key: np.full(len(fits), np.nan) for key in FIELDS}
    for i, fit in enumerate(fits):
        if fit is None:
            continue
        values["estimate"][i] = fit.b[0]
        for key in ("se", "zval", "pval", "ci_lb", "ci_ub"):
            values[key][i] = getattr(fit, key)[0]
        values["Q"][i], values["Qp"][i] = fit.QE, fit.QEp
        values["tau2"][i], values["I2"][i], values["H2"][i] = fit.tau2, fit.I2, fit.H2
    return SensitivityResult(slab=slab, order=order, **values)


def _labels(res: RMAResult) -> list[str]:
    return res.slab or [f"Study {i + 1}" for i in range(res.k)]


def leave1out(res: RMAResult) -> SensitivityResult:
    """The model refitted k times, each time without one study."""
    k = res.k
    fits = [_refit(res, np.delete(np.arange(k), i)) for i in range(k)]
    return _collect(fits, _labels(res), np.arange(k))


def cumul(res: RMAResult, order: Sequence[Any] | None = None) -> SensitivityResult:
    """The model refitted on the first 1, 2, ..., k studies, sorted by ``order`` (e.g. year;
    ties keep the data order)."""
    k = res.k
    if order is None:
        idx = np.arange(k)
    else:
        if len(order) != k:
            raise SynthesisError(f"'order' has {len(order)} values for {k} studies.")
        idx = np.argsort(np.asarray(order), kind="stable")
    fits = [_refit(res, idx[: i + 1]) for i in range(k)]
    labels = _labels(res)
    return _collect(fits, [labels[i] for i in idx], idx)
