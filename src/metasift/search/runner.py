"""Running a search against the store: provenance, per-batch progress, resume, living review.

A run is one row of ``searches``. Each page a client fetches is stored in ``search_records``
together with the run's new paging state in a single transaction, so a run killed at any
point resumes from the last stored page: no record is fetched into the store twice (staged
records are unique per run by source id) and none is skipped (the state only moves with the
records it covers). When the last page is in, the staged records become one import in one
transaction, through the same import steps as files (:mod:`metasift.records.importing`).

Living review: records already imported by an earlier run of a search of the same database
(recognised by PMID, DOI or source id) are counted as merged, not imported again; the records
of a run's import are the ones new for screening.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from metasift.errors import SearchError
from metasift.records.formats.base import Rejection
from metasift.records.importing import add_items, begin_import, finish_import
from metasift.records.model import RECORD_FIELDS, Record
from metasift.records.provenance import FROM_SEARCH
from metasift.search.base import KINDS, Page, SearchSpec, SourceClient
from metasift.search.config import (
    Credentials,
    SearchSettings,
    credentials_for,
    load_credentials,
    service_target,
)
from metasift.search.http import redact
from metasift.search.reach import Reachability
from metasift.store.schema import records, search_records, searches

log = logging.getLogger(__name__)

FORMAT = {"pubmed": "pubmed-xml", "europepmc": "europepmc-json", "openalex": "openalex"}
UNFINISHED = ("running", "failed", "interrupted")
_CHUNK = 1000

Progress = Callable[[SearchSpec, int, int | None], None]


@dataclass
class SearchOutcome:
    """What one run did, for people (``line()``) and for code."""

    search_id: int
    spec: SearchSpec
    reported: int
    retrieved: int
    imported: int
    merged: int
    rejected: int
    import_id: int
    resumed: bool
    warning: str | None

    def line(self) -> str:
        text = (
            f"{self.spec.source}: reported {self.reported:,}, retrieved {self.retrieved:,}, "
            f"imported {self.imported:,} new"
        )
        if self.merged:
            text += f", merged {self.merged:,} seen before"
        if self.rejected:
            text += f", rejected {self.rejected:,}"
        return text + (" (resumed)" if self.resumed else "")


def make_client(
    kind: str,
    url: str,
    credentials: Credentials,
    settings: SearchSettings,
    reachability: Reachability | None = None,
) -> SourceClient:
    """The client of a source ``kind`` at ``url``; ``reachability`` is shared within a run."""
    if kind == "pubmed":
        from metasift.search.pubmed import PubMedClient

        return PubMedClient(url, credentials, settings, reachability=reachability)
    if kind == "europepmc":
        from metasift.search.europepmc import EuropePmcClient

        return EuropePmcClient(url, credentials, settings, reachability=reachability)
    if kind == "openalex":
        from metasift.search.openalex import OpenAlexClient

        return OpenAlexClient(url, credentials, settings, reachability=reachability)
    raise SearchError(f"unknown source kind {kind!r}; use one of {', '.join(KINDS)}.")


def _shown_url(url: str) -> str:
    """The service URL as stored: without user info or query parameters."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(username=None, password=None, query=None))


def _spec_key(spec: SearchSpec) -> dict[str, Any]:
    key = {
        "query": spec.query,
        "date_from": spec.date_from,
        "date_to": spec.date_to,
        "filters": spec.filters,
    }
    if spec.added_from or spec.added_to:
        key.update(added_from=spec.added_from, added_to=spec.added_to)
    return key


def _stored_filters(spec: SearchSpec, params: dict[str, Any]) -> dict[str, Any]:
    """The limits of a run as the search log shows them."""
    stored = {"date_from": spec.date_from, "date_to": spec.date_to, "params": params}
    if spec.added_from or spec.added_to:
        stored.update(added_from=spec.added_from, added_to=spec.added_to)
    return stored


def _open_run(
    conn: Connection, spec: SearchSpec, url: str, fresh: bool
) -> tuple[int, dict[str, Any] | None, bool]:
    """The run to continue (same source, query, dates and filters) or a new one."""
    unfinished = conn.execute(
        sa.select(searches.c.id, searches.c.state)
        .where(
            searches.c.source == spec.source,
            searches.c.kind == spec.kind,
            searches.c.status.in_(UNFINISHED),
        )
        .order_by(searches.c.id.desc())
    ).all()
    for row in unfinished:
        state = row.state or {}
        if not fresh and state.get("spec") == _spec_key(spec):
            conn.execute(
                searches.update()
                .where(searches.c.id == row.id)
                .values(status="running", error=None, n_resumed=searches.c.n_resumed + 1)
            )
            return row.id, (state if "client" in state else None), True
        conn.execute(search_records.delete().where(search_records.c.search_id == row.id))
        conn.execute(searches.update().where(searches.c.id == row.id).values(status="abandoned"))
    search_id = conn.execute(
        searches.insert().values(
            source=spec.source,
            kind=spec.kind,
            database=spec.database,
            platform=spec.platform,
            base_url=_shown_url(url),
            query=spec.query,
            query_input=spec.query,
            filters=_stored_filters(spec, spec.filters),
            adhoc=spec.adhoc,
            started_at=datetime.now(UTC),
            status="running",
            state={"spec": _spec_key(spec)},
        )
    ).inserted_primary_key[0]
    return search_id, None, False


