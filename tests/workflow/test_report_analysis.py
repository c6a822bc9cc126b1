"""Extraction data -> the protocol's analysis plan -> the report's meta-analysis section.

The nine trials of metadat's dat.normand1999 are entered as extraction values of nine
included studies; the pooled SMD must equal metafor's (reference JSON, REML).
"""

import csv
import json
from pathlib import Path

import pytest

from metasift.extraction.stage import analysis_rows, enter_value
from metasift.project import Project
from metasift.records.importing import import_file
from metasift.report.build import build_report
from metasift.report.render import render_html
from metasift.workflow.decisions import FULL_TEXT, decide
from metasift.workflow.fulltext import set_location
from metasift.workflow.reviewers import add_reviewer

SYNTHESIS = Path(__file__).resolve().parents[1] / "synthesis"
PROTOCOL = """
[review]
title = "Stroke units and length of stay"
[criteria]
exclusion_reasons = ["wrong population"]
[extraction]
reviewers = 1
[[extraction.outcomes]]
name = "los"
kind = "continuous"
[[analysis.analyses]]
name = "Length of stay"
measure = "SMD"
method = "REML"
where = { outcome = "los" }
[analysis.analyses.columns]
m1i = "unit.mean"
sd1i = "unit.sd"
n1i = "unit.n"
m2i = "ward.mean"
sd2i = "ward.sd"
n2i = "ward.n"
"""


@pytest.fixture
def project(tmp_path):
    (tmp_path / "review.toml").write_text(PROTOCOL, encoding="utf-8")
    with (SYNTHESIS / "data" / "normand1999.csv").open() as fh:
        trials = list(csv.DictReader(fh))
    (tmp_path / "trials.jsonl").write_text(
        "".join(json.dumps({"title": f"Trial {t['source']}", "year": 1995}) + "\n" for t in trials)
    )
    with Project.open(tmp_path) as proj:
        add_reviewer(proj.engine, "ana", "owner")
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
            for arm, suffix in (("unit", "1i"), ("ward", "2i")):
                for stat, column in (("n", "n"), ("mean", "m"), ("sd", "sd")):
                    enter_value(
                        proj.engine,
                        proj.protocol,
                        (record_id, stat, arm, "los", ""),
                        trial[f"{column}{suffix}"],
                        "ana",
                    )
        yield proj


def test_analysis_rows_pivot_arms(project):
    rows = analysis_rows(project.engine, project.protocol, list(range(1, 10)))
    assert len(rows) == 9
    assert rows[0]["unit.n"] == 155 and rows[0]["ward.sd"] == 64
    assert rows[0]["outcome"] == "los" and rows[0]["study_id"] == 1


def test_report_pools_extracted_data_like_metafor(project):
    reference = next(
        c["result"]
        for c in json.loads((SYNTHESIS / "reference" / "metafor.json").read_text())["rma"]
        if c["name"] == "normand_SMD_REML_z"
    )
    from metasift.synthesis.plan import parse_plan, run_analysis

    rows = analysis_rows(project.engine, project.protocol, list(range(1, 10)))
    fit = run_analysis(rows, parse_plan(project.protocol.analysis).analyses[0]).fit
    assert fit.to_dict()["estimate"] == pytest.approx(reference["b"], rel=1e-8)
    ctx = build_report(project)
    (analysis,) = ctx.analyses
    summary = dict(analysis.summary.rows)
    assert float(summary["k"]) == 9
    assert float(summary["estimate"]) == pytest.approx(reference["b"], rel=1e-3)
    assert float(summary["tau2"]) == pytest.approx(reference["tau2"], rel=1e-3)
    assert [f.caption for f in analysis.figures] == [
        "Length of stay: forest plot",
        "Length of stay: funnel plot (only 9 studies: Cochrane advises funnel plots and tests "
        "for funnel plot asymmetry only with at least 10 studies, as with fewer the power is "
        "too low to distinguish chance from real asymmetry (Handbook 13.3.5.4).)",
    ]
    html = render_html(ctx)
    assert "Length of stay (REML)" in html and html.count("<svg") >= 4
