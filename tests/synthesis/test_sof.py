"""Summary of Findings rows: escalc from extracted arms (metadat's dat.normand1999 as the rows
extraction gives, "<arm>.<statistic>") and GRADEpro's cells for continuous and dichotomous
outcomes."""

import json
import math
from pathlib import Path

import pytest

from metasift.synthesis.grade import Certainty, Judgement, propose
from metasift.synthesis.grade import evidence as grade_evidence
from metasift.synthesis.plan import Analysis, arm_columns, run_analysis
from metasift.synthesis.sof import risk_with_intervention, sof_row, summary_of_findings
from metasift.synthesis.table import read_csv

HERE = Path(__file__).parent


def _arm_rows():
    rows = []
    for i, trial in enumerate(read_csv(HERE / "data" / "normand1999.csv"), start=1):
        rows.append(
            {
                "study_id": i,
                "study": trial["source"],
                "outcome": "los",
                "extracted_by": "ana; bob",
                **{
                    f"unit.{s}": trial[f"{c}1i"]
                    for s, c in (("n", "n"), ("mean", "m"), ("sd", "sd"))
                },
                **{
                    f"ward.{s}": trial[f"{c}2i"]
                    for s, c in (("n", "n"), ("mean", "m"), ("sd", "sd"))
                },
            }
        )
    return rows


def test_arm_columns():
    assert arm_columns("RR", ("t", "c")) == {
        "ai": "t.events",
        "n1i": "t.n",
        "ci": "c.events",
        "n2i": "c.n",
    }
    assert arm_columns("SMD", ("t", "c"))["sd2i"] == "c.sd"
    assert arm_columns(None, ("t", "c")) == {"yi": "effect", "sei": "se"}


def test_escalc_from_arms_matches_metafor_and_traces_studies():
    reference = next(
        c["result"]
        for c in json.loads((HERE / "reference" / "metafor.json").read_text())["rma"]
        if c["name"] == "normand_SMD_REML_z"
    )
    analysis = Analysis.build(name="LOS", measure="SMD", arms=["unit", "ward"])
    outcome = run_analysis(_arm_rows(), analysis)
    assert outcome.fit.to_dict()["estimate"] == pytest.approx(reference["b"], rel=1e-8)
    studies = outcome.to_dict()["studies"]
    assert studies[0]["study_id"] == 1 and studies[0]["study"] == "Edinburgh"
    assert studies[0]["extracted_by"] == "ana; bob"
    assert sum(s["weight"] for s in studies) == pytest.approx(100)


def test_continuous_rows():
    md = run_analysis(_arm_rows(), Analysis.build(name="LOS", measure="MD", arms=["unit", "ward"]))
    # metafor: rma(measure="MD", ...) on dat.normand1999 estimates -15.1060
    fitted = md.fit.to_dict()
    assert fitted["estimate"] == pytest.approx(-15.1060, abs=1e-4)
    assert (fitted["ci_lb"], fitted["ci_ub"]) == pytest.approx(
        (fitted["estimate"] - 1.959964 * fitted["se"], fitted["estimate"] + 1.959964 * fitted["se"])
    )
    row = sof_row(md, Certainty("LOS", True, [Judgement("imprecision", -1, "wide")]), ["a"])
    assert row.participants == "1,158 (9 RCTs)"
    assert row.certainty == "⨁⨁⨁◯ MODERATE"
    assert row.relative == "-"
    assert row.comparator_risk == "The mean ranged from 18.00 to 137.00"
    assert row.difference == "MD 15.11 lower (32.64 lower to 2.43 higher)"
    smd = run_analysis(
        _arm_rows(), Analysis.build(name="LOS", measure="SMD", arms=["unit", "ward"])
    )
    assert sof_row(smd, Certainty("LOS", True)).difference == (
        "SMD 0.54 lower SD (1.14 lower to 0.07 higher)"
    )


def test_absolute_effects_from_relative_ones():
    assert risk_with_intervention("RR", 0.2, 0.5) == pytest.approx(0.1)
    # OR 0.5 at 20%: 0.2 * 0.5 / (1 - 0.2 + 0.1) = 0.1111
    assert risk_with_intervention("OR", 0.2, 0.5) == pytest.approx(0.1 / 0.9)
    assert risk_with_intervention("RD", 0.2, -0.05) == pytest.approx(0.15)


def test_footnotes_are_lettered_across_outcomes():
    rows = [{**r, "study_id": int(r["trial"])} for r in read_csv(HERE / "data" / "bcg.csv")]
    columns = {"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"}
    items = []
    for name, measure in (("TB (RR)", "RR"), ("TB (OR)", "OR")):
        outcome = run_analysis(rows, Analysis.build(name=name, measure=measure, columns=columns))
        items.append((outcome, propose(grade_evidence(outcome)), {}))
    table = summary_of_findings(items, title="BCG vaccine compared to no vaccine")
    assert [r.footnotes for r in table.rows] == [["a", "b"], ["c", "d"]]
    assert table.rows[1].relative.startswith("OR 0.47 (")
    assert table.footnotes[0][1].startswith("Risk of bias: rated down one level (serious). ")
    assert math.isclose(len(table.notes), 2)
