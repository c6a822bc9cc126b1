"""Small-study effects and publication bias, as metafor's regtest, ranktest, trimfill and fsn.

Hand-written because no Python package implements these with metafor's definitions (the
regression test as a meta-regression on the standard error under the fitted model, Duval and
Tweedie's L0/R0 estimators with metafor's choice of side, Begg and Mazumdar's standardised
deviates); only the Kendall rank correlation itself comes from scipy.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

from metasift.synthesis.errors import SynthesisError
from metasift.synthesis.models import RMAResult, SynthesisWarning, rma

PREDICTORS = ("sei", "vi", "ni", "ninv", "sqrtni", "sqrtninv")

# Cochrane Handbook 13.3.5.4: below ten studies the tests cannot tell chance from asymmetry.
SMALL_K = 10


def small_k_warning(k: int) -> str | None:
    """Cochrane's caution for funnel plots and asymmetry tests on fewer than ten studies.

    :param k: the number of studies.
    :returns: the warning, or None when there are ten or more.
    """
    if k >= SMALL_K:
        return None
    return (
        f"only {k} studies: Cochrane advises funnel plots and tests for funnel plot asymmetry "
        f"only with at least {SMALL_K} studies, as with fewer the power is too low to "
        "distinguish chance from real asymmetry (Handbook 13.3.5.4)."
    )


def warn_small_k(k: int) -> None:
    """Issue :func:`small_k_warning` as a :class:`SynthesisWarning` when it applies.

    :param k: the number of studies.
    """
    message = small_k_warning(k)
    if message:
        warnings.warn(message, SynthesisWarning, stacklevel=3)


@dataclass(repr=False)
class RegtestResult:
    """Egger's test; prints as metafor's ``print(regtest(...))`` does."""

    model: str
    predictor: str
    zval: float
    pval: float
    ddf: int | None
    est: float | None
    ci_lb: float | None
    ci_ub: float | None
    k: int = 0
    method: str = ""

    def __str__(self) -> str:
        from metasift.synthesis.summary import regtest_summary

        return regtest_summary(self)

    __repr__ = __str__


def _quiet_rma(*args: object, **kwargs: object) -> RMAResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SynthesisWarning)
        return rma(*args, **kwargs)  # type: ignore[arg-type]


def regtest(res: RMAResult, model: str = "rma", predictor: str = "sei") -> RegtestResult:
    """Egger's regression test for funnel plot asymmetry.

    ``model="rma"`` (metafor's default) adds the predictor to the fitted model (same method and
    test); ``model="lm"`` is the classical weighted regression of Egger et al. (1997).
    """
    if predictor not in PREDICTORS:
        raise SynthesisError(
            f"unknown predictor {predictor!r}; use one of {', '.join(PREDICTORS)}."
        )
    yi, vi, X = res.yi, res.vi, res.X
    if predictor in ("sei", "vi"):
        extra = np.sqrt(vi) if predictor == "sei" else vi
    else:
        if res.ni is None or np.isnan(res.ni).any():
            raise SynthesisError(
                f"predictor {predictor!r} needs the sample sizes, which these data lack; "
                "use predictor 'sei'."
            )
        ni = res.ni
        extra = {"ni": ni, "ninv": 1 / ni, "sqrtni": np.sqrt(ni), "sqrtninv": 1 / np.sqrt(ni)}[
            predictor
        ]
    Xp = np.column_stack([X, extra])
    if np.linalg.matrix_rank(Xp) < Xp.shape[1]:
        raise SynthesisError(
            "the model matrix is not of full rank once the predictor is added "
            "(e.g. all studies have the same variance); the test cannot be done."
        )
    p = X.shape[1]
    level = res.level
    k = len(yi)
    warn_small_k(k)
    if model == "rma":
        fit = _quiet_rma(
            yi,
            vi,
            mods=Xp[:, 1:],
            method=res.method,
            test=res.test,
            control=res.control,
            tau2_ci=False,
        )
        zval, pval, ddf = float(fit.zval[p]), float(fit.pval[p]), fit.ddf
        est = ci_lb = ci_ub = None
        if p == 1 and predictor in ("sei", "vi", "ninv", "sqrtninv"):
            est, ci_lb, ci_ub = float(fit.b[0]), float(fit.ci_lb[0]), float(fit.ci_ub[0])
        return RegtestResult(model, predictor, zval, pval, ddf, est, ci_lb, ci_ub, k, res.method)
    if model != "lm":
        raise SynthesisError(f"unknown model {model!r}; use 'rma' or 'lm'.")
    w = 1 / vi
    inv = np.linalg.inv(Xp.T @ (w[:, None] * Xp))
    beta = inv @ (Xp.T @ (w * yi))
    ddf = len(yi) - Xp.shape[1]
    if ddf <= 0:
        raise SynthesisError("too few studies for the regression test.")
    sigma2 = float(np.sum(w * (yi - Xp @ beta) ** 2)) / ddf
    se = np.sqrt(np.diag(inv) * sigma2)
    t = beta / se
    zval = float(t[p])
    pval = float(2 * stats.t.sf(abs(zval), ddf))
    est = ci_lb = ci_ub = None
    if p == 1 and predictor in ("sei", "vi", "ninv", "sqrtninv"):
        crit = stats.t.isf((1 - level / 100) / 2, ddf)
        est = float(beta[0])
        ci_lb, ci_ub = est - crit * float(se[0]), est + crit * float(se[0])
    return RegtestResult(model, predictor, zval, pval, ddf, est, ci_lb, ci_ub, k, res.method)


@dataclass(repr=False)
class RanktestResult:
    """Begg and Mazumdar's test; prints as metafor's ``print(ranktest(...))`` does."""

    tau: float
    pval: float
    k: int = 0

    def __str__(self) -> str:
        from metasift.synthesis.summary import ranktest_summary

        return ranktest_summary(self)

    __repr__ = __str__


def ranktest(yi: np.ndarray, vi: np.ndarray, exact: bool = True) -> RanktestResult:
    """Begg and Mazumdar's rank correlation between standardised effects and variances.

    The p-value is exact (as R's cor.test) when there are no ties, else the normal
    approximation with the tie-corrected variance.
    """
    yi, vi = np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)
    ok = ~(np.isnan(yi) | np.isnan(vi))
    yi, vi = yi[ok], vi[ok]
    if len(yi) < 3:
        raise SynthesisError("the rank correlation test needs at least 3 studies.")
    warn_small_k(len(yi))
    wi = 1 / vi
    theta = float(np.sum(wi * yi) / wi.sum())
    vb = 1 / wi.sum()
    ystar = (yi - theta) / np.sqrt(vi - vb)
    ties = min(len(np.unique(ystar)), len(np.unique(vi))) < len(yi)
    method = "exact" if exact and not ties else "asymptotic"
    res = stats.kendalltau(ystar, vi, method=method)
    return RanktestResult(float(res.statistic), float(res.pvalue), len(yi))


@dataclass
class TrimfillResult:
    """The model refitted with the imputed studies (``fit``); ``fill`` marks imputed rows."""

    fit: RMAResult
    k0: int
    se_k0: float
    side: str
    estimator: str
    fill: np.ndarray
    p_k0: float | None = None

    @property
    def imputed_yi(self) -> np.ndarray:
        return self.fit.yi[self.fill]

    @property
    def imputed_vi(self) -> np.ndarray:
        return self.fit.vi[self.fill]


def trimfill(
    res: RMAResult, side: str | None = None, estimator: str = "L0", maxiter: int = 100
) -> TrimfillResult:
    """Duval and Tweedie's trim-and-fill. Without ``side``, it is chosen as metafor does: the
    side opposite to the sign of the slope of yi on sqrt(vi) (missing studies on the left when
    small studies show larger effects)."""
    if not res.int_only:
        raise SynthesisError("trim-and-fill applies to models without moderators.")
    if res.k == 1:
        raise SynthesisError("trim-and-fill needs more than one study.")
    estimator = estimator.upper()
    if estimator not in ("L0", "R0", "Q0"):
        raise SynthesisError(f"unknown estimator {estimator!r}; use L0, R0 or Q0.")
    yi0, vi0 = res.yi, res.vi
    if side is None:
        slope = _quiet_rma(
            yi0,
            vi0,
            mods=np.sqrt(vi0)[:, None],
            method=res.method,
            control=res.control,
            tau2_ci=False,
        )
        side = "right" if slope.b[1] < 0 else "left"
    elif side not in ("left", "right"):
        raise SynthesisError(f"side {side!r}: use 'left' or 'right'.")
    yi = -yi0 if side == "right" else yi0.copy()
    order = np.argsort(yi, kind="stable")
    yi, vi = yi[order], vi0[order]
    k = len(yi)
    k0_prev, k0, iteration = -1, 0, 0
    se_k0 = math.nan
    beta = math.nan
    while abs(k0 - k0_prev) > 0:
        k0_prev = k0
        iteration += 1
        if iteration > maxiter:
            raise SynthesisError("the trim-and-fill algorithm did not converge.")
        fit = _quiet_rma(
            yi[: k - k0], vi[: k - k0], method=res.method, control=res.control, tau2_ci=False
        )
        beta = float(fit.b[0])
        yc = yi - beta
        ranks = stats.rankdata(np.abs(yc), method="ordinal")
        signed = np.sign(yc) * ranks
        if estimator == "R0":
            neg = -signed[signed < 0]
            k0f = (k - (neg.max() if len(neg) else 0)) - 1
            se_k0 = math.sqrt(2 * max(0.0, k0f) + 2)
        else:
            Sr = float(signed[signed > 0].sum())
            if estimator == "L0":
                k0f = (4 * Sr - k * (k + 1)) / (2 * k - 1)
            else:
                k0f = k - 0.5 - math.sqrt(2 * k**2 - 4 * Sr + 0.25)
            var_sr = (
                k * (k + 1) * (2 * k + 1)
                + 10 * k0f**3
                + 27 * k0f**2
                + 17 * k0f
                - 18 * k * k0f**2
                - 18 * k * k0f
                + 6 * k**2 * k0f
            ) / 24
            root = math.sqrt(var_sr) if var_sr >= 0 else math.nan
            if estimator == "L0":
                se_k0 = 4 * root / (2 * k - 1)
            else:
                denom = (k - 0.5) ** 2 - k0f * (2 * k - k0f - 1)
                se_k0 = 2 * root / math.sqrt(denom) if denom > 0 else math.nan
        k0 = max(0, int(np.round(k0f)))
        se_k0 = se_k0 if math.isnan(se_k0) else max(0.0, se_k0)
    p_k0 = 0.5 ** (k0 + 1) if estimator == "R0" else None
    if k0 == 0:
        return TrimfillResult(res, 0, se_k0, side, estimator, np.zeros(k, bool), p_k0)
    tail = slice(k - k0, k)
    filled = (yi[tail] - 2 * beta) if side == "right" else (2 * beta - yi[tail])
    y_all = np.concatenate([yi0, filled])
    v_all = np.concatenate([vi0, vi[tail]])
    slab = (res.slab or [f"Study {i + 1}" for i in range(res.k)]) + [
        f"Filled {i + 1}" for i in range(k0)
    ]
    fit = _quiet_rma(
        y_all,
        v_all,
        method=res.method,
        test=res.test,
        control=res.control,
        slab=slab,
        measure=res.measure,
        tau2_ci=False,
    )
    fill = np.concatenate([np.zeros(res.k, bool), np.ones(k0, bool)])
    return TrimfillResult(fit, k0, se_k0, side, estimator, fill, p_k0)


@dataclass
class FsnResult:
    type: str
    fsnum: float
    alpha: float
    pval: float | None = None
    target: float | None = None
    meanes: float | None = None


def fsn(
    yi: np.ndarray,
    vi: np.ndarray,
    type: str = "Rosenthal",
    alpha: float = 0.05,
    target: float | None = None,
    weighted: bool = False,
) -> FsnResult:
    """Fail-safe N: Rosenthal's (Stouffer), Orwin's or Rosenberg's."""
    yi, vi = np.asarray(yi, dtype=float), np.asarray(vi, dtype=float)
    ok = ~(np.isnan(yi) | np.isnan(vi))
    yi, vi = yi[ok], vi[ok]
    k = len(yi)
    if type == "Rosenthal":
        z_avg = abs(float(np.sum(yi / np.sqrt(vi)))) / math.sqrt(k)
        pval = float(stats.norm.sf(z_avg))
        n = max(0.0, k * (z_avg / stats.norm.isf(alpha)) ** 2 - k)
        return FsnResult(type, _round_fsn(n), alpha, pval=pval)
    if type == "Orwin":
        meanes = float(np.sum(yi / vi) / np.sum(1 / vi)) if weighted else float(np.mean(yi))
        tgt = meanes / 2 if target is None else target
        if tgt == 0:
            return FsnResult(type, math.inf, alpha, target=tgt, meanes=meanes)
        if np.sign(tgt) != np.sign(meanes):
            tgt = -tgt
        n = max(0.0, k * (meanes - tgt) / tgt)
        return FsnResult(type, _round_fsn(n), alpha, target=tgt, meanes=meanes)
    if type == "Rosenberg":
        wi = 1 / vi
        meanes = float(np.sum(wi * yi) / wi.sum())
        zval = meanes / math.sqrt(1 / wi.sum())
        wp = (float(np.sum(wi * yi)) / stats.norm.isf(alpha / 2)) ** 2 - wi.sum()
        n = max(0.0, k * wp / wi.sum())
        return FsnResult(
            type, _round_fsn(n), alpha, pval=float(2 * stats.norm.sf(abs(zval))), meanes=meanes
        )
    raise SynthesisError(f"unknown fail-safe N type {type!r}; use Rosenthal, Orwin or Rosenberg.")


def _round_fsn(n: float) -> float:
    if abs(n - round(n)) >= math.sqrt(np.finfo(float).eps):
        return float(math.ceil(n))
    return float(round(n))
