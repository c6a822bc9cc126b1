"""Matplotlib figures to SVG text for the report: deterministic and searchable.

The same store must give the same report byte for byte (apart from its timestamp), so the SVG
carries no creation date and its element ids come from a fixed salt, and text stays text.
"""

from __future__ import annotations

import io

import matplotlib
from matplotlib.figure import Figure


def svg_of(fig: Figure) -> str:
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "metasift"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buffer.getvalue()
