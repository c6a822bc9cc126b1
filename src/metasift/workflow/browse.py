"""The record browser: search and filter the project's records as one reviewer may see them.

The text search is the store's (:func:`metasift.store.records.find_record_ids`); the filters
on decisions read :func:`~metasift.workflow.decisions.visible_decisions`, so that a blind
reviewer finds records by their own votes only, never by the others'; the filter on labels
reads :func:`~metasift.workflow.annotations.labelled_ids`. The web app's browser
and its CSV and RIS exports call :func:`browse` and :func:`browse_records`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import Engine

from metasift.errors import ReviewError
from metasift.protocol import Protocol
from metasift.records.model import Record
from metasift.store.records import find_record_ids, records_by_id
from metasift.store.schema import imports
from metasift.workflow.annotations import labelled_ids, labels_of, project_labels
from metasift.workflow.counts import import_source
from metasift.workflow.decisions import FULL_TEXT, STAGES, TITLE_ABSTRACT, Verdict
from metasift.workflow.decisions import visible_decisions as _visible

# What the decision filter offers, and what each keeps of a record's verdict at the stage.
DECISION_FILTERS = {
    "include": "included",
    "exclude": "excluded",
    "maybe": "maybe",
    "conflict": "in conflict",
    "pending": "waiting for another reviewer",
    "none": "not decided yet",
}
PER_PAGE = 50
MAX_PER_PAGE = 500


@dataclass(frozen=True)
class BrowseFilters:
    """What the user asked for; every field empty: every record.

    Args:
        text: words or "quoted phrases" searched in title, abstract, authors, journal and
            keywords.
        stage: the stage whose decisions ``decision`` and ``reviewer`` speak of.
        decision: one of :data:`DECISION_FILTERS`, or empty.
        reviewer: records this reviewer decided at ``stage`` (as far as the viewer may see).
        source: the source an import is reported under (its database, else its file name).
        labels: labels a record must carry, every one of them; empty: any record.
    """

    text: str = ""
    stage: str = TITLE_ABSTRACT
    decision: str = ""
    reviewer: str = ""
    source: str = ""
    labels: tuple[str, ...] = ()

    def check(self) -> None:
        """Refuse values no filter knows (:class:`~metasift.errors.ReviewError`)."""
        if self.stage not in STAGES:
            raise ReviewError(f"unknown stage {self.stage!r}; choose one of the list.")
        if self.decision and self.decision not in DECISION_FILTERS:
            raise ReviewError(f"unknown decision {self.decision!r}; choose one of the list.")


@dataclass(frozen=True)
class BrowseRow:
    """One record as the browser lists it, with its verdict at the filter's stage and its
    labels."""

    record_id: int
    record: Record
    source: str
    verdict: Verdict | None
    labels: tuple[str, ...] = ()


@dataclass
class BrowsePage:
    """One page of the records matching the filters."""

    rows: list[BrowseRow]
    total: int
    page: int
    per_page: int
    sources: list[str] = field(default_factory=list)
    reviewers: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _sources(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        return {row.id: import_source(row) for row in conn.execute(sa.select(imports))}


def _kept(verdict: Verdict | None, decision: str, sought: bool) -> bool:
    if decision == "none":
        return verdict is None and sought
    if verdict is None:
        return False
    if decision in ("conflict", "pending"):
        return verdict.status == decision
    return verdict.status in ("final", "own") and verdict.decision == decision


def matching_ids(
    engine: Engine, protocol: Protocol, viewer: str, filters: BrowseFilters
) -> tuple[list[int], dict[int, Verdict], dict[int, str]]:
    """The ids matching ``filters`` in record order, the verdicts ``viewer`` may see at the
    filter's stage, and each import's source name.

    Args:
        engine: the project store.
        protocol: the review's protocol.
        viewer: who browses; their role decides which votes they may see.
        filters: what they asked for.
    """
    filters.check()
    sources = _sources(engine)
    import_ids = None
    if filters.source:
        import_ids = [i for i, name in sources.items() if name == filters.source]
    ids = find_record_ids(engine, text=filters.text, import_ids=import_ids)
    if filters.labels:
        carrying = labelled_ids(engine, list(filters.labels))
        ids = [i for i in ids if i in carrying]
    seen = _visible(engine, protocol, viewer, filters.stage)
    if filters.reviewer:
        ids = [i for i in ids if i in seen and filters.reviewer in seen[i].votes]
    if filters.reviewer and filters.decision in ("include", "exclude", "maybe"):
        # With a reviewer named, the decision is theirs, not the record's verdict.
        ids = [i for i in ids if seen[i].votes[filters.reviewer] == filters.decision]
    elif filters.decision:
        sought: set[int] | None = None
        if filters.decision == "none" and filters.stage == FULL_TEXT:
            from metasift.workflow.fulltext import sought_ids

            sought = set(sought_ids(engine, protocol))
        elif filters.decision == "none":
            from metasift.store.records import screenable_ids

            sought = set(screenable_ids(engine))
        ids = [
            i for i in ids if _kept(seen.get(i), filters.decision, sought is None or i in sought)
        ]
    return ids, seen, sources


def _import_of(engine: Engine, ids: list[int]) -> dict[int, int]:
    from metasift.store.schema import records

    found: dict[int, int] = {}
    with engine.connect() as conn:
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            query = sa.select(records.c.id, records.c.import_id).where(records.c.id.in_(chunk))
            found.update(dict(conn.execute(query).all()))
    return found


def _rows(
    engine: Engine, ids: list[int], seen: dict[int, Verdict], sources: dict[int, str]
) -> list[BrowseRow]:
    recs = records_by_id(engine, ids)
    origin = _import_of(engine, ids)
    labels = labels_of(engine, ids)
    return [
        BrowseRow(
            i, recs[i], sources.get(origin.get(i, -1), ""), seen.get(i), tuple(labels.get(i, ()))
        )
        for i in ids
        if i in recs
    ]


def browse(
    engine: Engine,
    protocol: Protocol,
    viewer: str,
    filters: BrowseFilters,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> BrowsePage:
    """One page of the records matching ``filters``, as ``viewer`` may see them.

    Args:
        engine: the project store.
        protocol: the review's protocol.
        viewer: who browses.
        filters: the search and filters.
        page: the page wanted, from 1; past the last page, the last.
        per_page: records a page (at most :data:`MAX_PER_PAGE`).
    """
    from metasift.workflow.reviewers import list_reviewers

    per_page = max(1, min(per_page, MAX_PER_PAGE))
    ids, seen, sources = matching_ids(engine, protocol, viewer, filters)
    pages = max(1, -(-len(ids) // per_page))
    page = max(1, min(page, pages))
    shown = ids[(page - 1) * per_page : page * per_page]
    return BrowsePage(
        rows=_rows(engine, shown, seen, sources),
        total=len(ids),
        page=page,
        per_page=per_page,
        sources=sorted(set(sources.values())),
        reviewers=[m.name for m in list_reviewers(engine)],
        labels=project_labels(engine),
    )


def browse_records(
    engine: Engine, protocol: Protocol, viewer: str, filters: BrowseFilters
) -> Iterator[BrowseRow]:
    """Every record matching ``filters``, a thousand read at a time: what an export writes.

    Args:
        engine: the project store.
        protocol: the review's protocol.
        viewer: who exports; they export what they may see.
        filters: the search and filters.
    """
    ids, seen, sources = matching_ids(engine, protocol, viewer, filters)
    for start in range(0, len(ids), 1000):
        yield from _rows(engine, ids[start : start + 1000], seen, sources)
