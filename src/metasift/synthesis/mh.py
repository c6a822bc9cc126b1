"""Mantel-Haenszel (OR, RR, RD, IRR) and Peto pooling, as metafor's ``rma.mh()``/``rma.peto()``.

Hand-written for the same reason as the models (see models.py): statsmodels' StratifiedTable
has the MH odds ratio and the CMH test but not the MH risk ratio or difference, the Peto
method, nor metafor's heterogeneity statistics. The pooled estimate uses the tables as given
(no continuity correction, metafor's default ``add=c(1/2, 0)``); the heterogeneity test uses
the study effect sizes with metafor's escalc correction, leaving out tables with no events in
both groups (``drop00=c(TRUE, FALSE)``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import stats

from metasift.synthesis.effects import escalc
from metasift.synthesis.errors import SynthesisError, describe_rows
from metasift.synthesis.models import RMAResult, SynthesisWarning, _num
from metasift.synthesis.summary import mh_summary

Values = Sequence[Any] | np.ndarray | None


@dataclass
class MHResult:
    """Pooled fixed-effect estimate; names as metafor (CO Cochran, MH CMH, BD Breslow-Day,
    TA Tarone-corrected Breslow-Day)."""

    measure: str
    method: str
    k: int
    k_yi: int
    yi: np.ndarray
    vi: np.ndarray
    level: float = 95
    b: float = math.nan
    se: float = math.nan
    zval: float = math.nan
    pval: float = math.nan
    ci_lb: float = math.nan
    ci_ub: float = math.nan
    QE: float = math.nan
    QEp: float = math.nan
    I2: float = math.nan
    H2: float = math.nan
    CO: float = math.nan
    COp: float = math.nan
    MH: float = math.nan
    MHp: float = math.nan
    BD: float = math.nan
    BDp: float = math.nan
    TA: float = math.nan
    TAp: float = math.nan
    k_pos: float = math.nan
    slab: list[str] | None = None
    warnings: list[str] = field(default_factory=list)
    # Each table's weight in the pooled estimate, in percent, one per table given (NaN for a
    # table left out for missing values): metafor's weights() of rma.mh and rma.peto.
    table_weights: np.ndarray | None = None

    @property
    def estimate(self) -> float:
        return self.b

    def view(self, ee: RMAResult) -> RMAResult:
        """The fit as the plots and GRADE read it: the equal-effects model ``ee`` of the same
        effect sizes (its study rows, yi and vi), with this pooled estimate, its test and
        heterogeneity, and each study's Mantel-Haenszel (or Peto) weight.

        :param ee: ``rma(effects, method="EE")`` of the effect sizes these tables gave.
        """
        rows = ee.rows if ee.rows is not None else np.arange(ee.k)
        weights = self.table_weights[rows] if self.table_weights is not None else None
        return replace(
            ee,
            b=np.array([self.b]),
            se=np.array([self.se]),
            zval=np.array([self.zval]),
            pval=np.array([self.pval]),
            ci_lb=np.array([self.ci_lb]),
            ci_ub=np.array([self.ci_ub]),
            QE=self.QE,
            QEp=self.QEp,
            I2=self.I2,
            H2=self.H2,
            method=self.method,
            pooling_weights=weights,
        )

    def summary(self, digits: int = 4) -> str:
        """The fit as metafor prints it: heterogeneity, the log-scale and back-transformed
        results, and the Cochran-Mantel-Haenszel and Tarone tests for odds ratios.

        :param digits: decimals of estimates, tests and p-values (I^2 and H^2 have 2).
        """
        return mh_summary(self, digits)

    def __str__(self) -> str:
        return self.summary()

    def to_record(self) -> dict[str, Any]:
        keys = (
            "b",
            "se",
            "zval",
            "pval",
            "ci_lb",
            "ci_ub",
            "QE",
            "QEp",
            "I2",
            "H2",
            "CO",
            "COp",
            "MH",
            "MHp",
            "BD",
            "BDp",
            "TA",
            "TAp",
            "k",
            "k_yi",
            "k_pos",
        )
        return {key: getattr(self, key) for key in keys}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"measure": self.measure, "method": self.method}
        out.update({"estimate" if k == "b" else k: _num(v) for k, v in self.to_record().items()})
        out["k"], out["k_yi"] = self.k, self.k_yi
        if not math.isnan(self.k_pos):
            out["k_pos"] = int(self.k_pos)
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out


def _vec(value: Values) -> np.ndarray | None:
    if value is None:
        return None
    return np.asarray([np.nan if v is None or v == "" else float(v) for v in value], dtype=float)


def _tables(
    ai: Values, bi: Values, ci: Values, di: Values, n1i: Values, n2i: Values
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    a, b, c, d, n1, n2 = (_vec(x) for x in (ai, bi, ci, di, n1i, n2i))
    if a is None or c is None or (b is None and n1 is None) or (d is None and n2 is None):
        raise SynthesisError("2x2 tables need ai and ci with bi and di (or n1i and n2i).")
    b = b if b is not None else n1 - a
    d = d if d is not None else n2 - c
    return a, b, c, d


def _ci(beta: float, se: float, level: float) -> tuple[float, float, float, float]:
    crit = stats.norm.isf((1 - level / 100) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = float(np.float64(beta) / np.float64(se))
    return z, float(2 * stats.norm.sf(abs(z))), beta - crit * se, beta + crit * se


def _heterogeneity(
    yi: np.ndarray, vi: np.ndarray, beta: float
) -> tuple[float, float, float, float]:
    k = len(yi)
    if k > 1 and not math.isnan(beta):
        qe = max(0.0, float(np.sum((yi - beta) ** 2 / vi)))
        i2 = max(0.0, 100 * (qe - (k - 1)) / qe) if qe > 0 else 0.0
        return qe, float(stats.chi2.sf(qe, k - 1)), i2, qe / (k - 1)
    if k > 1:
        return math.nan, math.nan, math.nan, math.nan
    return 0.0, 1.0, 0.0, 1.0


def _percent(wi: np.ndarray, complete: np.ndarray) -> np.ndarray:
    """Weights in percent, one per table given (NaN where a table was left out)."""
    out = np.full(len(complete), np.nan)
    total = float(wi.sum())
    out[complete] = 100 * wi / total if total > 0 else np.nan
    return out


def _drop(complete: np.ndarray, slab: list[str] | None, messages: list[str], what: str) -> None:
    if not complete.all():
        text = (
            f"{what} with missing values dropped: "
            + describe_rows(np.flatnonzero(~complete).tolist(), slab)
            + "."
        )
        messages.append(text)
        warnings.warn(text, SynthesisWarning, stacklevel=3)


def rma_mh(
    ai: Values = None,
    bi: Values = None,
    ci: Values = None,
    di: Values = None,
    n1i: Values = None,
    n2i: Values = None,
    x1i: Values = None,
    x2i: Values = None,
    t1i: Values = None,
    t2i: Values = None,
    *,
    measure: str = "OR",
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = True,
    correct: bool = True,
    level: float = 95,
    slab: Sequence[Any] | None = None,
) -> MHResult:
    """Mantel-Haenszel pooled OR, RR, RD (2x2 tables) or IRR (events and person-times)."""
    measure = measure.upper()
    labels = [str(s) for s in slab] if slab is not None else None
    messages: list[str] = []
    if measure == "IRR":
        x1, x2, t1, t2 = (_vec(v) for v in (x1i, x2i, t1i, t2i))
        if x1 is None or x2 is None or t1 is None or t2 is None:
            raise SynthesisError("measure IRR needs x1i, t1i, x2i and t2i.")
        es = escalc("IRR", x1i=x1, x2i=x2, t1i=t1, t2i=t2, add=add, to=to, drop00=drop00)
        complete = ~(np.isnan(x1) | np.isnan(x2) | np.isnan(t1) | np.isnan(t2))
        _drop(complete, labels, messages, "studies")
        x1, x2, t1, t2 = x1[complete], x2[complete], t1[complete], t2[complete]
        k = len(x1)
        if k == 0:
            raise SynthesisError("no complete study to pool.")
        ok = ~(np.isnan(es.yi) | np.isnan(es.vi))
        yi, vi = es.yi[ok], es.vi[ok]
        ti = t1 + t2
        R = float(np.sum(x1 * (t2 / ti)))
        S = float(np.sum(x2 * (t1 / ti)))
        res = MHResult(measure, "MH", k, len(yi), yi, vi, level, slab=labels, warnings=messages)
        res.table_weights = _percent((x2 / ti) * t1, complete)
        if x1.sum() > 0 and x2.sum() > 0:
            res.b = math.log(R / S)
            res.se = math.sqrt(float(np.sum((t1 / ti) * (t2 / ti) * (x1 + x2))) / (R * S))
            res.zval, res.pval, res.ci_lb, res.ci_ub = _ci(res.b, res.se, level)
        xt = x1 + x2
        if xt.sum() > 0:
            res.MH = (
                abs(float(np.sum(x1 - xt * (t1 / ti)))) - (0.5 if correct else 0)
            ) ** 2 / float(np.sum(xt * (t1 / ti) * (t2 / ti)))
            res.MHp = float(stats.chi2.sf(res.MH, 1))
        res.QE, res.QEp, res.I2, res.H2 = _heterogeneity(yi, vi, res.b)
        return res
    if measure not in ("OR", "RR", "RD"):
        raise SynthesisError(f"Mantel-Haenszel pools OR, RR, RD or IRR, not {measure}.")
    a, b, c, d = _tables(ai, bi, ci, di, n1i, n2i)
    es = escalc(measure, ai=a, bi=b, ci=c, di=d, add=add, to=to, drop00=drop00)
    complete = ~(np.isnan(a) | np.isnan(b) | np.isnan(c) | np.isnan(d))
    _drop(complete, labels, messages, "tables")
    a, b, c, d = a[complete], b[complete], c[complete], d[complete]
    k = len(a)
    if k == 0:
        raise SynthesisError("no complete 2x2 table to pool.")
    ok = ~(np.isnan(es.yi) | np.isnan(es.vi))
    yi, vi = es.yi[ok], es.vi[ok]
    n1, n2 = a + b, c + d
    N = n1 + n2
    res = MHResult(measure, "MH", k, len(yi), yi, vi, level, slab=labels, warnings=messages)
    # metafor's weights.rma.mh: the weight of each table in the M-H estimator's numerator
    wi = {"OR": (b / N) * c, "RR": (c / N) * n1, "RD": (n1 / N) * n2}[measure]
    res.table_weights = _percent(wi, complete)
    if measure == "OR":
        Pi, Qi = a / N + d / N, b / N + c / N
        Ri, Si = (a / N) * d, (b / N) * c
        R, S = float(Ri.sum()), float(Si.sum())
        if R > 0 and S > 0:
            or_mh = R / S
            res.b = math.log(or_mh)
            res.se = math.sqrt(
                0.5
                * (
                    float(np.sum(Pi * Ri)) / R**2
                    + float(np.sum(Pi * Si + Qi * Ri)) / (R * S)
                    + float(np.sum(Qi * Si)) / S**2
                )
            )
            res.zval, res.pval, res.ci_lb, res.ci_ub = _ci(res.b, res.se, level)
        xt, yt = a + c, b + d
        if xt.sum() > 0 and yt.sum() > 0:
            dev = (abs(float(np.sum(a - (n1 / N) * xt))) - (0.5 if correct else 0)) ** 2
            res.CO = dev / float(np.sum((n1 / N) * (n2 / N) * (xt * (yt / N))))
            res.COp = float(stats.chi2.sf(res.CO, 1))
            res.MH = dev / float(np.sum((n1 / N) * (n2 / N) * (xt * (yt / (N - 1)))))
            res.MHp = float(stats.chi2.sf(res.MH, 1))
        if math.isnan(res.b):
            res.k_pos = 0
        else:
            or_mh = math.exp(res.b)
            if or_mh == 1:
                N11 = (n1 / N) * xt
            else:
                A = or_mh * (n1 + xt) + (n2 - xt)
                B = np.sqrt(A**2 - 4 * n1 * xt * or_mh * (or_mh - 1))
                N11 = (A - B) / (2 * (or_mh - 1))
            pos = (N11 > 0) & (xt > 0) & (yt > 0)
            res.k_pos = int(pos.sum())
            N11 = N11[pos]
            N12 = n1[pos] - N11
            N21 = xt[pos] - N11
            N22 = N11 - n1[pos] - xt[pos] + N[pos]
            inv = 1 / N11 + 1 / N12 + 1 / N21 + 1 / N22
            res.BD = max(0.0, float(np.sum((a[pos] - N11) ** 2 / inv ** (-1))))
            res.TA = max(
                0.0, res.BD - float(np.sum(a[pos] - N11)) ** 2 / float(np.sum(inv ** (-1)))
            )
            if res.k_pos > 1:
                res.BDp = float(stats.chi2.sf(res.BD, res.k_pos - 1))
                res.TAp = float(stats.chi2.sf(res.TA, res.k_pos - 1))
    elif measure == "RR":
        R = float(np.sum(a * (n2 / N)))
        S = float(np.sum(c * (n1 / N)))
        if a.sum() > 0 and c.sum() > 0:
            res.b = math.log(R / S)
            res.se = math.sqrt(float(np.sum((n1 / N) * (n2 / N) * (a + c) - (a / N) * c)) / (R * S))
            res.zval, res.pval, res.ci_lb, res.ci_ub = _ci(res.b, res.se, level)
    else:
        w = float(np.sum(n1 * (n2 / N)))
        res.b = float(np.sum(a * (n2 / N) - c * (n1 / N))) / w
        res.se = math.sqrt(
            (
                res.b
                * float(
                    np.sum(
                        c * (n1 / N) ** 2 - a * (n2 / N) ** 2 + (n1 / N) * (n2 / N) * (n2 - n1) / 2
                    )
                )
                + float(np.sum(a * (n2 - c) / N + c * (n1 - a) / N)) / 2
            )
            / w**2
        )
        res.zval, res.pval, res.ci_lb, res.ci_ub = _ci(res.b, res.se, level)
    res.QE, res.QEp, res.I2, res.H2 = _heterogeneity(yi, vi, res.b)
    if math.isnan(res.b):
        text = "no events in one of the groups across all tables: the MH estimate is undefined."
        res.warnings.append(text)
        warnings.warn(text, SynthesisWarning, stacklevel=2)
    return res


def rma_peto(
    ai: Values = None,
    bi: Values = None,
    ci: Values = None,
    di: Values = None,
    n1i: Values = None,
    n2i: Values = None,
    *,
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = True,
    level: float = 95,
    slab: Sequence[Any] | None = None,
) -> MHResult:
    """Peto's one-step log odds ratio over 2x2 tables."""
    labels = [str(s) for s in slab] if slab is not None else None
    messages: list[str] = []
    a, b, c, d = _tables(ai, bi, ci, di, n1i, n2i)
    es = escalc("PETO", ai=a, bi=b, ci=c, di=d, add=add, to=to, drop00=drop00)
    complete = ~(np.isnan(a) | np.isnan(b) | np.isnan(c) | np.isnan(d))
    _drop(complete, labels, messages, "tables")
    a, b, c, d = a[complete], b[complete], c[complete], d[complete]
    if len(a) == 0:
        raise SynthesisError("no complete 2x2 table to pool.")
    ok = ~(np.isnan(es.yi) | np.isnan(es.vi))
    yi, vi = es.yi[ok], es.vi[ok]
    n1, n2 = a + b, c + d
    N = n1 + n2
    xt, yt = a + c, b + d
    Ei = xt * n1 / N
    Vi = xt * yt * (n1 / N) * (n2 / N) / (N - 1)
    sum_v = float(np.nansum(Vi))
    if sum_v == 0:
        raise SynthesisError(
            "one of the two outcomes never occurs in any table; Peto's method cannot be used."
        )
    beta = float(np.sum(a - Ei)) / sum_v
    se = math.sqrt(1 / sum_v)
    z, p, lb, ub = _ci(beta, se, level)
    k_pos = int(np.sum(Vi > 0))
    Vn = np.where(Vi == 0, np.nan, Vi)
    qe = max(
        0.0,
        float(np.nansum((a - Ei) ** 2 / Vn)) - float(np.sum(a - Ei)) ** 2 / float(np.nansum(Vn)),
    )
    k_yi = len(yi)
    if k_pos > 1:
        qep = float(stats.chi2.sf(qe, k_yi - 1))
        i2 = max(0.0, 100 * (qe - (k_yi - 1)) / qe) if qe > 0 else 0.0
        h2 = qe / (k_yi - 1)
    else:
        qep, i2, h2 = 1.0, 0.0, 1.0
    return MHResult(
        "PETO",
        "PETO",
        len(a),
        k_yi,
        yi,
        vi,
        level,
        b=beta,
        se=se,
        zval=z,
        pval=p,
        ci_lb=lb,
        ci_ub=ub,
        QE=qe,
        QEp=qep,
        I2=i2,
        H2=h2,
        k_pos=k_pos,
        slab=labels,
        warnings=messages,
        table_weights=_percent(Vi, complete),
    )
