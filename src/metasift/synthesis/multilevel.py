"""Multilevel meta-analysis of dependent effect sizes, as metafor's ``rma.mv()``.

Preclinical reviews report many experiments and outcomes per study; their effect sizes are not
independent. A multilevel model gives each level of nesting its own variance component::

    fit = rma_mv(yi, vi, random="~ 1 | district/school", data=columns, method="REML")
    fit.sigma2          # [district, district/school], in formula order
    fit.robust("district")   # CR2 cluster-robust tests (see cluster_robust.py)

The random part takes metafor's formula syntax: ``~ 1 | a/b`` nests b within a and gives two
components named ``a`` and ``a/b`` (``~ 1 | a/b/c`` three); several formulas add independent
terms. Moderators enter as in :func:`metasift.synthesis.rma`.

Hand-written on numpy/scipy because no Python library fits these models with metafor's
definitions: statsmodels' MixedLM has no known sampling variances, PyMARE has no multilevel
models. The variance components maximise the (restricted) likelihood: Fisher scoring from
metafor's starting values, then Newton steps with the observed information until the score is
zero to machine precision, so two correct programs agree on the maximum rather than on where
an optimiser stopped (metafor's nlminb stops within ~1e-6 of it; the references in
``tests/fixtures/multilevel`` are polished to the maximum). The log-likelihood, deviance, AIC,
BIC and AICc follow metafor's formulas (REML includes its ``1/2 log|X'X|`` term), as do
QE (with the sampling variances alone) and QM.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from scipy import linalg, stats
from scipy.sparse.csgraph import connected_components

from metasift.synthesis.effects import EffectSizes
from metasift.synthesis.errors import ConvergenceError, SynthesisError, describe_rows
from metasift.synthesis.models import (
    _drop_redundant,
    _num,
    _warn,
    design_matrix,
)

if TYPE_CHECKING:
    from metasift.synthesis.cluster_robust import RobustResult

MV_METHODS = ("REML", "ML")
MV_TESTS = ("z", "t")
_FORMULA = re.compile(r"^\s*~\s*1\s*\|\s*(?P<inner>[^|~]+?)\s*$")
_NAME = re.compile(r"^[A-Za-z_.][\w.]*$")


@dataclass(frozen=True)
class RandomTerm:
    """One variance component: rows sharing the values of ``columns`` share a random effect.

    ``name`` is metafor's: the columns joined by ``/`` (``district/school``).
    """

    columns: tuple[str, ...]

    @property
    def name(self) -> str:
        return "/".join(self.columns)


def parse_random(random: str | Sequence[str]) -> list[RandomTerm]:
    """metafor's random-effects formulas -> variance components, in formula order.

    :param random: ``"~ 1 | district/school"`` or a list of such formulas.
    :returns: one term per component: ``a/b/c`` gives ``a``, ``a/b`` and ``a/b/c``.
    """
    formulas = [random] if isinstance(random, str) else list(random)
    if not formulas:
        raise SynthesisError("no random effects given; write them as '~ 1 | study/esid'.")
    terms: list[RandomTerm] = []
    for formula in formulas:
        match = _FORMULA.match(formula)
        columns = [c.strip() for c in match["inner"].split("/")] if match else []
        if not columns or not all(_NAME.match(c) for c in columns):
            raise SynthesisError(
                f"random effects {formula!r}: write them as metafor does, '~ 1 | study' or "
                "'~ 1 | study/esid' (a column name, or names nested with '/')."
            )
        for depth in range(1, len(columns) + 1):
            term = RandomTerm(tuple(columns[:depth]))
            if term not in terms:
                terms.append(term)
    return terms


@dataclass
class MVResult:
    """A fitted multilevel model; field names are metafor's (``ci.lb`` becomes ``ci_lb``)."""

    b: np.ndarray
    se: np.ndarray
    zval: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    vb: np.ndarray
    coef_names: list[str]
    sigma2: np.ndarray
    s_names: list[str]
    s_nlevels: list[int]
    QE: float
    QEp: float
    QM: float
    QMp: float
    QMdf: tuple[int, int | None]
    logLik: float
    deviance: float
    AIC: float
    BIC: float
    AICc: float
    k: int
    k_all: int
    p: int
    method: str
    test: str
    level: float
    ddf: int | None
    yi: np.ndarray
    V: np.ndarray
    X: np.ndarray
    M: np.ndarray
    groups: list[np.ndarray]
    data: Mapping[str, Sequence[Any]]
    rows: np.ndarray
    measure: str = "GEN"
    slab: list[str] | None = None
    iterations: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def estimate(self) -> float:
        return float(self.b[0])

    @property
    def int_only(self) -> bool:
        return self.p == 1 and self.coef_names[0] == "intrcpt"

    @property
    def residuals(self) -> np.ndarray:
        return self.yi - self.X @ self.b

    def robust(self, cluster: str | Sequence[Any]) -> RobustResult:
        """Cluster-robust (CR2) tests and intervals, as ``robust(fit, cluster, clubSandwich=TRUE)``.

        :param cluster: a column of the data the model was fitted on, or one value per row.
        """
        from metasift.synthesis.cluster_robust import robust

        return robust(self, cluster)

    def summary(self, digits: int = 4) -> str:
        """The fit as metafor prints it: fit statistics, variance components, tests, results.

        :param digits: decimals of estimates, tests and p-values.
        """
        from metasift.synthesis.mv_summary import mv_summary

        return mv_summary(self, digits)

    def __str__(self) -> str:
        return self.summary()

    def to_dict(self) -> dict[str, Any]:
        """The statistics under metafor's names (``tval`` instead of ``zval`` for t tests)."""
        stat = "zval" if self.test == "z" else "tval"
        coefs = {
            "se": self.se,
            stat: self.zval,
            "pval": self.pval,
            "ci_lb": self.ci_lb,
            "ci_ub": self.ci_ub,
        }
        out: dict[str, Any] = {
            "model": "rma.mv",
            "measure": self.measure,
            "method": self.method,
            "test": self.test,
            "k": self.k,
        }
        if self.int_only:
            out["estimate"] = float(self.b[0])
            out.update({key: _num(value[0]) for key, value in coefs.items()})
        else:
            out["coefficients"] = [
                {"name": name, "estimate": float(self.b[j])}
                | {key: _num(value[j]) for key, value in coefs.items()}
                for j, name in enumerate(self.coef_names)
            ]
        out["sigma2"] = [float(s) for s in self.sigma2]
        out["s_names"] = list(self.s_names)
        out["s_nlevels"] = list(self.s_nlevels)
        for key in ("QE", "QEp", "QM", "QMp", "logLik", "deviance", "AIC", "BIC", "AICc"):
            out[key] = _num(getattr(self, key))
        out["QMdf"] = list(self.QMdf)
        if self.ddf is not None:
            out["ddf"] = self.ddf
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def _group_codes(terms: list[RandomTerm], data: Mapping[str, Sequence[Any]], k: int) -> list[Any]:
    """Per term, each row's level as a tuple of its columns' values (None where missing)."""
    for term in terms:
        for column in term.columns:
            if column not in data:
                known = ", ".join(sorted(data)) or "none"
                raise SynthesisError(
                    f"random effects name the column {column!r}, which the data lack "
                    f"(columns: {known})."
                )
            if len(data[column]) != k:
                raise SynthesisError(f"column {column!r} has {len(data[column])} values for {k}.")
    levels = []
    for term in terms:
        cells = [[data[c][i] for c in term.columns] for i in range(k)]
        levels.append([None if any(map(_missing, row)) else tuple(map(str, row)) for row in cells])
    return levels


