"""The PRISMA 2020 flow diagram, drawn with matplotlib in the template's layout.

The variants of the PRISMA 2020 template are drawn: "databases and registers only", "with
other methods" (a second column for websites, organisations and citation searching), and
either of them "for updated reviews" (a first column for the studies of the previous version,
joined with the new studies in a total at the bottom, and the reports it left to classify,
which join the reports sought for retrieval).
Counts come from :class:`metasift.workflow.prisma.PrismaCounts`, checked before drawing.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from metasift.report.figures import svg_of
from metasift.workflow.prisma import CARRIED_LABEL, PrismaCounts

FONT_SIZE = 8.5
LINE_H = 0.17  # inches per text line at FONT_SIZE
PAD = 0.12
BOX_W = 3.1
CARRIED_W = 2.3  # the box of reports carried over, beside the previous studies' arrow
GAP_X = 0.45
GAP_Y = 0.35
PHASE_W = 0.32
HEADER_H = 0.42
PHASE_COLOUR = "#a9c9e8"
HEADER_COLOUR = "#f2c94c"
OTHER_HEADER_COLOUR = "#d9d9d9"
PREVIOUS_HEADER_COLOUR = "#c6e0b4"
EDGE = "#333333"


@dataclass
class _Box:
    x: float
    y: float  # top edge
    w: float
    h: float

    @property
    def bottom(self) -> float:
        return self.y - self.h

    @property
    def mid_y(self) -> float:
        return self.y - self.h / 2


def _n(value: int) -> str:
    return f"(n = {value:,})"


def _wrap(lines: list[str], width_in: float) -> list[str]:
    chars = max(12, int(width_in / (FONT_SIZE * 0.0077)))
    out: list[str] = []
    for line in lines:
        indent = "  " if line.startswith("  ") else ""
        wrapped = textwrap.wrap(
            line.strip(), chars, initial_indent=indent, subsequent_indent=indent + "  "
        )
        out.extend(wrapped or [""])
    return out


def _height(lines: list[str], width: float) -> float:
    return len(_wrap(lines, width - 2 * PAD)) * LINE_H + 2 * PAD


def _draw_box(
    ax, box: _Box, lines: list[str], *, fill: str = "white", header: bool = False
) -> None:
    ax.add_patch(
        FancyBboxPatch(
            (box.x, box.bottom),
            box.w,
            box.h,
            boxstyle="square,pad=0",
            linewidth=1.0,
            edgecolor=EDGE,
            facecolor=fill,
        )
    )
    text = "\n".join(_wrap(lines, box.w - 2 * PAD))
    if header:
        ax.text(
            box.x + box.w / 2,
            box.mid_y,
            text,
            va="center",
            ha="center",
            fontsize=FONT_SIZE + 1,
            fontweight="bold",
        )
        return
    ax.text(
        box.x + PAD, box.y - PAD, text, va="top", ha="left", fontsize=FONT_SIZE, linespacing=1.35
    )


def _arrow(ax, start: tuple[float, float], end: tuple[float, float]) -> None:
    ax.add_patch(
        FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=11, linewidth=1.0, color=EDGE)
    )


def _identified_lines(title: str, groups: list[tuple[str, dict[str, int]]]) -> list[str]:
    lines = [title]
    for label, counts in groups:
        if label:
            lines.append(f"{label} {_n(sum(counts.values()))}")
        prefix = "  " if label else ""
        lines.extend(f"{prefix}{name} {_n(n)}" for name, n in counts.items())
    return lines


def _reason_lines(title: str, reasons: dict[str, int]) -> list[str]:
    return [title, *(f"  {reason} {_n(n)}" for reason, n in reasons.items())]


def draw_prisma(
    counts: PrismaCounts, *, other_methods: bool | None = None, draft: bool = False
) -> Figure:
    """The diagram as a matplotlib Figure (other_methods None = automatic).

    The counts are checked first; a ``draft`` of a review in progress skips the check and says
    so on the diagram.
    """
    if not draft:
        counts.check()
    other = counts.with_other_methods if other_methods is None else other_methods

    updated = counts.updated
    x_previous = PHASE_W + 0.25
    x_main = x_previous + (BOX_W + GAP_X if updated else 0)
    x_side = x_main + BOX_W + GAP_X
    x_other = x_side + BOX_W + GAP_X * 1.6
    x_other_side = x_other + BOX_W + GAP_X
    right = (x_other_side if other else x_side) + BOX_W + 0.2

    automation = "Records marked as ineligible by automation tools"
    if counts.automation_note:
        automation += f" ({counts.automation_note})"
    main_rows = [
        (
            _identified_lines(
                "Records identified from:",
                [("Databases", counts.databases), ("Registers", counts.registers)],
            ),
            [
                "Records removed before screening:",
                f"  Duplicate records removed {_n(counts.duplicates)}",
                f"  {automation} {_n(counts.automation_ineligible)}",
                f"  Records removed for other reasons {_n(counts.other_removed)}",
            ],
        ),
        (
            [f"Records screened {_n(counts.screened)}"],
            [f"Records excluded {_n(counts.excluded_screening)}"],
        ),
        (
            [f"Reports sought for retrieval {_n(counts.sought)}"],
            [f"Reports not retrieved {_n(counts.not_retrieved)}"],
        ),
        (
            [f"Reports assessed for eligibility {_n(counts.assessed)}"],
            _reason_lines("Reports excluded:", counts.excluded_full_text),
        ),
    ]
    flow = counts.other_flow
    other_rows = [
        (_identified_lines("Records identified from:", [("", counts.other_methods)]), None),
        None,
        (
            [f"Reports sought for retrieval {_n(flow.sought)}"]
            + (
                [f"  of which: {CARRIED_LABEL} {_n(flow.carried_over)}"]
                if flow.carried_over
                else []
            ),
            [f"Reports not retrieved {_n(flow.not_retrieved)}"],
        ),
        (
            [f"Reports assessed for eligibility {_n(flow.assessed)}"],
            _reason_lines("Reports excluded:", flow.excluded),
        ),
    ]

    # Row heights: the tallest box of the row across both columns.
    heights = []
    for i, (left, side) in enumerate(main_rows):
        candidates = [_height(left, BOX_W), _height(side, BOX_W)]
        if other and other_rows[i]:
            o_left, o_side = other_rows[i]
            candidates.append(_height(o_left, BOX_W))
            if o_side:
                candidates.append(_height(o_side, BOX_W))
        heights.append(max(candidates))
    included_lines = [
        f"Studies included in review {_n(counts.included_studies)}",
        f"Reports of included studies {_n(counts.included_reports)}",
    ]
    previous_lines = total_lines = carried_lines = []
    if updated:
        included_lines = [
            f"New studies included in review {_n(counts.included_studies)}",
            f"Reports of new included studies {_n(counts.included_reports)}",
        ]
        previous_lines = [
            f"Studies included in previous version of review {_n(counts.previous_studies)}",
            "Reports of studies included in previous version of review "
            f"{_n(counts.previous_reports)}",
        ]
        total_lines = [
            f"Total studies included in review {_n(counts.total_studies)}",
            f"Reports of total included studies {_n(counts.total_reports)}",
        ]
        heights[0] = max(heights[0], _height(previous_lines, BOX_W))
        if counts.carried_over:
            carried_lines = [f"{CARRIED_LABEL} {_n(counts.carried_over)}"]
            heights[2] = max(heights[2], _height(carried_lines, CARRIED_W))
    # Tall enough for the rotated "Included" phase label.
    heights.append(
        max(_height(included_lines, BOX_W), _height(total_lines, BOX_W) if updated else 0, 0.95)
    )

    total_h = HEADER_H + GAP_Y * len(heights) + sum(heights) + 0.2
    # A draft says so below the boxes, in a band of its own, never over them.
    draft_lines: list[str] = []
    if draft:
        todo = "; ".join(f"{n} {what}" for what, n in counts.pending.items())
        draft_lines = _wrap([f"DRAFT, review in progress: {todo}"], right - x_main - 0.2)
        total_h += len(draft_lines) * LINE_H + 0.15
    # A bare Figure, not pyplot: no global state, safe in the web server's threads.
    fig = Figure(figsize=(right, total_h))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, right)
    ax.set_ylim(0, total_h)
    ax.axis("off")

    top = total_h - 0.1
    header = _Box(x_main, top, 2 * BOX_W + GAP_X, HEADER_H)
    _draw_box(
        ax,
        header,
        [
            "Identification of new studies via databases and registers"
            if updated
            else "Identification of studies via databases and registers"
        ],
        fill=HEADER_COLOUR,
        header=True,
    )
    if updated:
        _draw_box(
            ax,
            _Box(x_previous, top, BOX_W, HEADER_H),
            ["Previous studies"],
            fill=PREVIOUS_HEADER_COLOUR,
            header=True,
        )
    if other:
        o_header = _Box(x_other, top, 2 * BOX_W + GAP_X, HEADER_H)
        _draw_box(
            ax,
            o_header,
            ["Identification of studies via other methods"],
            fill=OTHER_HEADER_COLOUR,
            header=True,
        )

    y = top - HEADER_H - GAP_Y
    main_boxes: list[_Box] = []
    other_boxes: dict[int, _Box] = {}
    row_tops = []
    for i, (left, side) in enumerate(main_rows):
        h = heights[i]
        row_tops.append(y)
        box = _Box(x_main, y, BOX_W, h)
        side_box = _Box(x_side, y, BOX_W, h)
        _draw_box(ax, box, left)
        _draw_box(ax, side_box, side)
        _arrow(ax, (box.x + box.w, box.mid_y), (side_box.x, side_box.mid_y))
        if main_boxes:
            prev = main_boxes[-1]
            _arrow(ax, (prev.x + prev.w / 2, prev.bottom), (box.x + box.w / 2, box.y))
        main_boxes.append(box)
        if other and other_rows[i]:
            o_left, o_side = other_rows[i]
            o_box = _Box(x_other, y, BOX_W, h)
            _draw_box(ax, o_box, o_left)
            if o_side:
                o_side_box = _Box(x_other_side, y, BOX_W, h)
                _draw_box(ax, o_side_box, o_side)
                _arrow(ax, (o_box.x + o_box.w, o_box.mid_y), (o_side_box.x, o_side_box.mid_y))
            other_boxes[i] = o_box
        y -= h + GAP_Y
    row_tops.append(y)
    included = _Box(x_main, y, BOX_W, heights[-1])
    _draw_box(ax, included, included_lines)
    if updated:
        # The previous version's studies join the new ones in the total, below them.
        previous = _Box(x_previous, row_tops[0], BOX_W, heights[0])
        total = _Box(x_previous, y, BOX_W, heights[-1])
        _draw_box(ax, previous, previous_lines)
        _draw_box(ax, total, total_lines)
        # With reports carried over, their box takes the column's right part (beside "Reports
        # sought for retrieval", which it joins) and the previous studies pass on its left.
        x_down = x_previous + (BOX_W - CARRIED_W) / 2 if carried_lines else x_previous + BOX_W / 2
        _arrow(ax, (x_down, previous.bottom), (x_down, total.y))
        _arrow(ax, (included.x, included.mid_y), (total.x + total.w, total.mid_y))
        if carried_lines:
            sought = main_boxes[2]
            carried = _Box(x_previous + BOX_W - CARRIED_W, sought.y, CARRIED_W, sought.h)
            _draw_box(ax, carried, carried_lines)
            _arrow(ax, (carried.x + carried.w, carried.mid_y), (sought.x, sought.mid_y))
    last = main_boxes[-1]
    _arrow(ax, (last.x + last.w / 2, last.bottom), (included.x + included.w / 2, included.y))
    if other:
        # Other methods go straight from identification to retrieval, then join "included".
        _arrow(
            ax,
            (x_other + BOX_W / 2, other_boxes[0].bottom),
            (x_other + BOX_W / 2, other_boxes[2].y),
        )
        _arrow(
            ax,
            (x_other + BOX_W / 2, other_boxes[2].bottom),
            (x_other + BOX_W / 2, other_boxes[3].y),
        )
        o_last = other_boxes[3]
        ax.plot(
            [o_last.x + o_last.w / 2, o_last.x + o_last.w / 2],
            [o_last.bottom, included.mid_y],
            color=EDGE,
            linewidth=1.0,
        )
        _arrow(
            ax, (o_last.x + o_last.w / 2, included.mid_y), (included.x + included.w, included.mid_y)
        )

    # Phase labels down the left edge, as in the template.
    phases = [
        ("Identification", row_tops[0], row_tops[1] + GAP_Y),
        ("Screening", row_tops[1], row_tops[4] + GAP_Y),
        ("Included", row_tops[4], included.bottom),
    ]
    for label, y_top, y_bottom in phases:
        ax.add_patch(
            FancyBboxPatch(
                (0.1, y_bottom),
                PHASE_W,
                y_top - y_bottom,
                boxstyle="round,pad=0,rounding_size=0.08",
                facecolor=PHASE_COLOUR,
                edgecolor="none",
            )
        )
        ax.text(
            0.1 + PHASE_W / 2,
            (y_top + y_bottom) / 2,
            label,
            rotation=90,
            ha="center",
            va="center",
            fontsize=FONT_SIZE + 0.5,
            fontweight="bold",
        )
    if draft_lines:
        ax.text(
            x_main,
            0.1,
            "\n".join(draft_lines),
            ha="left",
            va="bottom",
            fontsize=FONT_SIZE,
            color="#b00020",
        )
    return fig


def save_prisma(
    counts: PrismaCounts, path: Path, *, other_methods: bool | None = None, draft: bool = False
) -> Path:
    """Write the diagram to ``path``; the format (svg, png, pdf) follows the extension."""
    fig = draw_prisma(counts, other_methods=other_methods, draft=draft)
    fig.savefig(path, dpi=200 if path.suffix.lower() == ".png" else None)
    return path


def prisma_svg(
    counts: PrismaCounts, *, other_methods: bool | None = None, draft: bool = False
) -> str:
    """The diagram as an SVG string, for embedding in the HTML report."""
    return svg_of(draw_prisma(counts, other_methods=other_methods, draft=draft))
