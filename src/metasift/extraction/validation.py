"""Typed values of the extraction form, and validation of a filled-in template, cell by cell.

The template is one table, the same in CSV and XLSX. A row is about:

* the study (``arm``, ``outcome`` empty): the study-level field columns;
* an arm (``arm`` set, ``outcome`` empty): the arm-level field columns and ``n``;
* an arm's result (``arm`` and ``outcome`` set, ``timepoint`` if the outcome has time points):
  the statistic columns (n, mean, sd, median, q1, q3 for continuous outcomes; n, events for
  dichotomous ones).

Every problem is a :class:`CellError` naming the sheet, row, column, value and what is expected.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from metasift.extraction.forms import INTEGER_STATS, STATISTICS, FieldSpec, Form

KEY_COLUMNS = ("study_id", "citation", "arm", "outcome", "timepoint")
MULTI_SEPARATOR = ";"


@dataclass(frozen=True, slots=True)
class CellError:
    sheet: str
    row: int
    column: str
    value: str
    expected: str

    def describe(self) -> str:
        shown = f"{self.value!r}" if self.value != "" else "empty"
        return (
            f"sheet {self.sheet!r}, row {self.row}, column {self.column!r}: {shown}; "
            f"expected {self.expected}"
        )


@dataclass(frozen=True, slots=True)
class Value:
    """One extracted value with the key it belongs to."""

    study_id: int
    field: str
    value: Any
    arm: str = ""
    outcome: str = ""
    timepoint: str = ""
    row: int = 0

    @property
    def key(self) -> tuple[int, str, str, str, str]:
        return (self.study_id, self.field, self.arm, self.outcome, self.timepoint)


def columns(form: Form) -> list[str]:
    """The template's columns, in order."""
    arm_fields = [f.name for f in form.arm_fields]
    return [*KEY_COLUMNS, *(f.name for f in form.fields), *arm_fields, *STATISTICS]


def parse_value(spec: FieldSpec, text: str, choices: Sequence[str] | None = None) -> Any:
    """The typed value of ``text`` for ``spec``; ValueError says what is expected."""
    text = text.strip()
    kind = spec.type
    if kind == "text":
        return text
    if kind in ("number", "integer"):
        value = parse_number(text, integer=kind == "integer")
        if spec.min is not None and value < spec.min:
            raise ValueError(f"a {_kind(kind)} >= {spec.min:g}")
        if spec.max is not None and value > spec.max:
            raise ValueError(f"a {_kind(kind)} <= {spec.max:g}")
        return value
    if kind == "date":
        return parse_date(text)
    allowed = list(choices if choices is not None else spec.choices)
    lookup = {c.lower(): c for c in allowed}
    if kind == "choice":
        if text.lower() not in lookup:
            raise ValueError(f"one of: {', '.join(allowed)}")
        return lookup[text.lower()]
    items = [p.strip() for p in text.split(MULTI_SEPARATOR) if p.strip()]
    unknown = [p for p in items if p.lower() not in lookup]
    if unknown:
        raise ValueError(
            f"values from: {', '.join(allowed)} (separated by '{MULTI_SEPARATOR}'); "
            f"unknown: {', '.join(unknown)}"
        )
    out: list[str] = []
    for p in items:
        if lookup[p.lower()] not in out:
            out.append(lookup[p.lower()])
    return out


def _kind(kind: str) -> str:
    return "whole number" if kind == "integer" else "number"


def parse_number(text: str, integer: bool = False) -> float | int:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(
            "a whole number, e.g. 12" if integer else "a number with a decimal point, e.g. 12.5"
        ) from None
    if not math.isfinite(value):
        raise ValueError("a finite number")
    if integer:
        if value != int(value):
            raise ValueError("a whole number, e.g. 12")
        return int(value)
    return value


_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def parse_date(text: str) -> str:
    """ISO dates: YYYY-MM-DD, YYYY-MM or YYYY (kept as text at the precision given)."""
    if not _DATE.match(text):
        raise ValueError("a date as YYYY-MM-DD (or YYYY-MM, YYYY)")
    parts = [int(p) for p in text.split("-")]
    try:
        dt.date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    except ValueError:
        raise ValueError("a date that exists, as YYYY-MM-DD") from None
    return text


