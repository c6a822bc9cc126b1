"""Text summaries of multilevel fits, laid out as metafor's ``print.rma.mv`` and
``print.robust.rma`` lay them out (numbers formatted as in :mod:`metasift.synthesis.summary`).

The model's own summary matches R's line for line (trailing blanks and the blank lines around
the output left out, as there). The robust summary keeps metafor's shape (cluster counts,
results marked as cluster-robust, the footnote) without its superscript column marks.
"""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING

from metasift.synthesis.summary import (
    LEGEND,
    fmt_test,
    fmtp,
    fmtx,
    frame_table,
    stars,
    vector_table,
)

if TYPE_CHECKING:
    from metasift.synthesis.cluster_robust import RobustResult
    from metasift.synthesis.multilevel import MVResult


def _round2(value: float) -> str:
    """A count statistic as R prints ``round(x, 2)``: 5, or 5.5."""
    value = round(float(value), 2)
    return str(int(value)) if value.is_integer() else f"{value:g}"


def _components(res: MVResult, digits: int) -> list[str]:
    rows = [f"sigma^2.{j + 1}" for j in range(len(res.sigma2))]
    table = frame_table(
        rows,
        [
            ("estim", [fmtx(s, digits) for s in res.sigma2]),
            ("sqrt", [fmtx(max(s, 0.0) ** 0.5, digits) for s in res.sigma2]),
            ("nlvls", [str(n) for n in res.s_nlevels]),
            ("fixed", ["no"] * len(rows)),
            ("factor", list(res.s_names)),
        ],
    )
    return ["Variance Components:", "", *table, ""]


def _heterogeneity(res: MVResult, digits: int) -> list[str]:
    if res.QE != res.QE:  # NaN: some sampling variance is zero
        return []
    name, title = ("Q", "Test for Heterogeneity:")
    if not res.int_only:
        name, title = ("QE", "Test for Residual Heterogeneity:")
    return [title, fmt_test(name, res.QE, res.QEp, digits, df=res.k - res.p), ""]


def _moderators(res: MVResult, digits: int) -> list[str]:
    if res.int_only:
        return []
    m = res.QMdf[0]
    first = res.p - m + 1
    which = f"coefficient {first}" if m == 1 else f"coefficients {first}:{res.p}"
    if res.ddf is not None:
        test = fmt_test("F", res.QM, res.QMp, digits, df=m, df2=res.QMdf[1])
    else:
        test = fmt_test("QM", res.QM, res.QMp, digits, df=m)
    return [f"Test of Moderators ({which}):", test, ""]


def _table(names: list[str], int_only: bool, columns: list[tuple[str, list[str]]]) -> list[str]:
    if int_only:
        return vector_table([(name, values[0]) for name, values in columns])
    return frame_table(names, columns)


def mv_summary(res: MVResult, digits: int = 4) -> str:
    """The fitted model as metafor's ``print.rma.mv`` shows it.

    :param res: the fitted multilevel model.
    :param digits: decimals of estimates, variance components, tests and p-values.
    """
    lines = [f"Multivariate Meta-Analysis Model (k = {res.k}; method: {res.method})", ""]
    lines += _components(res, digits)
    lines += _heterogeneity(res, digits)
    lines += _moderators(res, digits)
    columns = [
        ("estimate", [fmtx(v, digits) for v in res.b]),
        ("se", [fmtx(v, digits) for v in res.se]),
        ("tval" if res.ddf is not None else "zval", [fmtx(v, digits) for v in res.zval]),
    ]
    if res.ddf is not None:
        columns.append(("df", [str(res.ddf)] * res.p))
    columns += [
        ("pval", [fmtp(v, digits) for v in res.pval]),
        ("ci.lb", [fmtx(v, digits) for v in res.ci_lb]),
        ("ci.ub", [fmtx(v, digits) for v in res.ci_ub]),
        ("", [stars(v) for v in res.pval]),
    ]
    lines += ["Model Results:", "", *_table(res.coef_names, res.int_only, columns)]
    lines += ["", "---", LEGEND]
    return "\n".join(lines)


def robust_summary(rob: RobustResult, fit: MVResult, digits: int = 4) -> str:
    """Cluster-robust results as metafor's ``print.robust.rma`` shows them.

    :param rob: the cluster-robust results.
    :param fit: the model they belong to (for its variance components and Q test).
    :param digits: decimals of estimates, tests and p-values (df have 2).
    """
    sizes = list(rob.cluster_sizes)
    lines = [f"Multivariate Meta-Analysis Model (k = {fit.k}; method: {fit.method})", ""]
    lines += _components(fit, digits)
    lines += _heterogeneity(fit, digits)
    lines += [
        f"Number of estimates:   {fit.k}",
        f"Number of clusters:    {rob.n_clusters}",
        f"Estimates per cluster: {min(sizes)}-{max(sizes)} (mean: "
        f"{fmtx(statistics.mean(sizes), 2)}, median: {_round2(statistics.median(sizes))})",
        "",
    ]
    if not fit.int_only:
        m = int(rob.QMdf[0])
        first = fit.p - m + 1
        which = f"coefficient {first}" if m == 1 else f"coefficients {first}:{fit.p}"
        test = fmt_test("F", rob.QM, rob.QMp, digits, df=rob.QMdf[0], df2=rob.QMdf[1])
        lines += [f"Test of Moderators ({which}):", test, ""]
    columns = [
        ("estimate", [fmtx(v, digits) for v in rob.b]),
        ("se", [fmtx(v, digits) for v in rob.se]),
        ("tval", [fmtx(v, digits) for v in rob.tval]),
        ("df", [fmtx(v, 2) for v in rob.df]),
        ("pval", [fmtp(v, digits) for v in rob.pval]),
        ("ci.lb", [fmtx(v, digits) for v in rob.ci_lb]),
        ("ci.ub", [fmtx(v, digits) for v in rob.ci_ub]),
        ("", [stars(v) for v in rob.pval]),
    ]
    lines += ["Model Results:", "", *_table(rob.coef_names, fit.int_only, columns)]
    lines += [
        "",
        "---",
        LEGEND,
        "",
        f"Results based on cluster-robust inference (var-cov estimator: {rob.vcov},",
        f"approx t/F-tests and confidence intervals, df: {rob.test} approx), clustered by "
        f"{rob.cluster}.",
    ]
    return "\n".join(lines)
