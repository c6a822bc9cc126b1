"""Edge cases handled as metafor handles them, each with a message that says what happened."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from metasift.synthesis import (
    ConvergenceError,
    SynthesisError,
    SynthesisWarning,
    rma,
    rma_mh,
)
from metasift.synthesis.plan import Analysis, run_analysis
from tests.synthesis import metafor_cases as mc


def test_one_study_reports_its_own_estimate_with_a_z_test() -> None:
    es = mc.effects("bcg_RR")
    with pytest.warns(SynthesisWarning, match="test set to 'z' since k = 1"):
        res = rma(es.yi[:1], es.vi[:1], method="REML", test="knha")
    assert res.k == 1 and res.tau2 == 0 and res.test == "z"
    assert res.b[0] == es.yi[0] and res.se[0] == math.sqrt(es.vi[0])
    assert res.tau2_ci_lb is None  # no interval for tau2 from one study


def test_missing_values_are_dropped_with_the_rows_named() -> None:
    rows = mc.table("yusuf1985_9")
    outcome = run_analysis(rows, Analysis(name="t", measure="OR", method="REML", slab="trial"))
    assert outcome.fit.k == 26
    assert any("rows 24, 25 (Ayerst, ISIS)" in w for w in outcome.warnings)
    assert any("without events in either group" in w and "Waagstein" in w for w in outcome.warnings)


def test_identical_effects_have_no_heterogeneity() -> None:
    es = mc.effects("bcg_RR")
    res = rma(np.full(13, 0.25), es.vi, method="REML")
    assert res.tau2 == 0 and res.QE == pytest.approx(0, abs=1e-20) and res.I2 == 0
    outcome = run_analysis(
        [{"yi": 0.25, "vi": v} for v in es.vi], Analysis(name="t", method="REML", knha=True)
    )
    assert any("identical" in w for w in outcome.warnings)
    assert outcome.fit.se[0] == 0  # metafor: the Knapp-Hartung factor is 0


def test_tau2_at_the_boundary_is_reported() -> None:
    es = mc.effects("hart_IRR")
    outcome = run_analysis(
        [{"yi": y, "vi": v} for y, v in zip(es.yi, es.vi, strict=True)],
        Analysis(name="t", method="REML"),
    )
    assert outcome.fit.tau2 == 0
    assert any("lower bound 0" in w for w in outcome.warnings)


def test_non_positive_variances() -> None:
    with pytest.warns(SynthesisWarning, match=r"non-positive sampling variances in row 2"):
        with pytest.raises(SynthesisError, match="DL estimator needs positive sampling variances"):
            rma([0.1, 0.3, 0.2], [0.01, 0.0, 0.02], method="DL")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SynthesisWarning)
        with pytest.raises(SynthesisError, match="zero sampling variance and tau2 = 0"):
            rma([0.1, 0.3, 0.2], [0.01, 0.0, 0.02], method="EE")
        res = rma([0.1, 0.9, 0.2, 0.5], [0.01, 0.0, 0.02, 0.01], method="REML")
    assert res.tau2 > 0 and math.isnan(res.QE)


def test_non_convergence_says_so_and_suggests_options() -> None:
    es = mc.effects("bcg_RR")
    with pytest.raises(ConvergenceError) as info:
        rma(es, method="REML", control={"maxiter": 2})
    message = str(info.value)
    assert "did not converge in 2 iterations" in message
    assert "maxiter" in message and "stepadj" in message and "DL" in message


def test_too_many_moderators() -> None:
    es = mc.effects("bcg_RR")
    mods = {"study": [f"s{i:02d}" for i in range(13)]}  # 12 dummies + intercept + tau2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SynthesisWarning)
        with pytest.raises(SynthesisError, match="parameters to estimate from 13 studies"):
            rma(es, mods=mods)


def test_all_zero_cells() -> None:
    zeros = [0, 0, 0]
    with pytest.warns(SynthesisWarning, match="MH estimate is undefined"):
        res = rma_mh(ai=zeros, n1i=[10, 20, 30], ci=zeros, n2i=[10, 20, 30], measure="OR")
    assert math.isnan(res.b)
    rows = [{"ai": 0, "n1i": n, "ci": 0, "n2i": n} for n in (10, 20, 30)]
    with pytest.raises(SynthesisError, match="Mantel-Haenszel OR is undefined"):
        run_analysis(rows, Analysis(name="t", measure="OR", method="MH"))
    outcome = run_analysis(rows, Analysis(name="t", measure="RD", method="MH"))
    assert outcome.fit.b == 0
    outcome = run_analysis(rows, Analysis(name="t", measure="OR", method="REML"))
    assert any("no study has events in either group" in w for w in outcome.warnings)


def test_local_maximum_check_and_step_halving_reach_zero() -> None:
    # homogeneous data: Fisher scoring steps below zero are halved until tau2 = 0
    res = rma([0.1, 0.11, 0.09, 0.1], [0.5, 0.4, 0.6, 0.5], method="ML")
    assert res.tau2 == 0 and res.I2 == 0
