"""Equal- and random-effects meta-analysis and meta-regression, as metafor's ``rma()``.

Hand-written on numpy/scipy because no Python library covers metafor's breadth with its exact
definitions: PyMARE has DL/ML/REML but not PM, EB, HE, SJ or HS, nor Q-profile intervals;
statsmodels' ``combine_effects`` has DL and PM only and no meta-regression. Every formula here
follows metafor (Viechtbauer 2010) so that results agree to ~1e-10: the tau2 estimators, the
Knapp-Hartung adjustment (``test="knha"``), QE/QM tests, I2/H2 via the "typical" sampling
variance, the prediction interval, R2 as the proportional reduction of tau2, and the Q-profile
interval for tau2.

Iterative estimators (ML, REML, EB by Fisher scoring; PM and the tau2 interval by root finding)
are converged to machine precision: Fisher scoring with metafor's step halving finds the root's
neighbourhood, then Brent's method solves the estimating equation to a relative 4·eps, so two
correct programs agree on the solution, not on where they stopped.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import optimize, stats

from metasift.synthesis.effects import EffectSizes
from metasift.synthesis.errors import ConvergenceError, SynthesisError, describe_rows
from metasift.synthesis.summary import rma_summary

if TYPE_CHECKING:
    from matplotlib.figure import Figure

METHODS = ("EE", "FE", "DL", "REML", "ML", "PM", "EB", "HE", "SJ", "HS")
TESTS = ("z", "knha", "t")
EPS = np.finfo(float).eps


class SynthesisWarning(UserWarning):
    """Something the analyst must know about (dropped rows, forced options, boundary fits)."""


@dataclass
class Control:
    """Settings of the iterative estimators (names as metafor's ``control``)."""

    maxiter: int = 1000
    stepadj: float = 1.0
    tau2_init: float | None = None
    # Fisher scoring hands over to root finding once a step is below this (relative) size.
    threshold: float = 1e-10
    ll0check: bool = True

    @classmethod
    def of(cls, value: Control | Mapping[str, Any] | None) -> Control:
        if value is None:
            return cls()
        if isinstance(value, Control):
            return value
        unknown = set(value) - set(cls.__dataclass_fields__)
        if unknown:
            raise SynthesisError(
                f"unknown control setting {', '.join(sorted(unknown))}; "
                f"known: {', '.join(cls.__dataclass_fields__)}."
            )
        return cls(**value)


@dataclass
class RMAResult:
    """A fitted model; field names are metafor's (``ci.lb`` becomes ``ci_lb``)."""

    b: np.ndarray
    se: np.ndarray
    zval: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    vb: np.ndarray
    coef_names: list[str]
    tau2: float
    se_tau2: float
    I2: float
    H2: float
    QE: float
    QEp: float
    QM: float
    QMp: float
    QMdf: tuple[int, int | None]
    k: int
    p: int
    ddf: int | None
    method: str
    test: str
    level: float
    yi: np.ndarray
    vi: np.ndarray
    X: np.ndarray
    vt: float
    s2w: float
    allvipos: bool
    int_only: bool
    measure: str = "GEN"
    slab: list[str] | None = None
    rows: np.ndarray | None = None
    ni: np.ndarray | None = None
    pi_lb: float | None = None
    pi_ub: float | None = None
    R2: float | None = None
    tau2_ci_lb: float | None = None
    tau2_ci_ub: float | None = None
    I2_ci_lb: float | None = None
    I2_ci_ub: float | None = None
    H2_ci_lb: float | None = None
    H2_ci_ub: float | None = None
    iterations: int = 0
    control: Control = field(default_factory=Control)
    warnings: list[str] = field(default_factory=list)
    # The studies' weights when the pooling is not by inverse variance (Mantel-Haenszel,
    # Peto): metafor's weights() of rma.mh and rma.peto, in percent.
    pooling_weights: np.ndarray | None = None

    @property
    def estimate(self) -> float:
        return float(self.b[0])

    @property
    def weights(self) -> np.ndarray:
        """Percentage weights of the studies in the fit (metafor's ``weights()``)."""
        if self.pooling_weights is not None:
            return self.pooling_weights
        wi = 1 / (self.vi + self.tau2)
        return 100 * wi / wi.sum()

    @property
    def random(self) -> bool:
        return self.method not in ("EE", "FE", "MH", "PETO")

    def summary(self, digits: int = 4, exp: bool | None = None) -> str:
        """The fit as metafor prints it: model line, heterogeneity, tests, model results.

        :param digits: decimals of estimates, tests and p-values (I^2, H^2, R^2 have 2).
        :param exp: add the pooled estimate back-transformed from the log scale; by default
            for intercept-only models of ratio measures (OR, RR, IRR, ROM, PETO).
        """
        return rma_summary(self, digits, exp)

    def __str__(self) -> str:
        return self.summary()

    def forest(self, path: Path | str | None = None, **options: Any) -> Figure:
        """Forest plot of the fit in RevMan's layout (studies, weights, pooled diamond,
        heterogeneity and overall-effect lines, prediction interval).

        :param path: also write the figure there (.svg, .png or .pdf).
        :param options: as :func:`metasift.synthesis.plots.forest` (``transf``, ``xlabel``,
            ``title``, ``prediction``, ``refline``, ``arms``, ``arm_labels``, ``favours``,
            ``rob``, ``keys``).
        :returns: the matplotlib figure.
        """
        from metasift.synthesis import plots

        return plots.forest(self, path, **options)

    def funnel(
        self, path: Path | str | None = None, *, trimfill: bool = False, **options: Any
    ) -> Figure:
        """Funnel plot of the fit's studies around the pooled estimate.

        :param path: also write the figure there (.svg, .png or .pdf).
        :param trimfill: draw the studies trim-and-fill imputes (open points) and centre on
            the adjusted estimate (intercept-only models).
        :param options: as :func:`metasift.synthesis.plots.funnel` (``contours``, ``xlabel``,
            ``title``).
        :returns: the matplotlib figure.
        """
        from metasift.synthesis import plots
        from metasift.synthesis.bias import trimfill as fill

        return plots.funnel(fill(self) if trimfill else self, path, **options)

    def to_dict(self) -> dict[str, Any]:
        """The statistics under metafor's names (``tval`` instead of ``zval`` for t tests)."""
        stat = "zval" if self.test == "z" else "tval"
        coefs = {
            "b": self.b,
            "se": self.se,
            stat: self.zval,
            "pval": self.pval,
            "ci_lb": self.ci_lb,
            "ci_ub": self.ci_ub,
        }
        out: dict[str, Any] = {
            "measure": self.measure,
            "method": self.method,
            "test": self.test,
            "k": self.k,
        }
        if self.int_only:
            out["estimate"] = _num(self.b[0])
            out.update({key: _num(value[0]) for key, value in coefs.items() if key != "b"})
        else:
            out["coefficients"] = [
                {"name": name, **{key: _num(value[j]) for key, value in coefs.items()}}
                for j, name in enumerate(self.coef_names)
            ]
            for key, value in coefs.items():
                out[key] = [_num(v) for v in value]
        for key in (
            "tau2",
            "se_tau2",
            "tau2_ci_lb",
            "tau2_ci_ub",
            "I2",
            "H2",
            "QE",
            "QEp",
            "QM",
            "QMp",
            "pi_lb",
            "pi_ub",
            "R2",
        ):
            value = getattr(self, key)
            if value is not None:
                out[key] = _num(value)
        out["QMdf"] = list(self.QMdf)
        if self.ddf is not None:
            out["ddf"] = self.ddf
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out


def _num(value: Any) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


def _warn(messages: list[str], text: str) -> None:
    messages.append(text)
    warnings.warn(text, SynthesisWarning, stacklevel=3)


# ---- design matrix ----------------------------------------------------------------------------


def design_matrix(
    mods: Mapping[str, Sequence[Any]] | np.ndarray | None, k: int
) -> tuple[np.ndarray, list[str]]:
    """Moderators -> (columns, names), without the intercept.

    A mapping's numeric columns enter as they are; text columns become treatment-coded dummies
    with the alphabetically first level as reference, named as R names them (``allocrandom``).
    Missing values stay NaN so the caller can drop those studies.
    """
    if mods is None:
        return np.empty((k, 0)), []
    if isinstance(mods, np.ndarray):
        m = mods.reshape(k, -1).astype(float)
        return m, [f"mod{j + 1}" for j in range(m.shape[1])]
    columns: list[np.ndarray] = []
    names: list[str] = []
    for name, values in mods.items():
        values = list(values)
        if len(values) != k:
            raise SynthesisError(f"moderator {name!r} has {len(values)} values for {k} studies.")
        numeric = _as_float(values)
        if numeric is not None:
            columns.append(numeric)
            names.append(name)
            continue
        missing = [v is None or (isinstance(v, float) and math.isnan(v)) or v == "" for v in values]
        levels = sorted({str(v) for v, miss in zip(values, missing, strict=True) if not miss})
        for level in levels[1:]:
            col = np.array(
                [
                    np.nan if miss else float(str(v) == level)
                    for v, miss in zip(values, missing, strict=True)
                ]
            )
            columns.append(col)
            names.append(f"{name}{level}")
    if not columns:
        return np.empty((k, 0)), []
    return np.column_stack(columns), names


def _as_float(values: list[Any]) -> np.ndarray | None:
    out = []
    for v in values:
        if v is None or v == "":
            out.append(np.nan)
            continue
        if isinstance(v, bool):
            out.append(float(v))
            continue
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            return None
    return np.asarray(out, dtype=float)


# ---- linear algebra helpers ------------------------------------------------------------------


def _inv_xwx(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    xwx = X.T @ (w[:, None] * X)
    try:
        return np.linalg.inv(xwx)
    except np.linalg.LinAlgError as exc:  # pragma: no cover - guarded by the rank check
        raise SynthesisError("the model matrix is singular; check the moderators.") from exc


def _P(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    inv = _inv_xwx(X, w)
    WX = w[:, None] * X
    return np.diag(w) - WX @ inv @ WX.T


def _drop_redundant(X: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str], list[str]]:
    keep: list[int] = []
    for j in range(X.shape[1]):
        trial = X[:, [*keep, j]]
        if np.linalg.matrix_rank(trial) == len(keep) + 1:
            keep.append(j)
    dropped = [names[j] for j in range(X.shape[1]) if j not in keep]
    return X[:, keep], [names[j] for j in keep], dropped


# ---- tau2 estimators -------------------------------------------------------------------------


def _q_of(tau2: float, y: np.ndarray, vi: np.ndarray, X: np.ndarray) -> float:
    P = _P(X, 1 / (vi + tau2))
    return float(y @ P @ y)


def _find_root(fun: Any, lo: float, hi: float) -> float:
    """Brent's method to machine precision on a bracket [lo, hi] with a sign change."""
    return float(optimize.brentq(fun, lo, hi, xtol=1e-300, rtol=4 * EPS, maxiter=1000))


def _bracket_root(fun: Any, start: float, scale: float) -> float:
    """Solve fun(tau2) = 0 near ``start`` (fun decreasing through its root)."""
    f0 = fun(start)
    if f0 == 0:
        return start
    step = max(abs(start) * 1e-6, scale * 1e-12)
    for _ in range(200):
        lo, hi = (start, start + step) if f0 > 0 else (max(start - step, 0.0), start)
        flo, fhi = fun(lo), fun(hi)
        if flo == 0:
            return lo
        if fhi == 0:
            return hi
        if np.sign(flo) != np.sign(fhi):
            return _find_root(fun, lo, hi)
        if f0 < 0 and lo == 0.0:
            return 0.0
        step *= 4
    raise ConvergenceError(
        f"no root of the estimating equation near tau2 = {start:.6g}; try another starting "
        "value (control={'tau2_init': ...}) or a non-iterative estimator (DL, HE, SJ)."
    )


def _score(method: str, tau2: float, y: np.ndarray, vi: np.ndarray, X: np.ndarray) -> float:
    k, p = X.shape
    w = 1 / (vi + tau2)
    P = _P(X, w)
    Py = P @ y
    if method == "ML":
        return float(Py @ Py - w.sum())
    if method == "REML":
        return float(Py @ Py - np.trace(P))
    return float((y @ Py) * k / (k - p) - k)  # EB


def _fisher_scoring(
    method: str,
    y: np.ndarray,
    vi: np.ndarray,
    X: np.ndarray,
    start: float,
    control: Control,
    scale: float,
) -> tuple[float, int]:
    k, p = X.shape
    tau2 = start
    threshold = control.threshold * scale
    for iteration in range(1, control.maxiter + 1):
        w = 1 / (vi + tau2)
        P = _P(X, w)
        Py = P @ y
        if method == "ML":
            adj = (Py @ Py - w.sum()) / (w**2).sum()
        elif method == "REML":
            adj = (Py @ Py - np.trace(P)) / np.sum(P * P)
        else:
            adj = ((y @ Py) * k / (k - p) - k) / w.sum()
        adj = float(adj) * control.stepadj
        if math.isnan(adj):
            adj = 0.0
        while tau2 + adj < 0:
            adj /= 2
        tau2 += adj
        if abs(adj) <= threshold:
            return tau2, iteration
    raise ConvergenceError(
        f"the Fisher scoring algorithm for {method} did not converge in {control.maxiter} "
        f"iterations (last tau2 = {tau2:.6g}). Try more iterations or smaller steps "
        "(control={'maxiter': 10000, 'stepadj': 0.5}), or a non-iterative estimator "
        "(method DL, HE or SJ; PM also always converges)."
    )


def _loglik(method: str, tau2: float, y: np.ndarray, vi: np.ndarray, X: np.ndarray) -> float:
    k, p = X.shape
    w = 1 / (vi + tau2)
    inv = _inv_xwx(X, w)
    beta = inv @ (X.T @ (w * y))
    rss = float(np.sum(w * (y - X @ beta) ** 2))
    if method == "ML":
        return -0.5 * k * math.log(2 * math.pi) - 0.5 * np.log(vi + tau2).sum() - 0.5 * rss
    logdet = np.linalg.slogdet(X.T @ (w[:, None] * X))[1]
    return (
        -0.5 * (k - p) * math.log(2 * math.pi)
        - 0.5 * np.log(vi + tau2).sum()
        - 0.5 * logdet
        - 0.5 * rss
    )


def estimate_tau2(
    method: str,
    yi: np.ndarray,
    vi: np.ndarray,
    X: np.ndarray,
    control: Control,
    allvipos: bool,
    messages: list[str],
) -> tuple[float, float, int]:
    """(tau2, se_tau2, iterations) for a random-effects ``method``; metafor's formulas."""
    k, p = X.shape
    ymc = yi - yi.mean()
    scale = max(float(np.mean(vi)), float(np.var(yi)), 1e-300)
    if method in ("DL", "HS", "PM") and not allvipos:
        raise SynthesisError(
            f"the {method} estimator needs positive sampling variances; some vi are 0. "
            "Use REML, ML, HE or SJ, or correct the variances."
        )
    iterations = 0
    if method in ("HS", "DL"):
        w = 1 / vi
        P = _P(X, w)
        rss = float(ymc @ P @ ymc)
        trP = float(np.trace(P))
        tau2 = (rss - k) / w.sum() if method == "HS" else (rss - (k - p)) / trP
        tau2 = max(0.0, tau2)
        if method == "HS":
            se = math.sqrt(
                1 / w.sum() ** 2 * (2 * (k - p) + 4 * tau2 * trP + 2 * tau2**2 * np.sum(P * P))
            )
        else:
            se = math.sqrt(
                1 / trP**2 * (2 * (k - p) + 4 * tau2 * trP + 2 * tau2**2 * np.sum(P * P))
            )
        return tau2, se, iterations
    if method == "SJ":
        tau2_0 = control.tau2_init if control.tau2_init is not None else float(np.mean(ymc**2))
        w = 1 / (vi + tau2_0)
        P = _P(X, w)
        rss = float(ymc @ P @ ymc)
        tau2 = max(0.0, tau2_0 * rss / (k - p))
        PV = P * vi[None, :]
        se = math.sqrt(
            tau2_0**2
            / (k - p) ** 2
            * (2 * np.sum(PV * PV.T) + 4 * tau2 * np.sum(PV * P) + 2 * tau2**2 * np.sum(P * P))
        )
        return tau2, se, iterations
    # HE: also the starting value of ML, REML and EB, as in metafor.
    P_ols = np.eye(k) - X @ np.linalg.inv(X.T @ X) @ X.T
    rss = float(ymc @ P_ols @ ymc)
    PV = P_ols * vi[None, :]
    trPV = float(np.trace(PV))
    he = (rss - trPV) / (k - p)
    if method == "HE":
        tau2 = max(0.0, he)
        se = math.sqrt(
            1 / (k - p) ** 2 * (2 * np.sum(PV * PV.T) + 4 * tau2 * trPV + 2 * tau2**2 * (k - p))
        )
        return tau2, se, iterations
    if method == "PM":
        target = k - p

        def fun(t: float) -> float:
            return _q_of(t, ymc, vi, X) - target

        if fun(0.0) < 0:
            tau2 = 0.0
        else:
            hi = max(100.0, 10 * scale)
            while fun(hi) > 0:
                hi *= 10
                if hi > 1e300:
                    raise ConvergenceError("no tau2 solves the PM equation; use DL or REML.")
            tau2 = _find_root(fun, 0.0, hi)
        w = 1 / (vi + tau2)
        return tau2, math.sqrt(2 * k**2 / (k - p) / w.sum() ** 2), iterations
    # ML, REML, EB
    start = control.tau2_init if control.tau2_init is not None else max(0.0, he)
    tau2, iterations = _fisher_scoring(method, ymc, vi, X, start, control, scale)
    if tau2 > 0:

        def score(t: float) -> float:
            return _score(method, t, ymc, vi, X)

        if tau2 <= control.threshold * scale * 10 and score(0.0) <= 0:
            tau2 = 0.0
        else:
            tau2 = _bracket_root(score, tau2, scale)
    if method in ("ML", "REML") and control.ll0check and allvipos and tau2 > 0:
        ll0 = _loglik(method, 0.0, ymc, vi, X)
        ll = _loglik(method, tau2, ymc, vi, X)
        if ll0 - ll > 1e-10 * max(1.0, abs(ll)):
            _warn(
                messages,
                "Fisher scoring may have stopped at a local maximum; tau2 set to 0 "
                "(the likelihood is higher there).",
            )
            tau2 = 0.0
    w = 1 / (vi + tau2)
    if method == "ML":
        se = math.sqrt(2 / np.sum(w**2))
    elif method == "REML":
        P = _P(X, w)
        se = math.sqrt(2 / np.sum(P * P))
    else:
        se = math.sqrt(2 * k**2 / (k - p) / w.sum() ** 2)
    return tau2, se, iterations


def tau2_qprofile(
    yi: np.ndarray, vi: np.ndarray, X: np.ndarray, tau2: float, level: float = 95
) -> tuple[float, float]:
    """Q-profile confidence interval for tau2 (Viechtbauer 2007), as metafor's ``confint()``."""
    k, p = X.shape
    alpha = 1 - level / 100
    crit_u = stats.chi2.isf(alpha / 2, k - p)
    crit_l = stats.chi2.ppf(alpha / 2, k - p)
    tau2_max = max(100.0, 10 * tau2)

    def q(t: float) -> float:
        return _q_of(t, yi, vi, X)

    q_min, q_max = q(0.0), q(tau2_max)
    while q_max > crit_l and tau2_max < 1e300:
        # metafor stops at tau2.max and reports "> tau2.max"; the interval's true end is wanted.
        tau2_max *= 10
        q_max = q(tau2_max)
    if q_min < crit_l:
        ub = 0.0
    else:
        ub = _find_root(lambda t: q(t) - crit_l, 0.0, tau2_max)
    if q_min < crit_u:
        lb = 0.0
    else:
        lb = _find_root(lambda t: q(t) - crit_u, 0.0, tau2_max)
    return lb, ub


# ---- the model -------------------------------------------------------------------------------


def rma(
    yi: EffectSizes | Sequence[float] | np.ndarray,
    vi: Sequence[float] | np.ndarray | None = None,
    *,
    sei: Sequence[float] | np.ndarray | None = None,
    method: str = "REML",
    test: str = "z",
    mods: Mapping[str, Sequence[Any]] | np.ndarray | None = None,
    level: float = 95,
    slab: Sequence[Any] | None = None,
    measure: str | None = None,
    control: Control | Mapping[str, Any] | None = None,
    tau2_ci: bool = True,
    ni: Sequence[float] | np.ndarray | None = None,
) -> RMAResult:
    """Fit an equal-effects (``EE``/``FE``) or random-effects model, metafor's ``rma()``.

    Studies with a missing yi, vi or moderator are dropped with a warning naming their rows.
    """
    messages: list[str] = []
    ni_all = np.asarray(ni, dtype=float) if ni is not None else None
    if isinstance(yi, EffectSizes):
        ni_all = yi.ni if ni_all is None else ni_all
        es = yi
        y = es.yi.astype(float)
        v = es.vi.astype(float)
        slab = slab if slab is not None else es.slab
        measure = measure or es.measure
    else:
        y = np.asarray(yi, dtype=float).ravel()
        if vi is None and sei is None:
            raise SynthesisError("give the sampling variances (vi) or standard errors (sei).")
        v = (
            np.asarray(vi, dtype=float).ravel()
            if vi is not None
            else np.asarray(sei, dtype=float).ravel() ** 2
        )
    measure = measure or "GEN"
    method = method.upper()
    if method not in METHODS:
        raise SynthesisError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}.")
    test = {"hksj": "knha", "hk": "knha"}.get(test.lower(), test.lower())
    if test not in TESTS:
        raise SynthesisError(f"unknown test {test!r}; use 'z' or 'knha'.")
    k_all = len(y)
    if len(v) != k_all:
        raise SynthesisError(f"{len(v)} variances for {k_all} effect sizes.")
    labels = [str(s) for s in slab] if slab is not None else None
    M, mod_names = design_matrix(mods, k_all)
    ctl = Control.of(control)

    missing = np.isnan(y) | np.isnan(v) | np.isnan(M).any(axis=1)
    rows = np.flatnonzero(~missing)
    if missing.any():
        _warn(
            messages,
            f"studies with missing values dropped: "
            f"{describe_rows(np.flatnonzero(missing).tolist(), labels)}.",
        )
    y, v, M = y[rows], v[rows], M[rows]
    k = len(y)
    if k == 0:
        raise SynthesisError("no study has both an effect size and a sampling variance.")
    allvipos = bool(np.all(v > 0))
    if not allvipos:
        bad = rows[v <= 0].tolist()
        _warn(messages, f"non-positive sampling variances in {describe_rows(bad, labels)}.")
        if np.any(v < 0):
            _warn(messages, "negative sampling variances set to zero.")
            v = np.where(v < 0, 0.0, v)
    if k == 1 and test != "z":
        _warn(messages, f"test set to 'z' since k = 1 (no {test} test with one study).")
        test = "z"

    X = np.column_stack([np.ones(k), M]) if M.shape[1] else np.ones((k, 1))
    names = ["intrcpt", *mod_names]
    X, names, dropped = _drop_redundant(X, names)
    if dropped:
        _warn(messages, f"redundant moderators dropped from the model: {', '.join(dropped)}.")
    p = X.shape[1]
    int_only = p == 1
    random = method not in ("EE", "FE")
    if not (int_only and k == 1) and (p > k or (random and p + 1 > k)):
        raise SynthesisError(
            f"{p + int(random)} parameters to estimate from {k} studies; "
            "use fewer moderators or a fixed tau2 (method EE)."
        )

    tau2, se_tau2, iterations = 0.0, math.nan, 0
    if random and k > 1:
        tau2, se_tau2, iterations = estimate_tau2(method, y, v, X, ctl, allvipos, messages)
    with np.errstate(divide="ignore"):
        w = 1 / (v + tau2)
    if np.any(~np.isfinite(w)):
        raise SynthesisError(
            "a study has zero sampling variance and tau2 = 0, so its weight is infinite: "
            f"{describe_rows(rows[~np.isfinite(w)].tolist(), labels)}. Correct its variance."
        )
    vb = _inv_xwx(X, w)
    b = vb @ (X.T @ (w * y))
    s2w = 1.0
    if test == "knha":
        rss = float(np.sum(w * (y - X @ b) ** 2))
        s2w = 0.0 if rss <= EPS else rss / (k - p)
        if not random:
            _warn(messages, "the Knapp-Hartung adjustment is not meant for equal-effects models.")
    vb = s2w * vb
    se = np.sqrt(np.diag(vb))
    with np.errstate(divide="ignore", invalid="ignore"):
        zval = b / se
    btt = list(range(1, p)) if p > 1 else [0]
    m = len(btt)
    try:
        QM = float(b[btt] @ np.linalg.solve(vb[np.ix_(btt, btt)], b[btt]))
    except np.linalg.LinAlgError:
        QM = math.nan
    alpha = 1 - level / 100
    ddf: int | None = None
    if test in ("knha", "t"):
        ddf = k - p
        QM /= m
        QMdf: tuple[int, int | None] = (m, k - p)
        QMp = float(stats.f.sf(QM, m, k - p)) if k - p > 0 else math.nan
        pval = 2 * stats.t.sf(np.abs(zval), ddf) if ddf > 0 else np.full(p, math.nan)
        crit = float(stats.t.isf(alpha / 2, ddf)) if ddf > 0 else math.nan
    else:
        QMdf = (m, None)
        QMp = float(stats.chi2.sf(QM, m))
        pval = 2 * stats.norm.sf(np.abs(zval))
        crit = float(stats.norm.isf(alpha / 2))
    ci_lb, ci_ub = b - crit * se, b + crit * se

    if allvipos:
        if k > p:
            wf = 1 / v
            Pf = _P(X, wf)
            ymc = y - y.mean()
            QE = max(0.0, float(ymc @ Pf @ ymc))
            QEp = float(stats.chi2.sf(QE, k - p))
            vt = (k - p) / float(np.trace(Pf))
            if random:
                I2 = 100 * tau2 / (vt + tau2)
                H2 = tau2 / vt + 1
            else:
                with np.errstate(divide="ignore", invalid="ignore"):
                    I2 = max(0.0, 100 * (QE - (k - p)) / QE) if QE > 0 else 0.0
                H2 = QE / (k - p)
        else:
            QE, QEp, I2, H2, vt = 0.0, 1.0, 0.0, 1.0, 0.0
    else:
        _warn(messages, "Q, I2 and H2 cannot be computed with non-positive sampling variances.")
        QE = QEp = I2 = H2 = vt = math.nan

    res = RMAResult(
        b=b,
        se=se,
        zval=zval,
        pval=np.asarray(pval, dtype=float),
        ci_lb=ci_lb,
        ci_ub=ci_ub,
        vb=vb,
        coef_names=names,
        tau2=tau2,
        se_tau2=se_tau2,
        I2=I2,
        H2=H2,
        QE=QE,
        QEp=QEp,
        QM=QM,
        QMp=QMp,
        QMdf=QMdf,
        k=k,
        p=p,
        ddf=ddf,
        method=method,
        test=test,
        level=level,
        yi=y,
        vi=v,
        X=X,
        vt=vt,
        s2w=s2w,
        allvipos=allvipos,
        int_only=int_only,
        measure=measure,
        slab=[labels[r] for r in rows] if labels is not None else None,
        rows=rows,
        ni=ni_all[rows] if ni_all is not None else None,
        iterations=iterations,
        control=ctl,
        warnings=messages,
    )
    if int_only:
        half = crit * math.sqrt(se[0] ** 2 + tau2)
        res.pi_lb, res.pi_ub = float(b[0] - half), float(b[0] + half)
    elif names[0] == "intrcpt":
        res.R2 = _r2(res, y, v, X, w, ctl)
    if tau2_ci and random and k > p and k > 1 and allvipos:
        lb, ub = tau2_qprofile(y, v, X, tau2, level)
        res.tau2_ci_lb, res.tau2_ci_ub = lb, ub
        res.I2_ci_lb, res.I2_ci_ub = (100 * t / (vt + t) for t in (lb, ub))
        res.H2_ci_lb, res.H2_ci_ub = (t / vt + 1 for t in (lb, ub))
    return res


def _r2(
    res: RMAResult, y: np.ndarray, v: np.ndarray, X: np.ndarray, w: np.ndarray, ctl: Control
) -> float:
    k, p = X.shape
    if not res.random:
        if np.var(y) == 0:
            return 0.0
        # adjusted R2 of the weighted least-squares fit, as summary(lm(..., weights))
        beta = _inv_xwx(X, w) @ (X.T @ (w * y))
        fitted = X @ beta
        rss = float(np.sum(w * (y - fitted) ** 2))
        mss = float(np.sum(w * (fitted - np.sum(w * fitted) / w.sum()) ** 2))
        r2 = mss / (mss + rss)
        adj = 1 - (1 - r2) * ((k - 1) / (k - p))
        return max(0.0, 100 * adj)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SynthesisWarning)
            base = rma(y, v, method=res.method, test=res.test, control=ctl, tau2_ci=False)
    except SynthesisError:
        return math.nan
    if base.tau2 == 0:
        return 0.0
    return max(0.0, 100 * (base.tau2 - res.tau2) / base.tau2)


def predict(res: RMAResult, newmods: Sequence[float] | None = None) -> dict[str, float]:
    """Predicted effect with CI and prediction interval at moderator values ``newmods``."""
    x = np.array([1.0, *(newmods or [])])
    if len(x) != res.p:
        raise SynthesisError(f"the model has {res.p - 1} moderators; give as many values.")
    pred = float(x @ res.b)
    se = math.sqrt(float(x @ res.vb @ x))
    alpha = 1 - res.level / 100
    crit = stats.t.isf(alpha / 2, res.ddf) if res.ddf is not None else stats.norm.isf(alpha / 2)
    return {
        "pred": pred,
        "se": se,
        "ci_lb": pred - crit * se,
        "ci_ub": pred + crit * se,
        "pi_lb": pred - crit * math.sqrt(se**2 + res.tau2),
        "pi_ub": pred + crit * math.sqrt(se**2 + res.tau2),
    }
