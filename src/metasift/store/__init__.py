"""The project store: one database per project (SQLite by default, PostgreSQL for teams)."""

from metasift.store.engine import create_db_engine, migrate, sqlite_url

__all__ = ["create_db_engine", "migrate", "sqlite_url"]
