"""The forest plot in the layout of RevMan (what review authors and Cochrane editors expect).

Columns, left to right: the study; each arm's data (events and total, or mean, SD and total,
or events and person-time; the estimate and its SE for generic inverse-variance data); the
study's weight; the estimate with its confidence interval; the plot; and, when given, the
risk-of-bias judgements as coloured dots, as robvis' ``rob_forest`` draws them. Subgroups
get a header, a subtotal with its totals, and heterogeneity and overall-effect lines; the
total follows with the same lines and the test for subgroup differences; "Favours" labels
sit under the axis on either side of the line of no effect.

An adapter: it draws what the fitted models computed (estimates, weights, heterogeneity,
tests) and adds up only the arms' totals it shows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from scipy import stats

from metasift.synthesis.models import RMAResult
from metasift.synthesis.plotstyle import (
    INK,
    LABELS,
    MUTED,
    POOLED,
    STUDY,
    fmt,
    interval,
    is_ratio,
    ratio_ticks,
    save,
)
from metasift.synthesis.subgroup import SubgroupResult

# The measures' names in RevMan's column headers (short enough for the estimates' column).
HEADERS = {
    "MD": "Mean Difference",
    "SMD": "Std. Mean Difference",
    "ROM": "Ratio of Means",
    "OR": "Odds Ratio",
    "RR": "Risk Ratio",
    "RD": "Risk Difference",
    "PETO": "Peto Odds Ratio",
    "IRR": "Rate Ratio",
}
FONT = 8.0
ROW = 0.22  # inches per row
MAX_LABEL = 40  # characters of a study's label before it is cut


@dataclass(frozen=True)
class RobDots:
    """Risk-of-bias judgements drawn beside each study of a forest plot (robvis' rob_forest).

    Attributes:
        tool: the tool's name, shown above the dots ("RoB 2").
        domains: the column headers, one per dot ("D1", ..., "Overall").
        legend: one line per domain, printed under the plot ("D1: Randomisation process").
        styles: judgement -> (colour, symbol), e.g. "Low" -> ("#02C100", "+").
        judgements: a study's key -> its judgement (or None) for each column.
    """

    tool: str
    domains: Sequence[str]
    legend: Sequence[str]
    styles: Mapping[str, tuple[str, str]]
    judgements: Mapping[Any, Sequence[str | None]]


@dataclass
class _Columns:
    """The arms' data columns: a group header per arm over its statistics' headers."""

    groups: list[tuple[str, list[str]]]
    cells: Callable[[int, float, float], list[str]]
    totals: Callable[[list[int]], list[str]]
    events: Callable[[list[int]], list[str]] | None = None

    @property
    def width(self) -> int:
        return sum(len(headers) for _, headers in self.groups)


@dataclass
class _Row:
    kind: str  # header, study, pooled, events, pi, note, gap
    label: str = ""
    cells: list[str] = field(default_factory=list)
    est: float = math.nan
    lb: float = math.nan
    ub: float = math.nan
    weight: float | None = None
    rob: Sequence[str | None] | None = None
    bold: bool = False


def _num(value: float) -> str:
    if value is None or not np.isfinite(value):
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".") if abs(value) >= 1 else f"{value:.3g}"


def _columns(
    measure: str, arms: Mapping[str, Sequence[float]] | None, labels: tuple[str, str]
) -> _Columns:
    """RevMan's data columns for the arms given (metafor's names), or the estimate and its
    standard error when there are none (generic inverse variance)."""
    a = {k: np.asarray(v, dtype=float) for k, v in (arms or {}).items()}

    def total(*names: str) -> Callable[[list[int]], str]:
        return lambda idx: _num(float(np.nansum(sum(a[n][idx] for n in names))))

    if "ai" in a and "ci" in a and ("bi" in a or "n1i" in a) and ("di" in a or "n2i" in a):
        n1 = ("n1i",) if "n1i" in a else ("ai", "bi")
        n2 = ("n2i",) if "n2i" in a else ("ci", "di")
        return _Columns(
            [(labels[0], ["Events", "Total"]), (labels[1], ["Events", "Total"])],
            lambda i, y, v: [
                _num(a["ai"][i]),
                _num(sum(a[n][i] for n in n1)),
                _num(a["ci"][i]),
                _num(sum(a[n][i] for n in n2)),
            ],
            lambda idx: ["", total(*n1)(idx), "", total(*n2)(idx)],
            lambda idx: [total("ai")(idx), "", total("ci")(idx), ""],
        )
    means = ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")
    if all(n in a for n in means):
        return _Columns(
            [(labels[0], ["Mean", "SD", "Total"]), (labels[1], ["Mean", "SD", "Total"])],
            lambda i, y, v: [_num(a[n][i]) for n in means],
            lambda idx: ["", "", total("n1i")(idx), "", "", total("n2i")(idx)],
        )
    rates = ("x1i", "t1i", "x2i", "t2i")
    if all(n in a for n in rates):
        return _Columns(
            [(labels[0], ["Events", "Time"]), (labels[1], ["Events", "Time"])],
            lambda i, y, v: [_num(a[n][i]) for n in rates],
            lambda idx: ["", total("t1i")(idx), "", total("t2i")(idx)],
            lambda idx: [total("x1i")(idx), "", total("x2i")(idx), ""],
        )
    name = f"log[{measure}]" if is_ratio(measure) else measure
    return _Columns(
        [("", [name, "SE"])],
        lambda i, y, v: [f"{y:.4f}", f"{math.sqrt(v):.4f}"],
        lambda idx: ["", ""],
    )


def _p(p: float) -> str:
    """P as RevMan prints it: "P < 0.00001", "P = 0.0004", "P = 0.04"."""
    if not np.isfinite(p):
        return "P = NA"
    if p < 0.00001:
        return "P < 0.00001"
    if p >= 0.01:
        return f"P = {p:.2f}"
    # one significant digit below 0.01, as RevMan prints small P values
    return f"P = {p:.{-math.floor(math.log10(p))}f}"


def heterogeneity_line(res: RMAResult) -> str:
    """RevMan's line: "Heterogeneity: Tau² = 0.31; Chi² = 152.23, df = 12 (P < 0.00001);
    I² = 92%" (no Tau² for a common-effect model).

    Args:
        res: a fitted model.
    """
    if res.k < 2 or not np.isfinite(res.QE):
        return "Heterogeneity: Not applicable"
    tau = f"Tau² = {res.tau2:.2f}; " if res.random else ""
    return (
        f"Heterogeneity: {tau}Chi² = {res.QE:.2f}, df = {res.k - res.p} ({_p(res.QEp)}); "
        f"I² = {res.I2:.0f}%"
    )


def effect_line(res: RMAResult) -> str:
    """RevMan's line: "Test for overall effect: Z = 3.08 (P = 0.002)" (t with its df for
    Hartung-Knapp-Sidik-Jonkman tests).

    Args:
        res: a fitted model.
    """
    stat = abs(float(res.zval[0]))
    name = "Z" if res.test == "z" else "t"
    df = f", df = {res.ddf}" if res.test != "z" and res.ddf is not None else ""
    return f"Test for overall effect: {name} = {stat:.2f}{df} ({_p(float(res.pval[0]))})"


def _model(res: RMAResult) -> str:
    """ "IV, Random (REML), 95% CI" as the header of the estimates ("M-H, Fixed" and "Peto,
    Fixed" for the pooling of 2x2 tables)."""
    if res.method in ("MH", "PETO"):
        return f"{'M-H' if res.method == 'MH' else 'Peto'}, Fixed, {res.level:g}% CI"
    if res.random:
        model = f"Random ({res.method}{', HKSJ' if res.test == 'knha' else ''})"
    else:
        model = "Fixed"
    return f"IV, {model}, {res.level:g}% CI"


def _label(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1].rstrip() + "…"


class _Layout:
    """The rows of a forest, top to bottom, built from a fit or from subgroup fits."""

    def __init__(
        self,
        columns: _Columns,
        rob: RobDots | None,
        keys: Sequence[Any] | None,
        crit: float,
    ) -> None:
        self.rows: list[_Row] = []
        self.columns = columns
        self.rob = rob
        self.keys = keys
        self.crit = crit

    def studies(self, fit: RMAResult, index: Sequence[int], weights: np.ndarray) -> None:
        labels = fit.slab or [f"Study {i + 1}" for i in range(fit.k)]
        for i in range(fit.k):
            se = math.sqrt(fit.vi[i])
            row = int(index[i])
            rob = None
            if self.rob is not None:
                key = self.keys[row] if self.keys is not None else labels[i]
                # a study not assessed gets empty circles, so that the gap shows
                rob = self.rob.judgements.get(key) or [None] * len(self.rob.domains)
            self.rows.append(
                _Row(
                    "study",
                    _label(labels[i]),
                    self.columns.cells(row, float(fit.yi[i]), float(fit.vi[i])),
                    float(fit.yi[i]),
                    float(fit.yi[i]) - self.crit * se,
                    float(fit.yi[i]) + self.crit * se,
                    float(weights[i]),
                    rob,
                )
            )

    def pooled(
        self, fit: RMAResult, label: str, index: Sequence[int], weight: float, total: bool
    ) -> None:
        cells = self.columns.totals(list(index))
        b, lb, ub = float(fit.b[0]), float(fit.ci_lb[0]), float(fit.ci_ub[0])
        self.rows.append(_Row("pooled", label, cells, b, lb, ub, weight, bold=total))
        if self.columns.events is not None:
            self.rows.append(_Row("events", "Total events", self.columns.events(list(index))))

    def lines(self, fit: RMAResult) -> None:
        self.rows.append(_Row("note", heterogeneity_line(fit)))
        self.rows.append(_Row("note", effect_line(fit)))


def _weights_in(overall: RMAResult | None, fit: RMAResult, index: np.ndarray) -> np.ndarray | None:
    """The studies' weights as shares of the overall model (as RevMan shows them)."""
    if overall is None or overall.rows is None:
        return None
    position = {int(r): j for j, r in enumerate(overall.rows)}
    found = [position.get(int(r)) for r in index]
    if any(j is None for j in found):
        return None
    return overall.weights[found]


def _index(fit: RMAResult, base: np.ndarray | None = None) -> np.ndarray:
    """The effect-size rows of ``fit``'s studies (those it did not drop)."""
    rows = fit.rows if fit.rows is not None else np.arange(fit.k)
    return np.asarray(rows if base is None else base[rows], dtype=int)


def forest(
    res: RMAResult | SubgroupResult,
    path: Path | str | None = None,
    *,
    overall: RMAResult | None = None,
    transf: bool | None = None,
    xlabel: str | None = None,
    title: str | None = None,
    prediction: bool = True,
    refline: float | None = None,
    arms: Mapping[str, Sequence[float]] | None = None,
    arm_labels: tuple[str, str] = ("Experimental", "Control"),
    favours: tuple[str, str] | None = None,
    rob: RobDots | None = None,
    keys: Sequence[Any] | None = None,
) -> Figure:
    """Forest plot in RevMan's layout: per-arm data, weights, estimates with CIs, subtotals
    per subgroup, heterogeneity and overall-effect lines, "Favours" labels, and risk-of-bias
    dots. Ratio measures are drawn on a log axis labelled in the original scale
    (``transf=False`` keeps the log scale).

    Args:
        res: a fitted model, or subgroup fits (drawn in blocks with subtotals).
        path: also write the figure there (.svg, .png or .pdf).
        overall: the model over all studies, drawn last under subgroups; its weights are the
            ones shown.
        transf: back-transform ratio measures (default: yes).
        xlabel: a label under the axis (default: none; the "Favours" labels say the direction).
        title: printed above the plot.
        prediction: draw the prediction interval of a random-effects model.
        refline: the line of no effect (default 0, or 1 for ratios).
        arms: each arm's data by metafor's names (ai, bi, ci, di, n1i, n2i, m1i, sd1i, m2i,
            sd2i, x1i, t1i, x2i, t2i), one value per effect size in the order they were
            computed (``EffectSizes.tables``); without them the estimates and their SEs are
            shown, as RevMan does for generic inverse-variance data.
        arm_labels: the names of the two arms, over their columns.
        favours: what the left and right of the line of no effect favour (default: the arms).
        rob: risk-of-bias judgements to draw beside each study.
        keys: each effect size's key in ``rob.judgements`` (default: the study labels).

    Returns:
        The matplotlib figure.
    """
    crit = stats.norm.isf(0.025)
    if isinstance(res, SubgroupResult):
        first = next(iter(res.fits.values()))
        measure, base = first.measure, overall
    else:
        measure, base = res.measure, res
    columns = _columns(measure, arms, arm_labels)
    layout = _Layout(columns, rob, keys, crit)
    if isinstance(res, SubgroupResult):
        total_w = sum((1 / (f.vi + f.tau2)).sum() for f in res.fits.values())
        for name, fit in res.fits.items():
            index = _index(fit, res.rows[name])
            w = _weights_in(overall, fit, index)
            if w is None:
                w = 100 * (1 / (fit.vi + fit.tau2)) / total_w
            layout.rows.append(_Row("header", f"{res.by} = {name}", bold=True))
            layout.studies(fit, index, w)
            layout.pooled(fit, "Subtotal (95% CI)", index, float(w.sum()), total=False)
            layout.lines(fit)
            layout.rows.append(_Row("gap"))
    else:
        layout.studies(res, _index(res), res.weights)
        layout.rows.append(_Row("gap"))
    if base is not None:
        layout.pooled(base, f"Total ({base.level:g}% CI)", _index(base), 100.0, total=True)
        if prediction and base.random and base.k > 1 and base.pi_lb is not None:
            layout.rows.append(
                _Row("pi", "Prediction interval", est=base.b[0], lb=base.pi_lb, ub=base.pi_ub)
            )
        layout.lines(base)
    if isinstance(res, SubgroupResult):
        layout.rows.append(
            _Row(
                "note",
                f"Test for subgroup differences: Chi² = {res.Qb:.2f}, df = {res.Qb_df} "
                f"({_p(res.Qbp)}), I² = {res.I2b:.1f}%",
            )
        )
    ratio = is_ratio(measure) if transf is None else (transf and is_ratio(measure))
    if favours is None:
        favours = tuple(
            name.lower() if name in ("Experimental", "Control") else name for name in arm_labels
        )
    name = HEADERS.get(measure) or LABELS.get(measure, "Effect size")
    header = f"{name}\n{_model(base or first)}"
    fig = _draw(layout, header, ratio, refline, favours, xlabel, title)
    return save(fig, path)


def _draw(
    layout: _Layout,
    header: str,
    ratio: bool,
    refline: float | None,
    favours: tuple[str, str],
    xlabel: str | None,
    title: str | None,
) -> Figure:
    rows, columns, rob = layout.rows, layout.columns, layout.rob
    n = len(rows)
    studies = [r.label for r in rows if r.kind in ("study", "header")]
    label_w = min(max(1.5, 0.062 * max(map(len, studies), default=10) + 0.3), 3.0)
    stat_w, weight_w, est_w, plot_w, dot_w = 0.5, 0.6, 1.55, 2.6, 0.24
    x_arms = label_w
    x_weight = x_arms + stat_w * columns.width + 0.15 * len(columns.groups)
    x_est = x_weight + weight_w + 0.15
    x_plot = x_est + est_w
    x_rob = x_plot + plot_w + 0.25
    # a dot's column is as wide as its header ("Overall")
    dots_x, x = [], x_rob
    for domain in rob.domains if rob else ():
        w = max(dot_w, 0.055 * len(domain) + 0.08)
        dots_x.append(x + w / 2)
        x += w
    width = x + 0.1
    top_rows = 3.2 if title else 2.4
    footer = 3.0 + (1 if xlabel else 0) + (len(rob.legend) + 2.5 if rob else 0)
    height = (footer + n + top_rows) * ROW
    fig = plt.figure(figsize=(width, height))
    tx = fig.add_axes((0, 0, 1, 1))
    tx.set_xlim(0, width)
    tx.set_ylim(-footer, n + top_rows)
    tx.axis("off")
    ax = fig.add_axes((x_plot / width, footer * ROW / height, plot_w / width, n * ROW / height))
    ax.set_ylim(0, n)
    ax.set_facecolor("none")

    def text(x: float, y: float, s: str, **kw: Any) -> None:
        kw.setdefault("fontsize", FONT)
        kw.setdefault("color", INK)
        tx.text(x, y, s, va="center", **kw)

    # Headers: arm names over their statistics; the estimate's measure and model.
    y1, y2 = n + 1.45, n + 0.6
    text(0, y2, "Study or Subgroup", fontweight="bold")
    x = x_arms
    cell_x: list[float] = []
    for name, stats_ in columns.groups:
        left = x
        for stat in stats_:
            x += stat_w
            cell_x.append(x)
            text(x, y2, stat, ha="right", fontweight="bold")
        if name:
            text((left + x) / 2 + 0.1, y1, name, ha="center", fontweight="bold")
        x += 0.15
    text(x_weight + weight_w, y2, "Weight", ha="right", fontweight="bold")
    measure_name, model = header.split("\n")
    text(x_est, y1, measure_name, fontweight="bold")
    text(x_est, y2, model, fontweight="bold", fontsize=FONT - 1)
    text(x_plot + plot_w / 2, y1, measure_name, ha="center", fontweight="bold")
    text(x_plot + plot_w / 2, y2, model, ha="center", fontweight="bold", fontsize=FONT - 1)
    if rob:
        text((x_rob + width - 0.1) / 2, y1, "Risk of Bias", ha="center", fontweight="bold")
        for dx, domain in zip(dots_x, rob.domains, strict=True):
            text(dx, y2, domain, ha="center", fontsize=FONT - 1.5)
    tx.plot([0, width], [n + 0.15, n + 0.15], color=INK, lw=0.6)
    if title:
        text(0, n + 2.5, title, fontsize=FONT + 2.5, fontweight="bold")

    drawn = [r for r in rows if r.kind in ("study", "pooled", "pi")]
    lo = min((r.lb for r in drawn), default=-1.0)
    hi = max((r.ub for r in drawn), default=1.0)
    null = 0.0 if refline is None else (math.log(refline) if ratio else refline)
    lo, hi = min(lo, null), max(hi, null)
    pad = 0.05 * (hi - lo or 1.0)
    ax.set_xlim(lo - pad, hi + pad)
    max_w = max((r.weight for r in rows if r.kind == "study" and r.weight), default=1.0)
    for i, row in enumerate(rows):
        y = n - i - 0.5
        if row.kind == "gap":
            continue
        if row.kind == "note":
            text(0.05, y, row.label, color=MUTED, fontsize=FONT - 0.5)
            continue
        weight = "bold" if row.bold or row.kind in ("header", "pooled") else "normal"
        indent = 0.05 if row.kind in ("study", "events", "pi") else 0.0
        text(indent, y, row.label, fontweight=weight)
        for cx, cell in zip(cell_x, row.cells, strict=False):
            text(cx, y, cell, ha="right", fontweight=weight)
        if row.weight is not None:
            text(x_weight + weight_w, y, f"{row.weight:.1f}%", ha="right", fontweight=weight)
        if row.kind in ("study", "pooled"):
            text(x_est, y, interval(row.est, row.lb, row.ub, ratio), fontweight=weight)
        if row.kind == "pi":
            text(x_est, y, f"[{fmt(row.lb, ratio)}, {fmt(row.ub, ratio)}]")
        _mark(ax, row, y, max_w)
        if row.rob is not None and rob is not None:
            for dx, judgement in zip(dots_x, row.rob, strict=False):
                _dot(tx, dx, y, rob.styles.get(judgement or ""))
    _axis(ax, ratio, lo - pad, hi + pad, null)
    # "Favours" labels either side of the line of no effect, under the axis (RevMan).
    x_null = x_plot + plot_w * (null - (lo - pad)) / ((hi + pad) - (lo - pad))
    text(x_null - 0.08, -2.1, f"Favours {favours[0]}", ha="right", fontsize=FONT - 0.5)
    text(x_null + 0.08, -2.1, f"Favours {favours[1]}", ha="left", fontsize=FONT - 0.5)
    if xlabel:
        text(x_plot + plot_w / 2, -3.0, xlabel, ha="center")
    if rob:
        _rob_legend(tx, rob, -3.4 - (1 if xlabel else 0))
    return fig


def _mark(ax: Any, row: _Row, y: float, max_w: float) -> None:
    if row.kind == "study":
        size = 3 + 9 * math.sqrt((row.weight or 0) / max_w)
        ax.plot([row.lb, row.ub], [y, y], color=STUDY, lw=1.0, solid_capstyle="butt")
        ax.plot([row.est], [y], marker="s", ms=size, color=STUDY, mec=STUDY)
    elif row.kind == "pooled":
        corners = [(row.lb, y), (row.est, y + 0.32), (row.ub, y), (row.est, y - 0.32)]
        face = POOLED if row.bold else "#d9a79c"
        ax.add_patch(Polygon(corners, closed=True, facecolor=face, edgecolor=POOLED, lw=1.0))
        if row.bold:
            ax.axvline(row.est, color=POOLED, lw=0.8, ls=":", zorder=0)
    elif row.kind == "pi":
        ax.plot([row.lb, row.ub], [y, y], color=POOLED, lw=2.2, solid_capstyle="butt")
        for end in (row.lb, row.ub):
            ax.plot([end, end], [y - 0.18, y + 0.18], color=POOLED, lw=1.2)


def _dot(tx: Any, x: float, y: float, style: tuple[str, str] | None) -> None:
    if style is None:
        tx.scatter(x, y, s=70, facecolor="white", edgecolor="#bbbbbb", lw=0.8, zorder=3)
        return
    colour, symbol = style
    tx.scatter(x, y, s=70, color=colour, edgecolor="black", lw=0.4, zorder=3)
    # robvis writes the symbol in white, but on its yellow
    ink = "black" if colour.upper() in ("#E2DF07", "#FFFF00") else "white"
    tx.text(x, y, symbol, ha="center", va="center", fontsize=FONT - 2, zorder=4, color=ink)


def _axis(ax: Any, ratio: bool, lo: float, hi: float, null: float) -> None:
    ax.axvline(null, color=INK, lw=0.8, zorder=0)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_yticks([])
    ax.tick_params(axis="x", labelsize=FONT - 0.5, colors=INK)
    if ratio:
        ticks = ratio_ticks(lo, hi)
        ax.set_xticks([math.log(t) for t in ticks])
        ax.set_xticklabels([f"{t:g}" for t in ticks])


def _rob_legend(tx: Any, rob: RobDots, y: float) -> None:
    tx.text(0, y, f"Risk of bias legend ({rob.tool})", fontsize=FONT, fontweight="bold")
    for j, line in enumerate(rob.legend, start=1):
        tx.text(0, y - j, line, fontsize=FONT - 0.5, color=INK)
    key = "   ".join(f"{symbol} {judgement}" for judgement, (_, symbol) in rob.styles.items())
    # an empty circle is a domain no reviewer has judged (or an overall still open)
    key += "   ○ Not assessed"
    tx.text(0, y - len(rob.legend) - 1, f"Judgement: {key}", fontsize=FONT - 0.5, color=INK)
