"""Errors of the synthesis stage; each says what is wrong, where, and what to do."""

from __future__ import annotations

from metasift.errors import ConvergenceError, SynthesisError

__all__ = ["ConvergenceError", "SynthesisError", "describe_rows"]


def describe_rows(rows: list[int], labels: list[str] | None = None, limit: int = 10) -> str:
    """'rows 3, 7 (Smith 2001, Lee 2004)': 1-based data rows, with study labels when known."""
    shown = rows[:limit]
    text = ", ".join(str(r + 1) for r in shown)
    if labels is not None:
        names = ", ".join(str(labels[r]) for r in shown)
        text = f"{text} ({names})"
    if len(rows) > limit:
        text += f" and {len(rows) - limit} more"
    return ("row " if len(rows) == 1 else "rows ") + text
