"""`metasift grade` and `metasift sof` on the BCG trials, and the report's Summary of Findings."""

import json

import pytest
from typer.testing import CliRunner

from metasift.cli import app
from metasift.report.build import build_report
from metasift.report.render import render_html, render_markdown
from tests.workflow.test_certainty import bcg_project


@pytest.fixture
def root(tmp_path):
    bcg_project(tmp_path).close()
    return tmp_path


def _run(root, *args):
    return CliRunner().invoke(app, [*args, "--project", str(root)])


def test_grade_judge_and_list(root):
    done = _run(root, "grade", "judge", "Tuberculosis", "imprecision", "--reviewer", "ana")
    assert done.exit_code == 0, done.output
    assert "imprecision: not serious (confirms the proposal)" in done.output
    refused = _run(
        root,
        "grade",
        "judge",
        "Tuberculosis",
        "risk_of_bias",
        "--judgement",
        "not serious",
        "--reviewer",
        "ana",
    )
    assert "say why with --footnote" in str(refused.exception)
    listed = _run(root, "grade", "list", "--json")
    (item,) = json.loads(listed.stdout)
    assert item["certainty"] == "very low"
    assert item["pending"] == ["risk_of_bias", "inconsistency", "indirectness", "publication_bias"]
    assert item["domains"][3]["reviewer"] == "ana"


def test_sof_json_markdown_docx(root, tmp_path):
    out = _run(root, "sof", "--json")
    assert out.exit_code == 0, out.output
    table = json.loads(out.stdout)
    assert table["headers"][4:6] == ["Risk with no vaccine", "Risk difference with BCG vaccine"]
    (row,) = table["rows"]
    assert row["relative"] == "RR 0.49 (0.34 to 0.70)"
    assert row["difference"] == "5 fewer per 1,000 (from 6 fewer to 3 fewer)"
    assert row["certainty"] == "⨁◯◯◯ VERY LOW"
    md = _run(root, "sof", "--markdown").stdout
    assert "| Tuberculosis (confirmed cases) (follow-up: 3 to 20 years) | 357,347 (13 RCTs) |" in md
    docx = pytest.importorskip("docx")
    path = tmp_path / "sof.docx"
    assert _run(root, "sof", "--docx", str(path)).exit_code == 0
    document = docx.Document(str(path))
    (grid,) = document.tables
    assert grid.rows[0].cells[4].text == "Anticipated absolute effects* (95% CI)"
    assert grid.rows[1].cells[5].text == "Risk difference with BCG vaccine"
    assert grid.rows[2].cells[3].text == "RR 0.49 (0.34 to 0.70)"
    assert grid.rows[2].cells[1].text == "357,347 (13 RCTs)"


def test_report_has_summary_of_findings(root):
    from metasift.project import Project

    with Project.open(root) as proj:
        ctx = build_report(proj)
    assert ctx.summary_of_findings is not None
    (profile,) = ctx.certainty
    assert profile.title.startswith("Tuberculosis: certainty very low (starts high")
    html = render_html(ctx)
    assert 'id="summary-of-findings"' in html
    assert "Anticipated absolute effects<sup>*</sup> (95% CI)" in html
    assert "5 fewer per 1,000 (from 6 fewer to 3 fewer)" in html
    md = render_markdown(ctx)
    assert "## Summary of findings" in md
    assert "RR 0.49 (0.34 to 0.70)" in md
