"""Mantel-Haenszel and Peto study weights (metafor's weights() of rma.mh and rma.peto) and
the forest plot of an analysis pooled by them, against references made with metafor."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from metasift.synthesis.mh import rma_mh, rma_peto
from metasift.synthesis.plan import Analysis, run_analysis

HERE = Path(__file__).parent
REFERENCE = json.loads((HERE / "reference" / "mh_weights.json").read_text(encoding="utf-8"))


def _bcg() -> list[dict[str, str]]:
    with (HERE / "data" / "bcg.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _tables() -> tuple[list[str], ...]:
    rows = _bcg()
    return tuple([r[c] for r in rows] for c in ("tpos", "tneg", "cpos", "cneg"))


@pytest.mark.parametrize("measure", ["OR", "RR", "RD"])
def test_mh_weights_agree_with_metafor(measure: str) -> None:
    fit = rma_mh(*_tables(), measure=measure)
    np.testing.assert_allclose(fit.table_weights, REFERENCE[measure], rtol=1e-6, atol=1e-10)


def test_peto_weights_agree_with_metafor() -> None:
    fit = rma_peto(*_tables())
    np.testing.assert_allclose(fit.table_weights, REFERENCE["PETO"], rtol=1e-6, atol=1e-10)


def test_a_table_left_out_has_no_weight() -> None:
    ai, bi, ci, di = _tables()
    ai[2] = ""
    with pytest.warns(UserWarning):
        fit = rma_mh(ai, bi, ci, di, measure="RR")
    assert np.isnan(fit.table_weights[2])
    assert np.nansum(fit.table_weights) == pytest.approx(100)


def test_forest_of_an_mh_analysis_shows_mh_weights_and_estimate() -> None:
    rows = [{k: v for k, v in r.items()} for r in _bcg()]
    analysis = Analysis(
        name="TB",
        measure="RR",
        method="MH",
        slab="author",
        columns={"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"},
    )
    outcome = run_analysis(rows, analysis)
    view = outcome.view()
    np.testing.assert_allclose(view.weights, REFERENCE["RR"], rtol=1e-6)
    assert float(view.b[0]) == outcome.fit.b and not view.random
    assert view.QE == outcome.fit.QE
    figure = outcome.forest()
    texts = [t.get_text() for t in figure.findobj(lambda a: hasattr(a, "get_text"))]
    assert any("M-H, Fixed, 95% CI" in t for t in texts)
    # the weight column: each study's M-H weight, as RevMan prints it
    assert f"{REFERENCE['RR'][7]:.1f}%" in texts
    assert not any(t.startswith("Tau²") or "Tau²" in t for t in texts)
