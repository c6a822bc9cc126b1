"""PRISMA 2020 counts computed from the store only: imports, clusters, decisions, reports.

Identification counts every record read from each source's files and searches (records seen
in an earlier run of a living search are not identified twice). Records an importer rejected
(no title, unreadable) are "removed for other reasons". A screened item belongs to the
"other methods" column when every record of its duplicate cluster came from a source the
protocol lists with ``category = "other"`` (citation searching, websites...).
"""

from __future__ import annotations

from collections import Counter, defaultdict

import sqlalchemy as sa
from sqlalchemy import Engine

from metasift.protocol import Protocol
from metasift.store.records import screenable_ids
from metasift.store.schema import dedup_members, imports, records
from metasift.workflow.closure import closure_note
from metasift.workflow.decisions import TITLE_ABSTRACT, stage_closed, verdicts
from metasift.workflow.fulltext import list_reports
from metasift.workflow.prisma import OtherMethodsFlow, PrismaCounts


def _categories(protocol: Protocol) -> dict[str, str]:
    return {s.name.lower(): s.category for s in protocol.sources}


def import_source(row: sa.Row) -> str:
    """The name an import is reported under: its source, else its file name."""
    return row.source or row.file.replace("\\", "/").rsplit("/", 1)[-1]


def prisma_counts(engine: Engine, protocol: Protocol) -> PrismaCounts:
    """Every box of the diagram; work still pending is listed in ``counts.pending``."""
    category = _categories(protocol)
    counts = PrismaCounts()
    other_import_ids: set[int] = set()
    rejected_db = 0
    with engine.connect() as conn:
        for row in conn.execute(sa.select(imports).order_by(imports.c.id)):
            name = import_source(row)
            kind = category.get(name.lower(), "database")
            identified = row.n_read - row.n_merged
            target = {
                "database": counts.databases,
                "register": counts.registers,
                "other": counts.other_methods,
            }[kind]
            target[name] = target.get(name, 0) + identified
            if kind == "other":
                other_import_ids.add(row.id)
            else:
                rejected_db += row.n_rejected
        import_of = dict(conn.execute(sa.select(records.c.id, records.c.import_id)).all())
        cluster_of = dict(
            conn.execute(sa.select(dedup_members.c.record_id, dedup_members.c.cluster_id)).all()
        )
    members: dict[int, list[int]] = defaultdict(list)
    for record_id, cluster_id in cluster_of.items():
        members[cluster_id].append(record_id)

    def is_other(record_id: int) -> bool:
        group = members.get(cluster_of[record_id], []) if record_id in cluster_of else [record_id]
        return all(import_of[r] in other_import_ids for r in group)

    screenable = screenable_ids(engine)
    db_items = [rid for rid in screenable if not is_other(rid)]
    other_items = [rid for rid in screenable if is_other(rid)]
    db_records = sum(1 for rid, imp in import_of.items() if imp not in other_import_ids)
    counts.duplicates = db_records - len(db_items)
    counts.other_removed = rejected_db

    ta = verdicts(engine, protocol, TITLE_ABSTRACT)
    closed = stage_closed(engine, TITLE_ABSTRACT) is not None
    pending: Counter[str] = Counter()
    db_set = set(db_items)
    for rid in db_items:
        verdict = ta.get(rid)
        if verdict is None:
            if closed:
                counts.automation_ineligible += 1
            else:
                pending["records awaiting title/abstract screening ('metasift screen')"] += 1
        elif verdict.status == "conflict":
            pending["title/abstract conflicts to resolve ('metasift conflicts')"] += 1
        elif verdict.status == "pending":
            pending["records awaiting a second reviewer's title/abstract decision"] += 1
        else:
            counts.screened += 1
            if verdict.included:
                counts.sought += 1
            else:
                counts.excluded_screening += 1
    if counts.automation_ineligible:
        counts.automation_note = closure_note(engine)
    for rid in other_items:
        verdict = ta.get(rid)
        if verdict is not None and verdict.included:
            counts.other_flow.sought += 1

    included_studies: set[int] = set()
    other = counts.other_flow
    for report in list_reports(engine, protocol):
        in_db = report.record_id in db_set
        flow: PrismaCounts | OtherMethodsFlow = counts if in_db else other
        if report.retrieval == "not_retrieved":
            flow.not_retrieved += 1
            continue
        verdict = report.verdict
        if verdict is None or verdict.status == "pending":
            pending["reports awaiting full-text assessment ('metasift fulltext')"] += 1
            continue
        if verdict.status == "conflict":
            pending["full-text conflicts to resolve ('metasift conflicts --stage full_text')"] += 1
            continue
        flow.assessed += 1
        if verdict.included:
            counts.included_reports += 1
            if not in_db:
                other.included_reports += 1
            included_studies.add(report.study_id)
        else:
            reasons = counts.excluded_full_text if in_db else other.excluded
            reason = verdict.reason or "no reason given"
            reasons[reason] = reasons.get(reason, 0) + 1
    counts.included_studies = len(included_studies)
    counts.pending = dict(pending)
    order = {r: i for i, r in enumerate(protocol.criteria.exclusion_reasons)}
    for reasons in (counts.excluded_full_text, other.excluded):
        ordered = sorted(reasons.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
        reasons.clear()
        reasons.update(ordered)
    return counts
