"""Tables of study data (rows of dicts) -> effect sizes and moderators; the CSV adapter.

Columns carry metafor's argument names (ai, bi, ci, di, n1i, ..., yi, vi); a mapping can
rename them. Cells that are empty or "NA" are missing; a cell that is not a number where one is
needed is an error naming the row and column.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from metasift.synthesis.effects import INPUT_NAMES, MEASURES, EffectSizes, escalc, unknown_measure
from metasift.synthesis.errors import SynthesisError

Row = Mapping[str, Any]
MISSING = {"", "NA", "NaN", "nan", "N/A", "n/a", "."}


def read_csv(path: Path) -> list[dict[str, str | None]]:
    """Rows of a CSV file (comma, semicolon or tab separated); missing cells become None."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise SynthesisError(f"{path}: no such file.") from exc
    except UnicodeDecodeError as exc:
        raise SynthesisError(f"{path}: not a UTF-8 text file.") from exc
    if not text.strip():
        raise SynthesisError(f"{path}: the file is empty.")
    try:
        dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(text.splitlines(), dialect=dialect)
    rows = []
    for row in reader:
        rows.append(
            {
                (key or "").strip(): (
                    None if value is None or value.strip() in MISSING else value.strip()
                )
                for key, value in row.items()
            }
        )
    if not rows:
        raise SynthesisError(f"{path}: a header but no data rows.")
    return rows


def _number(value: Any, row: int, column: str, origin: str) -> float:
    if value is None:
        return math.nan
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    if text in MISSING:
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise SynthesisError(
            f"{origin}row {row + 1}, column {column!r}: {text!r} is not a number."
        ) from None


def numeric_column(rows: Sequence[Row], column: str, origin: str = "") -> list[float]:
    if rows and column not in rows[0]:
        known = ", ".join(rows[0].keys())
        raise SynthesisError(f"{origin}no column {column!r} (columns: {known}).")
    return [_number(row.get(column), i, column, origin) for i, row in enumerate(rows)]


def infer_measure(rows: Sequence[Row], columns: Mapping[str, str] | None = None) -> str:
    """GEN when the table has yi with vi (or sei); otherwise the measure must be given."""
    names = set(rows[0].keys()) if rows else set()
    mapped = {arg: (columns or {}).get(arg, arg) for arg in ("yi", "vi", "sei")}
    if mapped["yi"] in names and (mapped["vi"] in names or mapped["sei"] in names):
        return "GEN"
    raise SynthesisError(
        "no --measure given and the data have no yi and vi columns; choose a measure "
        f"({', '.join(m for m in MEASURES if m != 'GEN')})."
    )


def effect_sizes(
    rows: Sequence[Row],
    measure: str | None = None,
    *,
    columns: Mapping[str, str] | None = None,
    slab: str | None = None,
    origin: str = "",
    **options: Any,
) -> EffectSizes:
    """escalc over a table: each metafor input is read from the column of the same name
    (or the one ``columns`` maps it to)."""
    columns = dict(columns or {})
    measure = (measure or infer_measure(rows, columns)).upper()
    if measure not in MEASURES:
        raise SynthesisError(origin + unknown_measure(measure) + ".")
    present = set(rows[0].keys()) if rows else set()
    inputs: dict[str, list[float]] = {}
    for option in MEASURES[measure][1]:
        if all(columns.get(arg, arg) in present for arg in option):
            for arg in option:
                inputs[arg] = numeric_column(rows, columns.get(arg, arg), origin)
            break
    else:
        need = " or ".join("(" + ", ".join(o) + ")" for o in MEASURES[measure][1])
        raise SynthesisError(
            f"{origin}measure {measure} needs the columns {need}; the data have "
            f"{', '.join(sorted(present))}."
        )
    # Other metafor inputs present in the table are checked for consistency (e.g. n1i = ai + bi).
    for arg in INPUT_NAMES:
        col = columns.get(arg, arg)
        if arg not in inputs and col in present and measure in ("OR", "RR", "RD", "PETO"):
            if arg in ("bi", "di", "n1i", "n2i"):
                inputs[arg] = numeric_column(rows, col, origin)
    labels = None
    if slab is not None:
        if slab not in present:
            raise SynthesisError(f"{origin}no column {slab!r} for the study labels.")
        labels = [str(row.get(slab) or f"row {i + 1}") for i, row in enumerate(rows)]
    return escalc(measure, slab=labels, **inputs, **options)


def moderators(rows: Sequence[Row], names: Sequence[str], origin: str = "") -> dict[str, list[Any]]:
    """Moderator columns as given: numbers where every cell is a number, else text (a factor)."""
    present = set(rows[0].keys()) if rows else set()
    out: dict[str, list[Any]] = {}
    for name in names:
        if name not in present:
            raise SynthesisError(
                f"{origin}no moderator column {name!r} (columns: {', '.join(sorted(present))})."
            )
        out[name] = [row.get(name) for row in rows]
    return out
