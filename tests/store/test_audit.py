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


def test_log_page_filters_counts_and_pages_newest_first(engine):
    from datetime import UTC, datetime, timedelta

    from metasift.store.audit import LogQuery, log_choices, log_page

    with engine.begin() as conn:
        for i in range(7):
            record_event(
                conn,
                actor="ana" if i % 2 else "ben",
                action="decision.create" if i < 5 else "dedup_decide",
                entity="record",
                entity_id=i % 3,
            )
    entries, total = log_page(engine, LogQuery(), offset=0, limit=3)
    assert total == 7 and [e.id for e in entries] == [7, 6, 5]
    entries, _ = log_page(engine, LogQuery(), offset=6, limit=3)
    assert [e.id for e in entries] == [1]
    assert log_page(engine, LogQuery(actor="ana"))[1] == 3
    assert log_page(engine, LogQuery(action="decision."))[1] == 5
    # "_" and "%" in an action are the characters themselves, not LIKE's wildcards.
    assert log_page(engine, LogQuery(action="dedup_"))[1] == 2
    assert log_page(engine, LogQuery(action="decision_"))[1] == 0
    assert log_page(engine, LogQuery(entity_id="1"))[1] == 2
    now = datetime.now(UTC)
    assert log_page(engine, LogQuery(since=now - timedelta(days=1)))[1] == 7
    assert log_page(engine, LogQuery(since=now + timedelta(days=1)))[1] == 0
    assert log_page(engine, LogQuery(until=now - timedelta(days=1)))[1] == 0
    assert log_choices(engine) == (["ana", "ben"], ["decision.create", "dedup_decide"])
