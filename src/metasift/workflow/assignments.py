"""Who screens which record when a team screens at once: leases on reviewer slots.

A record needs as many reviewers as the protocol asks for (``[screening]
reviewers_per_record``). Each needed reviewer is a slot of the record; a reviewer who is shown
the record holds a slot (leased, for ``ttl`` seconds), and keeps it once they decided. The
store's unique constraints on (record, stage, slot) and (record, stage, reviewer) decide every
race: two reviewers never hold the same slot, a reviewer never holds two slots of one record,
so a record never goes to more reviewers than it needs, whatever number of threads or servers
hand records out. Turning a lease into a decision happens in the decision's transaction
(:func:`complete`), so a decision sent twice is stored once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from metasift.errors import AssignmentError
from metasift.screening.store import standing_decisions
from metasift.store.schema import assignments

LEASE_SECONDS = 30 * 60


@dataclass(frozen=True)
class Lease:
    record_id: int
    stage: str
    reviewer: str
    rank: int | None
    model_run_id: int | None


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands datetimes back without their time zone; they were stored in UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


# The statements of every screening request, built once: building one costs several times
# more than executing it on SQLite.
_INSERTS: dict[str, sa.Insert] = {}
_COMPLETE = (
    assignments.update()
    .where(
        assignments.c.record_id == sa.bindparam("r"),
        assignments.c.stage == sa.bindparam("s"),
        assignments.c.reviewer == sa.bindparam("v"),
        assignments.c.state == "leased",
    )
    .values(state="decided", expires_at=None)
    .returning(assignments.c.rank, assignments.c.model_run_id)
)
_OPEN = (
    sa.select(assignments)
    .where(
        assignments.c.stage == sa.bindparam("s"),
        assignments.c.state == "leased",
        assignments.c.expires_at > sa.bindparam("now"),
    )
    .order_by(assignments.c.id)
)


def _insert_slot(conn: Connection, values: dict) -> bool:
    """Insert unless a unique constraint says the slot or the reviewer is taken."""
    dialect = conn.dialect.name
    statement = _INSERTS.get(dialect)
    if statement is None:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        statement = insert(assignments).on_conflict_do_nothing().returning(assignments.c.id)
        _INSERTS[dialect] = statement
    return conn.execute(statement, values).first() is not None


def take(
    conn: Connection,
    record_id: int,
    stage: str,
    reviewer: str,
    slots: int,
    *,
    rank: int | None = None,
    model_run_id: int | None = None,
    ttl: float = LEASE_SECONDS,
) -> bool:
    """Lease a free slot of ``record_id`` to ``reviewer``; False when every slot is held by
    others or the reviewer already decided the record."""
    now = _now()
    values = {
        "record_id": record_id,
        "stage": stage,
        "slot": 0,
        "reviewer": reviewer,
        "state": "leased",
        "leased_at": now,
        "expires_at": now + timedelta(seconds=ttl),
        "rank": rank,
        "model_run_id": model_run_id,
    }
    # Most records handed out have no slot taken yet: try the first straight away, and read
    # the record's slots only when that fails.
    if _insert_slot(conn, values):
        return True
    rows = conn.execute(
        sa.select(assignments.c.id, assignments.c.slot, assignments.c.reviewer)
        .add_columns(assignments.c.state, assignments.c.expires_at)
        .where(assignments.c.record_id == record_id, assignments.c.stage == stage)
    ).all()
    expired = [r.id for r in rows if r.state == "leased" and _aware(r.expires_at) <= now]
    if expired:
        conn.execute(assignments.delete().where(assignments.c.id.in_(expired)))
    held = {r.slot for r in rows if r.id not in expired}
    for row in rows:
        if row.reviewer == reviewer and row.id not in expired:
            if row.state == "decided":
                return False
            conn.execute(
                assignments.update()
                .where(assignments.c.id == row.id)
                .values(expires_at=now + timedelta(seconds=ttl))
            )
            return True
    for slot in range(slots):
        if slot not in held and _insert_slot(conn, dict(values, slot=slot)):
            return True
    return False


def open_leases(conn: Connection, stage: str, reviewer: str) -> tuple[Lease | None, dict[int, int]]:
    """The record ``reviewer`` holds and has not decided yet (their latest, if several), and
    the records other reviewers are reading now, with the number of them."""
    rows = conn.execute(_OPEN, {"s": stage, "now": _now()}).all()
    mine = None
    others: dict[int, int] = {}
    for row in rows:
        if row.reviewer == reviewer:
            mine = Lease(row.record_id, row.stage, row.reviewer, row.rank, row.model_run_id)
        else:
            others[row.record_id] = others.get(row.record_id, 0) + 1
    return mine, others


def complete(
    conn: Connection, record_id: int, stage: str, reviewer: str, slots: int
) -> Lease | None:
    """Turn the reviewer's lease into a decided slot, inside the decision's transaction;
    returns the lease (with the rank and model run the record was shown with).

    None when the reviewer's slot is already decided: the same decision was sent twice and
    must not be stored again. A lease that expired is taken again if a slot is free; if the
    record went to others meanwhile, :class:`AssignmentError`.
    """
    done = conn.execute(_COMPLETE, {"r": record_id, "s": stage, "v": reviewer}).first()
    if done is not None:
        return Lease(record_id, stage, reviewer, done.rank, done.model_run_id)
    state = conn.execute(
        sa.select(assignments.c.state).where(
            assignments.c.record_id == record_id,
            assignments.c.stage == stage,
            assignments.c.reviewer == reviewer,
        )
    ).scalar()
    if state == "decided":
        return None
    if take(conn, record_id, stage, reviewer, slots):
        return complete(conn, record_id, stage, reviewer, slots)
    raise AssignmentError(
        f"record {record_id} was handed to other reviewers while it waited for your decision; "
        "your decision was not stored. Go on with the next record."
    )


def reopen(
    conn: Connection, record_id: int, stage: str, reviewer: str, ttl: float = LEASE_SECONDS
) -> None:
    """After an undo the reviewer holds the record again, as a lease; the record they were
    shown next goes back to the pool."""
    now = _now()
    conn.execute(
        assignments.delete().where(
            assignments.c.stage == stage,
            assignments.c.reviewer == reviewer,
            assignments.c.state == "leased",
            assignments.c.record_id != record_id,
        )
    )
    conn.execute(
        assignments.update()
        .where(
            assignments.c.record_id == record_id,
            assignments.c.stage == stage,
            assignments.c.reviewer == reviewer,
        )
        .values(state="leased", leased_at=now, expires_at=now + timedelta(seconds=ttl))
    )


def decided_count(conn: Connection, record_id: int, stage: str) -> int:
    """How many reviewers decided ``record_id`` at ``stage``."""
    return conn.execute(
        sa.select(sa.func.count()).where(
            assignments.c.record_id == record_id,
            assignments.c.stage == stage,
            assignments.c.state == "decided",
        )
    ).scalar_one()


def release(engine: Engine, stage: str, reviewer: str) -> None:
    """Give back the records ``reviewer`` holds without a decision (on logging out)."""
    with engine.begin() as conn:
        conn.execute(
            assignments.delete().where(
                assignments.c.stage == stage,
                assignments.c.reviewer == reviewer,
                assignments.c.state == "leased",
            )
        )


def sync_decided(engine: Engine, stage: str, slots: int) -> int:
    """Give decided slots to standing decisions made outside leases (the CLI, imports of
    earlier work); returns how many were added."""
    with engine.begin() as conn:
        have = {
            (r.record_id, r.reviewer)
            for r in conn.execute(
                sa.select(assignments.c.record_id, assignments.c.reviewer).where(
                    assignments.c.stage == stage
                )
            )
        }
        added = 0
        for d in standing_decisions(conn, stage=stage):
            if (d.record_id, d.reviewer) in have:
                continue
            if take(conn, d.record_id, stage, d.reviewer, max(slots, 1), ttl=0) and complete(
                conn, d.record_id, stage, d.reviewer, slots
            ):
                added += 1
            have.add((d.record_id, d.reviewer))
    return added


def passed_over(stage: str, reviewer: str, slots: int) -> sa.Select:
    """A query of the records not to hand to ``reviewer`` now: those they hold or decided,
    and those whose every slot is decided or leased to others (expired leases are free)."""
    active = sa.or_(assignments.c.state == "decided", assignments.c.expires_at > _now())
    mine = sa.func.sum(sa.case((assignments.c.reviewer == reviewer, 1), else_=0))
    return (
        sa.select(assignments.c.record_id)
        .where(assignments.c.stage == stage, active)
        .group_by(assignments.c.record_id)
        .having(sa.or_(sa.func.count() >= slots, mine > 0))
    )
