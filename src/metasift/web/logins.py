"""Logging in, within limits: per-account and per-address backoff, and a lockout.

Each attempt is written to the project store (``login_attempts``) *before* its password is
checked, and deleted when it succeeds; the rows of a name or an address are therefore its
recent failures, counted alike by every server process serving the project (the store is the
only shared state). An attempt is refused before the password hash is computed, so that a
flood of guesses costs the server no argon2 time:

* after ``per_account`` failures of a name within ``window`` seconds, or ``per_address``
  failures from one address, the next attempt must wait ``backoff * 2**(n - limit)`` seconds
  after the last failure (at most ``backoff_max``): the answer is 429 with ``Retry-After``;
* after ``lock_after`` failures of a name since its last successful login, the name is locked
  until an owner lifts the lock (:func:`unlock`, ``metasift user unlock NAME``).

Names are counted as typed, known or not, so that neither the backoff nor the lockout tells a
stranger which names exist. Every failure is written to the audit log (name and address,
never the password). Addresses are the client's as the server sees it: behind a reverse proxy
every client shares the proxy's address, and ``per_address`` should be raised accordingly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from metasift.errors import LoginRefusedError
from metasift.store.audit import record_event
from metasift.store.schema import login_attempts
from metasift.web.users import authenticate
from metasift.workflow.reviewers import require

NAME_MAX = 128
ADDRESS_MAX = 64


@dataclass(frozen=True)
class LoginLimits:
    """How many failed logins are allowed, and how long to wait after them.

    Args:
        per_account: failures of one name within ``window`` before the backoff starts.
        per_address: failures from one address within ``window`` before the backoff starts.
        window: seconds over which failures are counted for the backoff.
        backoff: the first wait in seconds; it doubles with every further failure.
        backoff_max: the longest wait in seconds.
        lock_after: failures of one name since its last successful login that lock it.
        keep_days: failures older than this are forgotten (and no longer count for the lock).
    """

    per_account: int = 5
    per_address: int = 20
    window: float = 900.0
    backoff: float = 30.0
    backoff_max: float = 900.0
    lock_after: int = 10
    keep_days: float = 30.0


def backoff_wait(
    failures: Sequence[datetime], limit: int, limits: LoginLimits, now: datetime
) -> float:
    """Seconds still to wait before the next attempt, given the ``failures`` in the window.

    Args:
        failures: times of the failures counted (of a name, or from an address).
        limit: how many failures are allowed before the backoff starts.
        limits: the backoff's first and longest wait.
        now: the current time (aware).
    """
    if len(failures) < limit:
        return 0.0
    delay = min(limits.backoff * 2 ** (len(failures) - limit), limits.backoff_max)
    last = max(_aware(t) for t in failures)
    return max(0.0, (last + timedelta(seconds=delay) - now).total_seconds())


def _aware(at: datetime) -> datetime:
    # SQLite hands back the stored UTC times without their zone.
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def begin_attempt(
    engine: Engine, name: str, address: str, limits: LoginLimits, now: datetime | None = None
) -> int:
    """Register an attempt to log in as ``name`` from ``address``; its id, or
    :class:`LoginRefusedError` when earlier failures forbid it (nothing is then registered).

    The attempt is committed before it is judged, so that concurrent attempts count each other.
    """
    now = now or datetime.now(UTC)
    with engine.begin() as conn:
        attempt = conn.execute(
            login_attempts.insert().values(at=now, account=name, address=address)
        ).inserted_primary_key[0]
    earlier = login_attempts.c.id < attempt
    with engine.connect() as conn:
        by_name = (
            conn.execute(
                sa.select(login_attempts.c.at).where(login_attempts.c.account == name, earlier)
            )
            .scalars()
            .all()
        )
        since = now - timedelta(seconds=limits.window)
        by_address = (
            conn.execute(
                sa.select(login_attempts.c.at).where(
                    login_attempts.c.address == address, login_attempts.c.at >= since, earlier
                )
            )
            .scalars()
            .all()
        )
    recent = [t for t in by_name if _aware(t) >= since]
    wait = max(
        backoff_wait(recent, limits.per_account, limits, now),
        backoff_wait(by_address, limits.per_address, limits, now),
    )
    if len(by_name) >= limits.lock_after or wait > 0:
        withdraw_attempt(engine, attempt)
    if len(by_name) >= limits.lock_after:
        raise LoginRefusedError(
            f"{len(by_name)} failed logins as {name!r}: this login is locked; an owner of the "
            f"project lifts the lock with 'metasift user unlock {name}'.",
            locked=True,
            web=f"{len(by_name)} failed logins as {name!r}: this login is locked; ask an owner "
            "of the project to lift the lock.",
        )
    if wait > 0:
        seconds = math.ceil(wait)
        raise LoginRefusedError(
            f"Too many failed logins for this name or from this address; try again in "
            f"{seconds} seconds.",
            retry_after=seconds,
        )
    return attempt


def withdraw_attempt(engine: Engine, attempt: int) -> None:
    """Forget an attempt that was not a failure (refused unchecked, or let in elsewhere)."""
    with engine.begin() as conn:
        conn.execute(login_attempts.delete().where(login_attempts.c.id == attempt))


def attempt_failed(engine: Engine, name: str, address: str, limits: LoginLimits) -> None:
    """Keep the attempt as a failure, write it to the audit log, forget failures past
    ``keep_days``."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        record_event(
            conn,
            actor=name,
            action="login.failed",
            entity="user",
            entity_id=name,
            value={"address": address},
        )
        conn.execute(
            login_attempts.delete().where(
                login_attempts.c.at < now - timedelta(days=limits.keep_days)
            )
        )


