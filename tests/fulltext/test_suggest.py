"""Suggestions from a stored full text: stored once with their provenance, listed for the
viewer, accepted (filling the form, provenance kept), edited or rejected, all audited."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from metasift.cli import app
from metasift.errors import ExtractionError
from metasift.extraction import store
from metasift.extraction.fulltext_stage import fulltext_suggestions, suggest_from_fulltext
from metasift.extraction.stage import review_suggestion
from metasift.store.audit import iter_log
from metasift.workflow.fulltext import attach_report
from metasift.workflow.reviewers import add_reviewer
from tests.fulltext.conftest import FIXTURES


@pytest.fixture
def attached(project):
    return attach_report(
        project.engine,
        project.protocol,
        project.root,
        1,
        FIXTURES / "1472-6831-8-11.nxml",
        "ana",
    )


def _one(suggestions, field, value):
    return next(s for s in suggestions if s.field == field and s.value == value)


def test_suggestions_are_stored_once_with_part_span_and_sentence(project, attached) -> None:
    first = suggest_from_fulltext(project.engine, project.root, 1)
    assert (first.sha256, first.media_type) == (attached.sha256, "application/jats+xml")
    assert first.parts[:3] == ["Title", "Abstract", "Background"]
    assert first.added == len(first.suggestions) == 49
    size = _one(first.suggestions, "sample_size", 119)
    assert (size.text_source, size.part_index, size.cue) == ("Abstract", 1, "119 patients")
    assert size.sentence.startswith("The resulting OHIP-NL's psychometric properties")
    assert (size.fulltext_sha256, size.status) == (attached.sha256, "pending")
    # Again: nothing new, the same list; the viewer's list is in reading order.
    again = suggest_from_fulltext(project.engine, project.root, 1)
    assert again.added == 0
    listed = fulltext_suggestions(project.engine, 1)
    assert [s.id for s in listed] == [s.id for s in again.suggestions]
    assert [s.part_index for s in listed] == sorted(s.part_index for s in listed)
    assert listed[0].as_dict()["part"] == "Abstract"


def test_accepting_fills_the_form_with_provenance_and_rejecting_is_audited(
    project, attached
) -> None:
    found = suggest_from_fulltext(project.engine, project.root, 1).suggestions
    size = _one(found, "sample_size", 119)
    done = review_suggestion(project.engine, project.protocol, size.id, "accept", "ana")
    assert (done.status, done.final_value, done.reviewer) == ("accepted", 119, "ana")
    (value,) = [v for v in store.get_values(project.engine, [1]) if v.field == "sample_size"]
    assert (value.value, value.source, value.reviewer) == (119, "suggestion", "ana")
    provenance = value.source_detail["suggestion"]
    assert provenance["text_source"] == "Abstract"
    assert provenance["cue"] == "119 patients"
    assert provenance["fulltext_sha256"] == attached.sha256
    assert provenance["part_index"] == 1

    follow = _one(found, "follow_up", {"low": 1.0, "high": 2.0, "unit": "weeks"})
    done = review_suggestion(project.engine, project.protocol, follow.id, "accept", "ana")
    assert done.final_value == "1–2 weeks"

    other = _one(found, "sample_size", 7)
    review_suggestion(project.engine, project.protocol, other.id, "reject", "ana")
    log = [e for e in iter_log(project.engine) if e.entity == "extraction_suggestion"]
    assert [(e.action, e.entity_id, e.value) for e in log] == [
        ("extraction.suggestion.accept", str(size.id), 119),
        ("extraction.suggestion.accept", str(follow.id), "1–2 weeks"),
        ("extraction.suggestion.reject", str(other.id), None),
    ]
    assert (
        log[0].note
        == f"sample_size from Abstract [{size.span_start}:{size.span_end}]: 119 patients"
    )


def test_an_arm_size_needs_its_arm_and_a_statistic_its_outcome(project, attached) -> None:
    found = suggest_from_fulltext(project.engine, project.root, 1).suggestions
    group = _one(found, "arm_size", {"n": 20, "group": "Oral health status / Very good"})
    done = review_suggestion(project.engine, project.protocol, group.id, "accept", "ana")
    assert done.final_value == 20
    arms = [(v.arm, v.field, v.value) for v in store.get_values(project.engine, [1]) if v.arm]
    assert arms == [("Oral health status / Very good", "n", 20)]
    mean = _one(found, "statistic", {"mean": 57.1, "sd": 12.2, "n": 119})
    with pytest.raises(ExtractionError, match="needs the outcome and arm"):
        review_suggestion(project.engine, project.protocol, mean.id, "accept", "ana")


def test_the_command_line_suggests_accepts_and_rejects(project, attached) -> None:
    runner = CliRunner()
    where = ["--project", str(project.root)]
    result = runner.invoke(app, ["fulltext", "suggest", "1", "--json", *where])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["record_id"], data["study_id"], data["added"]) == (1, 1, 49)
    first = data["suggestions"][0]
    assert {"part", "part_index", "span", "sentence", "cue", "confidence"} <= set(first)
    size = next(s for s in data["suggestions"] if s["value"] == 119)
    add_reviewer(project.engine, "vic", "viewer", actor="ana")
    refused = runner.invoke(
        app, ["fulltext", "accept", str(size["id"]), "--reviewer", "vic", *where]
    )
    assert "vic is a viewer" in str(refused.exception)
    accepted = runner.invoke(
        app, ["fulltext", "accept", str(size["id"]), "--value", "118", "-r", "ana", *where]
    )
    assert accepted.exit_code == 0, accepted.output
    assert f"suggestion {size['id']}: edited (sample_size = 118; from Abstract" in accepted.output
    rejected = runner.invoke(app, ["fulltext", "reject", str(first["id"]), "-r", "ana", *where])
    assert rejected.exit_code == 0, rejected.output
    assert "rejected" in rejected.output
