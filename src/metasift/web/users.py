"""Web logins of a project's team members, and their browser sessions.

A user is a member of the review team (:mod:`metasift.workflow.reviewers`, whose role applies
in the browser as on the command line) with an argon2 password hash. A session is stored under
the SHA-256 of the cookie value, so the store never holds a value that would let someone in.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine

from metasift.errors import UserError
from metasift.store.schema import reviewers, users, web_sessions
from metasift.workflow.reviewers import ROLES, Reviewer, add_reviewer

SESSION_DAYS = 7
MIN_PASSWORD = 8
_hasher = PasswordHasher()


@dataclass(frozen=True)
class SessionUser(Reviewer):
    """A logged-in member: their name and role, with the session's ids."""

    user_id: int = 0
    csrf_token: str = ""


def add_user(engine: Engine, name: str, password: str, role: str, *, actor: str = "") -> None:
    """Give ``name`` a login, as a member with ``role``; an existing user gets the new role
    and password, and is logged out everywhere.

    Args:
        engine: the project store.
        name: the member's name.
        password: at least ``MIN_PASSWORD`` characters.
        role: ``owner``, ``reviewer`` or ``viewer``.
        actor: who does it; must be an owner once the review has one (default: ``name``).
    """
    name = name.strip()
    if not name:
        raise UserError("a user needs a name.")
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; use one of: {', '.join(ROLES)}.")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password needs at least {MIN_PASSWORD} characters.")
    digest = _hasher.hash(password)
    add_reviewer(engine, name, role, actor=actor or name, replace=True)
    with engine.begin() as conn:
        user_id = conn.execute(sa.select(users.c.id).where(users.c.name == name)).scalar()
        if user_id is None:
            conn.execute(
                users.insert().values(name=name, password_hash=digest, created_at=datetime.now(UTC))
            )
        else:
            conn.execute(users.update().where(users.c.id == user_id).values(password_hash=digest))
            conn.execute(web_sessions.delete().where(web_sessions.c.user_id == user_id))


def list_users(engine: Engine) -> list[tuple[str, str]]:
    """(name, role) of every member who has a login."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(users.c.name, reviewers.c.role)
            .join(reviewers, reviewers.c.name == users.c.name)
            .order_by(users.c.name)
        )
        return [(r.name, r.role) for r in rows]


def authenticate(engine: Engine, name: str, password: str) -> int | None:
    """The user's id when ``password`` is theirs and they are a member of the project."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(users.c.id, users.c.password_hash)
            .join(reviewers, reviewers.c.name == users.c.name)
            .where(users.c.name == name)
        ).first()
    if row is None:
        # Spend the same time as for a known user, so that names cannot be probed by timing.
        _hasher.hash(password)
        return None
    try:
        _hasher.verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return row.id


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def open_session(engine: Engine, user_id: int, token: str, csrf_token: str) -> None:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(web_sessions.delete().where(web_sessions.c.expires_at < now))
        conn.execute(
            web_sessions.insert().values(
                token_hash=token_hash(token),
                user_id=user_id,
                csrf_token=csrf_token,
                created_at=now,
                expires_at=now + timedelta(days=SESSION_DAYS),
            )
        )


# Built once: looked up at every request.
_SESSION_USER = (
    sa.select(users.c.id, users.c.name, reviewers.c.role, web_sessions.c.csrf_token)
    .select_from(web_sessions)
    .join(users, users.c.id == web_sessions.c.user_id)
    .join(reviewers, reviewers.c.name == users.c.name)
    .where(
        web_sessions.c.token_hash == sa.bindparam("token_hash"),
        web_sessions.c.expires_at > sa.bindparam("now"),
    )
)


def session_user(engine: Engine, token: str) -> SessionUser | None:
    """Who holds the session ``token`` in this project, or None (unknown, expired, or not a
    member of this project)."""
    # Asked at every request: in autocommit, PostgreSQL answers in one round trip rather than
    # three (begin, select, rollback).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        row = conn.execute(
            _SESSION_USER, {"token_hash": token_hash(token), "now": datetime.now(UTC)}
        ).first()
    if row is None:
        return None
    return SessionUser(row.name, row.role, row.id, row.csrf_token)


def close_session(engine: Engine, token: str) -> None:
    with engine.begin() as conn:
        conn.execute(web_sessions.delete().where(web_sessions.c.token_hash == token_hash(token)))