def _item_json(item: Record | Rejection) -> dict[str, Any]:
    if isinstance(item, Record):
        # Not Record.to_dict(): dataclasses.asdict deep-copies every value, and the JSON
        # column serialises them anyway.
        return {"record": {name: getattr(item, name) for name in RECORD_FIELDS}}
    return {"rejection": {"reason": item.reason, "line": item.line}}


def _stage(conn: Connection, search_id: int, page: Page, retrieved: int, source: str) -> int:
    """Store a page's records not staged yet in this run; returns how many were new."""
    keys = [key for key, _ in page.items]
    staged: set[str] = set()
    for i in range(0, len(keys), _CHUNK):
        staged.update(
            conn.execute(
                sa.select(search_records.c.key).where(
                    search_records.c.search_id == search_id,
                    search_records.c.key.in_(keys[i : i + _CHUNK]),
                )
            ).scalars()
        )
    rows = []
    for key, item in page.items:
        if key in staged:
            continue
        staged.add(key)
        position = retrieved + len(rows) + 1
        if isinstance(item, Record):
            item.source_position = position
            item.source_database = source
        rows.append(
            {"search_id": search_id, "position": position, "key": key, "item": _item_json(item)}
        )
    if rows:
        conn.execute(search_records.insert(), rows)
    return len(rows)


def _staged(conn: Connection, search_id: int, source_file: str) -> Iterator[Record | Rejection]:
    last = 0
    while True:
        rows = conn.execute(
            sa.select(search_records.c.position, search_records.c.item)
            .where(search_records.c.search_id == search_id, search_records.c.position > last)
            .order_by(search_records.c.position)
            .limit(_CHUNK)
        ).all()
        if not rows:
            return
        for row in rows:
            last = row.position
            if "record" in row.item:
                record = Record(**row.item["record"])
                record.source_file = source_file
                yield record
            else:
                rejection = row.item["rejection"]
                yield Rejection(row.position, rejection["reason"], line=rejection.get("line"))


def seen_keys(conn: Connection, kind: str) -> set[str]:
    """Identity keys of the records earlier finished runs of ``kind`` searches imported."""
    rows = conn.execute(
        sa.select(records.c.pmid, records.c.doi, records.c.source_id)
        .join(searches, searches.c.import_id == records.c.import_id)
        .where(searches.c.kind == kind, searches.c.status == "complete")
    )
    keys: set[str] = set()
    for pmid, doi, source_id in rows:
        if pmid:
            keys.add(f"pmid:{pmid}")
        if doi:
            keys.add(f"doi:{doi}")
        if source_id:
            keys.add(f"id:{source_id}")
    return keys


def run_search(
    engine: Engine,
    spec: SearchSpec,
    *,
    credentials: Credentials | None = None,
    settings: SearchSettings | None = None,
    client: SourceClient | None = None,
    fresh: bool = False,
    on_progress: Progress | None = None,
    on_page: Callable[[int], None] | None = None,
    reachability: Reachability | None = None,
) -> SearchOutcome:
    """Run (or resume) ``spec`` and import what it finds; see the module docstring.

    ``on_page`` is called with the number of pages stored after each one is committed.
    ``reachability`` carries the hosts found unreachable by earlier searches of the same run,
    so that this one fails at once on them (see :class:`metasift.search.http.Reachability`).
    """
    credentials = credentials or load_credentials()
    settings = settings or SearchSettings.from_env()
    target = service_target(spec.kind, spec.base_url)
    url = target.url
    # Only the service's own host, or one the user named in their own config, gets them.
    credentials = credentials_for(target, credentials)
    own_client = client is None
    if client is None:
        client = make_client(spec.kind, url, credentials, settings, reachability)
    search_id: int | None = None
    try:
        with engine.begin() as conn:
            search_id, state, resumed = _open_run(conn, spec, url, fresh)
        if state is None:
            plan = client.plan(spec)
            state = {"spec": _spec_key(spec), "client": plan.state, "done": False}
            with engine.begin() as conn:
                conn.execute(
                    searches.update()
                    .where(searches.c.id == search_id)
                    .values(
                        n_reported=plan.reported,
                        query=plan.query_sent,
                        filters=_stored_filters(spec, plan.params),
                        state=state,
                    )
                )
        with engine.connect() as conn:
            row = conn.execute(sa.select(searches).where(searches.c.id == search_id)).one()
        reported, retrieved, pages = row.n_reported or 0, row.n_retrieved, row.n_batches
        if on_progress:
            on_progress(spec, retrieved, reported)
        while not state["done"]:
            page = client.next_page(spec, state["client"])
            state = {**state, "client": page.state, "done": page.done}
            with engine.begin() as conn:
                retrieved += _stage(conn, search_id, page, retrieved, spec.source)
                pages += 1
                conn.execute(
                    searches.update()
                    .where(searches.c.id == search_id)
                    .values(state=state, n_retrieved=retrieved, n_batches=pages)
                )
            if on_progress:
                on_progress(spec, retrieved, reported)
            if on_page:
                on_page(pages)
        return _finish(engine, search_id, spec, reported, retrieved, resumed)
    except BaseException as exc:
        if search_id is not None:
            status = "failed" if isinstance(exc, Exception) else "interrupted"
            message = redact(str(exc), credentials.secrets()) or type(exc).__name__
            try:
                with engine.begin() as conn:
                    conn.execute(
                        searches.update()
                        .where(searches.c.id == search_id, searches.c.status == "running")
                        .values(status=status, error=message)
                    )
            except Exception:  # the store itself failing must not hide the original error
                log.exception("could not record that search %s stopped", search_id)
        raise
    finally:
        if own_client:
            client.close()


