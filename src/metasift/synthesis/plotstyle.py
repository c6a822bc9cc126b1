"""What the forest and funnel plots share: labels of the measures, colours, number formats,
ticks of ratio axes, and writing a figure in the format its file's suffix names."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from metasift.synthesis.effects import MEASURES
from metasift.synthesis.errors import SynthesisError

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


def save(fig: Figure, path: Path | str | None) -> Figure:
    """Write ``fig`` to ``path`` (.svg, .png or .pdf) when given; returns the figure.

    Args:
        fig: the figure.
        path: where to write it, or None to keep it in memory only.
    """
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


def is_ratio(measure: str) -> bool:
    """True for measures analysed on the log scale (OR, RR, IRR, ROM, PETO)."""
    return MEASURES.get(measure, ("", (), False))[2]


def fmt(value: float, ratio: bool) -> str:
    """An estimate with two decimals, back-transformed for ratio measures."""
    v = math.exp(value) if ratio else value
    return f"{v:.2f}"


def interval(est: float, lb: float, ub: float, ratio: bool) -> str:
    """ "0.49 [0.34, 0.70]", as RevMan and metafor print an estimate with its CI."""
    return f"{fmt(est, ratio)} [{fmt(lb, ratio)}, {fmt(ub, ratio)}]"


def ratio_ticks(lo: float, hi: float) -> list[float]:
    """Ticks of a log axis between ``lo`` and ``hi`` (log scale), in the original scale."""
    candidates = [0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 1000]
    inside = [t for t in candidates if lo <= math.log(t) <= hi]
    if len(inside) > 7:
        inside = [t for t in inside if t in (0.001, 0.01, 0.1, 1, 10, 100, 1000)]
    return inside or [round(math.exp(lo), 3), round(math.exp(hi), 3)]