def attempt_succeeded(engine: Engine, name: str) -> None:
    """A successful login clears the name's failures (and its own attempt)."""
    with engine.begin() as conn:
        conn.execute(login_attempts.delete().where(login_attempts.c.account == name))


def _failures(conn: Connection, name: str) -> int:
    query = sa.select(sa.func.count()).where(login_attempts.c.account == name)
    return int(conn.execute(query).scalar_one())


def failures(engine: Engine, name: str) -> int:
    """Failed logins of ``name`` since its last successful login or unlock."""
    with engine.connect() as conn:
        return _failures(conn, name)


def unlock(engine: Engine, name: str, *, actor: str) -> int:
    """Lift the lock on ``name`` (clear its failed logins; audited); how many were cleared.

    Args:
        engine: the project store.
        name: the login to unlock, as typed at the login form.
        actor: who does it; must be an owner of the review.
    """
    with engine.begin() as conn:
        require(conn, actor, "manage")
        cleared = _failures(conn, name)
        conn.execute(login_attempts.delete().where(login_attempts.c.account == name))
        record_event(
            conn,
            actor=actor,
            action="user.unlock",
            entity="user",
            entity_id=name,
            previous={"failures": cleared},
            value={"failures": 0},
        )
    return cleared


def log_in(
    engines: Sequence[Engine],
    name: str,
    password: str,
    address: str,
    limits: LoginLimits,
) -> list[int | None]:
    """Check ``password`` for ``name`` in each project store, within the limits.

    Returns the user's id in each store (None where they are not let in); raises
    :class:`LoginRefusedError`, before any password is checked, when one of the stores'
    limits forbids the attempt.

    Args:
        engines: the stores of the projects served.
        name: the name typed at the login form.
        password: the password typed (never stored or logged).
        address: the client's address.
        limits: the limits on failed logins.
    """
    name, address = name[:NAME_MAX], address[:ADDRESS_MAX]
    attempts: list[int] = []
    try:
        for engine in engines:
            attempts.append(begin_attempt(engine, name, address, limits))
    except LoginRefusedError:
        for engine, attempt in zip(engines, attempts, strict=False):
            withdraw_attempt(engine, attempt)
        raise
    users = [authenticate(engine, name, password) for engine in engines]
    let_in = any(u is not None for u in users)
    for engine, attempt, user_id in zip(engines, attempts, users, strict=True):
        if user_id is not None:
            attempt_succeeded(engine, name)
        elif let_in:
            withdraw_attempt(engine, attempt)
        else:
            attempt_failed(engine, name, address, limits)
    return users
