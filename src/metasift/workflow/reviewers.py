"""The review team: who is a member and what each role may do. One role model for every door.

Roles (as Covidence's administrator / reviewer / viewer):

* ``owner``: everything a reviewer does, plus the review's management: imports and
  de-duplication runs, closing and reopening stages, adding members and changing roles;
* ``reviewer``: screens, assesses full texts, resolves conflicts, extracts and rates risk of
  bias;
* ``viewer``: reads only.

The CLI, the web app and ``metasift run`` all ask :func:`require` before a change; a web login
is a member with a password (see :mod:`metasift.web.users`), not a second kind of membership.
A review with no owner yet lets anyone add the first one, so that a project can be set up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from metasift.errors import PermissionDeniedError, ReviewerError
from metasift.store.audit import record_event
from metasift.store.schema import reviewers

ROLES = ("owner", "reviewer", "viewer")

# What each kind of action needs; the names are what :func:`require` is asked.
ABILITIES: dict[str, tuple[str, ...]] = {
    "read": ROLES,
    "decide": ("owner", "reviewer"),
    "manage": ("owner",),
}

# What each action is called in a refusal.
_DOING = {"read": "read this review", "decide": "make decisions", "manage": "manage the review"}


@dataclass(frozen=True)
class Reviewer:
    """A member of the review team."""

    name: str
    role: str

    def may(self, action: str) -> bool:
        """Whether this member's role allows ``action`` (``read``, ``decide``, ``manage``)."""
        return self.role in ABILITIES[action]

    @property
    def can_decide(self) -> bool:
        return self.may("decide")

    @property
    def is_owner(self) -> bool:
        return self.may("manage")


def _conn_do(source: Engine | Connection, fn):
    if isinstance(source, Engine):
        with source.connect() as conn:
            return fn(conn)
    return fn(source)


def _get(conn: Connection, name: str) -> Reviewer | None:
    row = conn.execute(
        sa.select(reviewers.c.name, reviewers.c.role).where(reviewers.c.name == name)
    ).first()
    return None if row is None else Reviewer(row.name, row.role)


def _has_owner(conn: Connection) -> bool:
    query = sa.select(reviewers.c.id).where(reviewers.c.role == "owner").limit(1)
    return conn.execute(query).first() is not None


def add_reviewer(
    engine: Engine,
    name: str,
    role: str = "reviewer",
    *,
    actor: str | None = None,
    replace: bool = False,
) -> Reviewer:
    """Add ``name`` to the team with ``role`` (audited).

    Args:
        engine: the project store.
        name: the member's name, as they give it with ``--reviewer`` or log in with.
        role: ``owner``, ``reviewer`` or ``viewer``.
        actor: who adds them; must be an owner once the review has one (default: ``name``,
            allowed only while the review has no owner).
        replace: give an existing member the new role instead of refusing.
    """
    name = name.strip()
    if not name:
        raise ReviewerError("a reviewer needs a name.")
    if role not in ROLES:
        raise ReviewerError(f"unknown role {role!r}; use one of: {', '.join(ROLES)}.")
    actor = actor or name
    with engine.begin() as conn:
        if _has_owner(conn):
            _require(conn, actor, "manage")
        previous = _get(conn, name)
        if previous is not None and not replace:
            raise ReviewerError(
                f"reviewer {name!r} already exists ({previous.role}); to change the role, "
                f"use 'metasift reviewer role {name} {role}'."
            )
        if previous is None:
            conn.execute(
                reviewers.insert().values(name=name, role=role, created_at=datetime.now(UTC))
            )
        elif previous.role != role:
            if previous.role == "owner" and _owners(conn) == [name]:
                raise ReviewerError(
                    f"{name} is the review's only owner; make someone else owner first."
                )
            conn.execute(reviewers.update().where(reviewers.c.name == name).values(role=role))
        if previous is None or previous.role != role:
            record_event(
                conn,
                actor=actor,
                action="reviewer.add" if previous is None else "reviewer.role",
                entity="reviewer",
                entity_id=name,
                previous=None if previous is None else {"role": previous.role},
                value={"role": role},
            )
    return Reviewer(name, role)


def _owners(conn: Connection) -> list[str]:
    rows = conn.execute(sa.select(reviewers.c.name).where(reviewers.c.role == "owner"))
    return [r.name for r in rows]


def list_reviewers(engine: Engine) -> list[Reviewer]:
    """Every member, in the order they joined."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(reviewers.c.name, reviewers.c.role).order_by(reviewers.c.id))
        return [Reviewer(r.name, r.role) for r in rows]


def get_reviewer(source: Engine | Connection, name: str) -> Reviewer:
    """The member ``name``; :class:`ReviewerError` (with the command that adds them) if none."""
    found = _conn_do(source, lambda conn: _get(conn, name))
    if found is None:
        raise ReviewerError(_not_member(name))
    return found


def _not_member(name: str) -> str:
    return (
        f"{name!r} is not a member of this review; an owner adds them with "
        f"'metasift reviewer add {name} --role reviewer'."
    )


def _require(conn: Connection, name: str, action: str) -> Reviewer:
    member = _get(conn, name)
    if member is None:
        raise PermissionDeniedError(name, action, _not_member(name))
    if not member.may(action):
        allowed = " and ".join(f"{r}s" for r in ABILITIES[action])
        raise PermissionDeniedError(
            name,
            action,
            f"{name} is a {member.role}; only {allowed} may {_DOING[action]}.",
        )
    return member


def require(source: Engine | Connection, name: str, action: str) -> Reviewer:
    """The member ``name`` if their role allows ``action``; else
    :class:`~metasift.errors.PermissionDeniedError` saying why and what to do.

    Args:
        source: the project store, or a connection inside the change's transaction.
        name: who asks.
        action: ``read``, ``decide`` (screen, full text, resolve, extract) or ``manage``
            (import, de-duplicate, close and reopen stages, manage the team).
    """
    if action not in ABILITIES:
        raise ValueError(f"unknown action {action!r}")
    return _conn_do(source, lambda conn: _require(conn, name, action))


def ensure_simulated_reviewer(engine: Engine, name: str) -> Reviewer:
    """The reviewer whose decisions ``metasift run`` simulates (review.toml ``[simulation]``).

    It decides and closes screening like any member, so it must be one: a review with no owner
    yet registers it as its owner (audited); otherwise an owner must have added it.

    Args:
        engine: the project store.
        name: the simulated reviewer's name.
    """
    with engine.connect() as conn:
        found = _get(conn, name)
        owned = _has_owner(conn)
    if found is not None:
        return found
    if owned:
        raise ReviewerError(
            f"review.toml [simulation] decides as {name!r}, who is not a member of this review; "
            f"an owner adds them with 'metasift reviewer add {name} --role owner'."
        )
    return add_reviewer(engine, name, "owner")
