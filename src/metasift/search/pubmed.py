"""PubMed through NCBI E-utilities: esearch on the history server, efetch of XML in batches.

PubMed serves at most the first 10,000 records of a result set (esearch refuses
``retstart`` above 9,998, efetch from the history server stops at 10,000). A larger search is
therefore split by date: the date range (the protocol's, or all of PubMed's) is halved until
every part matches at most 10,000 records, each part gets its own WebEnv/query_key, and the
parts are fetched one after the other. The parts do not overlap (``mindate``/``maxdate`` are
inclusive days), so together they hold every record exactly once.

The efetch pages are read by the PubMed XML reader of :mod:`metasift.records.formats`; this
module only checks that a page is well-formed XML and not an E-utilities error first, so that
a broken page stops the search with an error naming the batch instead of importing part of it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from lxml import etree

from metasift.errors import SearchError, SearchHTTPError
from metasift.records.formats.base import ReadItem
from metasift.search.base import Page, Plan, SearchSpec, identity_key
from metasift.search.config import Credentials, SearchSettings, service_client
from metasift.search.reach import Reachability

RATE = 3.0  # requests/s without an API key (NCBI's policy)
RATE_WITH_KEY = 10.0
EARLIEST = date(1781, 1, 1)  # before PubMed's oldest records
_RECORD_TAGS = ("PubmedArticle", "PubmedBookArticle")
_MANAGED = {
    "db",
    "term",
    "usehistory",
    "retmax",
    "retstart",
    "retmode",
    "rettype",
    "webenv",
    "query_key",
    "tool",
    "mindate",
    "maxdate",
}
_EXPIRED = ("unable to obtain query", "cannot retrieve history", "webenv", "query_key")


def _default_parser() -> Callable[[bytes], list[ReadItem]]:
    from metasift.records.formats import pubmed_xml

    return pubmed_xml.parse_efetch


def _latest() -> date:
    """A maximum date past every record (PubMed lists some print dates a year ahead)."""
    return date(date.today().year + 1, 12, 31)


def _pubmed_date(day: date) -> str:
    return f"{day.year:04d}/{day.month:02d}/{day.day:02d}"


def _updating(spec: SearchSpec) -> bool:
    return bool(spec.added_from or spec.added_to)


def _range(spec: SearchSpec) -> tuple[date | None, date | None]:
    """The dates esearch limits by (``mindate``/``maxdate``): an update's window of Entrez
    dates, else the protocol's publication dates."""
    return spec.added_range() if _updating(spec) else spec.date_range()


def _datetype(spec: SearchSpec) -> str:
    """``edat`` (the date PubMed added a record) for an update, else the protocol's."""
    return "edat" if _updating(spec) else spec.filters.get("datetype", "pdat")


def _term(spec: SearchSpec) -> str:
    """The query sent. esearch takes one date type at a time, so an update, which limits by
    Entrez date, carries the protocol's publication dates in the query as a ``[dp]`` range."""
    start, end = spec.date_range()
    if not _updating(spec) or not (start or end):
        return spec.query
    low, high = _pubmed_date(start or EARLIEST), _pubmed_date(end or _latest())
    return f"({spec.query}) AND ({low}[dp] : {high}[dp])"


