"""PRISMA 2020 counts: a pure tally of the review's decisions, and its loader from the store.

:func:`tally` is the arithmetic, a pure function of a :class:`Snapshot` (imports, duplicate
clusters, title/abstract verdicts, reports and their full-text verdicts), testable without a
database; :func:`load_snapshot` reads that snapshot from the store, and :func:`prisma_counts`
is both. Every door (report, web overview, ``metasift status``, ``metasift prisma``) shows
these numbers and no others.

Identification counts every record read from each source's files and searches (records seen
in an earlier run of a living search are not identified twice). A living review's update is a
round of its own (the PRISMA 2020 template for updated reviews): the diagram counts the
current round's imports, records and decisions; the studies included in earlier rounds are
"studies included in previous version of review", and the update's records found to be
duplicates of earlier ones are duplicates. Records an importer rejected
(no title, unreadable) are "removed for other reasons". A screened item belongs to the
"other methods" column when every record of its duplicate cluster came from a source the
protocol lists with ``category = "other"`` (citation searching, websites...), or that was
imported with ``--source-type other``. An import that yielded no records (all rejected, or all
seen before) is not a source of the diagram; the search log still lists it. The records of an
import of source type "previous" are the studies included in the review's previous version
(an updated review): they are not identified, screened or counted again in this round.

A report of an earlier round belongs to the previous version when it had a final full-text
verdict as the round started (the round keeps which: :func:`settled_reports`, stored by
``metasift update``) and still has one: "Reports of studies included in previous version of
review" when it is included, no box of this diagram when it is excluded (the previous
version's diagram counts it). Every other report of an earlier round (not retrieved, awaiting
assessment or in conflict when the round started, or assessed again since) is carried over:
the round seeks it again, so it counts in "Reports awaiting classification in previous version
of review", which joins this round's "Reports sought for retrieval", and from there in the
round's boxes like any report of the round (not retrieved, awaiting, assessed, excluded, or a
new study included). So each report is counted exactly once, and the boxes add up. Rounds
started before the store kept their settled reports take those settled now instead.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import Engine

from metasift.protocol import Protocol
from metasift.store.records import screenable_ids
from metasift.store.rounds import current_round, settled_at_start
from metasift.store.schema import dedup_members, imports, records
from metasift.workflow.closure import closure_note
from metasift.workflow.decisions import TITLE_ABSTRACT, Verdict, stage_closed, verdicts
from metasift.workflow.fulltext import (
    CONFLICT,
    EXCLUDED,
    INCLUDED,
    NOT_RETRIEVED,
    PENDING,
    Report,
    exclusion_reason,
    included_reports,
    list_reports,
    report_status,
)
from metasift.workflow.prisma import (
    AWAITING_FULL_TEXT,
    AWAITING_SCREENING,
    AWAITING_SECOND,
    FT_CONFLICTS,
    TA_CONFLICTS,
    OtherMethodsFlow,
    PrismaCounts,
)


@dataclass(frozen=True)
class ImportCount:
    """One import or search run, as PRISMA's identification box counts it."""

    id: int
    source: str
    category: str  # database, register, other or previous
    n_read: int
    n_merged: int
    n_rejected: int
    # False when neither the reviewer nor the export named the database: the file name stands
    # in, and the doors flag it ("source not stated").
    stated: bool = True
    # The living review's round the import belongs to.
    round: int = 1


@dataclass
class Snapshot:
    """Everything PRISMA counts, as plain data."""

    imports: list[ImportCount] = field(default_factory=list)
    import_of: dict[int, int] = field(default_factory=dict)  # record -> import
    cluster_of: dict[int, int] = field(default_factory=dict)  # record -> duplicate cluster
    screenable: list[int] = field(default_factory=list)  # records left after de-duplication
    title_abstract: dict[int, Verdict] = field(default_factory=dict)
    title_abstract_closed: bool = False
    automation_note: str = ""
    reports: list[Report] = field(default_factory=list)
    exclusion_reasons: list[str] = field(default_factory=list)
    # The round the diagram shows: the latest (1 until a living review's first update).
    current_round: int = 1
    # The earlier rounds' reports settled when the current round started (record ids); None
    # in round 1, or when the round's start did not keep them.
    settled_at_start: frozenset[int] | None = None


