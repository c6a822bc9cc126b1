"""Before the learner's features are built, :class:`TeamScreening` hands records out in the
quick order of titles, under the same leases and checks; decisions made meanwhile reach the
learner once it is built."""

from __future__ import annotations

import pytest

from metasift.project import Project
from metasift.workflow.handout import TeamScreening
from tests.web.conftest import make_project


@pytest.fixture
def project(tmp_path):
    root = make_project(tmp_path / "p", "Adipose stem cells for psoriasis", None)
    with Project.open(root) as opened:
        yield opened


def _team(project: Project) -> TeamScreening:
    team = TeamScreening(project.engine, project.protocol)
    team.start = lambda: None  # the features are "still being built" until the test builds them
    return team


def test_titles_with_most_terms_come_first_and_slots_are_respected(project):
    team = _team(project)
    _, first, _ = team.decide_and_next("ana")
    # "Adipose-derived stem cells attenuate acne inflammation" holds the most terms.
    assert first.record_id == 7 and not team.ready
    assert team.decide_and_next("ana")[1].record_id == 7  # held: shown again
    assert team.decide_and_next("ben")[1].record_id == 7  # dual screening: a second slot
    assert team.decide_and_next("cy")[1].record_id != 7  # both slots are held
    stored, after, _ = team.decide_and_next("ana", 7, "include")
    assert stored and after.record_id != 7
    assert not team.decide("ana", 7, "include")  # sent twice: stored once
    assert team.decide("ben", 7, "exclude") and not team.ready
    team.close()


def test_a_reviewer_is_told_when_the_records_left_are_held_by_others(tmp_path):
    root = make_project(tmp_path / "single", "Adipose stem cells for psoriasis", None, reviewers=1)
    with Project.open(root) as project:
        team = _team(project)
        held = team.decide_and_next("ana")[1].record_id
        _, shown, why = team.decide_and_next("ben")
        while shown is not None:
            _, shown, why = team.decide_and_next("ben", shown.record_id, "exclude")
        assert "other reviewers hold" in why
        team.decide_and_next("ana", held, "exclude")
        assert team.decide_and_next("ben") == (False, None, "")
        team.close()


def test_decisions_made_meanwhile_reach_the_learner(project):
    team = _team(project)
    _, first, _ = team.decide_and_next("ana")
    team.decide_and_next("ana", first.record_id, "exclude")
    team.corpus()  # the build finishes
    assert team.ready
    session = team.session("ana")
    assert session.learner.labels[session.position(first.record_id)] == 0
    # Undone in the learner's time too.
    assert team.undo("ana") == first.record_id
    assert session.learner.labels[session.position(first.record_id)] == -1
    team.close()


def test_records_of_an_earlier_round_are_not_offered_again(project):
    from metasift.store.rounds import start_round

    with project.engine.begin() as conn:
        start_round(conn, kind="update", started_by="ana", windows={})
    team = _team(project)
    # Every record was imported in round 1: the update's round has none to offer.
    assert team.decide_and_next("ana") == (False, None, "")
    team.close()
