"""The full-text stage: reports sought, retrieved or not (with a reason), grouped into studies.

A report is the full text of a record that passed title/abstract screening. Several reports
of one study (a trial and its follow-up, a conference abstract and the paper) are grouped
under one study id, so that PRISMA can count studies and reports apart.

Whether a report counts as retrieved is decided in one place, :func:`retrieval_of`, from what
the store holds: a full text in the project folder (fetched or attached) makes it retrieved;
else a reviewer's own word (a location, or "not retrieved" with a reason); else, when the last
fetch asked every source and none had a copy, it is not retrieved, with what each source said
(unless a reviewer has already assessed it: they had the text). PRISMA's "reports not
retrieved", the report and extraction all read :func:`list_reports`, so they agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from metasift.errors import FullTextError
from metasift.protocol import Protocol
from metasift.store.audit import record_event
from metasift.store.records import screenable_ids
from metasift.store.schema import reports, studies
from metasift.workflow.decisions import (
    FULL_TEXT,
    TITLE_ABSTRACT,
    Verdict,
    require_open,
    verdicts,
)
from metasift.workflow.reviewers import require

if TYPE_CHECKING:
    from metasift.fulltext import FetchReport, Limits, Services, StoredText
    from metasift.fulltext.fetch import FetchProgress
    from metasift.fulltext.match import Match
    from metasift.fulltext.store import LastFetch
    from metasift.records.model import Record


@dataclass(frozen=True)
class Report:
    record_id: int
    # A study is named by the smallest record id among its reports (the record itself when
    # ungrouped), which is also the key the extraction stage stores study data under.
    study_id: int
    retrieval: str  # pending, retrieved, not_retrieved
    location: str | None
    not_retrieved_reason: str | None
    verdict: Verdict | None
    # The full texts in the project folder (fetched or attached), oldest first.
    texts: tuple[StoredText, ...] = ()


def sought_ids(
    engine: Engine, protocol: Protocol, title_abstract: dict[int, Verdict] | None = None
) -> list[int]:
    """Records whose title/abstract verdict sends them to full text, in record order.

    Args:
        engine: the project store.
        protocol: the review's protocol.
        title_abstract: the title/abstract verdicts, when the caller has them already.
    """
    if title_abstract is None:
        title_abstract = verdicts(engine, protocol, TITLE_ABSTRACT)
    screenable = set(screenable_ids(engine))
    return [rid for rid, v in title_abstract.items() if v.included and rid in screenable]


def _ensure(conn: Connection, record_ids: Iterable[int]) -> None:
    existing = {r for (r,) in conn.execute(sa.select(reports.c.record_id))}
    now = datetime.now(UTC)
    rows = [
        {"record_id": rid, "retrieval": "pending", "updated_at": now}
        for rid in record_ids
        if rid not in existing
    ]
    if rows:
        conn.execute(reports.insert(), rows)


def list_reports(
    engine: Engine, protocol: Protocol, title_abstract: dict[int, Verdict] | None = None
) -> list[Report]:
    """Every report sought, with its retrieval state, study and full-text verdict.

    Args:
        engine: the project store.
        protocol: the review's protocol.
        title_abstract: the title/abstract verdicts, when the caller has them already.
    """
    from metasift.fulltext import last_fetches, stored_texts

    sought = sought_ids(engine, protocol, title_abstract)
    with engine.begin() as conn:
        _ensure(conn, sought)
        rows = {row.record_id: row for row in conn.execute(sa.select(reports))}
        texts = stored_texts(conn)
        fetched = last_fetches(conn)
    final = verdicts(engine, protocol, FULL_TEXT)
    members: dict[int, list[int]] = {}
    for rid in sought:
        if rows[rid].study_id is not None:
            members.setdefault(rows[rid].study_id, []).append(rid)
    study_of = {rid: min(group) for group in members.values() for rid in group}
    out = []
    for rid in sought:
        own = tuple(texts.get(rid, ()))
        retrieval, location, reason = retrieval_of(rows[rid], own, fetched.get(rid), final.get(rid))
        out.append(
            Report(
                record_id=rid,
                study_id=study_of.get(rid, rid),
                retrieval=retrieval,
                location=location,
                not_retrieved_reason=reason,
                verdict=final.get(rid),
                texts=own,
            )
        )
    return out


def retrieval_of(
    row: sa.Row,
    texts: tuple[StoredText, ...],
    last_fetch: LastFetch | None,
    verdict: Verdict | None,
) -> tuple[str, str | None, str | None]:
    """The one rule of retrieval: ``(retrieval, location, not-retrieved reason)`` of a report.

    Args:
        row: the report's row (what reviewers said: a location, or not retrieved and why).
        texts: its full texts in the project folder.
        last_fetch: its latest fetch, if it was fetched.
        verdict: its full-text verdict, if anyone assessed it.
    """
    if texts:
        return "retrieved", texts[-1].path, None
    if row.retrieval != "pending":
        return row.retrieval, row.location, row.not_retrieved_reason
    if last_fetch is not None and last_fetch.outcome == "not_found" and verdict is None:
        return "not_retrieved", None, f"no open-access copy found ({last_fetch.summary()})"
    return "pending", row.location, None


def _may_change(conn: Connection, actor: str) -> None:
    """Full-text steps are decisions: a member who may decide, on an open stage."""
    require(conn, actor, "decide")
    require_open(conn, FULL_TEXT)


# Where a report stands at full text (:func:`report_status`).
NOT_RETRIEVED = "not_retrieved"
PENDING = "pending"
CONFLICT = "conflict"
INCLUDED = "included"
EXCLUDED = "excluded"


def report_status(report: Report) -> str:
    """Where ``report`` stands at full text: not retrieved, pending (no final verdict yet), in
    conflict, included or excluded. The one rule the PRISMA counts, extraction and the
    report's lists of included, excluded and awaiting studies share.

    Args:
        report: a report sought for retrieval.
    """
    if report.retrieval == "not_retrieved":
        return NOT_RETRIEVED
    verdict = report.verdict
    if verdict is None or verdict.status == "pending":
        return PENDING
    if verdict.status == "conflict":
        return CONFLICT
    return INCLUDED if verdict.included else EXCLUDED


def exclusion_reason(report: Report) -> str:
    """The reason an excluded report is counted and listed under (PRISMA's box, the report's
    table of excluded studies).

    Args:
        report: a report excluded at full text.
    """
    return (report.verdict.reason if report.verdict else None) or "no reason given"


def _may_store(conn: Connection, actor: str, *, assessed: bool) -> None:
    """Storing full texts is a full-text step; on a closed stage it is allowed only for reports
    already assessed, where a text changes no count (it is there for extraction)."""
    require(conn, actor, "decide")
    if not assessed:
        require_open(conn, FULL_TEXT)


def included_reports(reports: Iterable[Report]) -> list[Report]:
    """The reports of included studies: retrieved (or not marked unretrievable) and included
    by a final full-text verdict."""
    return [r for r in reports if report_status(r) == INCLUDED]


@dataclass(frozen=True)
class FullTextOutcome:
    """The reports sought, sorted as a review reports them (RevMan's study lists)."""

    included: list[Report]
    # Assessed and excluded, each with its verdict's reason.
    excluded: list[Report]
    # Awaiting classification: not retrieved, or without a final full-text verdict yet.
    awaiting: list[Report]


def full_text_outcome(reports: Iterable[Report]) -> FullTextOutcome:
    """Sort ``reports`` into included, excluded and awaiting classification (report order).

    Args:
        reports: the reports sought (:func:`list_reports`).
    """
    sorted_: dict[str, list[Report]] = {INCLUDED: [], EXCLUDED: [], "awaiting": []}
    for report in reports:
        status = report_status(report)
        sorted_[status if status in (INCLUDED, EXCLUDED) else "awaiting"].append(report)
    return FullTextOutcome(sorted_[INCLUDED], sorted_[EXCLUDED], sorted_["awaiting"])


def _sought_check(engine: Engine, protocol: Protocol, record_id: int) -> None:
    if record_id not in set(sought_ids(engine, protocol)):
        why = (
            f"record {record_id} is not sought for full text: it has no including "
            "title/abstract verdict"
        )
        raise FullTextError(
            f"{why} (see 'metasift conflicts' and 'metasift decisions').",
            web=f"{why} (see the Conflicts and Decisions pages).",
        )


def _update(engine: Engine, record_id: int, actor: str, action: str, **values) -> None:
    with engine.begin() as conn:
        _may_change(conn, actor)
        _ensure(conn, [record_id])
        before = conn.execute(sa.select(reports).where(reports.c.record_id == record_id)).one()
        conn.execute(
            reports.update()
            .where(reports.c.record_id == record_id)
            .values(updated_at=datetime.now(UTC), **values)
        )
        record_event(
            conn,
            actor=actor,
            action=action,
            entity="report",
            entity_id=record_id,
            previous={k: getattr(before, k) for k in values},
            value=values,
        )


def set_location(
    engine: Engine, protocol: Protocol, record_id: int, location: str, actor: str
) -> None:
    """The PDF path or URL of a report; it counts as retrieved."""
    _sought_check(engine, protocol, record_id)
    _update(
        engine,
        record_id,
        actor,
        "report.locate",
        location=location,
        retrieval="retrieved",
        not_retrieved_reason=None,
    )


def mark_not_retrieved(
    engine: Engine, protocol: Protocol, record_id: int, reason: str, actor: str
) -> None:
    if not reason.strip():
        raise FullTextError("say why the report could not be retrieved (e.g. 'no access').")
    _sought_check(engine, protocol, record_id)
    _update(
        engine,
        record_id,
        actor,
        "report.not_retrieved",
        retrieval="not_retrieved",
        not_retrieved_reason=reason.strip(),
    )


def group_reports(
    engine: Engine, protocol: Protocol, record_ids: list[int], actor: str, label: str = ""
) -> int:
    """Put several reports under one study; returns the study id."""
    if len(set(record_ids)) < 2:
        raise FullTextError("name at least two reports to group into one study.")
    for rid in record_ids:
        _sought_check(engine, protocol, rid)
    with engine.begin() as conn:
        _may_change(conn, actor)
        _ensure(conn, record_ids)
        study_id = conn.execute(
            studies.insert().values(
                label=label or f"study of records {', '.join(map(str, sorted(record_ids)))}",
                created_at=datetime.now(UTC),
            )
        ).inserted_primary_key[0]
        conn.execute(
            reports.update().where(reports.c.record_id.in_(record_ids)).values(study_id=study_id)
        )
        record_event(
            conn,
            actor=actor,
            action="report.group",
            entity="study",
            entity_id=study_id,
            value={"records": sorted(record_ids), "label": label},
        )
    return study_id


def fetch_reports(
    engine: Engine,
    protocol: Protocol,
    root: Path,
    actor: str,
    *,
    only_included: bool = False,
    again: bool = False,
    services: Services | None = None,
    limits: Limits | None = None,
    on_progress: FetchProgress | None = None,
) -> FetchReport:
    """Fetch open-access full texts of the reports sought (:func:`metasift.fulltext.fetch_texts`).

    Fetching is a full-text step: the actor must be a member who may decide, on an open stage.

    Args:
        engine: the project store.
        protocol: the review's protocol.
        root: the project folder (full texts go to ``root/fulltexts``).
        actor: who fetches.
        only_included: only the reports of included studies (a final full-text include), e.g.
            for extraction from texts located by hand.
        again: ask again about reports every source answered without a copy.
        services: the HTTP clients (default: from the user's config and environment).
        limits: size and PDF limits.
        on_progress: called after each report with (done, total, record id, outcome).
    """
    from metasift.fulltext import fetch_texts
    from metasift.store.records import iter_records
    from metasift.store.schema import records

    with engine.begin() as conn:
        _may_store(conn, actor, assessed=only_included)
    found = list_reports(engine, protocol)
    wanted = [r.record_id for r in (included_reports(found) if only_included else found)]
    targets = list(iter_records(engine, records.c.id.in_(wanted))) if wanted else []
    return fetch_texts(
        engine,
        root,
        targets,
        actor=actor,
        again=again,
        services=services,
        limits=limits,
        on_progress=on_progress,
    )


def attach_report(
    engine: Engine,
    protocol: Protocol,
    root: Path,
    record_id: int,
    path: Path,
    actor: str,
    limits: Limits | None = None,
) -> StoredText:
    """Attach the file at ``path`` as the full text of report ``record_id`` (it then counts as
    retrieved); see :func:`metasift.fulltext.attach_text` for the checks.

    Args:
        engine: the project store.
        protocol: the review's protocol.
        root: the project folder.
        record_id: a record sought for full text.
        path: the PDF or JATS XML file.
        actor: who attaches it (a member who may decide, on an open stage).
        limits: size and PDF limits.
    """
    from metasift.fulltext import attach_text

    _sought_check(engine, protocol, record_id)
    assessed = record_id in verdicts(engine, protocol, FULL_TEXT)
    with engine.begin() as conn:
        _may_store(conn, actor, assessed=assessed)
        _ensure(conn, [record_id])
    return attach_text(engine, root, record_id, path, actor=actor, limits=limits)


@dataclass(frozen=True)
class Upload:
    """One uploaded file: ``attached`` to the report it certainly belongs to, or ``held`` for
    a reviewer to confirm the suggested report (``match.record_id``, None when none fits)."""

    outcome: str
    sha256: str
    media_type: str
    match: Match


def _sought_records(engine: Engine, protocol: Protocol) -> dict[int, Record]:
    from metasift.store.records import iter_records
    from metasift.store.schema import records

    sought = sought_ids(engine, protocol)
    return dict(iter_records(engine, records.c.id.in_(sought))) if sought else {}


def upload_report(
    engine: Engine,
    protocol: Protocol,
    root: Path,
    path: Path,
    actor: str,
    *,
    shown: str | None = None,
    limits: Limits | None = None,
) -> Upload:
    """Match an uploaded full text to the report it belongs to, and attach it when the match
    is certain (a DOI or PMID of exactly one report in its first pages, or its exact title);
    otherwise hold it for a reviewer (:func:`attach_held`). The rule of certainty is
    :func:`metasift.fulltext.match.match_text`'s.

    Args:
        engine: the project store.
        protocol: the review's protocol.
        root: the project folder.
        path: the uploaded file (a private copy; its name is never used).
        actor: who uploads (a member who may decide).
        shown: how the file is named in errors (the name it was uploaded under).
        limits: size and PDF limits.
    """
    from metasift.fulltext import FileStore, Limits, check_file
    from metasift.fulltext.match import match_text
    from metasift.fulltext.text import opening_text

    with engine.begin() as conn:
        require(conn, actor, "decide")
    limits = limits or Limits()
    checked = check_file(path, limits, shown=shown)
    found = match_text(
        opening_text(path, checked.media_type, limits.pdf), _sought_records(engine, protocol)
    )
    if found.certain and found.record_id is not None:
        attach_report(engine, protocol, root, found.record_id, path, actor, limits)
        return Upload("attached", checked.sha256, checked.media_type, found)
    FileStore(root).put(path, checked, held=True)
    return Upload("held", checked.sha256, checked.media_type, found)


def held_uploads(engine: Engine, protocol: Protocol, root: Path) -> list[Upload]:
    """The uploads waiting for a reviewer, each with the report suggested for it now.

    Args:
        engine: the project store.
        protocol: the review's protocol.
        root: the project folder.
    """
    from metasift.errors import FileRefusedError
    from metasift.fulltext import FileStore
    from metasift.fulltext.match import Match, match_text
    from metasift.fulltext.text import opening_text

    sought = _sought_records(engine, protocol)
    out = []
    for sha, media_type, path in FileStore(root).held():
        try:
            found = match_text(opening_text(path, media_type), sought)
        except FileRefusedError:
            found = Match(None)
        out.append(Upload("held", sha, media_type, found))
    return out


def attach_held(
    engine: Engine, protocol: Protocol, root: Path, sha256: str, record_id: int, actor: str
) -> StoredText:
    """Attach the held upload ``sha256`` to report ``record_id``, as a reviewer confirmed.

    Args:
        engine: the project store.
        protocol: the review's protocol.
        root: the project folder.
        sha256: the held file's checksum.
        record_id: the report it belongs to.
        actor: who confirms (a member who may decide).
    """
    from metasift.fulltext import FileStore

    _, path = FileStore(root).held_file(sha256)
    text = attach_report(engine, protocol, root, record_id, path, actor)
    path.unlink(missing_ok=True)
    return text


def discard_held(engine: Engine, root: Path, sha256: str, actor: str) -> None:
    """Delete the held upload ``sha256`` (it belongs to no report of the review).

    Args:
        engine: the project store.
        root: the project folder.
        sha256: the held file's checksum.
        actor: who discards it (a member who may decide).
    """
    from metasift.fulltext import FileStore

    with engine.begin() as conn:
        require(conn, actor, "decide")
    _, path = FileStore(root).held_file(sha256)
    path.unlink(missing_ok=True)
