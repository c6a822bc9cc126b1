"""The review team: one role model (owner, reviewer, viewer) for every door, on SQLite and
PostgreSQL."""

import pytest

from metasift.errors import PermissionDeniedError, ReviewerError
from metasift.store import create_db_engine, migrate
from metasift.store.audit import iter_log
from metasift.workflow.reviewers import add_reviewer, get_reviewer, list_reviewers, require


@pytest.fixture
def engine(db_url):
    engine = create_db_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()


def test_members_roles_and_their_log(engine):
    # A review without an owner lets the first owner in; after that, owners add people.
    add_reviewer(engine, "ana", "owner")
    add_reviewer(engine, "ben", actor="ana")
    with pytest.raises(PermissionDeniedError, match="ben is a reviewer; only owners may manage"):
        add_reviewer(engine, "vic", "viewer", actor="ben")
    with pytest.raises(PermissionDeniedError, match="'eve' is not a member of this review"):
        add_reviewer(engine, "eve", "owner")
    add_reviewer(engine, "vic", "viewer", actor="ana")
    assert [(r.name, r.role) for r in list_reviewers(engine)] == [
        ("ana", "owner"),
        ("ben", "reviewer"),
        ("vic", "viewer"),
    ]
    with pytest.raises(ReviewerError, match="already exists"):
        add_reviewer(engine, "ben", actor="ana")
    with pytest.raises(ReviewerError, match="unknown role 'lead'"):
        add_reviewer(engine, "cy", "lead", actor="ana")
    with pytest.raises(ReviewerError, match="metasift reviewer add dan"):
        get_reviewer(engine, "dan")
    with pytest.raises(ReviewerError, match="only owner"):
        add_reviewer(engine, "ana", "reviewer", actor="ana", replace=True)
    add_reviewer(engine, "ben", "owner", actor="ana", replace=True)
    entries = list(iter_log(engine, action="reviewer"))
    assert [(e.actor, e.action, e.entity_id, e.previous, e.value) for e in entries] == [
        ("ana", "reviewer.add", "ana", None, {"role": "owner"}),
        ("ana", "reviewer.add", "ben", None, {"role": "reviewer"}),
        ("ana", "reviewer.add", "vic", None, {"role": "viewer"}),
        ("ana", "reviewer.role", "ben", {"role": "reviewer"}, {"role": "owner"}),
    ]


def test_what_each_role_may_do(engine):
    add_reviewer(engine, "ana", "owner")
    add_reviewer(engine, "ben", actor="ana")
    add_reviewer(engine, "vic", "viewer", actor="ana")
    allowed = {
        (name, action)
        for name in ("ana", "ben", "vic")
        for action in ("read", "decide", "manage")
        if get_reviewer(engine, name).may(action)
    }
    assert allowed == {
        ("ana", "read"),
        ("ana", "decide"),
        ("ana", "manage"),
        ("ben", "read"),
        ("ben", "decide"),
        ("vic", "read"),
    }
    assert require(engine, "ben", "decide").name == "ben"
    with pytest.raises(PermissionDeniedError, match="vic is a viewer; only owners and reviewers"):
        require(engine, "vic", "decide")
    with pytest.raises(PermissionDeniedError) as refused:
        require(engine, "intruder", "decide")
    assert (refused.value.who, refused.value.action) == ("intruder", "decide")
    assert "metasift reviewer add intruder --role reviewer" in str(refused.value)


def test_the_simulated_reviewer_is_a_member_like_anyone(engine):
    from metasift.workflow.reviewers import ensure_simulated_reviewer

    # A new review: the protocol's simulated reviewer becomes its owner, once.
    assert ensure_simulated_reviewer(engine, "simulated reviewer").role == "owner"
    assert ensure_simulated_reviewer(engine, "simulated reviewer").role == "owner"
    assert [e.entity_id for e in iter_log(engine, action="reviewer.add")] == ["simulated reviewer"]
    # A review with an owner: an owner must add it.
    with pytest.raises(ReviewerError, match="metasift reviewer add robot --role owner"):
        ensure_simulated_reviewer(engine, "robot")