def independent_blocks(*patterns: np.ndarray) -> list[np.ndarray]:
    """Groups of rows that no variance or covariance links to other rows (the studies of a
    nested model), so that M is block diagonal over them.

    :param patterns: k x k boolean matrices of the non-zero entries of V and of each term.
    """
    linked = np.logical_or.reduce(patterns)
    count, labels = connected_components(linked.astype(np.int8), directed=False)
    return [np.flatnonzero(labels == c) for c in range(count)]


def block_inverse(M: np.ndarray, blocks: list[np.ndarray]) -> tuple[np.ndarray, float]:
    """(M^-1, log|M|) block by block, through each block's Cholesky factor.

    Inverting a study's few rows at a time is cheap, and the triangular inverse (LAPACK's
    dtrtri) is used because the general routines (getri, potri, trsm) can take a hundred times
    longer than their arithmetic when BLAS threads compete for a busy machine.
    """
    Mi = np.zeros_like(M)
    logdet = 0.0
    for rows in blocks:
        block = M[np.ix_(rows, rows)]
        try:
            L = np.linalg.cholesky(block)
        except np.linalg.LinAlgError as exc:
            raise SynthesisError(
                "the marginal variance-covariance matrix is not positive definite; check "
                "the sampling variances (are some zero?) and the random effects."
            ) from exc
        Li, info = linalg.lapack.dtrtri(L, lower=1)
        if info != 0:  # pragma: no cover - a Cholesky factor has a non-zero diagonal
            raise SynthesisError("the marginal variance-covariance matrix is singular.")
        Mi[np.ix_(rows, rows)] = Li.T @ Li
        logdet += 2 * float(np.sum(np.log(np.diag(L))))
    return Mi, logdet


