"""What `meta` says: allowed values on bad options, Cochrane's small-k caution, metafor's
rounding of printed statistics."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from metasift.errors import SynthesisError
from metasift.synthesis import escalc, ranktest, regtest, rma
from metasift.synthesis.bias import small_k_warning
from metasift.synthesis.models import SynthesisWarning
from metasift.synthesis.plan import Analysis, run_analysis
from metasift.synthesis.table import read_csv

DATA = Path(__file__).parent / "data"


def test_unknown_measure_says_what_is_allowed():
    with pytest.raises(SynthesisError) as caught:
        Analysis.build(name="meta", measure="HR")
    message = str(caught.value)
    assert message.startswith("unknown measure 'HR': use one of MD, SMD, ROM, NMD, OR, RR, RD")
    assert "or give yi/vi" in message
    assert "pydantic" not in message


def test_unknown_method_lists_methods():
    with pytest.raises(SynthesisError, match="unknown method 'XX': use one of EE, FE, DL"):
        Analysis.build(name="meta", method="XX")


def test_escalc_unknown_measure():
    with pytest.raises(SynthesisError, match="unknown measure 'HR': use one of"):
        escalc("HR", yi=[0.1], vi=[0.01])


def _bcg(k: int):
    rows = read_csv(DATA / "bcg.csv")[:k]
    es = escalc(
        "RR",
        ai=[r["tpos"] for r in rows],
        bi=[r["tneg"] for r in rows],
        ci=[r["cpos"] for r in rows],
        di=[r["cneg"] for r in rows],
    )
    return rma(es, method="REML")


def test_egger_below_ten_studies_warns_and_prints_rounded():
    fit = _bcg(7)
    with pytest.warns(SynthesisWarning, match="at least 10 studies"):
        eg = regtest(fit)
    text = str(eg)
    assert "Test for Funnel Plot Asymmetry: z = -0.7852, p = 0.4324" in text
    assert "Model:     mixed-effects meta-regression model" in text
    assert "Predictor: standard error" in text
    assert "Handbook 13.3.5.4" in text
    assert repr(eg) == text


def test_egger_with_ten_or_more_is_quiet():
    fit = _bcg(13)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SynthesisWarning)
        eg = regtest(fit)
        rk = ranktest(fit.yi, fit.vi)
    assert "Note" not in str(eg)
    assert str(rk).splitlines()[-1].startswith("Kendall's tau = ")
    assert small_k_warning(10) is None
    assert small_k_warning(9).startswith("only 9 studies")


def test_plan_summary_and_warnings_carry_the_caution():
    rows = read_csv(DATA / "bcg.csv")[:6]
    analysis = Analysis.build(
        name="bcg",
        measure="RR",
        bias=True,
        columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"},
    )
    outcome = run_analysis(rows, analysis)
    assert any("only 6 studies" in w for w in outcome.warnings)
    assert "Note: only 6 studies" in outcome.summary()


def test_pvalues_below_cutoff_print_as_metafor():
    from metasift.synthesis.summary import fmtp, fmtx

    assert fmtp(3e-9) == "<.0001"
    assert fmtx(-0.5663548926337385) == "-0.5664"
    assert np.isclose(float(fmtx(-0.5663548926337385)), -0.5664)


def test_meta_command_reads_extracted_arms(tmp_path):
    from typer.testing import CliRunner

    from metasift.cli import app

    rows = read_csv(DATA / "bcg.csv")
    lines = ["study,vaccine.events,vaccine.n,control.events,control.n"]
    for r in rows:
        t, c = int(r["tpos"]), int(r["cpos"])
        lines.append(f"{r['author']},{t},{t + int(r['tneg'])},{c},{c + int(r['cneg'])}")
    path = tmp_path / "arms.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["meta", str(path), "--measure", "RR", "--arms", "vaccine,control", "--slab", "study"]
    )
    assert result.exit_code == 0, result.output
    assert " -0.7145 " in result.output  # metafor's REML estimate on dat.bcg
    bad = CliRunner().invoke(app, ["meta", str(path), "--measure", "RR", "--arms", "vaccine"])
    assert "name two arms" in str(bad.exception)
