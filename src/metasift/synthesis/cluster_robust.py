"""Cluster-robust inference for multilevel models: CR2 with Satterthwaite degrees of freedom,
as clubSandwich's ``coef_test`` / ``conf_int`` compute them (and metafor's
``robust(fit, cluster, clubSandwich=TRUE)`` reports them).

    fit = rma_mv(yi, vi, random="~ 1 | study/esid", data=columns)
    rob = robust(fit, "study")      # se, tval, df, pval, ci_lb, ci_ub per coefficient

The working model's weights stay W = M^-1; the sandwich replaces the model-based variance of
the coefficients by one built from each cluster's residuals, each adjusted by the CR2 matrix
A_j = U_j' (U_j (I - H)_jj M_j U_j')^(-1/2) U_j (U_j the Cholesky factor of M_j; Bell &
McCaffrey 2002, Pustejovsky & Tipton 2018), so that the estimator is unbiased when the working
model is right. Each coefficient's t test takes the Satterthwaite degrees of freedom of that
variance estimate, which are few when clusters are few or unbalanced; the moderators are tested
together by the HTZ Wald test (Tipton & Pustejovsky 2015), as metafor's ``robust()`` does.

Hand-written on numpy because no Python library implements CR2 with these small-sample
corrections; the formulas are clubSandwich 0.5.8's for ``rma.mv`` objects (``inverse_var``,
the default target, no augmented model matrix), and the results agree with it to ~1e-12
(``tests/fixtures/multilevel``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from metasift.synthesis.errors import SynthesisError

if TYPE_CHECKING:
    from metasift.synthesis.multilevel import MVResult


def _is_missing(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


@dataclass
class RobustResult:
    """Cluster-robust tests of a multilevel model's coefficients (metafor's names)."""

    b: np.ndarray
    se: np.ndarray
    tval: np.ndarray
    df: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    vb: np.ndarray
    coef_names: list[str]
    cluster: str
    n_clusters: int
    cluster_sizes: list[int]
    QM: float
    QMdf: tuple[float, float]
    QMp: float
    level: float
    fit: MVResult = field(repr=False)
    vcov: str = "CR2"
    test: str = "Satterthwaite"

    def summary(self, digits: int = 4) -> str:
        """The robust results as metafor's ``print.robust.rma`` lists them.

        :param digits: decimals of estimates, tests and p-values.
        """
        from metasift.synthesis.mv_summary import robust_summary

        return robust_summary(self, self.fit, digits)

    def __str__(self) -> str:
        return self.summary()

    def to_dict(self) -> dict[str, Any]:
        """se, tval, df, pval, ci_lb, ci_ub: numbers for one coefficient, lists for several."""
        fields = {
            "se": self.se,
            "tval": self.tval,
            "df": self.df,
            "pval": self.pval,
            "ci_lb": self.ci_lb,
            "ci_ub": self.ci_ub,
        }
        one = len(self.b) == 1
        out: dict[str, Any] = {
            "vcov": self.vcov,
            "test": self.test,
            "cluster": self.cluster,
            "n_clusters": self.n_clusters,
        }
        for key, values in fields.items():
            out[key] = float(values[0]) if one else [float(v) for v in values]
        out.update(QM=self.QM, QMdf=list(self.QMdf), QMp=self.QMp)
        return out


def _cluster_values(fit: MVResult, cluster: str | Sequence[Any]) -> tuple[str, list[Any]]:
    """(name, one cluster value per row of the fit); values may cover the data or the fit."""
    if isinstance(cluster, str):
        if cluster not in fit.data:
            known = ", ".join(sorted(fit.data)) or "none"
            raise SynthesisError(f"no column {cluster!r} to cluster on (columns: {known}).")
        name, values = cluster, list(fit.data[cluster])
    else:
        name, values = "cluster", list(cluster)
    if len(values) == fit.k_all:
        values = [values[r] for r in fit.rows]
    elif len(values) != fit.k:
        raise SynthesisError(f"{len(values)} cluster values for {fit.k_all} rows of data.")
    missing = [int(r) + 1 for r, v in zip(fit.rows, values, strict=True) if _is_missing(v)]
    if missing:
        raise SynthesisError(
            f"{name!r} is missing in row(s) {', '.join(map(str, missing[:10]))}; every row of "
            "the model needs a cluster."
        )
    return name, values


def _power(matrix: np.ndarray, power: float) -> np.ndarray:
    """Symmetric matrix power; eigenvalues below 1e-12 count as zero (clubSandwich's)."""
    values, vectors = np.linalg.eigh(matrix)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.where(values > 1e-12, np.abs(values) ** power, 0.0)
    return (vectors * scaled) @ vectors.T


def _wald_htz(
    b: np.ndarray, vcov: np.ndarray, H: np.ndarray, GG: np.ndarray, btt: list[int]
) -> tuple[float, tuple[float, float], float]:
    """(F, (df1, df2), p) of clubSandwich's HTZ Wald test that the ``btt`` coefficients are 0.

    Hotelling's T^2 with the degrees of freedom of Tipton & Pustejovsky (2015): the
    variance of the robust covariance estimate, standardised by its expectation Omega,
    gives nu = q(q+1) / sum(Var); F = (nu - q + 1) / nu * Q / q on (q, nu - q + 1) df.
    """
    q = len(btt)
    Hc, GGc = H[btt], GG[np.ix_(btt, btt)]
    # P[s, t, j, m]: the covariance terms between clusters j and m of coefficients s and t
    P = -np.einsum("iuj,lum->iljm", Hc, Hc)
    for j in range(H.shape[2]):
        P[:, :, j, j] += GGc[:, :, j]
    omega = np.einsum("iljj->il", P)
    root = _power(omega, -0.5)
    B = np.einsum("sa,abjm,bt->stjm", root, P, root)
    var = np.einsum("stjm,tsjm->st", B, B) + np.einsum("ssjm,ttjm->st", B, B)
    nu = q * (q + 1) / float(np.sum(var))
    cb = b[btt]
    Q = float(cb @ np.linalg.solve(vcov[np.ix_(btt, btt)], cb))
    delta = max((nu - q + 1) / nu, 0.0)
    df2 = nu - q + 1
    F = delta * Q / q
    p_val = float(stats.f.sf(F, q, df2)) if df2 > 0 else math.nan
    return max(0.0, F), (float(q), df2), p_val


def robust(fit: MVResult, cluster: str | Sequence[Any]) -> RobustResult:
    """CR2 cluster-robust standard errors with Satterthwaite t tests and intervals.

    :param fit: a fitted multilevel model (:func:`metasift.synthesis.rma_mv`).
    :param cluster: a column of the model's data (e.g. ``"study"``), or one value per row;
        every random effect must be nested within it, as clubSandwich requires.
    :returns: per coefficient se, tval, df, pval, ci_lb and ci_ub.
    """
    name, values = _cluster_values(fit, cluster)
    index: dict[str, int] = {}
    codes = np.array([index.setdefault(str(v), len(index)) for v in values])
    J = len(index)
    if J < 2:
        raise SynthesisError(f"{name!r} has a single cluster; robust inference needs several.")
    if J <= fit.p:
        raise SynthesisError(
            f"{J} clusters of {name!r} for {fit.p} coefficients; robust inference needs more "
            "clusters than coefficients."
        )
    for term, groups in zip(fit.s_names, fit.groups, strict=True):
        owners: dict[int, int] = {}
        if any(owners.setdefault(g, c) != c for g, c in zip(groups, codes, strict=True)):
            raise SynthesisError(
                f"the random effects of {term} are not nested within {name!r}: a level of "
                f"{term} spans several clusters. Cluster on the outermost level "
                f"({fit.s_names[0]}) or above."
            )
    X, M, e = fit.X, fit.M, fit.residuals
    p = X.shape[1]
    members = [np.flatnonzero(codes == j) for j in range(J)]
    # clubSandwich's bread is (X'WX)^-1 summed over the clusters' blocks of W = M^-1.
    blocks = []
    xwx = np.zeros((p, p))
    for rows in members:
        Xj = X[rows]
        Mj = M[np.ix_(rows, rows)]
        Wj = np.linalg.inv(Mj)
        blocks.append((rows, Xj, Mj, Wj))
        xwx += Xj.T @ Wj @ Xj
    bread = np.linalg.inv(xwx)
    chol_bread = np.linalg.cholesky(bread)
    components = np.empty((p, J))
    GG = np.empty((p, p, J))  # G_j G_j', G_j = bread E_j U_j'
    H = np.empty((p, p, J))  # H_j = bread E_j X_j L, L L' = bread
    for j, (rows, Xj, Mj, Wj) in enumerate(blocks):
        U = np.linalg.cholesky(Mj).T  # upper: U'U = M_j
        ih = np.eye(len(rows)) - Xj @ bread @ Xj.T @ Wj
        Aj = U.T @ _power(U @ ih @ Mj @ U.T, -0.5) @ U
        Ej = Xj.T @ Wj @ Aj
        components[:, j] = Ej @ e[rows]
        ME = bread @ Ej
        G = ME @ U.T
        GG[:, :, j] = G @ G.T
        H[:, :, j] = ME @ Xj @ chol_bread
    vcov = bread @ components @ components.T @ bread
    se = np.sqrt(np.diag(vcov))
    df = np.empty(p)
    for i in range(p):
        Pi = -H[i].T @ H[i] + np.diag(GG[i, i])
        df[i] = 2 * np.trace(Pi) ** 2 / (2 * np.sum(Pi**2))
    b = fit.b
    tval = b / se
    pval = 2 * stats.t.sf(np.abs(tval), df)
    crit = stats.t.isf((1 - fit.level / 100) / 2, df)
    if fit.int_only:
        QM, QMdf, QMp = float(tval[0] ** 2), (1.0, float(df[0])), float(pval[0])
    else:
        btt = list(range(1, p)) if fit.coef_names[0] == "intrcpt" else list(range(p))
        QM, QMdf, QMp = _wald_htz(b, vcov, H, GG, btt)
    return RobustResult(
        b=b,
        se=se,
        tval=tval,
        df=df,
        pval=pval,
        ci_lb=b - crit * se,
        ci_ub=b + crit * se,
        vb=vcov,
        coef_names=list(fit.coef_names),
        cluster=name,
        n_clusters=J,
        cluster_sizes=[len(rows) for rows in members],
        QM=QM,
        QMdf=QMdf,
        QMp=QMp,
        level=fit.level,
        fit=fit,
    )
