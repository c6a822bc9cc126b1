"""The report's sections a journal asks for, from a small review built in the test: the
excluded full texts with reasons and the reference lists (included, excluded, awaiting)."""

from __future__ import annotations

import html
import json
import re

import pytest

from metasift.project import Project
from metasift.records import Record, reference, study_labels
from metasift.records.importing import import_file
from metasift.report.build import build_report
from metasift.report.render import render_html, render_markdown
from metasift.workflow.decisions import FULL_TEXT, TITLE_ABSTRACT, decide
from metasift.workflow.fulltext import (
    full_text_outcome,
    group_reports,
    list_reports,
    mark_not_retrieved,
    report_status,
    set_location,
)
from metasift.workflow.reviewers import add_reviewer

PROTOCOL = """
[review]
title = "Stem cells and eczema"
[criteria]
exclusion_reasons = ["wrong population", "wrong intervention"]
"""

RECORDS = [
    # 1 and 2: two reports of one included study
    {
        "title": "Cells for eczema: a trial",
        "authors": ["Shin, K. O.", "Ha, D. H."],
        "year": 2020,
        "journal": "Cells",
        "volume": "9",
        "issue": "3",
        "pages": "680",
        "doi": "10.3390/cells9030680",
    },
    {
        "title": "Cells for eczema: one year on",
        "authors": ["Shin, K. O."],
        "year": 2021,
        "journal": "Cells",
    },
    # 3: included on its own
    {
        "title": "Exosomes in atopic dermatitis",
        "authors": ["Cho, B. S."],
        "year": 2018,
        "journal": "Stem Cell Res Ther",
        "doi": "10.1186/s13287-018-0939-5",
    },
    # 4 and 5: excluded with reasons
    {
        "title": "Cells for psoriasis",
        "authors": ["Park, H. S."],
        "year": 2020,
        "journal": "Exp Dermatol",
    },
    {"title": "Bone marrow cells for eczema", "authors": ["Park, K. Y."], "year": 2020},
    # 6: not retrieved; 7: no full-text decision yet
    {"title": "A lost abstract", "authors": ["Lee, H. J."], "year": 2012},
    {"title": "Waiting for a verdict", "authors": ["Kim, M."], "year": 2018},
    # 8: excluded at title/abstract: in no list
    {"title": "Unrelated", "authors": ["Hall, M. N."], "year": 2010},
]


