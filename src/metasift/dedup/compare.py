"""Two records side by side, field by field, with the verdict of pair scoring on each field.

What a reviewer of the manual queue needs: both values of every field and whether scoring
found them to agree, to differ, or could not compare them (a value missing). The verdicts are
read from the pair's evidence (:class:`~metasift.dedup.scoring.PairEvidence` ``matched`` and
``conflicts``), so the comparison shown is the one that decided, not a second opinion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from metasift.records.model import Record

AGREE = "agree"
DIFFER = "differ"
MISSING = "missing"
# Different values that weighed little either way (a year off by one, an issue number).
CLOSE = "close"

# The fields shown, and the evidence names that speak about each.
FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("title", ("title", "title numbers")),
    ("authors", ("authors", "first author", "some authors")),
    ("year", ("year",)),
    ("journal", ("journal",)),
    ("volume", ("volume",)),
    ("issue", ("issue",)),
    ("pages", ("pages",)),
    ("doi", ("doi",)),
    ("pmid", ("pmid",)),
)


@dataclass(frozen=True, slots=True)
class FieldRow:
    """One field of a queued pair: the two values and how they compare."""

    field: str
    a: str
    b: str
    status: str


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return str(value)


def side_by_side(
    a: Mapping[str, Any],
    b: Mapping[str, Any],
    matched: Sequence[str],
    conflicts: Sequence[str],
) -> list[FieldRow]:
    """Rows of :data:`FIELDS` for records ``a`` and ``b`` (field name -> value).

    ``matched`` and ``conflicts`` are the pair's evidence: the field names scoring found to
    agree and to contradict.
    """
    rows = []
    for name, evidence in FIELDS:
        left, right = _text(a.get(name)), _text(b.get(name))
        if any(e in conflicts for e in evidence):
            status = DIFFER
        elif any(e in matched for e in evidence):
            status = AGREE
        elif not left or not right:
            status = MISSING
        elif left.casefold() == right.casefold():
            status = AGREE
        else:
            status = CLOSE
        rows.append(FieldRow(name, left, right, status))
    return rows


def record_fields(record: Record) -> dict[str, Any]:
    """The fields of :data:`FIELDS` of ``record`` (authors: the first three)."""
    return {
        "title": record.title,
        "authors": record.authors[:3] + (["et al."] if len(record.authors) > 3 else []),
        "year": record.year,
        "journal": record.journal,
        "volume": record.volume,
        "issue": record.issue,
        "pages": record.pages,
        "doi": record.doi,
        "pmid": record.pmid,
    }
