"""The evidence map (studies by disease x intervention x study type) and the
characteristics-of-included-studies table. Pure: values in, counts and rows out."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product
from typing import Any

from jinja2 import Environment

from metasift.extraction.forms import Form
from metasift.records.cells import SafeWriter

NOT_REPORTED = "not reported"


def _as_list(value: Any) -> list[str]:
    if value is None or value == [] or value == "":
        return [NOT_REPORTED]
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


@dataclass
class EvidenceMap:
    """How many studies fall in each (row, column, layer) cell, and which."""

    fields: tuple[str, str, str]
    rows: list[str]
    columns: list[str]
    layers: list[str]
    studies: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)

    def count(self, row: str, column: str, layer: str | None = None) -> int:
        """Studies in a cell; with ``layer`` None, distinct studies over all layers."""
        if layer is not None:
            return len(self.studies.get((row, column, layer), []))
        ids = {s for (r, c, _), v in self.studies.items() if r == row and c == column for s in v}
        return len(ids)

    def matrix(self, layer: str | None = None) -> list[list[int]]:
        return [[self.count(r, c, layer) for c in self.columns] for r in self.rows]

    def records(self) -> list[dict[str, Any]]:
        """Long form: one dict per non-empty cell (for CSV export and the report)."""
        out = []
        for (r, c, lay), ids in sorted(self.studies.items()):
            out.append(
                {
                    self.fields[0]: r,
                    self.fields[1]: c,
                    self.fields[2]: lay,
                    "studies": len(ids),
                    "study_ids": ids,
                }
            )
        return out


def evidence_counts(
    values: Mapping[int, Mapping[str, Any]],
    fields: tuple[str, str, str] = ("disease", "intervention", "design"),
) -> EvidenceMap:
    """Count studies per combination of the three fields; a study with two diseases (or
    interventions) counts in each of their cells, once per cell."""
    cells: dict[tuple[str, str, str], list[int]] = {}
    for study_id, study in sorted(values.items()):
        combos = product(*(_as_list(study.get(f)) for f in fields))
        for combo in dict.fromkeys(combos):
            cells.setdefault(combo, []).append(study_id)

    def axis(i: int) -> list[str]:
        names = sorted({k[i] for k in cells}, key=lambda x: (x == NOT_REPORTED, x.lower()))
        return names

    return EvidenceMap(fields, axis(0), axis(1), axis(2), cells)


@dataclass
class CharacteristicsTable:
    columns: list[str]
    rows: list[list[str]]

    def as_dicts(self) -> list[dict[str, str]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = SafeWriter(buffer, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows(self.rows)
        return buffer.getvalue()

    def to_html(self) -> str:
        return _TABLE.render(columns=self.columns, rows=self.rows)


_TABLE = Environment(autoescape=True).from_string(
    '<table class="characteristics">\n<thead><tr>{% for c in columns %}<th>{{ c }}</th>'
    "{% endfor %}</tr></thead>\n<tbody>\n{% for row in rows %}<tr>{% for cell in row %}"
    "<td>{{ cell }}</td>{% endfor %}</tr>\n{% endfor %}</tbody>\n</table>\n"
)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(map(str, value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def characteristics_table(
    studies: Sequence[tuple[int, str]],
    values: Mapping[int, Mapping[str, Any]],
    form: Form,
    arms: Mapping[int, Mapping[str, Mapping[str, Any]]] | None = None,
) -> CharacteristicsTable:
    """One row per study: its citation, every study-level field of the form, and its arms
    ("name (n=..., field=...)")."""
    arms = arms or {}
    names = [f.name for f in form.fields]
    columns = ["study", *[f.title for f in form.fields], "arms"]
    rows = []
    for study_id, citation in studies:
        study = values.get(study_id, {})
        arm_texts = []
        for arm, fields in sorted(arms.get(study_id, {}).items()):
            details = ", ".join(f"{k}={_cell(v)}" for k, v in sorted(fields.items()))
            arm_texts.append(f"{arm} ({details})" if details else arm)
        rows.append([citation, *[_cell(study.get(n)) for n in names], "; ".join(arm_texts)])
    return CharacteristicsTable(columns, rows)
