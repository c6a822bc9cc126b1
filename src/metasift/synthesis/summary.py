"""Text summaries of fitted models, laid out as metafor's print methods lay them out.

``str(fit)`` of a random-effects model reads as ``print(rma(...))`` does in R: the model line,
tau^2 (SE), tau, I^2, H^2 (and R^2 for meta-regressions), the test for (residual)
heterogeneity, the test of moderators, and the model results table with significance stars.
Numbers are formatted as metafor formats them: fixed ``digits`` decimals (4 by default), I^2,
H^2 and R^2 with 2, p-values below 10^-digits as ``<.0001``, missing values as ``NA``.
Lines carry no trailing blanks (R's ``cat`` leaves one at the end of table rows) and the
blank lines R prints before and after the output are left to the caller.

Written here rather than with a table library because the point is metafor's exact shape:
analysts compare the two outputs side by side.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from metasift.synthesis.effects import MEASURES

if TYPE_CHECKING:
    from metasift.synthesis.bias import RanktestResult, RegtestResult
    from metasift.synthesis.mh import MHResult
    from metasift.synthesis.models import RMAResult
    from metasift.synthesis.subgroup import SubgroupResult

# R's symnum() with metafor's cut points; intervals are closed on the right.
STARS = ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, "."), (1.0, " "))
LEGEND = "Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1"
GAP = "  "  # print.gap = 2


def fmtx(value: float | None, digits: int = 4) -> str:
    """``value`` with ``digits`` decimals (metafor's ``fmtx``); ``NA`` when missing."""
    if value is None or math.isnan(value):
        return "NA"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    return f"{value:.{digits}f}"


def fmtp(p: float | None, digits: int = 4) -> str:
    """A p-value as metafor prints it in tables: ``0.0304``, or ``<.0001`` below the cutoff."""
    if p is None or math.isnan(p):
        return "NA"
    p = min(max(p, 0.0), 1.0)
    digits = max(digits, 1)
    if p >= 10.0**-digits:
        return f"{p:.{digits}f}"
    return "<." + "0" * (digits - 1) + "1"


def _p_phrase(p: float | None, digits: int) -> str:
    text = fmtp(p, digits)
    return f"p-val {text[0]} {text[1:]}" if text.startswith("<") else f"p-val = {text}"


def _df(value: float) -> str:
    """Degrees of freedom as R shows ``round(df, 2)``: 11, or 10.35."""
    value = round(float(value), 2)
    return str(int(value)) if value.is_integer() else f"{value:g}"


def fmt_test(
    name: str,
    value: float,
    pval: float,
    digits: int = 4,
    *,
    df: float | None = None,
    df2: float | None = None,
) -> str:
    """``Q(df = 12) = 152.2330, p-val < .0001``; with ``df2``, ``F(df1 = 1, df2 = 11) = ...``."""
    if df2 is not None:
        dfs = f"(df1 = {_df(df)}, df2 = {_df(df2)})" if df is not None else ""
    else:
        dfs = f"(df = {_df(df)})" if df is not None else ""
    return f"{name}{dfs} = {fmtx(value, digits)}, {_p_phrase(pval, digits)}"


def stars(p: float | None) -> str:
    """Significance code of a p-value (``***`` ... ``.``, a blank above 0.1, none if missing)."""
    if p is None or math.isnan(p):
        return ""
    for cut, code in STARS:
        if p <= cut:
            return code
    return " "


def vector_table(columns: Sequence[tuple[str, str]]) -> list[str]:
    """Two lines, names over values, each right-aligned to the wider of the two."""
    widths = [max(len(name), len(value)) for name, value in columns]
    head = GAP.join(name.rjust(w) for (name, _), w in zip(columns, widths, strict=True))
    body = GAP.join(value.rjust(w) for (_, value), w in zip(columns, widths, strict=True))
    return [head.rstrip(), body.rstrip()]


def frame_table(rownames: Sequence[str], columns: Sequence[tuple[str, Sequence[str]]]) -> list[str]:
    """A table as R prints a data frame of strings (``right=TRUE, print.gap=2``): row names
    left-aligned, columns right-aligned to their widest cell or name."""
    name_width = max((len(r) for r in rownames), default=0)
    widths = [max(len(name), *(len(v) for v in values)) for name, values in columns]
    rows = [[name for name, _ in columns]]
    rows += [[values[i] for _, values in columns] for i in range(len(rownames))]
    lines = []
    for label, cells in zip(["", *rownames], rows, strict=True):
        text = GAP.join(cell.rjust(w) for cell, w in zip(cells, widths, strict=True))
        lines.append((label.ljust(name_width) + GAP + text).rstrip())
    return lines


def _ratio_scale(measure: str) -> str | None:
    """The scale a log-ratio measure is back-transformed to (``RR``), else None."""
    if not MEASURES.get(measure, ("", (), False))[2]:
        return None
    return "OR" if measure == "PETO" else measure


def _model_line(res: RMAResult) -> str:
    if not res.random:
        if res.int_only:
            kind = "Equal-Effects Model" if res.method == "EE" else "Fixed-Effects Model"
        else:
            kind = "Fixed-Effects with Moderators Model"
        return f"{kind} (k = {res.k})"
    kind = "Random-Effects Model" if res.int_only else "Mixed-Effects Model"
    return f"{kind} (k = {res.k}; tau^2 estimator: {res.method})"


def _tau2(value: float, digits: int) -> str:
    # metafor prints an estimate within rounding error of zero as a plain 0
    return "0" if abs(value) <= 10 * 2.220446049250313e-16 else fmtx(value, digits)


# metafor's labels, padded so the values line up; a meta-regression without I^2 and H^2
# (non-positive sampling variances) aligns to its shorter tau^2 label.
_TOTAL = {
    "tau2": "tau^2 (estimated amount of total heterogeneity): ",
    "tau": "tau (square root of estimated tau^2 value):      ",
    "I2": "I^2 (total heterogeneity / total variability):   ",
    "H2": "H^2 (total variability / sampling variability):  ",
}
_RESIDUAL = {
    "tau2": "tau^2 (estimated amount of residual heterogeneity):     ",
    "tau": "tau (square root of estimated tau^2 value):             ",
    "I2": "I^2 (residual heterogeneity / unaccounted variability): ",
    "H2": "H^2 (unaccounted variability / sampling variability):   ",
    "R2": "R^2 (amount of heterogeneity accounted for):            ",
}
_RESIDUAL_SHORT = {
    "tau2": "tau^2 (estimated amount of residual heterogeneity): ",
    "tau": "tau (square root of estimated tau^2 value):         ",
    "R2": "R^2 (amount of heterogeneity accounted for):        ",
}


def _heterogeneity(res: RMAResult, digits: int) -> list[str]:
    if res.int_only:
        labels = _TOTAL
    elif math.isnan(res.I2) and math.isnan(res.H2):
        labels = _RESIDUAL_SHORT
    else:
        labels = _RESIDUAL
    lines = []
    if res.random:
        se = "" if math.isnan(res.se_tau2) else f" (SE = {fmtx(res.se_tau2, digits)})"
        lines.append(labels["tau2"] + _tau2(res.tau2, digits) + se)
        lines.append(labels["tau"] + _tau2(math.sqrt(max(res.tau2, 0.0)), digits))
    if not math.isnan(res.I2):
        lines.append(labels["I2"] + fmtx(res.I2, 2) + "%")
    if not math.isnan(res.H2):
        lines.append(labels["H2"] + fmtx(res.H2, 2))
    if not res.int_only and res.R2 is not None:
        lines.append(labels["R2"] + fmtx(res.R2, 2) + "%")
    return [*lines, ""] if lines else []


def _moderators_test(res: RMAResult, digits: int) -> list[str]:
    if res.p < 2 or math.isnan(res.QM):
        return []
    m = res.QMdf[0]
    first, last = res.p - m + 1, res.p
    which = f"coefficient {first}" if m == 1 else f"coefficients {first}:{last}"
    if res.test in ("knha", "t"):
        test = fmt_test("F", res.QM, res.QMp, digits, df=m, df2=res.QMdf[1])
    else:
        test = fmt_test("QM", res.QM, res.QMp, digits, df=m)
    return [f"Test of Moderators ({which}):", test, ""]


def _results(res: RMAResult, digits: int) -> list[str]:
    t_test = res.test in ("knha", "t")
    columns: list[tuple[str, list[str]]] = [
        ("estimate", [fmtx(v, digits) for v in res.b]),
        ("se", [fmtx(v, digits) for v in res.se]),
        ("tval" if t_test else "zval", [fmtx(v, digits) for v in res.zval]),
    ]
    if t_test:
        columns.append(("df", [_df(res.ddf) if res.ddf is not None else "NA"] * res.p))
    columns += [
        ("pval", [fmtp(v, digits) for v in res.pval]),
        ("ci.lb", [fmtx(v, digits) for v in res.ci_lb]),
        ("ci.ub", [fmtx(v, digits) for v in res.ci_ub]),
        ("", [stars(v) for v in res.pval]),
    ]
    if res.int_only:
        return vector_table([(name, values[0]) for name, values in columns])
    return frame_table(res.coef_names, columns)


def _back_transformed(res: RMAResult, scale: str, digits: int) -> list[str]:
    values = [("estimate", res.b[0]), ("ci.lb", res.ci_lb[0]), ("ci.ub", res.ci_ub[0])]
    if res.random and res.pi_lb is not None and res.pi_ub is not None:
        values += [("pi.lb", res.pi_lb), ("pi.ub", res.pi_ub)]
    table = vector_table([(name, fmtx(math.exp(v), digits)) for name, v in values])
    return ["", f"Model Results ({scale} scale):", "", *table]


def rma_summary(res: RMAResult, digits: int = 4, exp: bool | None = None) -> str:
    """The fitted model as metafor's ``print.rma.uni`` shows it.

    :param res: the fitted model.
    :param digits: decimals of estimates, tests and p-values (I^2, H^2, R^2 always have 2).
    :param exp: add the pooled estimate back-transformed from the log scale (with its
        confidence and prediction intervals), as ``predict(res, transf=exp)``; by default for
        intercept-only models of ratio measures (OR, RR, IRR, ROM, PETO).
    """
    lines = [_model_line(res), ""]
    lines += _heterogeneity(res, digits)
    if not math.isnan(res.QE):
        name, title = ("Q", "Test for Heterogeneity:")
        if not res.int_only:
            name, title = ("QE", "Test for Residual Heterogeneity:")
        lines += [title, fmt_test(name, res.QE, res.QEp, digits, df=res.k - res.p), ""]
    lines += _moderators_test(res, digits)
    lines += ["Model Results:", "", *_results(res, digits)]
    scale = _ratio_scale(res.measure)
    if exp is None:
        exp = scale is not None and res.int_only
    if exp:
        lines += _back_transformed(res, scale or "exp", digits)
    lines += ["", "---", LEGEND]
    return "\n".join(lines)


def mh_summary(res: MHResult, digits: int = 4) -> str:
    """A Mantel-Haenszel or Peto fit as metafor's ``print.rma.mh`` / ``print.rma.peto``.

    :param res: the pooled fit.
    :param digits: decimals of estimates, tests and p-values (I^2 and H^2 always have 2).
    """
    lines = [f"Equal-Effects Model (k = {res.k})", ""]
    heterogeneity = []
    if not math.isnan(res.I2):
        heterogeneity.append(
            "I^2 (total heterogeneity / total variability):  " + fmtx(res.I2, 2) + "%"
        )
    if not math.isnan(res.H2):
        heterogeneity.append("H^2 (total variability / sampling variability): " + fmtx(res.H2, 2))
    if not math.isnan(res.QE):
        df = max(res.k_yi - 1, 0)
        heterogeneity += [
            "",
            "Test for Heterogeneity:",
            fmt_test("Q", res.QE, res.QEp, digits, df=df),
        ]
    lines += [*heterogeneity, ""] if heterogeneity else []
    log_table = [
        ("estimate", fmtx(res.b, digits)),
        ("se", fmtx(res.se, digits)),
        ("zval", fmtx(res.zval, digits)),
        ("pval", fmtp(res.pval, digits)),
        ("ci.lb", fmtx(res.ci_lb, digits)),
        ("ci.ub", fmtx(res.ci_ub, digits)),
    ]
    scale = _ratio_scale(res.measure)
    if scale is None:
        return "\n".join([*lines, "Model Results:", "", *vector_table(log_table)])
    exp_table = [
        (name, fmtx(math.exp(value), digits))
        for name, value in (("estimate", res.b), ("ci.lb", res.ci_lb), ("ci.ub", res.ci_ub))
    ]
    lines += ["Model Results (log scale):", "", *vector_table(log_table), ""]
    lines += [f"Model Results ({scale} scale):", "", *vector_table(exp_table)]
    if res.method == "MH" and res.measure == "OR":
        cmh, tarone = fmtx(res.MH, digits), fmtx(res.TA, digits)
        width = max(len(cmh), len(tarone))
        pad = " " * (len(_df(res.k_pos)) - 1) if not math.isnan(res.k_pos) else ""
        lines += [
            "",
            "Cochran-Mantel-Haenszel Test:    "
            + (
                "test value not computable for these data"
                if math.isnan(res.MH)
                else f"CMH = {cmh.rjust(width)}, df = 1,{pad} {_p_phrase0(res.MHp, digits)}"
            ),
            "Tarone's Test for Heterogeneity: "
            + (
                "test value not computable for these data"
                if math.isnan(res.TA)
                else f"X^2 = {tarone.rjust(width)}, df = {_df(res.k_pos - 1)}, "
                f"{_p_phrase0(res.TAp, digits)}"
            ),
        ]
    elif res.method == "MH" and res.measure == "IRR":
        lines += [
            "",
            "Mantel-Haenszel Test: "
            + (
                "test value not computable for these data"
                if math.isnan(res.MH)
                else f"MH = {fmtx(res.MH, digits)}, df = 1, {_p_phrase(res.MHp, digits)}"
            ),
        ]
    return "\n".join(lines)


def _p_phrase0(p: float | None, digits: int) -> str:
    """As :func:`_p_phrase` with a leading zero on the cutoff (``p-val < 0.0001``)."""
    return _p_phrase(p, digits).replace("< .", "< 0.")


def subgroup_summary(res: SubgroupResult, digits: int = 4) -> str:
    """One row per subgroup (k, estimate, CI, tau^2, I^2) and both tests for differences."""
    fits = list(res.fits.values())
    first = fits[0]
    columns: list[tuple[str, list[str]]] = [
        ("k", [str(f.k) for f in fits]),
        ("estimate", [fmtx(f.b[0], digits) for f in fits]),
        ("se", [fmtx(f.se[0], digits) for f in fits]),
        ("ci.lb", [fmtx(f.ci_lb[0], digits) for f in fits]),
        ("ci.ub", [fmtx(f.ci_ub[0], digits) for f in fits]),
    ]
    if first.random:
        columns.append(("tau^2", [_tau2(f.tau2, digits) for f in fits]))
    columns.append(("I^2", [fmtx(f.I2, 2) + "%" if not math.isnan(f.I2) else "NA" for f in fits]))
    method = f"tau^2 estimator: {first.method}" if first.random else first.method
    lines = [f"Subgroups by {res.by} ({method}):", ""]
    lines += frame_table(list(res.fits), columns)
    lines += ["", "Test for Subgroup Differences:"]
    if not math.isnan(res.QM):
        if res.QMdf[1] is not None:
            test = fmt_test("F", res.QM, res.QMp, digits, df=res.QMdf[0], df2=res.QMdf[1])
        else:
            test = fmt_test("QM", res.QM, res.QMp, digits, df=res.QMdf[0])
        lines.append(test + "  (meta-regression on the subgroups, one tau^2)")
    between = fmt_test("Q", res.Qb, res.Qbp, digits, df=res.Qb_df)
    lines.append(between + "  (separate fits, one tau^2 per subgroup)")
    return "\n".join(lines)


_PREDICTORS = {
    "sei": "standard error",
    "vi": "sampling variance",
    "ni": "sample size",
    "ninv": "inverse of the sample size",
    "sqrtni": "square root sample size",
    "sqrtninv": "inverse of the square root sample size",
}


def _small_k_note(k: int) -> list[str]:
    from metasift.synthesis.bias import small_k_warning

    note = small_k_warning(k) if k else None
    return ["", f"Note: {note}"] if note else []


def regtest_summary(res: RegtestResult, digits: int = 4) -> str:
    """Egger's test as metafor's ``print(regtest(...))`` lays it out, with Cochrane's caution
    when there are fewer than ten studies.

    :param res: the test's result.
    :param digits: decimals of statistics and p-values.
    """
    if res.model == "lm":
        model = "weighted regression with multiplicative dispersion"
    else:
        fixed = res.method in ("EE", "FE", "CE")
        model = f"{'fixed' if fixed else 'mixed'}-effects meta-regression model"
    p = _p_phrase(res.pval, digits).replace("p-val", "p")
    if res.ddf is not None:
        stat = f"t = {fmtx(res.zval, digits)}, df = {_df(res.ddf)}, {p}"
    else:
        stat = f"z = {fmtx(res.zval, digits)}, {p}"
    lines = [
        "Regression Test for Funnel Plot Asymmetry",
        "",
        f"Model:     {model}",
        f"Predictor: {_PREDICTORS.get(res.predictor, res.predictor)}",
        "",
        f"Test for Funnel Plot Asymmetry: {stat}",
    ]
    if res.est is not None:
        lines.append(
            f"Limit Estimate (as sei -> 0):   b = {fmtx(res.est, digits)} "
            f"(CI: {fmtx(res.ci_lb, digits)}, {fmtx(res.ci_ub, digits)})"
        )
    return "\n".join(lines + _small_k_note(res.k))


def ranktest_summary(res: RanktestResult, digits: int = 4) -> str:
    """Begg and Mazumdar's test as metafor's ``print(ranktest(...))`` lays it out.

    :param res: the test's result.
    :param digits: decimals of statistics and p-values.
    """
    p = _p_phrase(res.pval, digits).replace("p-val", "p")
    lines = [
        "Rank Correlation Test for Funnel Plot Asymmetry",
        "",
        f"Kendall's tau = {fmtx(res.tau, digits)}, {p}",
    ]
    return "\n".join(lines + _small_k_note(res.k))


def _count(value: float) -> str:
    return "Inf" if math.isinf(value) else _df(value)


def bias_summary(bias: Mapping[str, Mapping[str, Any]], digits: int = 4) -> str:
    """The tests for small-study effects of an analysis (``regtest``, ``ranktest``,
    ``trimfill``, ``fsn`` results as the plan records them), in metafor's wording.

    :param bias: test name -> its statistics.
    :param digits: decimals of statistics and p-values.
    """
    rows: list[tuple[str, str]] = []
    if "regtest" in bias:
        eg = bias["regtest"]
        p = _p_phrase(eg["pval"], digits).replace("p-val", "p")
        if eg.get("ddf") is not None:
            stat = f"t = {fmtx(eg['zval'], digits)}, df = {_df(eg['ddf'])}, {p}"
        else:
            stat = f"z = {fmtx(eg['zval'], digits)}, {p}"
        rows.append(("Test for Funnel Plot Asymmetry:", stat))
        if eg.get("est") is not None:
            rows.append(("Limit Estimate (as sei -> 0):", f"b = {fmtx(eg['est'], digits)}"))
    if "ranktest" in bias:
        rk = bias["ranktest"]
        p = _p_phrase(rk["pval"], digits).replace("p-val", "p")
        rows.append(("Rank Correlation Test:", f"Kendall's tau = {fmtx(rk['tau'], digits)}, {p}"))
    if "trimfill" in bias:
        tf = bias["trimfill"]
        rows.append((f"Missing studies on the {tf['side']} side:", str(tf["k0"])))
        rows.append(
            (
                "Estimate after trim-and-fill:",
                f"{fmtx(tf['estimate'], digits)} "
                f"(CI: {fmtx(tf['ci_lb'], digits)}, {fmtx(tf['ci_ub'], digits)})",
            )
        )
    if "fsn" in bias:
        fs = bias["fsn"]
        text = _count(fs["fsnum"])
        if fs.get("pval") is not None:
            text += f" (observed significance level: {fmtp(fs['pval'], digits)})"
        rows.append((f"Fail-safe N ({fs['type']} approach):", text))
    width = max((len(label) for label, _ in rows), default=0)
    lines = ["Small-Study Effects and Publication Bias:", ""]
    lines += [f"{label.ljust(width)} {text}" for label, text in rows]
    k = int(bias.get("regtest", {}).get("k") or bias.get("ranktest", {}).get("k") or 0)
    return "\n".join(lines + _small_k_note(k))
