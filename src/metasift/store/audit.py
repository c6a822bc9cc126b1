"""The append-only audit log: who did what, when, and what the value was before.

Stages write an entry in the same transaction as the change it describes, so the log and the
data can never disagree. The database refuses updates and deletes of entries (triggers added
by the migration), so the history cannot be rewritten from metasift or from a SQL shell.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from metasift.store.schema import audit_log


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str | None
    previous: Any
    value: Any
    note: str | None


_INSERT = audit_log.insert()  # built once: entries are written at every decision


def record_event(
    conn: Connection,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | int | None = None,
    previous: Any = None,
    value: Any = None,
    note: str | None = None,
) -> None:
    """Append one entry; call it inside the transaction that makes the change."""
    conn.execute(
        _INSERT,
        {
            "at": datetime.now(UTC),
            "actor": actor,
            "action": action,
            "entity": entity,
            "entity_id": None if entity_id is None else str(entity_id),
            "previous": previous,
            "value": value,
            "note": note,
        },
    )


def iter_log(
    engine: Engine,
    *,
    actor: str | None = None,
    action: str | None = None,
    entity_id: str | None = None,
    limit: int | None = None,
) -> Iterator[AuditEntry]:
    """Entries oldest first, optionally filtered; ``limit`` keeps the most recent ones."""
    query = sa.select(audit_log)
    if actor:
        query = query.where(audit_log.c.actor == actor)
    if action:
        query = query.where(audit_log.c.action.like(f"{action}%"))
    if entity_id:
        query = query.where(audit_log.c.entity_id == entity_id)
    if limit:
        inner = query.order_by(audit_log.c.id.desc()).limit(limit).subquery()
        query = sa.select(inner).order_by(inner.c.id)
    else:
        query = query.order_by(audit_log.c.id)
    with engine.connect() as conn:
        for row in conn.execute(query):
            yield AuditEntry(**row._mapping)


@dataclass(frozen=True)
class LogQuery:
    """Filters on the log; empty ones select everything.

    Args:
        actor: who acted, exactly.
        action: an action, or the start of one (``decision.`` for every decision).
        entity_id: the record, pair, stage... the entry is about.
        since: entries at or after this moment.
        until: entries before this moment.
    """

    actor: str | None = None
    action: str | None = None
    entity_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def where(self, query: sa.Select) -> sa.Select:
        """``query`` restricted to the entries these filters select."""
        if self.actor:
            query = query.where(audit_log.c.actor == self.actor)
        if self.action:
            escaped = self.action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(audit_log.c.action.like(f"{escaped}%", escape="\\"))
        if self.entity_id:
            query = query.where(audit_log.c.entity_id == self.entity_id)
        if self.since:
            query = query.where(audit_log.c.at >= self.since)
        if self.until:
            query = query.where(audit_log.c.at < self.until)
        return query


def log_page(
    engine: Engine, filters: LogQuery, *, offset: int = 0, limit: int = 100
) -> tuple[list[AuditEntry], int]:
    """One page of the entries ``filters`` select, newest first, and how many there are.

    Args:
        engine: the project store.
        filters: which entries.
        offset: entries skipped from the newest.
        limit: entries returned at most.
    """
    rows = filters.where(sa.select(audit_log)).order_by(audit_log.c.id.desc())
    count = filters.where(sa.select(sa.func.count()).select_from(audit_log))
    with engine.connect() as conn:
        total = conn.execute(count).scalar_one()
        page = conn.execute(rows.offset(max(0, offset)).limit(max(1, limit))).all()
    return [AuditEntry(**row._mapping) for row in page], total


def log_choices(engine: Engine) -> tuple[list[str], list[str]]:
    """The actors and the actions the log holds, sorted: what its filters offer."""
    with engine.connect() as conn:
        actors = conn.execute(sa.select(audit_log.c.actor).distinct()).scalars().all()
        actions = conn.execute(sa.select(audit_log.c.action).distinct()).scalars().all()
    return sorted(actors), sorted(actions)
