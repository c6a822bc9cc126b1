"""Forest and funnel plots (matplotlib; SVG, PNG or PDF by the file's suffix).

An adapter: it draws fitted results and never computes statistics of its own beyond the
pseudo-confidence regions of the funnel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon
from scipy import stats

from metasift.synthesis.bias import TrimfillResult
from metasift.synthesis.effects import MEASURES
from metasift.synthesis.errors import SynthesisError
from metasift.synthesis.models import RMAResult
from metasift.synthesis.subgroup import SubgroupResult

FORMATS = (".svg", ".png", ".pdf")
LABELS = {
    "MD": "Mean difference",
    "SMD": "Standardised mean difference",
    "ROM": "Ratio of means",
    "OR": "Odds ratio",
    "RR": "Risk ratio",
    "RD": "Risk difference",
    "PETO": "Odds ratio (Peto)",
    "COR": "Correlation",
    "ZCOR": "Fisher's z",
    "PR": "Proportion",
    "PLO": "Log odds (proportion)",
    "PAS": "Arcsine square root proportion",
    "IRR": "Incidence rate ratio",
    "GEN": "Effect size",
}
INK = "#1b1b1b"
STUDY = "#2f4b7c"
POOLED = "#a23b2a"
MUTED = "#6b6b6b"


def _save(fig: Figure, path: Path | str | None) -> Figure:
    if path is not None:
        path = Path(path)
        if path.suffix.lower() not in FORMATS:
            raise SynthesisError(
                f"{path}: plots are written as {', '.join(FORMATS)}; choose one of these suffixes."
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        # SVG keeps text as text, so labels stay editable and searchable in the published file.
        with plt.rc_context({"svg.fonttype": "none", "pdf.fonttype": 42}):
            fig.savefig(
                path, dpi=200 if path.suffix.lower() == ".png" else None, bbox_inches="tight"
            )
        plt.close(fig)
    return fig


def _ratio(measure: str) -> bool:
    return MEASURES.get(measure, ("", (), False))[2]


def _fmt(value: float, ratio: bool) -> str:
    v = math.exp(value) if ratio else value
    # a space in place of the minus sign keeps the monospaced columns aligned
    return f"{v:.2f}" if ratio else f"{v: .2f}"


def _interval(est: float, lb: float, ub: float, ratio: bool) -> str:
    return f"{_fmt(est, ratio)} [{_fmt(lb, ratio)}, {_fmt(ub, ratio)}]"


def _model_label(res: RMAResult) -> str:
    kind = "Common-effect model" if not res.random else f"Random-effects model ({res.method}"
    if res.random:
        kind += ", HKSJ)" if res.test == "knha" else ")"
    return kind


def _het_text(res: RMAResult) -> str:
    if math.isnan(res.QE):
        return ""
    p = res.QEp
    ptxt = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
    df = res.k - res.p
    text = f"Q = {res.QE:.2f}, df = {df}, {ptxt}; I² = {res.I2:.1f}%"
    if res.random:
        text += f", τ² = {res.tau2:.4f}"
    return text


class _Rows:
    """Collects the forest's rows top to bottom before drawing."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, kind: str, **fields: Any) -> None:
        self.items.append({"kind": kind, **fields})


def _study_rows(rows: _Rows, res: RMAResult, weights: np.ndarray, crit: float) -> None:
    labels = res.slab or [f"Study {i + 1}" for i in range(res.k)]
    for i in range(res.k):
        se = math.sqrt(res.vi[i])
        rows.add(
            "study",
            label=labels[i],
            est=res.yi[i],
            lb=res.yi[i] - crit * se,
            ub=res.yi[i] + crit * se,
            weight=weights[i],
        )


