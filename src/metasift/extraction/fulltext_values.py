"""What an accepted full-text suggestion puts into the extraction form, validated like a cell.

* ``arm_size`` {n, group}: the arm's ``n`` (the arm named by ``--arm``, else the group);
* ``effect`` {measure, estimate, lower, upper}: a generic outcome's ``effect`` and ``se`` on the
  scale that is pooled: the log of a ratio (OR, RR, HR), the difference itself (MD, SMD), with
  the standard error from the 95% CI, (upper - lower) / (2 × 1.96) on that scale (the Cochrane
  Handbook's 6.3.1 and 6.5.2.3); ``--value 'effect=...,se=...'`` gives them instead;
* ``follow_up`` {low, high, unit}: the study's ``follow_up`` field as text ("9 years").

A statistic (mean, SD, n; events, n) goes through the rows of the outcome and arm given, as a
statistic from an abstract does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from metasift.errors import ExtractionError
from metasift.extraction.validation import Value, validate_rows

if TYPE_CHECKING:
    from metasift.extraction.stage import Context

Z95 = 1.959963984540054
RATIOS = ("OR", "RR", "HR")


def _rows(ctx: Context, row: dict[str, str]) -> list[Value]:
    values, errors = validate_rows(
        ctx.form, [(1, row)], list(row), sheet="review", choices=ctx.choices
    )
    if errors:
        raise ExtractionError("; ".join(e.describe() for e in errors))
    return values


def _pairs(text: str) -> dict[str, str]:
    out = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        if not sep:
            raise ExtractionError(f"--value {text!r}: expected name=value pairs, e.g. 'se=0.12'")
        out[name.strip()] = value.strip()
    return out


def effect_on_pooled_scale(value: dict[str, Any]) -> tuple[float, float]:
    """``(effect, se)`` of an estimate with its 95% CI, on the scale a meta-analysis pools.

    Args:
        value: ``{measure, estimate, lower, upper}`` as suggested.
    """
    est, lo, hi = value.get("estimate"), value.get("lower"), value.get("upper")
    if lo is None or hi is None:
        raise ExtractionError(
            "this estimate came without its confidence interval: give its standard error, "
            "--value 'effect=...,se=...'"
        )
    if value.get("measure") in RATIOS:
        if min(est, lo, hi) <= 0:
            raise ExtractionError("a ratio and its CI must be above 0 to take their logs")
        return math.log(est), (math.log(hi) - math.log(lo)) / (2 * Z95)
    return float(est), (hi - lo) / (2 * Z95)


def _arm_size(ctx, s, value_text, arm, outcome, timepoint) -> list[Value]:
    name = arm or s.arm
    if not name:
        raise ExtractionError("an arm's size needs the arm it belongs to: --arm NAME")
    n = value_text if value_text is not None else str(s.value["n"])
    return _rows(ctx, {"study_id": str(s.study_id), "arm": name, "n": n})


def _effect(ctx, s, value_text, arm, outcome, timepoint) -> list[Value]:
    if not outcome:
        raise ExtractionError(
            "an effect estimate needs the (generic) outcome it belongs to: --outcome NAME "
            "(and --timepoint if the outcome has time points)"
        )
    if value_text:
        given = _pairs(value_text)
    else:
        effect, se = effect_on_pooled_scale(s.value)
        given = {"effect": repr(round(effect, 6)), "se": repr(round(se, 6))}
    row = {"study_id": str(s.study_id), "arm": "", "outcome": outcome}
    row["timepoint"] = timepoint or ""
    return _rows(ctx, {**row, **given})


def _follow_up(ctx, s, value_text, arm, outcome, timepoint) -> list[Value]:
    if ctx.form.field("follow_up") is None:
        raise ExtractionError(
            "the form has no field 'follow_up'; add it to [extraction] in review.toml or "
            "record the value under another field (--field)"
        )
    if value_text is None:
        v = s.value
        span = f"{v['low']:g}" if v["low"] == v["high"] else f"{v['low']:g}–{v['high']:g}"
        value_text = f"{span} {v['unit']}"
    return _rows(ctx, {"study_id": str(s.study_id), "follow_up": value_text})


Reader = Callable[..., list[Value]]
# Fields whose accepted value fills something other than a field of the same name.
READERS: dict[str, Reader] = {
    "arm_size": _arm_size,
    "effect": _effect,
    "follow_up": _follow_up,
}
