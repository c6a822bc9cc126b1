"""Users of a project, their role in it, and their browser sessions.

Each project store keeps its own users (argon2 password hashes) and each user's role there:
``owner`` (imports, de-duplication, closing stages, everything a reviewer does), ``reviewer``
(screens, resolves conflicts, assesses full texts, extracts) and ``viewer`` (reads only).
A session is stored under the SHA-256 of the cookie value, so the store never holds a value
that would let someone in.
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
from metasift.store.schema import WEB_ROLES, memberships, users, web_sessions
from metasift.workflow.audit import record_event

SESSION_DAYS = 7
MIN_PASSWORD = 8
_hasher = PasswordHasher()


@dataclass(frozen=True)
class SessionUser:
    user_id: int
    name: str
    role: str
    csrf_token: str

    @property
    def can_decide(self) -> bool:
        return self.role in ("owner", "reviewer")

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"


def add_user(engine: Engine, name: str, password: str, role: str, *, actor: str = "") -> None:
    """Add ``name`` to the project with ``role``; an existing user gets the new role and
    password."""
    name = name.strip()
    if not name:
        raise UserError("a user needs a name.")
    if role not in WEB_ROLES:
        raise UserError(f"unknown role {role!r}; use one of: {', '.join(WEB_ROLES)}.")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password needs at least {MIN_PASSWORD} characters.")
    digest = _hasher.hash(password)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        user_id = conn.execute(sa.select(users.c.id).where(users.c.name == name)).scalar()
        previous = None
        if user_id is None:
            user_id = conn.execute(
                users.insert().values(name=name, password_hash=digest, created_at=now)
            ).inserted_primary_key[0]
        else:
            previous = conn.execute(
                sa.select(memberships.c.role).where(memberships.c.user_id == user_id)
            ).scalar()
            conn.execute(users.update().where(users.c.id == user_id).values(password_hash=digest))
            conn.execute(memberships.delete().where(memberships.c.user_id == user_id))
            conn.execute(web_sessions.delete().where(web_sessions.c.user_id == user_id))
        conn.execute(memberships.insert().values(user_id=user_id, role=role, created_at=now))
        record_event(
            conn,
            actor=actor or name,
            action="user.add" if previous is None else "user.change",
            entity="user",
            entity_id=name,
            previous=None if previous is None else {"role": previous},
            value={"role": role},
        )


def list_users(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(users.c.name, memberships.c.role)
            .join(memberships, memberships.c.user_id == users.c.id)
            .order_by(users.c.name)
        )
        return [(r.name, r.role) for r in rows]


def authenticate(engine: Engine, name: str, password: str) -> int | None:
    """The user's id when ``password`` is theirs and they are a member of the project."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(users.c.id, users.c.password_hash)
            .join(memberships, memberships.c.user_id == users.c.id)
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
    sa.select(users.c.id, users.c.name, memberships.c.role, web_sessions.c.csrf_token)
    .select_from(web_sessions)
    .join(users, users.c.id == web_sessions.c.user_id)
    .join(memberships, memberships.c.user_id == users.c.id)
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
    return SessionUser(row.id, row.name, row.role, row.csrf_token)


def close_session(engine: Engine, token: str) -> None:
    with engine.begin() as conn:
        conn.execute(web_sessions.delete().where(web_sessions.c.token_hash == token_hash(token)))
