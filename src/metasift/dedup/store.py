"""The dedup stage on a project store: run, undo, the manual review queue and its decisions.

A run reads every stored record and every recorded decision, clusters with the pure core, and
replaces the current clusters, links and queue in one transaction. Decisions are kept forever
(who, when, what) and are the only state carried from run to run, so a run after new imports
gives the same clusters for the old records unless the new ones add evidence, and never
undoes a reviewer's "different" or an undo.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from metasift.dedup.compare import FieldRow, side_by_side
from metasift.dedup.core import DedupResult, Progress, deduplicate
from metasift.dedup.settings import DedupSettings
from metasift.errors import DedupError
from metasift.store.audit import record_event
from metasift.store.records import iter_records
from metasift.store.rounds import record_rounds
from metasift.store.schema import (
    dedup_clusters,
    dedup_decisions,
    dedup_links,
    dedup_members,
    dedup_queue,
    dedup_runs,
    records,
)

VERDICTS = ("same", "different")
BATCH = 5000


@dataclass
class DedupSummary:
    records_in: int
    clusters: int
    duplicates_removed: int
    manual_queue: int
    linked: int
    records_out: int

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _noop(step: str, done: int, total: int) -> None:
    return None


def latest_decisions(conn: Connection) -> dict[tuple[int, int], str]:
    """The latest decision per record pair (by time of recording)."""
    rows = conn.execute(
        sa.select(
            dedup_decisions.c.record_a, dedup_decisions.c.record_b, dedup_decisions.c.decision
        ).order_by(dedup_decisions.c.id)
    )
    return {(row.record_a, row.record_b): row.decision for row in rows}


def run_dedup(
    engine: Engine, settings: DedupSettings | None = None, progress: Progress = _noop
) -> DedupSummary:
    """De-duplicate every record of the project; replaces the previous run's clusters."""
    settings = settings or DedupSettings()
    ids: list[int] = []
    stored = []
    for record_id, record in iter_records(engine):
        ids.append(record_id)
        stored.append(record)
        if len(ids) % 20000 == 0:
            progress("reading records", len(ids), 0)
    index = {record_id: i for i, record_id in enumerate(ids)}
    with engine.connect() as conn:
        decided = latest_decisions(conn)
    decisions = [
        (index[a], index[b], verdict)
        for (a, b), verdict in decided.items()
        if a in index and b in index
    ]
    # Records of earlier rounds stay primaries: see merge.choose_primary.
    round_of = record_rounds(engine)
    tiers = [round_of.get(record_id, 1) for record_id in ids]
    result = deduplicate(stored, settings, decisions, progress, tiers=tiers)
    with engine.begin() as conn:
        summary = _write(conn, result, ids, settings)
    return summary


def _write(
    conn: Connection, result: DedupResult, ids: list[int], settings: DedupSettings
) -> DedupSummary:
    for table in (dedup_members, dedup_clusters, dedup_links, dedup_queue):
        conn.execute(table.delete())
    summary = DedupSummary(
        records_in=result.n_records,
        clusters=len(result.clusters),
        duplicates_removed=result.duplicates_removed,
        manual_queue=len(result.review),
        linked=len(result.links),
        records_out=result.n_records - result.duplicates_removed,
    )
    run_id = conn.execute(
        dedup_runs.insert().values(
            ran_at=datetime.now(UTC),
            records_in=summary.records_in,
            clusters=summary.clusters,
            duplicates_removed=summary.duplicates_removed,
            manual_queue=summary.manual_queue,
            linked=summary.linked,
            settings=settings.model_dump(),
        )
    ).inserted_primary_key[0]
    cluster_rows, member_rows = [], []
    for c in result.clusters:
        cluster_id = ids[c.indices[0]]
        cluster_rows.append(
            {
                "id": cluster_id,
                "primary_record_id": ids[c.primary],
                "size": len(c.members),
                "merged": c.merged,
                "filled_from": {k: ids[v] for k, v in c.filled_from.items()},
                "run_id": run_id,
            }
        )
        for m in c.members:
            e = m.evidence
            member_rows.append(
                {
                    "record_id": ids[m.index],
                    "cluster_id": cluster_id,
                    "role": "primary" if m.index == c.primary else "duplicate",
                    "matched_with": ids[m.matched_with] if m.matched_with is not None else None,
                    "score": e.score if e else None,
                    "rule": e.rule if e else None,
                    "fields": list(e.matched) if e else [],
                    "conflicts": list(e.conflicts) if e else [],
                }
            )
    _insert(conn, dedup_clusters, cluster_rows)
    _insert(conn, dedup_members, member_rows)
    _insert(
        conn,
        dedup_links,
        [
            {
                "record_a": ids[p.a],
                "record_b": ids[p.b],
                "relation": p.reason,
                "score": p.evidence.score,
                "fields": list(p.evidence.matched),
            }
            for p in result.links
        ],
    )
    _insert(
        conn,
        dedup_queue,
        [
            {
                "record_a": ids[p.a],
                "record_b": ids[p.b],
                "score": p.evidence.score,
                "rule": p.evidence.rule,
                "reason": p.reason,
                "fields": list(p.evidence.matched),
                "conflicts": list(p.evidence.conflicts),
            }
            for p in result.review
        ],
    )
    return summary