def format_value(value: Any) -> str:
    """The text of a value in a template cell (the inverse of :func:`parse_value`)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return f"{MULTI_SEPARATOR} ".join(str(v) for v in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def validate_rows(
    form: Form,
    rows: Iterable[tuple[int, Mapping[str, str]]],
    header: Sequence[str],
    *,
    sheet: str,
    choices: Mapping[str, Sequence[str]] | None = None,
    study_ids: set[int] | None = None,
    cross_checks: bool = True,
) -> tuple[list[Value], list[CellError]]:
    """Typed values and per-cell errors of template rows ``(row number, {column: text})``.

    ``cross_checks`` compares the statistics of a row with each other (events <= n,
    q1 <= median <= q3, an SD has its mean); off when one value is entered on its own.
    """
    choices = choices or {}
    errors: list[CellError] = []
    values: list[Value] = []
    known = set(columns(form))
    for column in header:
        if column not in known:
            errors.append(
                CellError(
                    sheet, 1, column, column, f"a column of the form: {', '.join(columns(form))}"
                )
            )
    if "study_id" not in header:
        errors.append(CellError(sheet, 1, "study_id", "", "a study_id column"))
        return values, errors
    study_fields = {f.name: f for f in form.fields}
    arm_fields = {f.name: f for f in form.arm_fields}
    for number, row in rows:
        cells = {k: (v or "").strip() for k, v in row.items() if k in known}
        if not any(v for k, v in cells.items() if k != "citation"):
            continue

        def error(column: str, expected: str, number: int = number, cells=cells) -> None:
            errors.append(CellError(sheet, number, column, cells.get(column, ""), expected))

        try:
            study_id = int(parse_number(cells.get("study_id", ""), integer=True))
        except ValueError:
            error("study_id", "the study's id (a whole number from the template)")
            continue
        if study_ids is not None and study_id not in study_ids:
            error("study_id", "the id of a study in this review (see the template)")
            continue
        arm, outcome_name = cells.get("arm", ""), cells.get("outcome", "")
        timepoint = cells.get("timepoint", "")
        filled = {k: v for k, v in cells.items() if v and k not in KEY_COLUMNS}
        if outcome_name:
            outcome = form.outcome(outcome_name)
            if outcome is None:
                names = ", ".join(o.name for o in form.outcomes) or "none defined"
                error("outcome", f"an outcome of the form ({names})")
                continue
            if not arm and outcome.kind != "generic":
                error("arm", "the arm this result belongs to")
                continue
            if outcome.timepoints and timepoint not in outcome.timepoints:
                error("timepoint", f"one of: {', '.join(outcome.timepoints)}")
                continue
            if not outcome.timepoints and timepoint:
                error("timepoint", "empty (this outcome has no time points)")
                continue
            allowed = set(outcome.statistics)
            stats: dict[str, float | int] = {}
            for column, text in filled.items():
                if column not in allowed:
                    error(
                        column,
                        f"empty on a {outcome.kind} result row "
                        f"(fill: {', '.join(outcome.statistics)})",
                    )
                    continue
                try:
                    stats[column] = parse_number(text, integer=column in INTEGER_STATS)
                except ValueError as exc:
                    error(column, str(exc))
                    continue
                if stats[column] < 0 and column in ("n", "events", "sd", "se"):
                    error(column, "a value >= 0")
                    del stats[column]
            if cross_checks:
                errors.extend(_check_stats(stats, sheet, number, cells))
            for column, value in stats.items():
                values.append(Value(study_id, column, value, arm, outcome_name, timepoint, number))
            continue
        if timepoint:
            error("timepoint", "empty unless the row has an outcome")
            continue
        if arm:
            for column, text in filled.items():
                spec = arm_fields.get(column)
                if column == "n":
                    try:
                        n = parse_number(text, integer=True)
                    except ValueError as exc:
                        error(column, str(exc))
                        continue
                    if n < 0:
                        error(column, "a value >= 0")
                        continue
                    values.append(Value(study_id, "n", n, arm, row=number))
                elif spec is None:
                    error(column, "empty on an arm row (fill the arm's own columns and n)")
                else:
                    _typed(spec, text, choices, column, error, values, study_id, arm, number)
            continue
        for column, text in filled.items():
            spec = study_fields.get(column)
            if spec is None:
                error(column, "empty on a study row (name the arm to fill arm columns)")
                continue
            _typed(spec, text, choices, column, error, values, study_id, "", number)
    return values, errors


def _typed(spec, text, choices, column, error, values, study_id, arm, number) -> None:
    try:
        value = parse_value(spec, text, choices.get(spec.name))
    except ValueError as exc:
        error(column, str(exc))
        return
    values.append(Value(study_id, spec.name, value, arm, row=number))


def _check_stats(
    stats: Mapping[str, float | int], sheet: str, row: int, cells: Mapping[str, str]
) -> list[CellError]:
    out = []
    if "events" in stats and "n" in stats and stats["events"] > stats["n"]:
        out.append(CellError(sheet, row, "events", cells["events"], f"at most n ({cells['n']})"))
    if "median" in stats:
        q1, q3 = stats.get("q1"), stats.get("q3")
        if q1 is not None and q1 > stats["median"]:
            out.append(CellError(sheet, row, "q1", cells["q1"], "q1 <= median"))
        if q3 is not None and q3 < stats["median"]:
            out.append(CellError(sheet, row, "q3", cells["q3"], "q3 >= median"))
    if "sd" in stats and "mean" not in stats:
        out.append(CellError(sheet, row, "mean", "", "the mean that goes with the SD"))
    return out


def required_missing(form: Form, values: Sequence[Value], study_ids: Iterable[int]) -> list[str]:
    """Required study fields with no value, as "study S: field F" lines."""
    have = {(v.study_id, v.field) for v in values if not v.arm}
    return [
        f"study {s}: {f.name}"
        for s in study_ids
        for f in form.fields
        if f.required and (s, f.name) not in have
    ]