def _finish(
    engine: Engine, search_id: int, spec: SearchSpec, reported: int, retrieved: int, resumed: bool
) -> SearchOutcome:
    source_file = f"{spec.database} search {search_id}"
    with engine.begin() as conn:
        started = conn.execute(
            sa.select(searches.c.started_at).where(searches.c.id == search_id)
        ).scalar_one()
        summary = begin_import(
            conn,
            file=source_file,
            fmt=FORMAT[spec.kind],
            checksum=hashlib.sha256(f"search {search_id} {started}".encode()).hexdigest(),
            source=spec.source,
            options={"search_id": search_id, "kind": spec.kind},
            origin=FROM_SEARCH,
        )
        add_items(
            conn,
            summary,
            _staged(conn, search_id, source_file),
            source_file=source_file,
            seen=seen_keys(conn, spec.kind),
        )
        finish_import(conn, summary)
        warning = None
        if reported != retrieved:
            warning = (
                f"{spec.database} reported {reported:,} records but {retrieved:,} were "
                f"retrieved ({retrieved - reported:+,}); record this difference in the review."
            )
            log.warning("%s: %s", spec.source, warning)
        conn.execute(
            searches.update()
            .where(searches.c.id == search_id)
            .values(
                status="complete",
                finished_at=datetime.now(UTC),
                import_id=summary.import_id,
                n_imported=summary.imported,
                n_merged=summary.merged,
                n_rejected=summary.rejected,
                warning=warning,
                error=None,
            )
        )
        conn.execute(search_records.delete().where(search_records.c.search_id == search_id))
    return SearchOutcome(
        search_id=search_id,
        spec=spec,
        reported=reported,
        retrieved=retrieved,
        imported=summary.imported,
        merged=summary.merged,
        rejected=summary.rejected,
        import_id=summary.import_id,
        resumed=resumed,
        warning=warning,
    )


def new_record_ids(engine: Engine, search_id: int) -> list[int]:
    """The records a run added to the project: those new for screening."""
    with engine.connect() as conn:
        import_id = conn.execute(
            sa.select(searches.c.import_id).where(searches.c.id == search_id)
        ).scalar_one()
        if import_id is None:
            return []
        return list(
            conn.execute(
                sa.select(records.c.id)
                .where(records.c.import_id == import_id)
                .order_by(records.c.id)
            ).scalars()
        )


def project_specs(
    sources: list[Any], source: str | None = None, query: str | None = None
) -> list[SearchSpec]:
    """The searches ``metasift search`` runs: the protocol's live sources, or one of them, or
    the ad hoc ``query`` on them (or on a source kind named by ``source``)."""
    live = [s for s in sources if s.kind in KINDS]
    if source:
        chosen = [s for s in live if s.name.lower() == source.lower()]
        if not chosen:
            kind = source.lower().replace(" ", "").replace("-", "")
            if kind in KINDS and query is not None:
                from metasift.search.base import DATABASE

                return [SearchSpec(source=DATABASE[kind], kind=kind, query=query, adhoc=True)]
            names = ", ".join(s.name for s in live) or "none"
            raise SearchError(
                f"review.toml has no live source named {source!r} (live sources: {names}); "
                f"with --query, --source may also be a kind: {', '.join(KINDS)}."
            )
        live = chosen
    if not live:
        raise SearchError(
            'review.toml has no live source (a [[sources]] table with kind = "pubmed", '
            '"europepmc" or "openalex"); add one, or pass --source KIND --query Q.'
        )
    return [SearchSpec.from_source(s, query) for s in live]
