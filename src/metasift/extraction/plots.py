"""Figures: risk-of-bias traffic-light and summary plots in the style of robvis, and the
evidence-map heatmap. Each function returns a matplotlib Figure; :func:`save` writes it (the
format comes from the suffix: .svg, .png, .pdf)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ParamSpec
from typing import Protocol as TypingProtocol

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from metasift.extraction import rob as rob_tools
from metasift.extraction.evidence import EvidenceMap

P = ParamSpec("P")

# robvis colours and symbols.
GREEN, YELLOW, RED, DARK_RED, BLUE, GREY = (
    "#02C100",
    "#E2DF07",
    "#BF0000",
    "#820000",
    "#4EA1F7",
    "#D9D9D9",
)
STYLE = {
    "rob2": {"Low": (GREEN, "+"), "Some concerns": (YELLOW, "−"), "High": (RED, "×")},
    "robins-i": {
        "Low": (GREEN, "+"),
        "Moderate": (YELLOW, "−"),
        "Serious": (RED, "×"),
        "Critical": (DARK_RED, "!"),
        "No information": (BLUE, "?"),
    },
    "syrcle": {"Low": (GREEN, "+"), "Unclear": (YELLOW, "?"), "High": (RED, "×")},
}
LEGEND_NAMES = {
    "syrcle": {"Low": "Low (Yes)", "Unclear": "Unclear", "High": "High (No)"},
}
FONT = "DejaVu Sans"


class RobRowLike(TypingProtocol):
    label: str
    result: str
    domains: dict[str, str]
    overall: str | None


def rob_columns(tool: str) -> list[tuple[str, str]]:
    """The (header, name) of each judgement robvis draws for ``tool``: its domains ("D1", or
    "D1" for SYRCLE's item 1), then "Overall" where the tool has an overall judgement.

    Args:
        tool: rob2, robins-i or syrcle.
    """
    columns = [(f"D{d.key}" if tool == "syrcle" else d.key, d.name) for d in rob_tools.TOOLS[tool]]
    if tool != "syrcle":
        columns.append(("Overall", "Overall risk of bias"))
    return columns


def rob_by_study(rows: Sequence[RobRowLike], tool: str) -> dict[Any, list[str | None]]:
    """Each study's judgements in the order of :func:`rob_columns`, for the dots beside a
    forest plot (robvis' rob_forest). A study judged for several results keeps the judgement
    of its first row.

    Args:
        rows: risk-of-bias rows with a ``study_id`` (:func:`~metasift.extraction.stage.rob_table`).
        tool: the tool the rows were judged with.
    """
    keys = [d.key for d in rob_tools.TOOLS[tool]]
    out: dict[Any, list[str | None]] = {}
    for row in rows:
        values = [row.domains.get(k) for k in keys]
        if tool != "syrcle":
            values.append(row.overall)
        out.setdefault(getattr(row, "study_id", row.label), values)
    return out


HOUSE_STYLE = {"font.family": FONT, "svg.fonttype": "none", "font.size": 10}


def _styled(draw: Callable[P, Figure]) -> Callable[P, Figure]:
    """Draw inside the house style without changing matplotlib's global settings, so that
    other figures (and a second report from the same process) look the same."""

    @functools.wraps(draw)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Figure:
        with plt.rc_context(HOUSE_STYLE):
            return draw(*args, **kwargs)

    return wrapper


@_styled
def traffic_light(rows: Sequence[RobRowLike], tool: str, title: str | None = None) -> Figure:
    """Studies down, domains across (plus Overall where the tool has one), a coloured circle
    with a symbol per judgement; domain names and the legend below."""
    domains = list(rob_tools.TOOLS[tool])
    keys = [d.key if tool != "syrcle" else f"{d.key}" for d in domains]
    has_overall = tool != "syrcle"
    headers = [f"D{k}" if tool == "syrcle" else k for k in keys] + (
        ["Overall"] if has_overall else []
    )
    styles = STYLE[tool]
    labels = [r.label + (f" [{r.result}]" if r.result else "") for r in rows]
    n_rows, n_cols = len(rows), len(headers)
    label_width = max([len(x) for x in labels] + [10]) * 0.075
    cell = 0.5
    legend_lines = len(domains) + 1
    width = label_width + n_cols * cell + 1.8
    height = 0.9 + n_rows * cell + 0.23 * legend_lines + 0.4
    fig = plt.figure(figsize=(width, height), dpi=150)
    grid_h = n_rows * cell + 0.6
    ax = fig.add_axes(
        (label_width / width, 1 - (grid_h + 0.3) / height, n_cols * cell / width, grid_h / height)
    )
    ax.set_xlim(-0.5, n_cols - 0.5)
    ax.set_ylim(n_rows - 0.5, -1.3)
    ax.axis("off")
    n_domain_cols = n_cols - 1 if has_overall else n_cols
    ax.add_patch(plt.Rectangle((-0.5, -1.3), n_domain_cols, 0.95, color="#E8E8E8", zorder=0))
    band_title = "Risk of bias domains" if tool != "syrcle" else "SYRCLE items"
    ax.text((n_domain_cols - 1) / 2, -0.98, band_title, ha="center", va="center", fontweight="bold")
    for j, header in enumerate(headers):
        ax.text(j, -0.6, header, ha="center", va="center", fontweight="bold")
    for i, (row, label) in enumerate(zip(rows, labels, strict=True)):
        ax.add_line(Line2D([-0.5, n_cols - 0.5], [i + 0.5, i + 0.5], color="#EEEEEE", lw=0.8))
        ax.text(-0.65, i, label, ha="right", va="center", clip_on=False)
        values = [row.domains.get(k) for k in keys] + ([row.overall] if has_overall else [])
        for j, value in enumerate(values):
            if value is None:
                ax.scatter(j, i, s=330, facecolor="white", edgecolor=GREY, lw=1.2, zorder=2)
                continue
            colour, symbol = styles[value]
            ax.scatter(j, i, s=330, color=colour, edgecolor="black", lw=0.6, zorder=2)
            ax.text(
                j,
                i + 0.02,
                symbol,
                ha="center",
                va="center",
                fontsize=11,
                fontweight="bold",
                color="white"
                if value != "Some concerns" and value != "Moderate" and value != "Unclear"
                else "black",
                zorder=3,
            )
    if has_overall:
        ax.add_line(
            Line2D([n_cols - 1.5, n_cols - 1.5], [-0.5, n_rows - 0.5], color="#BBBBBB", lw=0.8)
        )
    ax.text(-0.65, -0.6, "Study", ha="right", va="center", fontweight="bold", clip_on=False)
    names = [f"{'D' + d.key if tool == 'syrcle' else d.key}: {d.name}" for d in domains]
    fig.text(
        0.02,
        0.02 + 0.23 * legend_lines / height,
        "Domains:",
        fontweight="bold",
        va="top",
        fontsize=8.5,
    )
    fig.text(
        0.02,
        0.02 + 0.23 * (legend_lines - 1) / height,
        "\n".join(names),
        va="top",
        fontsize=8.5,
        linespacing=1.35,
    )
    handles = [
        Line2D(
            [],
            [],
            marker="o",
            ls="",
            markersize=9,
            markerfacecolor=c,
            markeredgecolor="black",
            label=LEGEND_NAMES.get(tool, {}).get(j, j),
        )
        for j, (c, _) in styles.items()
    ]
    # The judgement legend sits to the right of the grid, level with its first rows.
    grid_right = (label_width + n_cols * cell + 0.15) / width
    fig.legend(
        handles=handles,
        title="Judgement",
        loc="upper left",
        frameon=False,
        fontsize=8.5,
        title_fontsize=9,
        alignment="left",
        bbox_to_anchor=(grid_right, 1 - 0.9 / height),
    )
    if title:
        fig.suptitle(title, fontweight="bold", y=0.995)
    return fig


@_styled
def summary_plot(rows: Sequence[RobRowLike], tool: str, title: str | None = None) -> Figure:
    """Per domain (and Overall) a 100% bar split by the share of studies in each judgement."""
    domains = list(rob_tools.TOOLS[tool])
    styles = STYLE[tool]
    bars = [(f"D{d.key}" if tool == "syrcle" else d.key, d.name) for d in domains]
    if tool != "syrcle":
        bars.append(("Overall", "Overall risk of bias"))
    height = 0.42 * len(bars) + 1.3
    fig = plt.figure(figsize=(9, height), dpi=150)
    ax = fig.add_axes((0.38, 0.75 / height, 0.58, 1 - 1.25 / height))
    for i, (key, name) in enumerate(bars):
        if key == "Overall":
            values = [r.overall for r in rows]
        else:
            k = key[1:] if tool == "syrcle" else key
            values = [r.domains.get(k) for r in rows]
        values = [v for v in values if v is not None]
        left = 0.0
        for judgement, (colour, _) in styles.items():
            share = values.count(judgement) / len(values) if values else 0.0
            if share:
                ax.barh(
                    i, share * 100, left=left, color=colour, edgecolor="black", lw=0.6, height=0.7
                )
                if share >= 0.08:
                    ax.text(
                        left + share * 50,
                        i,
                        f"{round(share * 100)}%",
                        ha="center",
                        va="center",
                        fontsize=8,
                        color="white" if colour in (RED, DARK_RED, GREEN) else "black",
                    )
                left += share * 100
        if not values:
            ax.barh(i, 100, color="white", edgecolor=GREY, height=0.7)
        label = f"{name}" if key == "Overall" else f"{name} ({key})"
        ax.text(
            -2, i, label, ha="right", va="center", fontweight="bold" if key == "Overall" else None
        )
    ax.set_xlim(0, 100)
    ax.set_ylim(len(bars) - 0.5, -0.5)
    ax.set_yticks([])
    ax.set_xticks([0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"])
    ax.spines[["top", "right", "left"]].set_visible(False)
    handles = [
        Patch(facecolor=c, edgecolor="black", label=LEGEND_NAMES.get(tool, {}).get(j, j))
        for j, (c, _) in styles.items()
    ]
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=len(handles),
        frameon=False,
        bbox_to_anchor=(0.6, -0.02),
        fontsize=9,
    )
    studies = len({(r.label, r.result) for r in rows})
    fig.suptitle(
        title
        or f"{rob_tools.TOOL_NAMES[tool]}: risk of bias across {studies} "
        f"stud{'y' if studies == 1 else 'ies'}",
        fontweight="bold",
        y=0.98,
    )
    return fig


@_styled
def evidence_heatmap(
    emap: EvidenceMap, layer: str | None = None, title: str | None = None
) -> Figure:
    """Rows x columns of the map, each cell the number of studies; with ``layer`` None the
    studies of every study type, and a stacked breakdown by type in each cell's annotation."""
    data = np.array(emap.matrix(layer), dtype=float) if emap.rows else np.zeros((1, 1))
    n_rows, n_cols = data.shape
    width = max(6.0, 1.9 + 1.05 * n_cols + 1.2)
    height = max(3.0, 1.6 + 0.5 * n_rows + 1.2)
    fig, ax = plt.subplots(figsize=(width, height), dpi=150)
    cmap = matplotlib.colormaps["Blues"]
    vmax = max(1.0, float(data.max()))
    ax.imshow(data, cmap=cmap, vmin=0, vmax=vmax * 1.15, aspect="auto")
    for i in range(n_rows):
        for j in range(n_cols):
            value = int(data[i, j])
            if not value:
                continue
            text = str(value)
            if layer is None:
                parts = [
                    f"{emap.count(emap.rows[i], emap.columns[j], lay)} {_short(lay)}"
                    for lay in emap.layers
                    if emap.count(emap.rows[i], emap.columns[j], lay)
                ]
                if len(parts) > 1 or (parts and value):
                    text = f"{value}\n" + "\n".join(parts)
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=7.5 if "\n" in text else 10,
                color="white" if value > vmax * 0.6 else "black",
            )
    ax.set_xticks(range(n_cols), [_wrap(c) for c in emap.columns], rotation=0, fontsize=8.5)
    ax.set_yticks(range(n_rows), emap.rows, fontsize=9)
    ax.xaxis.tick_top()
    ax.set_xticks(np.arange(-0.5, n_cols), minor=True)
    ax.set_yticks(np.arange(-0.5, n_rows), minor=True)
    ax.grid(which="minor", color="white", lw=2)
    ax.tick_params(which="both", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    fields = emap.fields
    ax.set_ylabel(fields[0], fontweight="bold")
    ax.set_xlabel(fields[1], fontweight="bold")
    ax.xaxis.set_label_position("top")
    subtitle = f"{fields[2]}: {layer}" if layer else f"studies per cell (by {fields[2]})"
    fig.suptitle(title or f"Evidence map: {subtitle}", fontweight="bold")
    fig.tight_layout()
    return fig


_SHORT = {
    "animal in vivo": "animal",
    "non-randomised clinical": "non-rand.",
    "case report": "case rep.",
    "not reported": "n.r.",
}


def _short(label: str) -> str:
    return _SHORT.get(label, label)


def _wrap(text: str, width: int = 14) -> str:
    words, lines, current = text.split(), [], ""
    for word in words:
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    lines.append(current)
    return "\n".join(lines)


def save(fig: Figure, path: Path) -> Path:
    suffix = path.suffix.lower()
    if suffix not in (".svg", ".png", ".pdf"):
        raise ValueError(f"{path}: figures are written as .svg, .png or .pdf")
    with plt.rc_context(HOUSE_STYLE):
        fig.savefig(
            path,
            bbox_inches="tight",
            dpi=200 if suffix == ".png" else None,
            metadata={"Date": None} if suffix == ".svg" else None,
        )
    plt.close(fig)
    return path
