"""The store on SQLite and on a real PostgreSQL server."""

from pathlib import Path

import pytest
import sqlalchemy as sa

from metasift.records.importing import import_file
from metasift.records.model import Record
from metasift.store import create_db_engine, migrate
from metasift.store.records import count_records, iter_records
from metasift.store.schema import imports

CORPUS = Path(__file__).resolve().parents[2] / "examples" / "admsc-skin" / "records.jsonl"


def test_migrate_is_idempotent(db_url):
    engine = create_db_engine(db_url)
    migrate(engine)
    migrate(engine)
    tables = set(sa.inspect(engine).get_table_names())
    assert {"imports", "records", "rejections", "alembic_version"} <= tables


def test_import_round_trip_keeps_fields(db_url):
    engine = create_db_engine(db_url)
    migrate(engine)
    summary = import_file(engine, CORPUS)
    assert (summary.read, summary.imported, summary.rejected) == (143, 143, 0)
    assert count_records(engine) == 143
    _first_id, first = next(iter_records(engine))
    assert first.pmid == "32164386"
    assert first.doi == "10.3390/cells9030680"
    assert first.source_position == 1
    assert first.title.startswith("Exosomes from Human Adipose Tissue-Derived")
    with engine.connect() as conn:
        row = conn.execute(sa.select(imports)).one()
    assert row.n_read == 143 and row.format == "jsonl" and len(row.checksum) == 64


def test_reimport_of_same_file_is_refused(db_url):
    from metasift.errors import ImportFileError

    engine = create_db_engine(db_url)
    migrate(engine)
    import_file(engine, CORPUS)
    with pytest.raises(ImportFileError, match="already imported"):
        import_file(engine, CORPUS)
    assert count_records(engine) == 143
    import_file(engine, CORPUS, force=True)
    assert count_records(engine) == 286


def test_record_without_title_is_rejected_with_reason(db_url, tmp_path):
    engine = create_db_engine(db_url)
    migrate(engine)
    path = tmp_path / "two.jsonl"
    path.write_text('{"title": "A study"}\n{"doi": "10.1/x"}\n', encoding="utf-8")
    summary = import_file(engine, path)
    assert (summary.read, summary.imported, summary.rejected) == (2, 1, 1)
    assert summary.rejections[0].position == 2
    assert "no title" in summary.rejections[0].reason


def test_failed_import_leaves_nothing(db_url, tmp_path, monkeypatch):
    """A crash in the middle of a file rolls the whole file back."""
    import metasift.records.importing as importing

    engine = create_db_engine(db_url)
    migrate(engine)
    calls = {"n": 0}
    real = importing.insert_records

    def failing(conn, import_id, batch):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real(conn, import_id, batch)

    monkeypatch.setattr(importing, "insert_records", failing)
    monkeypatch.setattr(importing, "BATCH", 50)
    with pytest.raises(RuntimeError):
        import_file(engine, CORPUS)
    assert count_records(engine) == 0
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(imports)).scalar_one() == 0


def test_record_model_round_trips_through_dict():
    record = Record(title="T", authors=["Smith, J."], raw={"TI": "T"})
    assert Record.from_dict(record.to_dict()) == record


def test_an_idle_connection_the_server_closed_is_replaced(postgres_url, monkeypatch):
    from metasift.store import engine as store_engine

    engine = create_db_engine(postgres_url)
    backend = sa.text("SELECT pg_backend_pid()")

    def terminate(pid: int) -> None:
        # From another engine: the server closes the pooled connection under the first.
        other = create_db_engine(postgres_url)
        with other.begin() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        other.dispose()

    with engine.connect() as conn:
        first = conn.execute(backend).scalar_one()
    terminate(first)
    # Used a moment ago: no ping, and the closed connection fails.
    with pytest.raises(sa.exc.OperationalError), engine.connect() as conn:
        conn.execute(backend)
    with engine.connect() as conn:
        second = conn.execute(backend).scalar_one()
    terminate(second)
    # Idle for longer than the limit: pinged, replaced, and the query runs on a fresh one.
    monkeypatch.setattr(store_engine, "IDLE_PING_SECONDS", 0.0)
    with engine.connect() as conn:
        third = conn.execute(backend).scalar_one()
    assert len({first, second, third}) == 3
    engine.dispose()
