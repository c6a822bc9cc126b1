"""Rounds of a living review in the store: which round is current, and each record's round.

Round 1 is the review as first searched and screened; it needs no row in ``rounds``. Each
update adds a row, and from then on imports (live searches and files alike) belong to it.
A record belongs to the round of its import. These reads are shared by the stages and
workflow/, so that every one of them asks the same question the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from metasift.store.schema import imports, records, rounds

FIRST = 1
# The round current now, as one SQL expression (used inside other statements).
CURRENT = sa.select(sa.func.coalesce(sa.func.max(rounds.c.number), FIRST)).scalar_subquery()


def current_round(engine: Engine | Connection) -> int:
    """The round new imports join: the latest update's, or 1 before any update."""
    if isinstance(engine, Engine):
        with engine.connect() as conn:
            return int(conn.execute(sa.select(CURRENT)).scalar_one())
    return int(engine.execute(sa.select(CURRENT)).scalar_one())


def import_rounds(engine: Engine | Connection) -> dict[int, int]:
    """Import id -> its round."""
    if isinstance(engine, Engine):
        with engine.connect() as conn:
            return import_rounds(conn)
    return dict(engine.execute(sa.select(imports.c.id, imports.c.round)).all())


def record_rounds(engine: Engine | Connection) -> dict[int, int]:
    """Record id -> the round of its import."""
    query = sa.select(records.c.id, imports.c.round).join(
        imports, imports.c.id == records.c.import_id
    )
    if isinstance(engine, Engine):
        with engine.connect() as conn:
            return dict(conn.execute(query).all())
    return dict(engine.execute(query).all())


def earlier_round_ids() -> sa.Select:
    """The ids of records imported before the current round, as a sub-select."""
    return (
        sa.select(records.c.id)
        .join(imports, imports.c.id == records.c.import_id)
        .where(imports.c.round < CURRENT)
    )


def latest_round(conn: Connection) -> dict[str, Any] | None:
    """The latest update round's row, or None before any update."""
    row = conn.execute(sa.select(rounds).order_by(rounds.c.number.desc()).limit(1)).first()
    return dict(row._mapping) if row else None


def start_round(
    conn: Connection,
    *,
    kind: str,
    started_by: str,
    windows: dict[str, dict[str, str]],
    settled_reports: list[int] | None = None,
) -> int:
    """Add the next round (in the caller's transaction) and return its number.

    Args:
        conn: the caller's transaction.
        kind: what started it ("update" for ``metasift update``).
        started_by: who started it.
        windows: per source name, the dates its searches cover (``{"from": ..., "to": ...}``).
        settled_reports: the record ids of the reports with a final full-text verdict now
            (workflow decides which; the store keeps them for the round's PRISMA counts).
    """
    number = current_round(conn) + 1
    conn.execute(
        rounds.insert().values(
            number=number,
            kind=kind,
            started_at=datetime.now(UTC),
            started_by=started_by,
            windows=windows,
            status="searching",
            settled_reports=sorted(settled_reports) if settled_reports is not None else None,
        )
    )
    return number


def settled_at_start(conn: Connection) -> frozenset[int] | None:
    """The reports settled when the current round started (:func:`start_round`), or None in
    round 1 and in rounds started before the store kept them."""
    row = latest_round(conn)
    if row is None or row["settled_reports"] is None:
        return None
    return frozenset(int(r) for r in row["settled_reports"])


def mark_searched(conn: Connection, number: int) -> None:
    """Record that every search of round ``number`` is complete."""
    conn.execute(
        rounds.update()
        .where(rounds.c.number == number, rounds.c.status == "searching")
        .values(status="searched", finished_at=datetime.now(UTC))
    )
