"""Reviewers and the append-only audit log, on SQLite and PostgreSQL."""

import pytest
import sqlalchemy as sa

from metasift.store import create_db_engine, migrate
from metasift.store.schema import audit_log
from metasift.workflow.audit import iter_log, record_event
from metasift.workflow.reviewers import ReviewerError, add_reviewer, get_reviewer, list_reviewers


@pytest.fixture
def engine(db_url):
    engine = create_db_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


def test_reviewers_and_their_log(engine):
    add_reviewer(engine, "ana", "lead")
    add_reviewer(engine, "ben")
    assert [(r.name, r.role) for r in list_reviewers(engine)] == [
        ("ana", "lead"),
        ("ben", "reviewer"),
    ]
    with pytest.raises(ReviewerError, match="already exists"):
        add_reviewer(engine, "ben")
    with pytest.raises(ReviewerError, match="unknown role"):
        add_reviewer(engine, "cy", "boss")
    with pytest.raises(ReviewerError, match="metasift reviewer add dan"):
        get_reviewer(engine, "dan")
    entries = list(iter_log(engine, action="reviewer"))
    assert [(e.actor, e.entity_id, e.value) for e in entries] == [
        ("ana", "ana", {"role": "lead"}),
        ("ben", "ben", {"role": "reviewer"}),
    ]


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