def _insert(conn: Connection, table: sa.Table, rows: list[dict]) -> None:
    for start in range(0, len(rows), BATCH):
        conn.execute(table.insert(), rows[start : start + BATCH])


def undo(engine: Engine, cluster: str | int, reviewer: str = "") -> list[int]:
    """Undo one cluster (its id) or ``"all"``; returns the ids of the clusters undone.

    The members are recorded as pairwise "different" decisions, so later runs keep them apart.
    """
    now = datetime.now(UTC)
    with engine.begin() as conn:
        query = sa.select(dedup_clusters.c.id).order_by(dedup_clusters.c.id)
        if str(cluster).lower() != "all":
            try:
                cluster_id = int(cluster)
            except ValueError:
                raise DedupError(
                    f"--undo {cluster!r}: give a cluster id (see 'metasift dedup --json' "
                    "or 'metasift dedup --clusters') or 'all'.",
                    web=f"{cluster!r} is not a cluster; the Duplicates page lists them.",
                ) from None
            query = query.where(dedup_clusters.c.id == cluster_id)
        undone = [row.id for row in conn.execute(query)]
        if not undone and str(cluster).lower() != "all":
            raise DedupError(
                f"no duplicate cluster {cluster}; 'metasift dedup --clusters' lists them.",
                web=f"no duplicate cluster {cluster}; the Duplicates page lists them.",
            )
        members: dict[int, list[int]] = {}
        for row in conn.execute(
            sa.select(dedup_members.c.cluster_id, dedup_members.c.record_id)
            .where(dedup_members.c.cluster_id.in_(undone))
            .order_by(dedup_members.c.record_id)
        ):
            members.setdefault(row.cluster_id, []).append(row.record_id)
        rows = []
        for cluster_id, ids in members.items():
            for i, a in enumerate(ids):
                for b in ids[i + 1 :]:
                    rows.append(
                        {
                            "record_a": a,
                            "record_b": b,
                            "decision": "different",
                            "source": "undo",
                            "reviewer": reviewer,
                            "decided_at": now,
                            "cluster_id": cluster_id,
                        }
                    )
        _insert(conn, dedup_decisions, rows)
        for cluster_id, ids in members.items():
            record_event(
                conn,
                actor=reviewer or "unknown",
                action="dedup.undo",
                entity="cluster",
                entity_id=cluster_id,
                previous={"members": ids},
            )
        for start in range(0, len(undone), BATCH):
            chunk = undone[start : start + BATCH]
            conn.execute(dedup_members.delete().where(dedup_members.c.cluster_id.in_(chunk)))
            conn.execute(dedup_clusters.delete().where(dedup_clusters.c.id.in_(chunk)))
    return undone


def parse_pair(text: str) -> tuple[int, int]:
    """``"12-57"`` (as listed by --review) -> (12, 57)."""
    left, sep, right = text.replace(",", "-").partition("-")
    try:
        a, b = int(left), int(right)
    except ValueError:
        raise DedupError(
            f"pair {text!r}: expected two record ids like 12-57, as 'metasift dedup --review' "
            "lists them.",
            web=f"pair {text!r} is not a pair of records; the Duplicates page lists them.",
        ) from None
    if not sep or a == b:
        raise DedupError(f"pair {text!r}: expected two different record ids like 12-57.")
    return min(a, b), max(a, b)


def decide(engine: Engine, pair: str, verdict: str, reviewer: str = "") -> tuple[int, int]:
    """Record a reviewer's decision on a pair; it takes effect at the next run."""
    verdict = verdict.strip().lower()
    if verdict not in VERDICTS:
        raise DedupError(f"decision {verdict!r}: use 'same' or 'different'.")
    a, b = parse_pair(pair)
    with engine.begin() as conn:
        found = conn.execute(
            sa.select(sa.func.count()).select_from(records).where(records.c.id.in_([a, b]))
        ).scalar_one()
        if found != 2:
            raise DedupError(f"pair {pair}: the project has no record with one of these ids.")
        conn.execute(
            dedup_decisions.insert().values(
                record_a=a,
                record_b=b,
                decision=verdict,
                source="review",
                reviewer=reviewer,
                decided_at=datetime.now(UTC),
            )
        )
        conn.execute(
            dedup_queue.delete().where(
                (dedup_queue.c.record_a == a) & (dedup_queue.c.record_b == b)
            )
        )
        record_event(
            conn,
            actor=reviewer or "unknown",
            action="dedup.decide",
            entity="pair",
            entity_id=f"{a}-{b}",
            value={"decision": verdict},
        )
    return a, b


