"""GRADE's rules as numbers in, judgements out (BCG vaccine trials, metafor's dat.bcg)."""

from __future__ import annotations

from pathlib import Path

import pytest

from metasift.errors import SynthesisError
from metasift.synthesis.grade import (
    Evidence,
    Judgement,
    decide,
    evidence,
    level_of,
    optimal_information_size,
    propose,
)
from metasift.synthesis.plan import Analysis, run_analysis
from metasift.synthesis.table import read_csv

DATA = Path(__file__).parent / "data"
COLUMNS = {"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"}


def _rows():
    return [{**r, "study_id": int(r["trial"])} for r in read_csv(DATA / "bcg.csv")]


def _outcome(rows, **options):
    return run_analysis(rows, Analysis.build(name="TB", measure="RR", columns=COLUMNS, **options))


def test_optimal_information_size():
    # 10% comparator risk, 25% RRR, alpha 0.05 two-sided, 80% power: 2002 per arm
    assert optimal_information_size(0.1) == 4004
    assert optimal_information_size(0.2) == 1806  # 903 per arm
    with pytest.raises(SynthesisError):
        optimal_information_size(0)


def test_bcg_proposals():
    rob = {i: ("High" if i % 3 == 0 else "Low") for i in range(1, 14)}
    ev = evidence(_outcome(_rows(), bias=True), rob)
    assert (ev.participants, ev.events) == (357347, 2575)
    assert ev.control_risk == pytest.approx(0.0090809042, abs=1e-9)
    assert ev.i2 == pytest.approx(92.2214, abs=1e-4)
    certainty = propose(ev)
    levels = {j.domain: j.level for j in certainty.judgements}
    assert levels == {
        "risk_of_bias": 0,
        "inconsistency": -2,
        "indirectness": 0,
        "imprecision": 0,
        "publication_bias": 0,
    }
    rules = {j.domain: j.rule for j in certainty.judgements}
    assert rules["risk_of_bias"].startswith("27% of the weight from studies at high risk")
    assert "prediction interval 0.15 to 1.55 (effects in both directions)" in rules["inconsistency"]
    assert "RR 0.49 (95% CI 0.34 to 0.70) excludes no effect" in rules["imprecision"]
    assert "optimal information size of 48010" in rules["imprecision"]
    assert rules["publication_bias"] == (
        "Egger's test p = 0.4218 (k = 13): no funnel asymmetry detected"
    )
    assert certainty.label == "low"


def test_egger_runs_with_ten_studies_even_without_bias_tests():
    ev = evidence(_outcome(_rows()))
    assert ev.egger_p == pytest.approx(0.4217844888552804, rel=1e-9)


def test_small_k_never_judges_funnel_asymmetry():
    ev = evidence(_outcome(_rows()[:6], bias=True))
    judged = propose(ev).judgement("publication_bias")
    assert judged.level == 0 and judged.rule.startswith("6 studies: too few")
    # no risk of bias recorded: all weight unassessed, so serious
    assert propose(ev).judgement("risk_of_bias").level == -1


def test_non_randomised_upgrade_for_large_effect():
    ev = evidence(_outcome(_rows()[:4], method="EE", grade={"randomised": False}))
    certainty = propose(ev)
    assert [j.domain for j in certainty.judgements][-3:] == [
        "large_effect",
        "dose_response",
        "confounding",
    ]
    assert certainty.judgement("large_effect").label == "large"
    assert certainty.judgement("risk_of_bias").level == -1  # unassessed
    # starts low (2), -1 risk of bias, +1 large effect
    assert certainty.label == "low"


def _ev(lb, ub, est=0.0, **kw):
    base = dict(
        outcome="o",
        measure="MD",
        ratio=False,
        estimate=est,
        ci_lb=lb,
        ci_ub=ub,
        yi=[est, est],
        vi=[0.01, 0.01],
        weights=[50, 50],
        rob=["Low", "Low"],
    )
    return Evidence(**{**base, **kw})


def test_imprecision_thresholds_and_ois():
    assert propose(_ev(-3, 3, thresholds=(-2, 2))).judgement("imprecision").level == -2
    assert propose(_ev(-1, 3, 1, thresholds=(-2, 2))).judgement("imprecision").level == -1
    assert propose(_ev(-1, 1)).judgement("imprecision").level == -1
    small = propose(_ev(1, 2, 1.5, participants=120)).judgement("imprecision")
    assert small.level == -1 and "optimal information size of 400" in small.rule
    assert propose(_ev(1, 2, 1.5, participants=420)).judgement("imprecision").level == 0


def test_reviewer_overrides_and_labels():
    proposed = propose(_ev(1, 2, 1.5, participants=420))
    assert proposed.label == "high"
    final = decide(proposed, {"indirectness": Judgement("indirectness", -1, "adults only")})
    assert final.label == "moderate"
    assert level_of("imprecision", "very serious") == -2
    assert level_of("publication_bias", "strongly suspected") == -1
    with pytest.raises(SynthesisError, match="use one of 'not serious'"):
        level_of("inconsistency", "bad")
    with pytest.raises(SynthesisError, match="unknown GRADE domain"):
        level_of("bias", "serious")


def test_indirectness_from_animal_and_in_vitro_weight():
    base = _ev(1, 2, 1.5, participants=420)
    assert propose(base).judgement("indirectness").level == 0
    animal = _ev(1, 2, 1.5, participants=420, designs=["animal in vivo", "RCT"])
    judged = propose(animal).judgement("indirectness")
    assert (judged.level, judged.rule) == (
        -2,
        "50% of the weight from animal or in-vitro studies: half or more",
    )
    some = Evidence(**{**animal.__dict__, "weights": [20, 80]})
    assert propose(some).judgement("indirectness").rule == (
        "20% of the weight from animal or in-vitro studies"
    )