def _pooled_rows(rows: _Rows, res: RMAResult, label: str, prediction: bool, bold: bool) -> None:
    rows.add(
        "pooled",
        label=label,
        est=res.b[0],
        lb=res.ci_lb[0],
        ub=res.ci_ub[0],
        weight=None,
        bold=bold,
    )
    if prediction and res.random and res.k > 1 and res.pi_lb is not None:
        rows.add("pi", label="Prediction interval", est=res.b[0], lb=res.pi_lb, ub=res.pi_ub)
    het = _het_text(res)
    if het and res.k > 1:
        rows.add("note", label="Heterogeneity: " + het)


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
) -> Figure:
    """Forest plot: one row per study (estimate, CI, weight), pooled diamond, prediction
    interval; subgroup blocks with subtotals when given a SubgroupResult. Ratio measures are
    drawn on a log axis labelled in the original scale (``transf=False`` keeps the log scale).
    """
    crit = stats.norm.isf(0.025)
    rows = _Rows()
    if isinstance(res, SubgroupResult):
        first = next(iter(res.fits.values()))
        measure = first.measure
        total_w = sum((1 / (f.vi + f.tau2)).sum() for f in res.fits.values())
        # Weights are shares of the overall model when it is given (as RevMan shows them).
        position = (
            {int(r): j for j, r in enumerate(overall.rows)}
            if overall is not None and overall.rows is not None
            else None
        )
        for name, fit in res.fits.items():
            rows.add("header", label=f"{res.by} = {name}")
            w = 100 * (1 / (fit.vi + fit.tau2)) / total_w
            if position is not None and fit.rows is not None:
                idx = [position.get(int(res.rows[name][r])) for r in fit.rows]
                if all(i is not None for i in idx):
                    w = overall.weights[idx]
            _study_rows(rows, fit, w, crit)
            _pooled_rows(rows, fit, f"Subtotal ({fit.k} studies)", prediction=False, bold=False)
            rows.add("gap")
        base = overall
        diff = f"Test for subgroup differences: Q = {res.Qb:.2f}, df = {res.Qb_df}, " + (
            "p < 0.001" if res.Qbp < 0.001 else f"p = {res.Qbp:.3f}"
        )
    else:
        measure = res.measure
        _study_rows(rows, res, res.weights, crit)
        rows.add("gap")
        base = res
        diff = None
    if base is not None:
        _pooled_rows(rows, base, _model_label(base), prediction, bold=True)
    if diff:
        rows.add("note", label=diff)
    ratio = _ratio(measure) if transf is None else (transf and _ratio(measure))

    n = len(rows.items)
    height = 0.9 + 0.27 * (n + 1.5)
    fig = plt.figure(figsize=(10.5, height))
    gs = fig.add_gridspec(1, 3, width_ratios=[3.2, 4.0, 3.0], wspace=0.02)
    ax_lab, ax, ax_num = (fig.add_subplot(gs[0, j]) for j in range(3))
    for a in (ax_lab, ax_num):
        a.axis("off")
    top = n + 0.2
    for a in (ax_lab, ax, ax_num):
        a.set_ylim(0.2, top + 0.9)
    # Notes run across the plot column: labels on top, the plot's background transparent.
    ax_lab.set_zorder(3)
    ax.set_facecolor("none")

    drawn = [r for r in rows.items if "lb" in r]
    lo = min(r["lb"] for r in drawn)
    hi = max(r["ub"] for r in drawn)
    null = (
        (0.0 if refline is None else refline)
        if not ratio
        else (0.0 if refline is None else math.log(refline))
    )
    lo, hi = min(lo, null), max(hi, null)
    pad = 0.05 * (hi - lo or 1.0)
    ax.set_xlim(lo - pad, hi + pad)

    header_y = top + 0.45
    ax_lab.text(0, header_y, "Study", fontweight="bold", va="center", color=INK)
    ax_num.text(
        0.05,
        header_y,
        f"{'Estimate' if not ratio else LABELS.get(measure, '')} [95% CI]",
        fontweight="bold",
        va="center",
        color=INK,
        fontsize=9,
    )
    ax_num.text(
        0.98, header_y, "Weight", fontweight="bold", va="center", ha="right", color=INK, fontsize=9
    )
    max_w = max((r["weight"] for r in rows.items if r.get("weight") is not None), default=1.0)
    for i, row in enumerate(rows.items):
        y = top - 0.5 - i
        kind = row["kind"]
        if kind == "gap":
            continue
        if kind == "header":
            ax_lab.text(0, y, row["label"], fontweight="bold", va="center", color=INK, fontsize=9.5)
            continue
        if kind == "note":
            ax_lab.text(0, y, row["label"], va="center", color=MUTED, fontsize=8, style="italic")
            continue
        bold = "bold" if row.get("bold") else "normal"
        ax_lab.text(
            0.02 if kind == "study" else 0,
            y,
            row["label"],
            va="center",
            color=INK,
            fontsize=9,
            fontweight=bold,
        )
        if kind != "pi":
            ax_num.text(
                0.05,
                y,
                _interval(row["est"], row["lb"], row["ub"], ratio),
                va="center",
                fontsize=9,
                color=INK,
                family="monospace",
                fontweight=bold,
            )
        if kind == "study":
            size = 4 + 10 * math.sqrt(row["weight"] / max_w)
            ax.plot([row["lb"], row["ub"]], [y, y], color=STUDY, lw=1.0, solid_capstyle="butt")
            ax.plot([row["est"]], [y], marker="s", ms=size, color=STUDY, mec=STUDY)
            ax_num.text(
                0.98,
                y,
                f"{row['weight']:.1f}%",
                va="center",
                ha="right",
                fontsize=9,
                color=INK,
                family="monospace",
            )
        elif kind == "pooled":
            ax.add_patch(
                Polygon(
                    [
                        (row["lb"], y),
                        (row["est"], y + 0.32),
                        (row["ub"], y),
                        (row["est"], y - 0.32),
                    ],
                    closed=True,
                    facecolor=POOLED if row.get("bold") else "#d9a79c",
                    edgecolor=POOLED,
                    lw=1.0,
                )
            )
            if row.get("bold"):
                ax.axvline(row["est"], color=POOLED, lw=0.8, ls=":", zorder=0)
        elif kind == "pi":
            ax.plot([row["lb"], row["ub"]], [y, y], color=POOLED, lw=2.2, solid_capstyle="butt")
            for end in (row["lb"], row["ub"]):
                ax.plot([end, end], [y - 0.18, y + 0.18], color=POOLED, lw=1.2)
            ax_num.text(
                0.05,
                y,
                f"[{_fmt(row['lb'], ratio)}, {_fmt(row['ub'], ratio)}]",
                va="center",
                fontsize=9,
                color=INK,
                family="monospace",
            )

    ax.axvline(null, color=INK, lw=0.8, zorder=0)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_yticks([])
    ax.tick_params(axis="x", labelsize=8.5, colors=INK)
    if ratio:
        ticks = _ratio_ticks(lo - pad, hi + pad)
        ax.set_xticks([math.log(t) for t in ticks])
        ax.set_xticklabels([f"{t:g}" for t in ticks])
    ax.set_xlabel(
        xlabel or LABELS.get(measure, "Effect size") + (" (log scale)" if ratio else ""),
        fontsize=9,
        color=INK,
    )
    if title:
        ax_lab.text(0, top + 1.1, title, fontsize=11, fontweight="bold", color=INK, va="bottom")
    return _save(fig, path)


