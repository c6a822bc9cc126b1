"""The full-text stage: reports sought, retrieved or not (with a reason), grouped into studies.

A report is the full text of a record that passed title/abstract screening. Several reports
of one study (a trial and its follow-up, a conference abstract and the paper) are grouped
under one study id, so that PRISMA can count studies and reports apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

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
    sought = sought_ids(engine, protocol, title_abstract)
    with engine.begin() as conn:
        _ensure(conn, sought)
        rows = {row.record_id: row for row in conn.execute(sa.select(reports))}
    final = verdicts(engine, protocol, FULL_TEXT)
    members: dict[int, list[int]] = {}
    for rid in sought:
        if rows[rid].study_id is not None:
            members.setdefault(rows[rid].study_id, []).append(rid)
    study_of = {rid: min(group) for group in members.values() for rid in group}
    return [
        Report(
            record_id=rid,
            study_id=study_of.get(rid, rid),
            retrieval=rows[rid].retrieval,
            location=rows[rid].location,
            not_retrieved_reason=rows[rid].not_retrieved_reason,
            verdict=final.get(rid),
        )
        for rid in sought
    ]


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
        raise FullTextError(
            f"record {record_id} is not sought for full text: it has no including "
            "title/abstract verdict (see 'metasift conflicts' and 'metasift decisions')."
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