# ---- likelihood --------------------------------------------------------------------------------


class _State(NamedTuple):
    M: np.ndarray
    Mi: np.ndarray
    logdet: float
    P: np.ndarray
    Py: np.ndarray


class _Model:
    """The pieces every evaluation of the likelihood needs, for one sigma2.

    P and the REML terms depend on X only through its column space, so they are computed from
    an orthonormal basis Q of it (X = QR): a moderator such as a year (~2000) makes X'X
    ill-conditioned, Q'M^-1 Q is not. With X = QR, log|X'X| - log|X'M^-1 X| = -log|Q'M^-1 Q|.
    """

    def __init__(self, y: np.ndarray, X: np.ndarray, V: np.ndarray, G: list[np.ndarray]):
        self.y, self.V, self.G = y, V, G
        self.Q = np.linalg.qr(X)[0]
        self.blocks = independent_blocks(V != 0, *(g != 0 for g in G))

    def at(self, sigma2: np.ndarray) -> _State:
        """M, its inverse and log-determinant, the REML projection P and P y at ``sigma2``."""
        M = self.V + sum(s * g for s, g in zip(sigma2, self.G, strict=True))
        Mi, logdet = block_inverse(M, self.blocks)
        MiQ = Mi @ self.Q
        P = Mi - MiQ @ np.linalg.solve(self.Q.T @ MiQ, MiQ.T)
        return _State(M, Mi, logdet, P, P @ self.y)

    def loglik(self, sigma2: np.ndarray, reml: bool) -> float:
        """metafor's ``.ll.rma.mv`` (REML with its ``REMLf`` term, 1/2 log|X'X|)."""
        state = self.at(sigma2)
        k, p = self.Q.shape
        rss = float(self.y @ state.Py)
        logdet_m = state.logdet
        if not reml:
            return -0.5 * k * math.log(2 * math.pi) - 0.5 * logdet_m - 0.5 * rss
        return (
            -0.5 * (k - p) * math.log(2 * math.pi)
            - 0.5 * logdet_m
            - 0.5 * np.linalg.slogdet(self.Q.T @ state.Mi @ self.Q)[1]
            - 0.5 * rss
        )

    def derivatives(self, sigma2: np.ndarray, reml: bool) -> tuple[np.ndarray, ...]:
        """(score, expected information, observed information) in sigma2 (Harville 1977)."""
        state = self.at(sigma2)
        P, u = state.P, state.Py
        A = P if reml else state.Mi
        AG = [A @ g for g in self.G]
        Gu = [g @ u for g in self.G]
        q = len(self.G)
        score = np.array([-0.5 * np.trace(AG[j]) + 0.5 * u @ Gu[j] for j in range(q)])
        expected = np.empty((q, q))
        observed = np.empty((q, q))
        for j in range(q):
            for m in range(j, q):
                expected[j, m] = expected[m, j] = 0.5 * np.sum(AG[j] * AG[m].T)
                observed[j, m] = observed[m, j] = Gu[j] @ P @ Gu[m] - expected[j, m]
        return score, expected, observed


