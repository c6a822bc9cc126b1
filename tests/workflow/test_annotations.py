"""Notes, labels and highlight terms under workflow's rule, and the recall curve."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from metasift.errors import PermissionDeniedError, ReviewError
from metasift.workflow.annotations import (
    add_label,
    add_note,
    highlights_of,
    labelled_ids,
    labels_of,
    labels_on,
    notes_on,
    project_labels,
    remove_highlight,
    remove_label,
    set_highlight,
)
from metasift.workflow.progress import recall_curve
from metasift.workflow.reviewers import add_reviewer


@pytest.fixture
def engine(tmp_path):
    from metasift.project import Project
    from tests.web.conftest import make_project

    root = make_project(tmp_path / "p", "Notes", None)
    with Project.open(root) as project:
        add_reviewer(project.engine, "rita", "reviewer", actor="ana")
        yield project.engine


def test_members_who_decide_write_notes_and_labels(engine):
    add_note(engine, 1, "rita", "  dose unclear  ")
    assert [n.text for n in notes_on(engine, 1)] == ["dose unclear"]
    assert add_label(engine, 1, "ask  the team", "rita")
    assert not add_label(engine, 1, "ask the team", "ana")
    assert labels_on(engine, 1) == ["ask the team"] and project_labels(engine) == ["ask the team"]
    assert remove_label(engine, 1, "ask the team", "ana") and labels_on(engine, 1) == []
    with pytest.raises(PermissionDeniedError):
        add_note(engine, 1, "vic", "viewers only read")
    with pytest.raises(ReviewError, match="does not exist"):
        add_label(engine, 999, "x", "rita")


def test_records_by_their_labels(engine):
    for record_id, label in [(3, "animal"), (1, "animal"), (1, "ask"), (3, "ask"), (5, "ask")]:
        add_label(engine, record_id, label, "rita")
    assert labels_of(engine, [1, 2, 3, 5]) == {
        1: ["animal", "ask"],
        3: ["animal", "ask"],
        5: ["ask"],
    }
    assert labelled_ids(engine, ["animal"]) == {1, 3}
    # Every label named must be on the record; names are read as add_label keeps them.
    assert labelled_ids(engine, [" ask ", "animal", "animal"]) == {1, 3}
    assert labelled_ids(engine, ["ask", "nobody's"]) == set()
    with pytest.raises(ReviewError, match="choose a label"):
        labelled_ids(engine, [" "])


def test_highlight_terms_are_each_reviewers_own(engine):
    set_highlight(engine, "rita", " Stem  Cells ", "include")
    set_highlight(engine, "rita", "mice", "exclude")
    set_highlight(engine, "rita", "mice", "include")  # changes colour
    assert highlights_of(engine, "rita").include == ["mice", "stem cells"]
    assert highlights_of(engine, "ana").include == []
    assert remove_highlight(engine, "rita", "MICE") and not remove_highlight(engine, "rita", "x")
    with pytest.raises(ReviewError, match="include or exclude"):
        set_highlight(engine, "rita", "x", "maybe")


def test_recall_curve_starts_at_zero_and_keeps_the_last_point():
    labels = np.array([1, 0, 0, 1, 0] * 100)
    curve = recall_curve(labels, points=50)
    assert curve[0] == (0, 0) and curve[-1] == (500, 200)
    assert len(curve) <= 52
    assert all(b[1] >= a[1] for a, b in itertools.pairwise(curve))
