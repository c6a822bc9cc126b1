"""Reviewers of a project and their roles.

``lead`` reviewers may resolve conflicts and change the protocol-level settings, ``reviewer``
screens and extracts, ``arbiter`` resolves conflicts between other reviewers' decisions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import Engine

from metasift.errors import ReviewerError
from metasift.store.schema import reviewers
from metasift.workflow.audit import record_event

ROLES = ("lead", "reviewer", "arbiter")


@dataclass(frozen=True)
class Reviewer:
    name: str
    role: str


def add_reviewer(
    engine: Engine, name: str, role: str = "reviewer", *, actor: str | None = None
) -> Reviewer:
    name = name.strip()
    if not name:
        raise ReviewerError("a reviewer needs a name.")
    if role not in ROLES:
        raise ReviewerError(f"unknown role {role!r}; use one of: {', '.join(ROLES)}.")
    with engine.begin() as conn:
        if conn.execute(sa.select(reviewers.c.id).where(reviewers.c.name == name)).first():
            raise ReviewerError(f"reviewer {name!r} already exists.")
        conn.execute(reviewers.insert().values(name=name, role=role, created_at=datetime.now(UTC)))
        record_event(
            conn,
            actor=actor or name,
            action="reviewer.add",
            entity="reviewer",
            entity_id=name,
            value={"role": role},
        )
    return Reviewer(name, role)


def list_reviewers(engine: Engine) -> list[Reviewer]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(reviewers.c.name, reviewers.c.role).order_by(reviewers.c.id))
        return [Reviewer(r.name, r.role) for r in rows]


def get_reviewer(engine: Engine, name: str) -> Reviewer:
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(reviewers.c.name, reviewers.c.role).where(reviewers.c.name == name)
        ).first()
    if row is None:
        raise ReviewerError(
            f"no reviewer named {name!r}; add one with 'metasift reviewer add {name}'."
        )
    return Reviewer(row.name, row.role)


def ensure_reviewer(engine: Engine, name: str, role: str = "reviewer") -> Reviewer:
    """The reviewer ``name``, added with ``role`` if the project does not know it yet."""
    try:
        return get_reviewer(engine, name)
    except ReviewerError:
        return add_reviewer(engine, name, role)
