"""GRADE in the review: BCG vaccine trials (metadat's dat.bcg) entered as extraction values of
13 included studies, risk of bias recorded for some, proposals confirmed or overridden by
reviewers, stored and audited."""

import csv
import json
from pathlib import Path

import pytest

from metasift.errors import GradeError, PermissionDeniedError
from metasift.extraction.stage import enter_value, record_rob
from metasift.project import Project
from metasift.records.importing import import_file
from metasift.store.audit import iter_log
from metasift.workflow.certainty import grade_review, record_grade, study_rob
from metasift.workflow.decisions import FULL_TEXT, decide
from metasift.workflow.fulltext import set_location
from metasift.workflow.reviewers import add_reviewer

DATA = Path(__file__).resolve().parents[1] / "synthesis" / "data" / "bcg.csv"
PROTOCOL = """
[review]
title = "BCG vaccine for preventing tuberculosis"
[pico]
population = "people at risk of tuberculosis"
intervention = "BCG vaccine"
comparator = "no vaccine"
[criteria]
exclusion_reasons = ["wrong population"]
[extraction]
reviewers = 1
[[extraction.outcomes]]
name = "tb"
kind = "dichotomous"
[[analysis.analyses]]
name = "Tuberculosis"
measure = "RR"
arms = ["vaccine", "control"]
where = { outcome = "tb" }
bias = true
[analysis.analyses.grade]
outcome = "Tuberculosis (confirmed cases)"
follow_up = "3 to 20 years"
"""


def bcg_project(tmp_path, protocol=PROTOCOL):
    (tmp_path / "review.toml").write_text(protocol, encoding="utf-8")
    with DATA.open() as fh:
        trials = list(csv.DictReader(fh))
    (tmp_path / "trials.jsonl").write_text(
        "".join(
            json.dumps({"title": f"BCG trial {t['author']}", "year": int(t["year"])}) + "\n"
            for t in trials
        )
    )
    proj = Project.open(tmp_path)
    add_reviewer(proj.engine, "ana", "owner")
    add_reviewer(proj.engine, "vic", "viewer", actor="ana")
    import_file(proj.engine, tmp_path / "trials.jsonl")
    for record_id, trial in enumerate(trials, start=1):
        for stage in ("title_abstract", FULL_TEXT):
            if stage == FULL_TEXT:
                set_location(proj.engine, proj.protocol, record_id, f"t{record_id}.pdf", "ana")
            decide(
                proj.engine,
                proj.protocol,
                record_id=record_id,
                reviewer="ana",
                decision="include",
                stage=stage,
            )
        pos, neg = ("tpos", "tneg"), ("cpos", "cneg")
        for arm, (events, others) in (("vaccine", pos), ("control", neg)):
            n = int(trial[events]) + int(trial[others])
            enter_value(proj.engine, proj.protocol, (record_id, "n", arm, "tb", ""), str(n), "ana")
            enter_value(
                proj.engine,
                proj.protocol,
                (record_id, "events", arm, "tb", ""),
                trial[events],
                "ana",
            )
    return proj


@pytest.fixture
def project(tmp_path):
    proj = bcg_project(tmp_path)
    # RoB 2 for four trials: 3 and 6 at high risk, 1 and 2 low
    for study, worst in ((1, "Low"), (2, "Low"), (3, "High"), (6, "High")):
        for domain in ("D1", "D2", "D3", "D4", "D5"):
            judgement = worst if domain == "D1" else "Low"
            record_rob(
                proj.engine,
                study_id=study,
                tool="rob2",
                domain=domain,
                reviewer="ana",
                judgement=judgement,
            )
    yield proj
    proj.close()


def test_proposals_from_extracted_arms_and_rob(project):
    assert study_rob(project.engine, range(1, 14)) == {1: "Low", 2: "Low", 3: "High", 6: "High"}
    (graded,) = grade_review(project.engine, project.protocol)
    fit = graded.outcome.fit
    assert fit.to_dict()["estimate"] == pytest.approx(-0.714532, abs=1e-6)
    levels = {j.domain: j.level for j in graded.proposed.judgements}
    # 9 of 13 trials unassessed: serious
    assert levels["risk_of_bias"] == -1
    assert levels["inconsistency"] == -2
    assert levels["imprecision"] == 0
    assert levels["publication_bias"] == 0
    assert graded.proposed.label == "very low"
    assert graded.pending == [
        "risk_of_bias",
        "inconsistency",
        "indirectness",
        "imprecision",
        "publication_bias",
    ]


