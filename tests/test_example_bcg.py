"""The worked example with real outcome data (examples/bcg-vaccine, metafor's dat.bcg) from
protocol to Summary of Findings, its numbers against metafor's (data/metafor_reference.json)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from metasift.extraction.stage import analysis_rows, rob_table
from metasift.extraction.store import get_values
from metasift.project import Project
from metasift.run import run_review
from metasift.synthesis.plan import run_plan
from metasift.workflow.certainty import grade_review, summary_of_findings
from metasift.workflow.state import extraction_studies

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "bcg-vaccine"
REFERENCE = json.loads((EXAMPLE / "data" / "metafor_reference.json").read_text(encoding="utf-8"))
REVIEWER = "simulated reviewer"


@pytest.fixture(scope="module")
def bcg_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("bcg") / "bcg-vaccine"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("report", "*.sqlite*"))
    with Project.open(root) as project:
        result = run_review(project, offline=True)
        studies = extraction_studies(project.engine, project.protocol)
        graded = {g.name: g for g in grade_review(project.engine, project.protocol)}
        sof = summary_of_findings(project.engine, project.protocol)
        values = get_values(project.engine, studies)
        rob = rob_table(project.engine, studies, "rob2")
        rows = analysis_rows(project.engine, project.protocol, studies)
        outcomes = {o.analysis.name: o for o in run_plan(project.protocol.analysis, rows)}
    return result, studies, graded, sof, values, rob, outcomes


def _close(actual: float, expected: float) -> None:
    assert actual == pytest.approx(expected, rel=1e-6, abs=1e-10)


def test_random_effects_estimate_equals_metafor(bcg_run):
    _, _, graded, _, _, _, _ = bcg_run
    fit = graded["Tuberculosis cases"].outcome.fit
    ref = REFERENCE["rma_reml"]
    assert fit.k == 13 and fit.method == "REML"
    for key in ("estimate", "se", "tau2", "I2", "QE", "ci_lb", "ci_ub", "zval", "pval"):
        actual = fit.estimate if key == "estimate" else getattr(fit, key)
        _close(float(np.ravel(actual)[0]), ref[key])
    np.testing.assert_allclose(fit.weights, ref["weights"], rtol=1e-6)


def test_mantel_haenszel_estimate_and_weights_equal_metafor(bcg_run):
    _, _, graded, _, _, _, outcomes = bcg_run
    outcome = outcomes["Tuberculosis cases (Mantel-Haenszel)"]
    assert "Tuberculosis cases (Mantel-Haenszel)" not in graded  # a sensitivity analysis
    ref = REFERENCE["rma_mh"]
    for key in ("estimate", "se", "ci_lb", "ci_ub", "QE", "QEp", "zval", "I2"):
        _close(getattr(outcome.fit, key), ref[key])
    np.testing.assert_allclose(outcome.view().weights, ref["weights"], rtol=1e-6)
    assert [s["weight"] for s in outcome.studies()] == pytest.approx(ref["weights"], rel=1e-6)


def test_every_pooled_number_traces_to_a_record_and_its_extractor(bcg_run):
    _, studies, graded, _, values, _, _ = bcg_run
    assert len(studies) == 13
    pooled = graded["Tuberculosis cases"].outcome.studies()
    assert sorted(s["study_id"] for s in pooled) == sorted(studies)
    assert {s["extracted_by"] for s in pooled} == {REVIEWER}
    arms = [v for v in values if v.outcome == "tb_cases"]
    assert len(arms) == 13 * 2 * 2  # two arms, events and n each
    assert {v.source_detail["file"] for v in values} == {"data/extraction.csv"}
    aronson = graded["Tuberculosis cases"].outcome.rows[0]
    assert (aronson["BCG.events"], aronson["BCG.n"]) == (4, 123)
    assert (aronson["control.events"], aronson["control.n"]) == (11, 139)


def test_randomisation_domain_follows_the_allocation_column(bcg_run):
    _, _, _, _, values, rob, _ = bcg_run
    allocation = {v.study_id: v.value for v in values if v.field == "allocation"}
    assert len(rob) == 13
    for row in rob:
        expected = "Some concerns" if allocation[row.study_id] == "random" else "High"
        assert row.domains == {"D1": expected}
        # RoB 2's overall is never better than its worst domain; otherwise still open
        assert row.overall == ("High" if expected == "High" else None)


def test_grade_confirmed_by_the_simulated_reviewer_with_the_rules(bcg_run):
    result, _, graded, sof, _, _, _ = bcg_run
    for item in graded.values():
        assert not item.pending
        for judgement in item.proposed.judgements:
            decided = item.decisions[judgement.domain]
            assert decided.reviewer == REVIEWER and not decided.overridden
            assert decided.footnote == judgement.rule
    assert list(graded) == ["Tuberculosis cases"] and len(sof.rows) == 1
    stages = [(s.stage, s.status) for s in result.stages]
    for stage in ("extraction", "risk of bias", "certainty", "report"):
        assert (stage, "done") in stages


def test_report_shows_the_chain(bcg_run):
    result, _, _, _, _, _, _ = bcg_run
    md = (result.report.parent / "report.md").read_text(encoding="utf-8")
    for part in (
        "simulated",
        "Characteristics of included studies",
        "Summary of findings",
        "Certainty of the evidence (GRADE)",
        "forest plot",
        "RoB 2",
        "Aronson 1948",
    ):
        assert part in md, part
