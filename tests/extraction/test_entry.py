"""The extraction form saved whole, risk-of-bias forms domain by domain, and drafts."""

import pytest

from metasift.extraction import drafts, entry, store
from metasift.extraction.stage import context
from metasift.protocol import parse_protocol
from metasift.store import create_db_engine, migrate

PROTOCOL = parse_protocol(
    """
[review]
title = "Forms"

[[extraction.fields]]
name = "design"
type = "choice"
choices = ["RCT", "animal in vivo"]

[[extraction.fields]]
name = "outcome_measures"
type = "multi_choice"
choices = ["PASI", "IgE; total", "TEWL"]

[[extraction.fields]]
name = "sample_size"
label = "Total sample size"
type = "integer"
min = 0
required = true

[[extraction.fields]]
name = "started"
type = "date"
"""
)


@pytest.fixture
def engine(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
    migrate(engine)
    yield engine
    engine.dispose()


def test_labels_are_words():
    form = context(PROTOCOL).form
    labels = [f.form_label for f in form.fields]
    assert labels == ["Design", "Outcome measures", "Total sample size", "Started"]


def test_every_wrong_field_says_what_it_expects():
    checked = entry.check_form(
        context(PROTOCOL),
        {"design": "cohort", "outcome_measures": ["PASI", "IgE; total"], "started": "2020-13"},
    )
    assert not checked.ok
    assert set(checked.errors) == {"design", "sample_size", "started"}
    assert checked.errors["design"] == "Expected one of: RCT, animal in vivo."
    assert checked.errors["sample_size"] == "This field is required."
    assert "YYYY-MM-DD" in checked.errors["started"]
    # A ticked choice that contains the separator stays one choice.
    assert checked.values["outcome_measures"] == ["PASI", "IgE; total"]


def test_the_form_is_saved_whole_and_its_draft_then_goes(engine):
    drafts.put_draft(engine, 1, "ana", entry.VALUES_FORM, {"sample_size": "4"})
    bad = entry.save_form(engine, PROTOCOL, 1, {"sample_size": "-1", "design": "RCT"}, "ana")
    assert bad.errors == {"sample_size": "Expected a whole number >= 0."}
    assert store.get_values(engine, [1]) == []
    assert entry.VALUES_FORM in drafts.get_drafts(engine, 1, "ana")

    good = entry.save_form(
        engine,
        PROTOCOL,
        1,
        {"sample_size": "40", "design": "rct", "outcome_measures": ["TEWL"]},
        "ana",
    )
    assert good.ok
    saved = {v.field: v.value for v in store.get_values(engine, [1], "ana")}
    assert saved == {"design": "RCT", "outcome_measures": ["TEWL"], "sample_size": 40}
    assert drafts.get_drafts(engine, 1, "ana") == {}
    # Emptying a field deletes the value.
    entry.save_form(engine, PROTOCOL, 1, {"sample_size": "40", "design": ""}, "ana")
    saved = {v.field for v in store.get_values(engine, [1], "ana")}
    assert saved == {"sample_size"}


def test_a_draft_is_per_reviewer_and_replaced(engine):
    drafts.put_draft(engine, 1, "ana", "rob:rob2", {"D1": {"answers": {"1.1": "Y"}}})
    drafts.put_draft(engine, 1, "ana", "rob:rob2", {"D1": {"answers": {"1.1": "N"}}})
    assert drafts.get_drafts(engine, 1, "ben") == {}
    got = drafts.get_drafts(engine, 1, "ana")["rob:rob2"]
    assert got.data == {"D1": {"answers": {"1.1": "N"}}}


def test_rob_form_records_domains_and_says_why_not(engine):
    DE = entry.DomainEntry
    errors = entry.save_rob_form(
        engine,
        study_id=1,
        tool="rob2",
        reviewer="ana",
        entries={
            "D1": DE({"1.1": "Y", "1.2": "Y", "1.3": "N"}),
            # 2.4 was answered before 2.3 said N: it does not apply and is stored as NA.
            "D2": DE({"2.1": "Y", "2.2": "Y", "2.3": "N", "2.4": "Y", "2.6": "Y"}),
            "D3": DE({"3.1": "Y"}, judgement="High"),
            "D4": DE({"4.1": "N"}),
            "D5": DE(),
        },
    )
    assert set(errors) == {"D3", "D4"}
    assert errors["D3"] == "The algorithm proposes Low; say why you judge High instead."
    assert "4.2 needs an answer" in errors["D4"]
    judged = {j.domain: j for j in store.get_judgements(engine, [1])}
    assert set(judged) == {"D1", "D2"}
    assert judged["D2"].answers["2.4"] == "NA" and judged["D2"].judgement == "Low"
    errors = entry.save_rob_form(
        engine,
        study_id=1,
        tool="robins-i",
        reviewer="ana",
        entries={"D1": DE({"1.1": "N"}), "D2": DE({"2.1": "N"}, judgement="Low")},
    )
    assert list(errors) == ["D1"] and errors["D1"].startswith("Choose a judgement")