class PubMedClient:
    kind = "pubmed"

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        settings: SearchSettings,
        *,
        parse: Callable[[bytes], list[ReadItem]] | None = None,
        sleep: Callable[[float], None] | None = None,
        reachability: Reachability | None = None,
    ) -> None:
        self.credentials = credentials
        self.batch = settings.pubmed_batch
        self.limit = settings.pubmed_fetch_limit
        rate = RATE_WITH_KEY if credentials.ncbi_api_key else RATE
        self.http = service_client(
            base_url, "PubMed E-utilities", rate, credentials, settings, sleep, reachability
        )
        self._parse = parse

    def close(self) -> None:
        self.http.close()

    # -- requests -------------------------------------------------------------------------
    def _identify(self, params: dict[str, Any]) -> dict[str, Any]:
        """NCBI asks every client to name its tool and a contact; the key raises the rate."""
        return {
            **params,
            "tool": self.credentials.tool,
            "email": self.credentials.email,
            "api_key": self.credentials.ncbi_api_key,
        }

    def _search_params(self, spec: SearchSpec) -> dict[str, Any]:
        params: dict[str, Any] = {"db": "pubmed", "term": _term(spec)}
        for key, value in spec.filters.items():
            if key.lower() in _MANAGED:
                raise SearchError(
                    f"source {spec.source!r}: filter {key!r} is set by metasift; remove it "
                    "(dates go in date_from/date_to)."
                )
            params[key] = value
        return params

    def _esearch(
        self, spec: SearchSpec, start: date | None, end: date | None, what: str
    ) -> tuple[int, str | None, str | None]:
        params = self._search_params(spec)
        params.update(usehistory="y", retmax=0, retmode="xml")
        if start or end:
            params["datetype"] = _datetype(spec)
            params["mindate"] = _pubmed_date(start or EARLIEST)
            params["maxdate"] = _pubmed_date(end or _latest())
        response = self.http.post("esearch.fcgi", self._identify(params), what=what)
        try:
            root = etree.fromstring(response.content)
        except etree.XMLSyntaxError as exc:
            raise SearchError(f"{what}: the answer is not XML ({exc}); try again later.") from exc
        error = root.findtext("ERROR")
        if error:
            raise SearchError(f"{what}: PubMed refused the search: {self.http.scrub(error)}")
        count_text = root.findtext("Count")
        if count_text is None or not count_text.strip().isdigit():
            raise SearchError(f"{what}: the esearch answer has no record count.")
        return int(count_text), root.findtext("WebEnv"), root.findtext("QueryKey")

    # -- the client contract -----------------------------------------------------------------
    def plan(self, spec: SearchSpec) -> Plan:
        start, end = _range(spec)
        count, webenv, query_key = self._esearch(spec, start, end, "PubMed esearch")
        params = {k: v for k, v in self._search_params(spec).items() if k not in ("term", "db")}
        if start or end:
            params.update(
                datetype=_datetype(spec),
                mindate=_pubmed_date(start) if start else "",
                maxdate=_pubmed_date(end) if end else "",
            )
        if count <= self.limit:
            slices = [
                {
                    "mindate": None,
                    "maxdate": None,
                    "count": count,
                    "webenv": webenv,
                    "query_key": query_key,
                }
            ]
            if start or end:
                slices[0].update(
                    mindate=_pubmed_date(start or EARLIEST),
                    maxdate=_pubmed_date(end or _latest()),
                )
        else:
            slices = self._split(spec, start or EARLIEST, end or _latest())
        state = {"slices": slices, "slice": 0, "retstart": 0, "batch": 0, "fetched": 0}
        return Plan(reported=count, state=state, query_sent=_term(spec), params=params)

    def _split(self, spec: SearchSpec, start: date, end: date) -> list[dict[str, Any]]:
        """Date ranges covering [start, end] each matching at most ``limit`` records."""
        slices: list[dict[str, Any]] = []
        pending = [(start, end)]
        while pending:
            lo, hi = pending.pop()
            what = f"PubMed esearch {_pubmed_date(lo)}-{_pubmed_date(hi)}"
            count, webenv, query_key = self._esearch(spec, lo, hi, what)
            if count <= self.limit:
                if count:
                    slices.append(
                        {
                            "mindate": _pubmed_date(lo),
                            "maxdate": _pubmed_date(hi),
                            "count": count,
                            "webenv": webenv,
                            "query_key": query_key,
                        }
                    )
                continue
            if lo == hi:
                raise SearchError(
                    f"PubMed: {count:,} records were published on {_pubmed_date(lo)} alone, more "
                    f"than the {self.limit:,} E-utilities can deliver for one query; narrow the "
                    "query (e.g. by publication type) or split it into several sources."
                )
            mid = lo + timedelta(days=(hi - lo).days // 2)
            # Later half first on the stack, so slices come out in date order.
            pending.append((mid + timedelta(days=1), hi))
            pending.append((lo, mid))
        return slices

    def next_page(self, spec: SearchSpec, state: dict[str, Any]) -> Page:
        state = dict(state)
        slices = state["slices"]
        while state["slice"] < len(slices) and state["retstart"] >= slices[state["slice"]]["count"]:
            state["slice"] += 1
            state["retstart"] = 0
        if state["slice"] >= len(slices):
            return Page([], state, True, "PubMed (end of results)")
        index, retstart = state["slice"], state["retstart"]
        part = slices[index]
        retmax = min(self.batch, part["count"] - retstart)
        first = state["fetched"] + 1
        label = f"PubMed batch {state['batch'] + 1} (records {first:,}-{first + retmax - 1:,})"
        try:
            root, data = self._efetch(part, retstart, retmax, label)
        except _HistoryExpired:
            count, webenv, query_key = self._esearch(
                spec,
                _parse_pubmed_date(part["mindate"]),
                _parse_pubmed_date(part["maxdate"]),
                f"{label}: renewing the history-server query",
            )
            slices = [dict(s) for s in slices]
            if count != part["count"]:
                # The result set changed since it was stored: fetch this part again from its
                # start; records already stored are recognised by PMID and not stored twice.
                state["fetched"] -= retstart
                retstart = 0
                retmax = min(self.batch, count)
            slices[index] = {**part, "count": count, "webenv": webenv, "query_key": query_key}
            state["slices"] = slices
            part = slices[index]
            root, data = self._efetch(part, retstart, retmax, label)
        expected = sum(1 for child in root if child.tag in _RECORD_TAGS)
        parse = self._parse or _default_parser()
        try:
            items = parse(data)
        except Exception as exc:  # the reader's own errors, whatever their type
            raise SearchError(
                f"{label}: the page could not be read ({exc}); nothing from it was stored. "
                "Run the search again to retry from this batch."
            ) from exc
        if len(items) != expected:
            raise SearchError(
                f"{label}: the page holds {expected} articles but {len(items)} were read; "
                "nothing from it was stored. Run the search again to retry from this batch."
            )
        keyed = [
            (identity_key(item, f"pos:{index}:{retstart + i}"), item)
            for i, item in enumerate(items)
        ]
        state["retstart"] = retstart + retmax
        state["batch"] += 1
        state["fetched"] += retmax
        done = index == len(slices) - 1 and state["retstart"] >= part["count"]
        return Page(keyed, state, done, label)

    def _efetch(
        self, part: dict[str, Any], retstart: int, retmax: int, label: str
    ) -> tuple[etree._Element, bytes]:
        if retstart + retmax > self.limit:
            raise SearchError(f"{label}: beyond the {self.limit:,} records efetch can page.")
        params = {
            "db": "pubmed",
            "WebEnv": part["webenv"],
            "query_key": part["query_key"],
            "retstart": retstart,
            "retmax": retmax,
            "retmode": "xml",
        }
        try:
            response = self.http.post("efetch.fcgi", self._identify(params), what=label)
        except SearchHTTPError as exc:
            if exc.status == 400 and any(s in exc.body.lower() for s in _EXPIRED):
                raise _HistoryExpired from exc
            raise
        data = response.content
        try:
            root = etree.fromstring(data)
        except etree.XMLSyntaxError as exc:
            raise SearchError(
                f"{label}: PubMed sent malformed XML ({exc}); nothing from this batch was "
                "stored. Run the search again to retry from this batch."
            ) from exc
        if root.tag == "eFetchResult":
            error = root.findtext("ERROR") or "an empty eFetchResult"
            if any(s in error.lower() for s in _EXPIRED):
                raise _HistoryExpired
            raise SearchError(f"{label}: PubMed refused the request: {self.http.scrub(error)}")
        if root.tag != "PubmedArticleSet":
            raise SearchError(
                f"{label}: expected a PubmedArticleSet, got <{root.tag}>; nothing from this "
                "batch was stored."
            )
        return root, data


class _HistoryExpired(Exception):
    """The WebEnv/query_key of a stored search is no longer on the history server."""


def _parse_pubmed_date(text: str | None) -> date | None:
    if not text:
        return None
    year, month, day = (int(p) for p in text.split("/"))
    return date(year, month, day)