@pytest.fixture
def project(tmp_path):
    (tmp_path / "review.toml").write_text(PROTOCOL, encoding="utf-8")
    (tmp_path / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    with Project.open(tmp_path) as proj:
        engine, protocol = proj.engine, proj.protocol
        add_reviewer(engine, "ana", "owner")
        import_file(engine, tmp_path / "records.jsonl")
        for rid in range(1, 9):
            decide(
                engine,
                protocol,
                record_id=rid,
                reviewer="ana",
                decision="include" if rid < 8 else "exclude",
                reason=None if rid < 8 else "wrong population",
                stage=TITLE_ABSTRACT,
            )
        group_reports(engine, protocol, [1, 2], "ana", "Shin 2020")
        for rid in (1, 2, 3, 4, 5, 7):
            set_location(engine, protocol, rid, f"{rid}.pdf", "ana")
        mark_not_retrieved(engine, protocol, 6, "no access", "ana")
        verdicts = {
            1: ("include", None),
            2: ("include", None),
            3: ("include", None),
            4: ("exclude", "wrong population"),
            5: ("exclude", "wrong intervention"),
        }
        for rid, (decision, reason) in verdicts.items():
            decide(
                engine,
                protocol,
                record_id=rid,
                reviewer="ana",
                decision=decision,
                reason=reason,
                stage=FULL_TEXT,
            )
        yield proj


def test_workflow_sorts_the_reports_sought(project):
    reports = list_reports(project.engine, project.protocol)
    assert {r.record_id: report_status(r) for r in reports} == {
        1: "included",
        2: "included",
        3: "included",
        4: "excluded",
        5: "excluded",
        6: "not_retrieved",
        7: "pending",
    }
    outcome = full_text_outcome(reports)
    assert [r.record_id for r in outcome.included] == [1, 2, 3]
    assert [r.record_id for r in outcome.excluded] == [4, 5]
    assert [r.record_id for r in outcome.awaiting] == [6, 7]


def test_excluded_full_texts_one_row_each(project):
    ctx = build_report(project)
    assert ctx.excluded.columns == ["study", "reason for exclusion"]
    assert ctx.excluded.rows == [
        ["Park 2020a", "wrong population"],
        ["Park 2020b", "wrong intervention"],
    ]
    # the same reasons as the PRISMA box
    assert ctx.prisma.excluded_full_text == {"wrong population": 1, "wrong intervention": 1}


def test_reference_lists(project):
    ctx = build_report(project)
    lists = {r.title: r.studies for r in ctx.references}
    assert list(lists) == [
        "Included studies",
        "Excluded studies",
        "Studies awaiting classification",
    ]
    included = lists["Included studies"]
    assert [s.study for s in included] == ["Cho 2018", "Shin 2020"]
    assert [r.plain() for r in included[1].references] == [
        "Shin KO, Ha DH. 2020. Cells for eczema: a trial. Cells 9(3):680. doi:10.3390/cells9030680",
        "Shin KO. 2021. Cells for eczema: one year on. Cells.",
    ]
    assert [s.study for s in lists["Excluded studies"]] == ["Park 2020a", "Park 2020b"]
    awaiting = lists["Studies awaiting classification"]
    assert [(s.study, s.note) for s in awaiting] == [
        ("Kim 2018", "awaiting a full-text decision"),
        ("Lee 2012", "not retrieved: no access"),
    ]
    html = render_html(ctx)
    assert 'id="excluded-studies"' in html and "<h2>References</h2>" in html
    assert '<a href="https://doi.org/10.3390/cells9030680">doi:10.3390/cells9030680</a>' in html
    md = render_markdown(ctx)
    assert "| Park 2020a | wrong population |" in md
    assert (
        "- **Cho 2018**: Cho BS. 2018. Exosomes in atopic dermatitis. Stem Cell Res Ther. "
        "[doi:10.1186/s13287-018-0939-5](https://doi.org/10.1186/s13287-018-0939-5)" in md
    )
    assert "- **Lee 2012** _(not retrieved: no access)_: Lee HJ. 2012. A lost abstract." in md


def test_risk_of_bias_not_assessed_yet_is_said(project):
    ctx = build_report(project)
    assert ctx.risk_of_bias == []
    assert ctx.risk_of_bias_note.startswith(
        "No risk-of-bias judgement is recorded yet for the 2 included studies."
    )
    assert ctx.risk_of_bias_note in render_markdown(ctx)
    assert '<a href="#rob">Risk of bias</a>' in render_html(ctx)


def test_reference_style():
    many = Record(
        title="Why?",
        authors=[f"Author{i}, A. B." for i in range(8)],
        year=2001,
        journal="J Test.",
        issue="2",
    )
    assert reference(many).text == (
        "Author0 AB, Author1 AB, Author2 AB, Author3 AB, Author4 AB, Author5 AB, et al. 2001. "
        "Why? J Test (2)."
    )
    assert reference(Record(title="No one")).plain() == "Anonymous. n.d. No one."
    labels = study_labels(
        {3: Record(authors=["Park, H."], year=2020), 1: Record(authors=["Park, K."], year=2020)}
    )
    assert labels == {1: "Park 2020a", 3: "Park 2020b"}


ANALYSED = """
[review]
title = "Stem cells and psoriasis"
[criteria]
exclusion_reasons = ["wrong population"]
[extraction]
reviewers = 1
[[extraction.fields]]
name = "design"
type = "choice"
choices = ["RCT", "cohort"]
[[extraction.fields]]
name = "country"
[[extraction.outcomes]]
name = "clear"
kind = "dichotomous"
[[analysis.analyses]]
name = "Clearance"
measure = "RR"
method = "REML"
by = "design"
where = { outcome = "clear" }
favours = ["control", "ADSC"]
[analysis.analyses.columns]
ai = "ADSC.events"
n1i = "ADSC.n"
ci = "control.events"
n2i = "control.n"
"""

# study: (design, country, ADSC events/n, control events/n)
TRIALS = {
    "Ames": ("RCT", "Korea", (12, 20), (5, 20)),
    "Bell": ("RCT", "Japan", (18, 30), (9, 31)),
    "Cruz": ("cohort", "Brazil", (7, 15), (6, 16)),
    "Dahl": ("cohort", "Norway", (25, 40), (15, 38)),
}


@pytest.fixture
def analysed(tmp_path):
    from metasift.extraction.rob import TOOLS
    from metasift.extraction.stage import enter_value, record_rob

    (tmp_path / "review.toml").write_text(ANALYSED, encoding="utf-8")
    (tmp_path / "records.jsonl").write_text(
        "".join(
            json.dumps({"title": f"Trial {name}", "authors": [f"{name}, A."], "year": 2019}) + "\n"
            for name in TRIALS
        )
    )
    with Project.open(tmp_path) as proj:
        engine, protocol = proj.engine, proj.protocol
        add_reviewer(engine, "ana", "owner")
        import_file(engine, tmp_path / "records.jsonl")
        for rid, (design, country, adsc, control) in enumerate(TRIALS.values(), start=1):
            decide(engine, protocol, record_id=rid, reviewer="ana", decision="include")
            set_location(engine, protocol, rid, f"{rid}.pdf", "ana")
            decide(
                engine, protocol, record_id=rid, reviewer="ana", decision="include", stage=FULL_TEXT
            )
            enter_value(engine, protocol, (rid, "design", "", "", ""), design, "ana")
            enter_value(engine, protocol, (rid, "country", "", "", ""), country, "ana")
            for arm, (events, n) in (("ADSC", adsc), ("control", control)):
                enter_value(engine, protocol, (rid, "events", arm, "clear", ""), str(events), "ana")
                enter_value(engine, protocol, (rid, "n", arm, "clear", ""), str(n), "ana")
        # RoB 2 for the first three studies: Cruz at high risk in D2
        for rid in (1, 2, 3):
            for domain in TOOLS["rob2"]:
                judgement = "High" if (rid, domain.key) == (3, "D2") else "Low"
                record_rob(
                    engine,
                    study_id=rid,
                    tool="rob2",
                    domain=domain.key,
                    reviewer="ana",
                    judgement=judgement,
                )
        yield proj


def test_characteristics_and_risk_of_bias(analysed):
    ctx = build_report(analysed)
    assert ctx.characteristics.columns == ["study", "design", "country", "arms"]
    assert ctx.characteristics.rows == [
        ["Ames 2019", "RCT", "Korea", ""],
        ["Bell 2019", "RCT", "Japan", ""],
        ["Cruz 2019", "cohort", "Brazil", ""],
        ["Dahl 2019", "cohort", "Norway", ""],
    ]
    assert [f.caption for f in ctx.risk_of_bias] == [
        "RoB 2: traffic-light plot",
        "RoB 2: summary plot",
    ]
    traffic, summary = (_texts(f.svg) for f in ctx.risk_of_bias)
    assert {"Ames 2019", "Bell 2019", "Cruz 2019"} <= set(traffic)
    # robvis' summary: the share of studies per judgement in each domain (1 of 3 high in D2)
    assert "33%" in summary and "67%" in summary and "100%" in summary


def _texts(svg: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r">([^<>]+)</text>", svg)]