@dataclass
class QueueItem:
    pair: str
    score: float
    rule: str
    reason: str
    fields: list[str]
    conflicts: list[str]
    records: list[dict]

    def side_by_side(self) -> list[FieldRow]:
        """Both records field by field, with what scoring found on each field."""
        return side_by_side(self.records[0], self.records[1], self.fields, self.conflicts)


def review_queue(engine: Engine) -> list[QueueItem]:
    """The pairs waiting for a reviewer, with both records' main fields."""
    items = []
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(dedup_queue).order_by(dedup_queue.c.record_a, dedup_queue.c.record_b)
        ).all()
        wanted = sorted({r.record_a for r in rows} | {r.record_b for r in rows})
        shown = {rid: record for rid, record in _records_by_id(conn, wanted)}
    for row in rows:
        items.append(
            QueueItem(
                pair=f"{row.record_a}-{row.record_b}",
                score=row.score,
                rule=row.rule,
                reason=row.reason,
                fields=list(row.fields),
                conflicts=list(row.conflicts),
                records=[
                    _brief(row.record_a, shown[row.record_a]),
                    _brief(row.record_b, shown[row.record_b]),
                ],
            )
        )
    return items


def _records_by_id(conn: Connection, wanted: list[int]) -> Iterable:
    for start in range(0, len(wanted), BATCH):
        yield from iter_records(conn, records.c.id.in_(wanted[start : start + BATCH]))


def _brief(record_id: int, record) -> dict:
    return {
        "id": record_id,
        "title": record.title,
        "authors": record.authors[:3],
        "year": record.year,
        "journal": record.journal,
        "volume": record.volume,
        "issue": record.issue,
        "pages": record.pages,
        "doi": record.doi,
        "pmid": record.pmid,
        "source": record.source_database,
    }


def list_clusters(engine: Engine) -> list[dict]:
    """Current clusters with their members' evidence, for listing and for undo."""
    with engine.connect() as conn:
        clusters = conn.execute(sa.select(dedup_clusters).order_by(dedup_clusters.c.id)).all()
        members: dict[int, list[dict]] = {}
        for row in conn.execute(
            sa.select(dedup_members).order_by(dedup_members.c.cluster_id, dedup_members.c.record_id)
        ):
            members.setdefault(row.cluster_id, []).append(
                {
                    "record_id": row.record_id,
                    "role": row.role,
                    "matched_with": row.matched_with,
                    "score": row.score,
                    "rule": row.rule,
                    "fields": list(row.fields),
                    "conflicts": list(row.conflicts),
                }
            )
    return [
        {
            "cluster": c.id,
            "primary": c.primary_record_id,
            "size": c.size,
            "filled": dict(c.filled_from),
            "members": members.get(c.id, []),
        }
        for c in clusters
    ]


@dataclass
class MemberMatch:
    """A duplicate of a cluster beside the record it was matched with: both records' main
    fields, and what scoring found on each field (the stored evidence, not a new look)."""

    duplicate: dict
    matched: dict
    score: float | None
    rule: str | None
    fields: list[str]
    conflicts: list[str]

    def side_by_side(self) -> list[FieldRow]:
        """Both records field by field: agree, differ, weighed little, or missing."""
        return side_by_side(self.matched, self.duplicate, self.fields, self.conflicts)


def compare_clusters(engine: Engine) -> list[dict]:
    """:func:`list_clusters`, each cluster with ``matches``: every duplicate beside the record
    it was matched with (:class:`MemberMatch`), for checking a cluster by eye."""
    clusters = list_clusters(engine)
    wanted = sorted(
        {m["record_id"] for c in clusters for m in c["members"]}
        | {m["matched_with"] for c in clusters for m in c["members"] if m["matched_with"]}
    )
    with engine.connect() as conn:
        shown = {rid: _brief(rid, record) for rid, record in _records_by_id(conn, wanted)}
    for c in clusters:
        c["records"] = {m["record_id"]: shown.get(m["record_id"]) for m in c["members"]}
        c["matches"] = [
            MemberMatch(
                duplicate=shown[m["record_id"]],
                matched=shown[m["matched_with"]],
                score=m["score"],
                rule=m["rule"],
                fields=m["fields"],
                conflicts=m["conflicts"],
            )
            for m in c["members"]
            if m["matched_with"] in shown and m["record_id"] in shown
        ]
    return clusters
