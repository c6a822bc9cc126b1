"""Database engines for the project store, and schema migration with Alembic.

SQLite runs in WAL mode with foreign keys on, so that a killed process never leaves a
half-written project: every stage writes inside transactions, and WAL replays or discards
them on the next open.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

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
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    return engine


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema of ``engine``'s database to the newest revision of every stage.

    Each stage's migrations form their own branch off the base revision, so "heads" (plural)
    applies them all.
    """
    try:
        command.upgrade(alembic_config(engine), "heads")
    except Exception as exc:
        if isinstance(exc, ProjectError):
            raise
        where = engine.url.render_as_string(hide_password=True)
        raise ProjectError(f"cannot prepare the project database ({where}): {exc}") from exc