def _start(y: np.ndarray, X: np.ndarray, V: np.ndarray, q: int) -> np.ndarray:
    """metafor's starting values: the residual variance beyond sampling error, shared evenly
    (the residual variance of least squares when some sampling variance is zero)."""
    vi = np.diag(V)
    if np.all(vi > 0):
        W = 1 / vi
        beta = np.linalg.solve(X.T @ (W[:, None] * X), X.T @ (W * y))
        total = float(np.var(y - X @ beta, ddof=1) - 1 / np.mean(W))
    else:
        beta = np.linalg.lstsq(X, y, rcond=None)[0]
        total = float(np.sum((y - X @ beta) ** 2) / max(len(y) - X.shape[1], 1))
    return np.full(q, max(0.001 * q, total) / q)


def _positive_definite(matrix: np.ndarray) -> bool:
    return matrix.size > 0 and bool(np.all(np.linalg.eigvalsh(matrix) > 0))


def _fit_sigma2(
    model: _Model, reml: bool, start: np.ndarray, maxiter: int = 1000
) -> tuple[np.ndarray, int]:
    """Maximise the (restricted) likelihood over sigma2 >= 0; (sigma2, iterations).

    Fisher scoring with step halving (each step must not lower the likelihood) reaches the
    maximum's neighbourhood; Newton steps with the observed information then converge to it
    quadratically. A component whose score is negative at zero stays at zero.
    """
    sigma2 = start.astype(float).copy()
    ll = model.loglik(sigma2, reml)
    newton = False
    for iteration in range(1, maxiter + 1):
        score, expected, observed = model.derivatives(sigma2, reml)
        free = ~((sigma2 <= 0) & (score <= 0))
        step = np.zeros_like(sigma2)
        info = observed if newton else expected
        if free.any():
            try:
                step[free] = np.linalg.solve(info[np.ix_(free, free)], score[free])
            except np.linalg.LinAlgError:
                step[free] = score[free] / np.maximum(np.diag(expected)[free], 1e-300)
        scale = max(float(np.max(sigma2)), float(np.mean(np.diag(model.V))))
        if np.all(np.abs(step) <= 1e-14 * scale):
            return np.maximum(sigma2, 0.0), iteration
        for _ in range(60):
            trial = np.maximum(sigma2 + step, 0.0)
            ll_trial = model.loglik(trial, reml)
            if ll_trial >= ll - 1e-13 * abs(ll):
                break
            if newton:  # Newton left the region where it climbs: back to scoring
                newton = False
                step = np.zeros_like(sigma2)
                step[free] = np.linalg.solve(expected[np.ix_(free, free)], score[free])
                continue
            step /= 2
        else:
            return np.maximum(sigma2, 0.0), iteration
        moved = float(np.max(np.abs(trial - sigma2)))
        if ll_trial <= ll and moved <= 1e-10 * scale:
            # the likelihood no longer rises: the step is round-off
            return np.maximum(sigma2, 0.0), iteration
        sigma2, ll = trial, ll_trial
        # Close to the maximum, where the observed information is positive definite, Newton
        # steps converge quadratically where scoring only converges linearly.
        newton = moved <= 1e-4 * scale and _positive_definite(observed[np.ix_(free, free)])
    raise ConvergenceError(
        f"the variance components did not converge in {maxiter} iterations "
        f"(last sigma2 = {', '.join(f'{s:.6g}' for s in sigma2)}). The model may have more "
        "random effects than the data can estimate; try fewer levels of nesting."
    )


# ---- the model ---------------------------------------------------------------------------------