def import_source(row: sa.Row) -> str:
    """The name an import is reported under: its source, else its file name."""
    return row.source or row.file.replace("\\", "/").rsplit("/", 1)[-1]


def load_snapshot(engine: Engine, protocol: Protocol) -> Snapshot:
    """Read what :func:`tally` counts from the store.

    Args:
        engine: the project store.
        protocol: the review's protocol (source categories, exclusion reasons, reviewers per
            record).
    """
    category = {s.name.lower(): s.category for s in protocol.sources}
    snap = Snapshot(exclusion_reasons=list(protocol.criteria.exclusion_reasons))
    with engine.connect() as conn:
        for row in conn.execute(sa.select(imports).order_by(imports.c.id)):
            name = import_source(row)
            kind = row.source_type or category.get(name.lower(), "database")
            if kind == "previous" and row.source_type != "previous":
                # Only an import stored as "previous" is kept out of screening (see
                # store.records); one renamed so later is counted as what it was screened as.
                kind = "database"
            snap.imports.append(
                ImportCount(
                    row.id,
                    name,
                    kind,
                    row.n_read,
                    row.n_merged,
                    row.n_rejected,
                    stated=bool(row.source),
                    round=row.round,
                )
            )
        snap.import_of = dict(conn.execute(sa.select(records.c.id, records.c.import_id)).all())
        snap.cluster_of = dict(
            conn.execute(sa.select(dedup_members.c.record_id, dedup_members.c.cluster_id)).all()
        )
        snap.screenable = screenable_ids(conn)
        snap.title_abstract_closed = stage_closed(conn, TITLE_ABSTRACT) is not None
        snap.current_round = current_round(conn)
        snap.settled_at_start = settled_at_start(conn)
    snap.title_abstract = verdicts(engine, protocol, TITLE_ABSTRACT)
    if snap.title_abstract_closed:
        snap.automation_note = closure_note(engine)
    snap.reports = list_reports(engine, protocol, snap.title_abstract)
    return snap


