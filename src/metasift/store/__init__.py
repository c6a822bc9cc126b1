"""The project store: one database per project (SQLite by default, PostgreSQL for teams).

Entry points: :func:`create_db_engine` (an engine for a database URL, :func:`sqlite_url` for a
file), :func:`migrate` (bring the schema to the current revision), and the record table's
reads and writes (:func:`insert_records`, :func:`iter_records`, :func:`count_records`,
:func:`screenable_ids`). The tables themselves are in :mod:`metasift.store.schema`.
Names load on first use, so importing the package stays cheap.
"""

from metasift.lazy import attach

__all__, __getattr__, __dir__ = attach(
    __name__,
    engine=["create_db_engine", "migrate", "sqlite_url"],
    records=["count_records", "insert_records", "iter_records", "screenable_ids"],
)