def test_confirm_override_store_and_audit(project):
    engine, protocol = project.engine, project.protocol
    record_grade(engine, protocol, analysis="Tuberculosis", domain="imprecision", reviewer="ana")
    with pytest.raises(GradeError, match="say why with --footnote"):
        record_grade(
            engine,
            protocol,
            analysis="Tuberculosis",
            domain="risk_of_bias",
            reviewer="ana",
            judgement="not serious",
        )
    stored = record_grade(
        engine,
        protocol,
        analysis="Tuberculosis",
        domain="risk_of_bias",
        reviewer="ana",
        judgement="not serious",
        footnote="Allocation was alternate in two trials, but outcome assessment was blinded.",
    )
    assert stored.overridden and stored.label == "not serious"
    with pytest.raises(PermissionDeniedError):
        record_grade(
            engine, protocol, analysis="Tuberculosis", domain="indirectness", reviewer="vic"
        )
    with pytest.raises(GradeError, match="no analysis named 'Mortality'"):
        record_grade(engine, protocol, analysis="Mortality", domain="imprecision", reviewer="ana")
    with pytest.raises(GradeError, match="domain 'large_effect' does not apply"):
        record_grade(
            engine, protocol, analysis="Tuberculosis", domain="large_effect", reviewer="ana"
        )
    (graded,) = grade_review(engine, protocol)
    assert graded.final.label == "low"  # only inconsistency (-2) remains
    assert graded.pending == ["inconsistency", "indirectness", "publication_bias"]
    assert graded.footnote("risk_of_bias").startswith("Allocation was alternate")
    events = list(iter_log(engine, action="grade.judge"))
    assert [e.entity_id for e in events] == [
        "Tuberculosis/imprecision",
        "Tuberculosis/risk_of_bias",
    ]
    assert events[1].value["judgement"] == "not serious"
    assert events[1].value["proposed"] == "serious"


def test_summary_of_findings_rows(project):
    from metasift.workflow.certainty import summary_of_findings

    engine, protocol = project.engine, project.protocol
    record_grade(
        engine,
        protocol,
        analysis="Tuberculosis",
        domain="inconsistency",
        reviewer="ana",
        footnote="I2 = 92%: effects vary with latitude.",
    )
    sof = summary_of_findings(engine, protocol)
    assert sof.title == "BCG vaccine compared to no vaccine for people at risk of tuberculosis"
    (row,) = sof.rows
    assert row.outcome == "Tuberculosis (confirmed cases) (follow-up: 3 to 20 years)"
    assert row.participants == "357,347 (13 RCTs)"
    assert row.certainty == "⨁◯◯◯ VERY LOW"
    assert row.relative == "RR 0.49 (0.34 to 0.70)"
    # comparator risk 1,510 / 166,283 = 9.08 per 1,000; RR 0.4894 (0.3427 to 0.6988)
    assert row.comparator_risk == "9 per 1,000"
    assert row.difference == "5 fewer per 1,000 (from 6 fewer to 3 fewer)"
    assert row.footnotes == ["a", "b"]
    assert sof.footnotes[0][1].startswith("Risk of bias: rated down one level (serious). ")
    assert sof.footnotes[1][1] == (
        "Inconsistency: rated down two levels (very serious). I2 = 92%: effects vary with latitude."
    )


def test_summary_of_findings_explains_an_override(project):
    from metasift.workflow.certainty import summary_of_findings

    record_grade(
        project.engine,
        project.protocol,
        analysis="Tuberculosis",
        domain="risk_of_bias",
        reviewer="ana",
        judgement="not serious",
        footnote="The unassessed trials are the large, well-conducted ones.",
    )
    sof = summary_of_findings(project.engine, project.protocol)
    assert sof.rows[0].certainty == "⨁⨁◯◯ LOW"
    assert sof.footnotes == [
        (
            "a",
            "Risk of bias: not rated down (not serious). The unassessed trials are the large, "
            "well-conducted ones.",
        ),
        (
            "b",
            "Inconsistency: rated down two levels (very serious). I2 = 92%; prediction interval "
            "0.15 to 1.55 (effects in both directions); study CIs do not all overlap: I2 >= 75% "
            "and the prediction interval crosses no effect",
        ),
    ]