def test_forest_plot_in_revman_layout(analysed):
    ctx = build_report(analysed)
    (analysis,) = ctx.analyses
    forest = next(f for f in analysis.figures if f.caption == "Clearance: forest plot")
    texts = _texts(forest.svg)
    for header in ("Study or Subgroup", "ADSC", "control", "Events", "Total", "Weight"):
        assert header in texts, header
    i = texts.index("Ames 2019")
    assert texts[i + 1 : i + 5] == ["12", "20", "5", "20"]
    assert texts.count("Subtotal (95% CI)") == 2 and "Total (95% CI)" in texts
    weights = [float(t[:-1]) for t in texts if re.fullmatch(r"\d+\.\d%", t)]
    # four studies, two subtotals and the total
    assert len(weights) == 7 and weights[-1] == 100.0
    study_weights = [float(texts[texts.index(f"{n} 2019") + 5][:-1]) for n in TRIALS]
    assert sum(study_weights) == pytest.approx(100, abs=0.2)
    assert sum(t.startswith("Heterogeneity: Tau² = ") for t in texts) == 3
    assert sum(t.startswith("Test for overall effect: Z = ") for t in texts) == 3
    assert any(t.startswith("Test for subgroup differences: Chi² = ") for t in texts)
    assert "Favours control" in texts and "Favours ADSC" in texts
    # the dots: six judgements for each of the three judged studies, none for Dahl
    assert "Risk of bias legend (RoB 2)" in texts
    assert sum(t in ("+", "×") for t in texts) == 18 and texts.count("×") == 2
