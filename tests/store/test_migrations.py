"""Migrations go both ways: each added revision downgrades to its parent and upgrades again."""

import sqlalchemy as sa
from alembic import command

from metasift.store import create_db_engine, migrate
from metasift.store.engine import alembic_config

IMPORT_DETAILS = {
    "source_origin",
    "database",
    "platform",
    "searched",
    "query",
    "limits",
    "source_type",
}


def _columns(engine, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns(table)}


def test_import_details_downgrade_and_upgrade_again(db_url):
    engine = create_db_engine(db_url)
    migrate(engine)
    assert IMPORT_DETAILS <= _columns(engine, "imports")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO imports (file, format, checksum, imported_at, n_read, n_imported, "
                "n_rejected, n_merged, options, source, platform) VALUES ('a.ris', 'ris', 'x', "
                "CURRENT_TIMESTAMP, 1, 1, 0, 0, '{}', 'Embase', 'Ovid')"
            )
        )
    config = alembic_config(engine)
    command.downgrade(config, "0011_import_details-1")  # one step, other heads untouched
    engine.dispose()
    columns = _columns(engine, "imports")
    assert not IMPORT_DETAILS & columns and {"file", "source", "n_read"} <= columns
    with engine.connect() as conn:  # the rows survive the round trip
        assert conn.execute(sa.text("SELECT source FROM imports")).scalar_one() == "Embase"
    command.upgrade(config, "heads")
    engine.dispose()
    assert IMPORT_DETAILS <= _columns(engine, "imports")
    engine.dispose()


def test_round_reports_downgrade_and_upgrade_again(db_url):
    engine = create_db_engine(db_url)
    migrate(engine)
    assert "settled_reports" in _columns(engine, "rounds")
    config = alembic_config(engine)
    command.downgrade(config, "0019_round_reports-1")
    engine.dispose()
    assert {"number", "windows"} <= _columns(engine, "rounds")
    assert "settled_reports" not in _columns(engine, "rounds")
    command.upgrade(config, "heads")
    engine.dispose()
    assert "settled_reports" in _columns(engine, "rounds")
    engine.dispose()
