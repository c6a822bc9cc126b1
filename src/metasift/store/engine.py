"""Database engines for the project store, and schema migration with Alembic.

SQLite runs in WAL mode with foreign keys on, so that a killed process never leaves a
half-written project: every stage writes inside transactions, and WAL replays or discards
them on the next open.
"""

from __future__ import annotations

import ast
import time
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from alembic.config import Config

from metasift.errors import ProjectError

MIGRATIONS = Path(__file__).parent / "migrations"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def _normalise_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_db_engine(url: str) -> Engine:
    """An engine for ``url`` (``sqlite:///...`` or ``postgresql://...``) with our settings."""
    try:
        url = _normalise_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a terse message
        raise ProjectError(f"invalid database URL {url!r}: {exc}") from exc
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_size=10, max_overflow=20)
        event.listen(engine.pool, "checkout", _ping_if_idle(engine.dialect))
        event.listen(engine.pool, "checkin", _returned)
    return engine


# A pooled connection that was in use a moment ago is alive; one idle for longer may have
# been closed by a server restart, and is pinged before use. (SQLAlchemy's pool_pre_ping
# pings at every checkout: on a busy server a round trip more per query.)
IDLE_PING_SECONDS = 10.0


def _returned(_dbapi_connection, record) -> None:
    record.info["returned_at"] = time.monotonic()


def _ping_if_idle(dialect):
    def checkout(dbapi_connection, record, _proxy) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < IDLE_PING_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            if dialect.is_disconnect(exc, dbapi_connection, None):
                # The pool replaces the connection and checks out a fresh one.
                raise sa.exc.DisconnectionError("the database closed an idle connection") from exc
            raise

    return checkout


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema of ``engine``'s database to the newest revision of every stage.

    Each stage's migrations form their own branch off the base revision, so "heads" (plural)
    applies them all.
    """
    if _stored_revisions(engine) == script_heads():
        return
    from alembic import command

    try:
        command.upgrade(alembic_config(engine), "heads")
    except Exception as exc:
        if isinstance(exc, ProjectError):
            raise
        where = engine.url.render_as_string(hide_password=True)
        raise ProjectError(f"cannot prepare the project database ({where}): {exc}") from exc


@cache
def script_heads() -> frozenset[str]:
    """The newest revision of every migration branch, read from the migration files.

    Parsing the files is much cheaper than starting Alembic, which every command would
    otherwise pay for just to find out that the store is up to date.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                name = getattr(node.targets[0], "id", None)
                if name == "revision":
                    revisions.add(ast.literal_eval(node.value))
                elif name == "down_revision":
                    value = ast.literal_eval(node.value)
                    parents.update(value if isinstance(value, tuple) else [value] if value else [])
    return frozenset(revisions - parents)


def _stored_revisions(engine: Engine) -> frozenset[str] | None:
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
            return frozenset(rows)
    except sa.exc.DBAPIError:
        return None


class connected:
    """``with connected(bind) as conn``: a connection from an engine (closed after), or the
    caller's own connection as it is (so a stage function can join the caller's transaction).

    Args:
        bind: an engine, or a connection already open.
    """

    def __init__(self, bind: Engine | Connection) -> None:
        self.bind = bind
        self.conn: Connection | None = None

    def __enter__(self) -> Connection:
        if isinstance(self.bind, Connection):
            return self.bind
        self.conn = self.bind.connect()
        return self.conn

    def __exit__(self, *exc: object) -> None:
        if self.conn is not None:
            self.conn.close()
