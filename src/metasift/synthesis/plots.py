"""Forest and funnel plots (matplotlib; SVG, PNG or PDF by the file's suffix).

An adapter: it draws fitted results and never computes statistics of its own beyond the
pseudo-confidence regions of the funnel. The forest, in RevMan's layout, is
:mod:`metasift.synthesis.forestplot`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from scipy import stats

from metasift.synthesis.bias import TrimfillResult
from metasift.synthesis.forestplot import RobDots, effect_line, forest, heterogeneity_line
from metasift.synthesis.models import RMAResult
from metasift.synthesis.plotstyle import FORMATS, LABELS, MUTED, POOLED, STUDY, is_ratio, save

__all__ = [
    "FORMATS",
    "LABELS",
    "RobDots",
    "effect_line",
    "forest",
    "funnel",
    "heterogeneity_line",
]


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
    ax.set_xlabel(xlabel or (f"Log {name.lower()}" if is_ratio(res.measure) else name), fontsize=9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8.5)
    if title:
        ax.set_title(title, fontsize=11, fontweight="bold", loc="left")
    return save(fig, path)