def tally(snap: Snapshot) -> PrismaCounts:
    """Every box of the PRISMA 2020 diagram from ``snap``; work still pending is listed in
    ``counts.pending`` (what -> how many). A pure function: no store, no protocol."""
    counts = PrismaCounts()
    other_import_ids: set[int] = set()
    previous_import_ids: set[int] = set()
    earlier_import_ids = {imp.id for imp in snap.imports if imp.round < snap.current_round}
    rejected_db = 0
    for imp in snap.imports:
        if imp.n_read - imp.n_merged - imp.n_rejected <= 0:
            continue  # gave no records: not a source of the diagram
        if imp.category == "previous":
            previous_import_ids.add(imp.id)
            # One record per study included last time: each is a study and its report.
            counts.previous_studies += imp.n_read - imp.n_merged - imp.n_rejected
            counts.previous_reports += imp.n_read - imp.n_merged - imp.n_rejected
            continue
        if imp.category == "other":
            # Also in earlier rounds: a report carried over keeps its column.
            other_import_ids.add(imp.id)
        if imp.id in earlier_import_ids:
            continue  # an earlier round: identified and screened in the previous version
        target = {
            "database": counts.databases,
            "register": counts.registers,
            "other": counts.other_methods,
        }[imp.category]
        target[imp.source] = target.get(imp.source, 0) + imp.n_read - imp.n_merged
        if imp.category != "other":
            rejected_db += imp.n_rejected
    members: dict[int, list[int]] = defaultdict(list)
    for record_id, cluster_id in snap.cluster_of.items():
        members[cluster_id].append(record_id)

    def is_other(record_id: int) -> bool:
        cluster = snap.cluster_of.get(record_id)
        group = members[cluster] if cluster is not None else [record_id]
        return all(snap.import_of[r] in other_import_ids for r in group)

    earlier = {rid for rid, imp in snap.import_of.items() if imp in earlier_import_ids}
    current = [rid for rid in snap.screenable if rid not in earlier]
    db_items = [rid for rid in current if not is_other(rid)]
    other_items = [rid for rid in current if is_other(rid)]
    not_db = other_import_ids | previous_import_ids | earlier_import_ids
    db_records = sum(1 for imp in snap.import_of.values() if imp not in not_db)
    counts.duplicates = db_records - len(db_items)
    counts.other_removed = rejected_db

    pending: Counter[str] = Counter()
    db_set = set(db_items)
    for rid in db_items:
        verdict = snap.title_abstract.get(rid)
        if verdict is None:
            if snap.title_abstract_closed:
                counts.automation_ineligible += 1
            else:
                pending[AWAITING_SCREENING] += 1
        elif verdict.status == "conflict":
            pending[TA_CONFLICTS] += 1
        elif verdict.status == "pending":
            pending[AWAITING_SECOND] += 1
        else:
            counts.screened += 1
            if verdict.included:
                counts.sought += 1
            else:
                counts.excluded_screening += 1
    if counts.automation_ineligible:
        counts.automation_note = snap.automation_note
    for rid in other_items:
        verdict = snap.title_abstract.get(rid)
        if verdict is not None and verdict.included:
            counts.other_flow.sought += 1

    other = counts.other_flow
    previous_studies: set[int] = set()
    this_round: list[Report] = []
    settled_now = set(settled_reports(snap.reports))
    # Rounds that did not keep what was settled at their start: what is settled now.
    settled_then = settled_now if snap.settled_at_start is None else snap.settled_at_start
    for report in snap.reports:
        status = report_status(report)
        carried = report.record_id in earlier
        if carried and report.record_id in settled_then and report.record_id in settled_now:
            if status == INCLUDED:
                counts.previous_reports += 1
                previous_studies.add(report.study_id)
            continue  # the previous version's
        this_round.append(report)
        in_db = report.record_id in db_set or (carried and not is_other(report.record_id))
        flow: PrismaCounts | OtherMethodsFlow = counts if in_db else other
        if carried:
            flow.carried_over += 1
            flow.sought += 1
        if status == NOT_RETRIEVED:
            flow.not_retrieved += 1
            continue
        if status == PENDING:
            pending[AWAITING_FULL_TEXT] += 1
            continue
        if status == CONFLICT:
            pending[FT_CONFLICTS] += 1
            continue
        flow.assessed += 1
        if status == INCLUDED:
            counts.included_reports += 1
            if not in_db:
                other.included_reports += 1
        else:
            reasons = counts.excluded_full_text if in_db else other.excluded
            reason = exclusion_reason(report)
            reasons[reason] = reasons.get(reason, 0) + 1
    counts.previous_studies += len(previous_studies)
    # A new report of a study included before counts in this round's flow, not as a new study.
    counts.included_studies = len(set(included_studies(this_round)) - previous_studies)
    counts.pending = dict(pending)
    order = {r: i for i, r in enumerate(snap.exclusion_reasons)}
    for reasons in (counts.excluded_full_text, other.excluded):
        ordered = sorted(reasons.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
        reasons.clear()
        reasons.update(ordered)
    return counts


def settled_reports(reports: list[Report]) -> list[int]:
    """The record ids of the reports with a final full-text verdict, included or excluded:
    what a new round of a living review keeps as its previous version's assessed reports (the
    others it takes over, see the module docstring).

    Args:
        reports: the reports sought (:func:`~metasift.workflow.fulltext.list_reports`).
    """
    return [r.record_id for r in reports if report_status(r) in (INCLUDED, EXCLUDED)]


def included_studies(reports: list[Report]) -> list[int]:
    """The studies that go to extraction and synthesis: those with a retrieved report whose
    final full-text verdict includes it, by study id."""
    return sorted({r.study_id for r in included_reports(reports)})


def prisma_counts(engine: Engine, protocol: Protocol) -> PrismaCounts:
    """Every box of the diagram, from the store; work still pending is in ``counts.pending``.

    Args:
        engine: the project store.
        protocol: the review's protocol.
    """
    return tally(load_snapshot(engine, protocol))
