"""Europe PMC REST search: ``resultType=core`` JSON (with abstracts), cursorMark paging.

The date range of the protocol is part of the query Europe PMC receives
(``(QUERY) AND (FIRST_PDATE:[2000-01-01 TO 2020-12-31])``): the service has no separate
date parameters. That composed string is what the search log records as sent.

:func:`record_from_result` maps one core result to a :class:`Record`; the whole result is kept
in ``raw``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from metasift.errors import SearchError
from metasift.records.formats.base import Rejection
from metasift.records.model import Record
from metasift.records.normalize import (
    clean_text,
    normalize_author,
    normalize_doi,
    normalize_pmcid,
    normalize_pmid,
    parse_year,
)
from metasift.search.base import Page, Plan, SearchSpec, identity_key
from metasift.search.config import Credentials, SearchSettings, service_client
from metasift.search.reach import Reachability

SOURCE_DATABASE = "Europe PMC"
# Europe PMC publishes no hard limit; stay well below what would look like a crawl.
RATE = 5.0
_MANAGED = {"query", "resulttype", "format", "pagesize", "cursormark", "email"}


_HEADING = re.compile(r"<h\d[^>]*>(.*?)</h\d>\s*", re.IGNORECASE | re.DOTALL)
_BREAK = re.compile(r"<(?:br|/p|/li)\s*/?>", re.IGNORECASE)


def _abstract(text: str | None) -> str | None:
    """Europe PMC marks section headings up as ``<h4>``: keep them as "Heading: " labels."""
    if not text:
        return None
    text = _BREAK.sub(" ", _HEADING.sub(lambda m: f" {m.group(1).strip()}: ", text))
    return clean_text(text, strip_tags=True)


def _items(container: Any, key: str) -> list[Any]:
    """Europe PMC wraps lists as ``{"keyword": [...]}``; a lone value may come unwrapped."""
    if not isinstance(container, dict):
        return []
    value = container.get(key)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _author_name(author: dict[str, Any]) -> str | None:
    if author.get("lastName"):
        given = author.get("firstName") or author.get("initials") or ""
        return f"{author['lastName']}, {given}".strip(", ")
    return author.get("fullName") or author.get("collectiveName")


def record_from_result(result: dict[str, Any]) -> Record:
    """One Europe PMC core search result as a Record."""
    record = Record(raw=result, source_database=SOURCE_DATABASE)
    record.title = clean_text(result.get("title"), strip_tags=True)
    record.abstract = _abstract(result.get("abstractText"))
    raw_names: list[str] = []
    names: list[str] = []
    for author in _items(result.get("authorList"), "author"):
        if not isinstance(author, dict):
            continue
        shown = author.get("fullName") or _author_name(author)
        normal = normalize_author(_author_name(author))
        if normal:
            names.append(normal)
            raw_names.append(clean_text(shown) or normal)
    if not names and result.get("authorString"):
        for part in str(result["authorString"]).rstrip(".").split(","):
            normal = normalize_author(part.strip())
            if normal:
                names.append(normal)
                raw_names.append(part.strip())
    record.authors, record.authors_raw = names, raw_names
    info = result.get("journalInfo") or {}
    journal = info.get("journal") or {}
    record.journal = clean_text(journal.get("title") or result.get("journalTitle"))
    record.journal_abbrev = clean_text(
        journal.get("isoabbreviation") or journal.get("medlineAbbreviation")
    )
    record.issn = [str(v) for v in (journal.get("issn"), journal.get("essn")) if v]
    record.volume = clean_text(info.get("volume") or result.get("journalVolume"))
    record.issue = clean_text(info.get("issue") or result.get("issue"))
    record.pages = clean_text(result.get("pageInfo"))
    record.year = parse_year(
        result.get("pubYear") or info.get("yearOfPublication") or result.get("firstPublicationDate")
    )
    record.doi = normalize_doi(result.get("doi"))
    record.pmid = normalize_pmid(result.get("pmid"))
    record.pmcid = normalize_pmcid(result.get("pmcid"))
    source, ident = result.get("source"), result.get("id")
    record.source_id = f"{source}:{ident}" if source and ident else (str(ident) if ident else None)
    record.language = clean_text(result.get("language"))
    record.publication_types = [
        t for t in (clean_text(str(v)) for v in _items(result.get("pubTypeList"), "pubType")) if t
    ]
    record.record_type = record.publication_types[0] if record.publication_types else None
    record.keywords = [
        k for k in (clean_text(str(v)) for v in _items(result.get("keywordList"), "keyword")) if k
    ]
    mesh: list[str] = []
    for heading in _items(result.get("meshHeadingList"), "meshHeading"):
        name = clean_text(heading.get("descriptorName")) if isinstance(heading, dict) else None
        if name and name not in mesh:
            mesh.append(name)
    record.mesh_terms = mesh
    if record.doi:
        record.url = f"https://doi.org/{record.doi}"
    elif source and ident:
        record.url = f"https://europepmc.org/article/{source}/{ident}"
    return record


def _item(result: Any) -> Record | Rejection:
    if not isinstance(result, dict):
        return Rejection(0, "a Europe PMC result must be a JSON object")
    return record_from_result(result)


def _first_pdate(start: date | None, end: date | None) -> str:
    low = start.isoformat() if start else "1000-01-01"
    high = end.isoformat() if end else "3000-12-31"
    return f"(FIRST_PDATE:[{low} TO {high}])"


def composed_query(spec: SearchSpec) -> str:
    """The query sent: the protocol's, with its dates and an update's window as
    ``FIRST_PDATE`` ranges (the date Europe PMC first lists a record as published)."""
    query = spec.query
    start, end = spec.date_range()
    if start or end:
        query = f"({query}) AND {_first_pdate(start, end)}"
    start, end = spec.added_range()
    if start or end:
        query = f"({query}) AND {_first_pdate(start, end)}"
    return query


class EuropePmcClient:
    kind = "europepmc"

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        settings: SearchSettings,
        *,
        sleep: Callable[[float], None] | None = None,
        reachability: Reachability | None = None,
    ) -> None:
        self.page_size = min(settings.europepmc_page, 1000)
        self.http = service_client(
            base_url, "Europe PMC", RATE, credentials, settings, sleep, reachability
        )

    def close(self) -> None:
        self.http.close()

    def _params(self, spec: SearchSpec) -> dict[str, Any]:
        params: dict[str, Any] = {"query": composed_query(spec)}
        for key, value in spec.filters.items():
            if key.lower() in _MANAGED:
                raise SearchError(
                    f"source {spec.source!r}: filter {key!r} is set by metasift; remove it."
                )
            params[key] = value
        params.update(resultType="core", format="json")
        return params

    def _get(self, params: dict[str, Any], what: str) -> dict[str, Any]:
        data = self.http.get_json("search", params, what=what)
        if "errMsg" in data or "errCode" in data:
            raise SearchError(
                f"{what}: Europe PMC refused the search: "
                f"{self.http.scrub(str(data.get('errMsg') or data.get('errCode')))}"
            )
        return data

    def plan(self, spec: SearchSpec) -> Plan:
        params = self._params(spec)
        data = self._get({**params, "pageSize": 1, "resultType": "idlist"}, "Europe PMC count")
        reported = int(data.get("hitCount") or 0)
        shown = {k: v for k, v in params.items() if k != "query"}
        state = {"cursor": "*", "page": 0, "fetched": 0, "reported": reported}
        return Plan(reported=reported, state=state, query_sent=params["query"], params=shown)

    def next_page(self, spec: SearchSpec, state: dict[str, Any]) -> Page:
        state = dict(state)
        if state.get("cursor") is None:
            return Page([], state, True, "Europe PMC (end of results)")
        first = state["fetched"] + 1
        label = f"Europe PMC page {state['page'] + 1} (from record {first:,})"
        params = {**self._params(spec), "pageSize": self.page_size, "cursorMark": state["cursor"]}
        data = self._get(params, label)
        results = (data.get("resultList") or {}).get("result") or []
        if not isinstance(results, list):
            raise SearchError(f"{label}: resultList.result is not a list; nothing was stored.")
        items = []
        for i, result in enumerate(results):
            item = _item(result)
            items.append((identity_key(item, f"pos:{state['fetched'] + i}"), item))
        following = data.get("nextCursorMark")
        done = len(results) < self.page_size or not following or following == state["cursor"]
        state.update(
            cursor=None if done else following,
            page=state["page"] + 1,
            fetched=state["fetched"] + len(results),
        )
        return Page(items, state, done, label)
