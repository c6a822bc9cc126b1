"""The report's sections a journal asks for, from a small review built in the test: the
excluded full texts with reasons and the reference lists (included, excluded, awaiting)."""

from __future__ import annotations

import json

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
