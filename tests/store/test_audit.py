"""The append-only audit log, on SQLite and PostgreSQL."""

import pytest
import sqlalchemy as sa

from metasift.store import create_db_engine, migrate
from metasift.store.audit import iter_log, record_event
from metasift.store.schema import audit_log


@pytest.fixture
def engine(db_url):
    engine = create_db_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


def test_log_is_append_only_in_the_database(engine):
    with engine.begin() as conn:
        record_event(
            conn,
            actor="ana",
            action="decision.change",
            entity="record",
            entity_id=7,
            previous={"decision": "include"},
            value={"decision": "exclude"},
        )
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(audit_log.update().values(actor="mallory"))
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(audit_log.delete())
    (entry,) = iter_log(engine)
    assert entry.actor == "ana" and entry.previous == {"decision": "include"}


def test_log_filters_and_limit(engine):
    with engine.begin() as conn:
        for i in range(5):
            record_event(
                conn,
                actor="ana" if i % 2 else "ben",
                action="decision.create",
                entity="record",
                entity_id=i,
            )
    assert [e.entity_id for e in iter_log(engine, limit=2)] == ["3", "4"]
    assert [e.entity_id for e in iter_log(engine, actor="ana")] == ["1", "3"]
    assert [e.entity_id for e in iter_log(engine, entity_id="2")] == ["2"]
