"""The bibliographic record every stage works on.

A plain slotted dataclass rather than a pydantic model: de-duplication and screening handle
up to millions of records, and validation happens once, in the readers, through the
normalisers of :mod:`metasift.records.normalize`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

# Fields holding lists of strings; everything else is a scalar or ``raw``.
LIST_FIELDS = (
    "authors",
    "authors_raw",
    "issn",
    "keywords",
    "mesh_terms",
    "publication_types",
)


@dataclass(slots=True)
class Record:
    """One bibliographic record as read from an export or a live search.

    ``authors`` holds normalised "Last, F. M." names; ``authors_raw`` the names exactly as the
    source wrote them (same order). ``raw`` keeps every field as read, keyed by the source's own
    tag or column name, so that nothing from the input is lost.
    """

    title: str | None = None
    abstract: str | None = None
    authors: list[str] = field(default_factory=list)
    authors_raw: list[str] = field(default_factory=list)
    year: int | None = None
    journal: str | None = None
    journal_abbrev: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    doi: str | None = None
    pmid: str | None = None
    pmcid: str | None = None
    issn: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    mesh_terms: list[str] = field(default_factory=list)
    language: str | None = None
    publication_types: list[str] = field(default_factory=list)
    record_type: str | None = None
    url: str | None = None
    source_database: str | None = None
    source_file: str | None = None
    source_position: int | None = None
    source_id: str | None = None
    label: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def first_author(self) -> str | None:
        return self.authors[0] if self.authors else None


RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Record))
