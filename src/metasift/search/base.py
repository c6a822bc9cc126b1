"""What every live source shares: the search spec, pages of results, dates, the client contract.

A source client is resumable by construction: :meth:`SourceClient.plan` asks the service how
many records match and returns a JSON-serialisable *state*; :meth:`SourceClient.next_page`
fetches the page that state points at and returns the records with the state after them.
The runner persists the state with each page's records in one transaction, so a search
killed at any moment continues from the last stored page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Protocol

from metasift.errors import SearchError
from metasift.protocol import Source
from metasift.records.formats.base import ReadItem
from metasift.search.http import SECRET_PARAMS

KINDS = ("pubmed", "europepmc", "openalex")
DATABASE = {"pubmed": "PubMed", "europepmc": "Europe PMC", "openalex": "OpenAlex"}
PLATFORM = {
    "pubmed": "NCBI E-utilities API",
    "europepmc": "Europe PMC RESTful API",
    "openalex": "OpenAlex API",
}

_DATE = re.compile(r"^\s*(\d{4})(?:[/-](\d{1,2})(?:[/-](\d{1,2}))?)?\s*$")


@dataclass(frozen=True)
class SearchSpec:
    """One search to run: a protocol source, or an ad hoc query on a source."""

    source: str
    kind: str
    query: str
    date_from: str = ""
    date_to: str = ""
    filters: dict[str, Any] = field(default_factory=dict)
    base_url: str = ""
    adhoc: bool = False
    # How the review names the interface searched (PRISMA-S "platform"); default: the API's.
    platform_name: str = ""
    # A living review's update: only records the database added in this window (inclusive
    # days), on top of the protocol's publication dates. Each client maps it to its own terms.
    added_from: str = ""
    added_to: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SearchError(
                f"source {self.source!r}: kind {self.kind!r} cannot be searched live; "
                f"use one of {', '.join(KINDS)}."
            )
        if not self.query.strip():
            raise SearchError(
                f"source {self.source!r}: no query; set 'query' in its [[sources]] table "
                "of review.toml or pass --query."
            )
        secret = sorted(k for k in self.filters if k.lower() in SECRET_PARAMS)
        if secret:
            raise SearchError(
                f"source {self.source!r}: filters {', '.join(secret)} look like credentials; "
                "set them in the environment (NCBI_API_KEY, OPENALEX_API_KEY, METASIFT_EMAIL) "
                "or ~/.config/metasift/config.toml, never in review.toml."
            )
        dates = (
            ("date_from", self.date_from),
            ("date_to", self.date_to),
            ("added_from", self.added_from),
            ("added_to", self.added_to),
        )
        for name, value in dates:
            if value:
                parse_date(value, end=name.endswith("_to"), what=f"source {self.source!r}: {name}")

    @classmethod
    def from_source(cls, source: Source, query: str | None = None) -> SearchSpec:
        return cls(
            source=source.name,
            kind=source.kind,
            query=query if query is not None else source.query,
            date_from=source.date_from,
            date_to=source.date_to,
            filters=dict(source.filters),
            base_url=source.base_url,
            adhoc=query is not None,
            platform_name=source.platform,
        )

    @property
    def database(self) -> str:
        return DATABASE[self.kind]

    @property
    def platform(self) -> str:
        return self.platform_name or PLATFORM[self.kind]

    def date_range(self) -> tuple[date | None, date | None]:
        start = parse_date(self.date_from) if self.date_from else None
        end = parse_date(self.date_to, end=True) if self.date_to else None
        return start, end

    def added_range(self) -> tuple[date | None, date | None]:
        """The update's window of dates added to the database, or (None, None)."""
        start = parse_date(self.added_from) if self.added_from else None
        end = parse_date(self.added_to, end=True) if self.added_to else None
        return start, end

    def for_update(self, added_from: str, added_to: str) -> SearchSpec:
        """This search limited to the records the database added from ``added_from`` to
        ``added_to`` (a living review's update)."""
        return replace(self, added_from=added_from, added_to=added_to)


def parse_date(value: str, *, end: bool = False, what: str = "date") -> date:
    """``2020``, ``2020/05`` or ``2020-05-17`` as a date; partial dates extend to the period's
    first day, or its last day when ``end``."""
    match = _DATE.match(str(value))
    if not match:
        raise SearchError(f"{what}: {value!r} is not a date; write YYYY, YYYY/MM or YYYY/MM/DD.")
    year = int(match.group(1))
    month = int(match.group(2) or (12 if end else 1))
    day_text = match.group(3)
    try:
        if day_text:
            return date(year, month, int(day_text))
        if end:
            following = date(year + (month == 12), month % 12 + 1, 1)
            return date.fromordinal(following.toordinal() - 1)
        return date(year, month, 1)
    except ValueError as exc:
        raise SearchError(f"{what}: {value!r} is not a valid date ({exc}).") from exc


@dataclass
class Plan:
    """What the service reported before paging: the count and where paging starts."""

    reported: int
    state: dict[str, Any]
    # The query parameter exactly as sent, and every other search parameter sent with it.
    query_sent: str
    params: dict[str, Any]


@dataclass
class Page:
    """One batch of results and the resume state after it."""

    items: list[tuple[str, ReadItem]]  # (identity key, record or rejection), in result order
    state: dict[str, Any]
    done: bool
    label: str  # names the batch in messages: "PubMed batch 3 (records 1001-1500)"


class SourceClient(Protocol):
    kind: str

    def plan(self, spec: SearchSpec) -> Plan: ...

    def next_page(self, spec: SearchSpec, state: dict[str, Any]) -> Page: ...

    def close(self) -> None: ...


def identity_key(item: ReadItem, fallback: str) -> str:
    """The key that makes a retrieved record unique within a search (its source id first)."""
    from metasift.records.model import Record

    if isinstance(item, Record):
        if item.source_id:
            return f"id:{item.source_id}"
        if item.pmid:
            return f"pmid:{item.pmid}"
        if item.doi:
            return f"doi:{item.doi}"
    return fallback