def rma_mv(
    yi: EffectSizes | Sequence[float] | np.ndarray,
    V: Sequence[float] | np.ndarray | None = None,
    *,
    random: str | Sequence[str],
    data: Mapping[str, Sequence[Any]],
    method: str = "REML",
    mods: Mapping[str, Sequence[Any]] | np.ndarray | None = None,
    test: str = "z",
    level: float = 95,
    slab: Sequence[Any] | None = None,
    measure: str | None = None,
    maxiter: int = 1000,
) -> MVResult:
    """Fit a multilevel model, metafor's ``rma.mv(yi, V, random=..., data=...)``.

    :param yi: effect sizes, or an :class:`EffectSizes` (then ``V`` comes from it).
    :param V: sampling variances (one per row) or their full variance-covariance matrix.
    :param random: metafor's formula(s), e.g. ``"~ 1 | study/esid"``.
    :param data: the columns the formulas (and a later ``robust(cluster)``) name, one value per
        row of ``yi``.
    :param method: ``REML`` (default) or ``ML``.
    :param mods: moderators, as :func:`metasift.synthesis.rma` takes them.
    :param test: ``z`` (default) or ``t`` (t and F tests on k - p degrees of freedom).
    :param level: confidence level of the intervals, in percent.
    :param slab: study labels, for messages.
    :param measure: the effect measure's name, for the output.
    :param maxiter: iterations allowed for the variance components.
    :returns: the fit; rows with a missing effect size, variance, moderator or grouping value
        are dropped with a warning naming them.
    """
    messages: list[str] = []
    if isinstance(yi, EffectSizes):
        y_all, v_all = yi.yi.astype(float), yi.vi.astype(float)
        slab = slab if slab is not None else yi.slab
        measure = measure or yi.measure
    else:
        y_all = np.asarray(yi, dtype=float).ravel()
        if V is None:
            raise SynthesisError("give the sampling variances (V).")
        v_all = np.asarray(V, dtype=float)
    k_all = len(y_all)
    if v_all.ndim == 1:
        if len(v_all) != k_all:
            raise SynthesisError(f"{len(v_all)} variances for {k_all} effect sizes.")
        V_all = np.diag(v_all)
    elif v_all.shape == (k_all, k_all):
        V_all = v_all
    else:
        raise SynthesisError(f"V has shape {v_all.shape}; give {k_all} variances or a matrix.")
    method = method.upper()
    if method not in MV_METHODS:
        raise SynthesisError(
            f"method {method!r}: multilevel models estimate their variance components by "
            f"{' or '.join(MV_METHODS)}."
        )
    test = test.lower()
    if test not in MV_TESTS:
        raise SynthesisError(f"test {test!r}: use 'z' or 't'.")
    labels = [str(s) for s in slab] if slab is not None else None
    terms = parse_random(random)
    levels = _group_codes(terms, data, k_all)
    mod_cols, mod_names = design_matrix(mods, k_all)

    vdiag = np.diag(V_all)
    bad = np.isnan(y_all) | np.isnan(vdiag) | np.isnan(mod_cols).any(axis=1)
    bad |= np.array([any(lv[i] is None for lv in levels) for i in range(k_all)], dtype=bool)
    rows = np.flatnonzero(~bad)
    if bad.any():
        _warn(
            messages,
            f"rows with missing values dropped: "
            f"{describe_rows(np.flatnonzero(bad).tolist(), labels)}.",
        )
    y = y_all[rows]
    Vm = V_all[np.ix_(rows, rows)]
    k = len(y)
    if k < 2:
        raise SynthesisError(f"{k} usable row(s); a multilevel model needs more.")
    if np.any(np.diag(Vm) < 0):
        raise SynthesisError("negative sampling variances; correct them.")

    X = np.column_stack([np.ones(k), mod_cols[rows]]) if mod_cols.shape[1] else np.ones((k, 1))
    X, names, dropped = _drop_redundant(X, ["intrcpt", *mod_names])
    if dropped:
        _warn(messages, f"redundant moderators dropped from the model: {', '.join(dropped)}.")
    p = X.shape[1]
    q = len(terms)
    if p + q > k:
        raise SynthesisError(
            f"{p} coefficients and {q} variance components to estimate from {k} rows; "
            "use fewer moderators or levels of nesting."
        )

    G, nlevels, groups = [], [], []
    for lv in levels:
        index: dict[tuple[str, ...], int] = {}
        codes = np.array([index.setdefault(lv[i], len(index)) for i in rows])
        G.append((codes[:, None] == codes[None, :]).astype(float))
        nlevels.append(len(index))
        groups.append(codes)
    model = _Model(y, X, Vm, G)
    reml = method == "REML"
    sigma2, iterations = _fit_sigma2(model, reml, _start(y, X, Vm, q), maxiter)
    # metafor counts values within round-off of zero (10 machine epsilons) as zero
    sigma2 = np.where(sigma2 <= 10 * np.finfo(float).eps, 0.0, sigma2)
    for name, s, n in zip((t.name for t in terms), sigma2, nlevels, strict=True):
        if n == 1:
            _warn(messages, f"{name} has a single level; its variance cannot be estimated.")
        elif s == 0:
            _warn(messages, f"the variance component of {name} is estimated as 0.")
    state = model.at(sigma2)
    M, Mi = state.M, state.Mi
    vb = np.linalg.inv(X.T @ Mi @ X)
    b = vb @ (X.T @ Mi @ y)
    se = np.sqrt(np.diag(vb))
    zval = b / se
    alpha = 1 - level / 100
    ddf = k - p if test == "t" else None
    btt = list(range(1, p)) if p > 1 and names[0] == "intrcpt" else list(range(p))
    m = len(btt)
    QM = float(b[btt] @ np.linalg.solve(vb[np.ix_(btt, btt)], b[btt]))
    if ddf is not None:
        pval = 2 * stats.t.sf(np.abs(zval), ddf)
        crit = float(stats.t.isf(alpha / 2, ddf))
        QM /= m
        QMdf: tuple[int, int | None] = (m, ddf)
        QMp = float(stats.f.sf(QM, m, ddf))
    else:
        pval = 2 * stats.norm.sf(np.abs(zval))
        crit = float(stats.norm.isf(alpha / 2))
        QMdf = (m, None)
        QMp = float(stats.chi2.sf(QM, m))

    QE, QEp = math.nan, math.nan
    if np.all(np.diag(Vm) > 0) and k > p:
        Vi = block_inverse(Vm, independent_blocks(Vm != 0))[0]
        ViX = Vi @ X
        QE = max(0.0, float(y @ (Vi - ViX @ np.linalg.solve(X.T @ ViX, ViX.T)) @ y))
        QEp = float(stats.chi2.sf(QE, k - p))
    ll = model.loglik(sigma2, reml)
    parms = p + q
    n_eff = k - p if reml else k
    if reml:
        deviance = -2 * ll
    else:
        ll_sat = -0.5 * k * math.log(2 * math.pi) - 0.5 * np.linalg.slogdet(Vm)[1]
        deviance = -2 * (ll - ll_sat)
    bound = max(n_eff, parms + 2)
    return MVResult(
        b=b,
        se=se,
        zval=zval,
        pval=np.asarray(pval, dtype=float),
        ci_lb=b - crit * se,
        ci_ub=b + crit * se,
        vb=vb,
        coef_names=names,
        sigma2=sigma2,
        s_names=[t.name for t in terms],
        s_nlevels=nlevels,
        QE=QE,
        QEp=QEp,
        QM=QM,
        QMp=QMp,
        QMdf=QMdf,
        logLik=ll,
        deviance=deviance,
        AIC=-2 * ll + 2 * parms,
        BIC=-2 * ll + parms * math.log(n_eff),
        AICc=-2 * ll + 2 * parms * bound / (bound - parms - 1),
        k=k,
        k_all=k_all,
        p=p,
        method=method,
        test=test,
        level=level,
        ddf=ddf,
        yi=y,
        V=Vm,
        X=X,
        M=M,
        groups=groups,
        data=data,
        rows=rows,
        measure=measure or "GEN",
        slab=[labels[r] for r in rows] if labels is not None else None,
        iterations=iterations,
        warnings=messages,
    )