def _ratio_ticks(lo: float, hi: float) -> list[float]:
    candidates = [0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 1000]
    inside = [t for t in candidates if lo <= math.log(t) <= hi]
    if len(inside) > 7:
        inside = [t for t in inside if t in (0.001, 0.01, 0.1, 1, 10, 100, 1000)]
    return inside or [round(math.exp(lo), 3), round(math.exp(hi), 3)]


def funnel(
    res: RMAResult | TrimfillResult,
    path: Path | str | None = None,
    *,
    contours: bool | Sequence[float] = False,
    xlabel: str | None = None,
    title: str | None = None,
) -> Figure:
    """Funnel plot of effect sizes against standard errors, with the pooled estimate and its
    95% pseudo-confidence region. ``contours=True`` shades where studies would be significant
    at 10%, 5% and 1% (contour-enhanced, centred on the null). Given a trim-and-fill result,
    imputed studies are drawn as open points and the adjusted estimate is used."""
    fill = None
    if isinstance(res, TrimfillResult):
        fill = res.fill
        res = res.fit
    yi, sei = res.yi, np.sqrt(res.vi)
    est = float(res.b[0])
    se_max = float(sei.max()) * 1.08
    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    levels = (0.90, 0.95, 0.99) if contours is True else tuple(contours or ())
    if levels:
        shades = ["#ffffff", "#e4e4e4", "#c2c2c2", "#9a9a9a"]
        se_grid = np.array([0.0, se_max])
        ordered = sorted(levels)
        # Widest region first; each narrower one is painted over it.
        for j in range(len(ordered) - 1, -1, -1):
            z = stats.norm.isf((1 - ordered[j]) / 2)
            xs = np.concatenate([-z * se_grid, (z * se_grid)[::-1]])
            ys = np.concatenate([se_grid, se_grid[::-1]])
            ax.fill(xs, ys, color=shades[j], zorder=0, lw=0)
        # outside the widest contour: p < 1 - max(level)
        ax.set_facecolor(shades[len(ordered)])
        handles = [
            Patch(facecolor=shades[0], edgecolor="#999999", label=f"p > {1 - ordered[0]:.2f}")
        ]
        for j in range(1, len(ordered)):
            handles.append(
                Patch(
                    facecolor=shades[j],
                    label=f"{1 - ordered[j]:.2f} < p < {1 - ordered[j - 1]:.2f}",
                )
            )
        handles.append(Patch(facecolor=shades[len(ordered)], label=f"p < {1 - ordered[-1]:.2f}"))
        if fill is not None and fill.any():
            handles += [
                Line2D([], [], ls="", marker="o", color=STUDY, label="Studies"),
                Line2D(
                    [],
                    [],
                    ls="",
                    marker="o",
                    mfc="white",
                    mec=STUDY,
                    label="Imputed (trim-and-fill)",
                ),
            ]
        ax.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(1.01, 1),
            fontsize=8,
            frameon=False,
            title="Significance",
            title_fontsize=8,
        )
    else:
        z = stats.norm.isf(0.025)
        ax.fill(
            [est - z * se_max, est, est + z * se_max],
            [se_max, 0, se_max],
            color="#eef1f6",
            zorder=0,
        )
        ax.plot(
            [est - z * se_max, est, est + z * se_max],
            [se_max, 0, se_max],
            color=MUTED,
            lw=0.8,
            ls="--",
        )
    ax.axvline(est, color=POOLED, lw=1.0)
    observed = np.ones(len(yi), bool) if fill is None else ~fill
    ax.scatter(yi[observed], sei[observed], s=28, color=STUDY, zorder=3, label="Studies")
    if fill is not None and fill.any():
        ax.scatter(
            yi[fill],
            sei[fill],
            s=30,
            facecolor="white",
            edgecolor=STUDY,
            zorder=3,
            label="Imputed (trim-and-fill)",
        )
        if not levels:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    ax.set_ylim(se_max, 0)
    span = max(abs(yi - (0 if levels else est)).max(), stats.norm.isf(0.025) * se_max) * 1.1
    centre = 0.0 if levels else est
    ax.set_xlim(centre - span, centre + span)
    ax.set_ylabel("Standard error", fontsize=9)
    name = LABELS.get(res.measure, "Effect size")
    ax.set_xlabel(xlabel or (f"Log {name.lower()}" if _ratio(res.measure) else name), fontsize=9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8.5)
    if title:
        ax.set_title(title, fontsize=11, fontweight="bold", loc="left")
    return _save(fig, path)
