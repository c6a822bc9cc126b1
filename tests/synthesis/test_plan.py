"""The protocol's [analysis] plan: validation with key paths, and a run over a table."""

from __future__ import annotations

import math

import pytest

from metasift.errors import ProtocolError
from metasift.protocol import parse_protocol
from metasift.synthesis.plan import parse_plan, run_plan
from tests.synthesis import metafor_cases as mc

TOML = """
[review]
title = "BCG"

[[analysis.analyses]]
name = "tuberculosis"
measure = "RR"
method = "REML"
knha = true
slab = "author"
where = { outcome = "tb" }
columns = { ai = "events_vaccinated", n1i = "n_vaccinated", ci = "events_control", \
n2i = "n_control" }

[[analysis.analyses]]
name = "tuberculosis, MH"
measure = "OR"
method = "MH"
where = { outcome = "tb" }
columns = { ai = "events_vaccinated", n1i = "n_vaccinated", ci = "events_control", \
n2i = "n_control" }

[[analysis.analyses]]
name = "by latitude"
measure = "RR"
method = "ML"
mods = ["ablat"]
by = "alloc"
where = { outcome = "tb" }
columns = { ai = "events_vaccinated", n1i = "n_vaccinated", ci = "events_control", \
n2i = "n_control" }
forest = "forest.svg"
"""


def _extracted() -> list[dict]:
    """An extraction table: one row per study and outcome (a second outcome to be ignored)."""
    table = []
    for row in mc.table("bcg"):
        base = {"author": row["author"], "ablat": row["ablat"], "alloc": row["alloc"]}
        table.append(
            {
                **base,
                "outcome": "tb",
                "events_vaccinated": row["tpos"],
                "n_vaccinated": str(int(row["tpos"]) + int(row["tneg"])),
                "events_control": row["cpos"],
                "n_control": str(int(row["cpos"]) + int(row["cneg"])),
            }
        )
        table.append(
            {
                **base,
                "outcome": "other",
                "events_vaccinated": "1",
                "n_vaccinated": "10",
                "events_control": "2",
                "n_control": "10",
            }
        )
    return table


def _ref(section: str, name: str) -> dict:
    return next(c for c in mc.reference()[section] if c["name"] == name)["result"]


def test_plan_runs_on_extracted_rows(tmp_path) -> None:
    protocol = parse_protocol(TOML)
    results = run_plan(protocol.analysis, _extracted(), outdir=tmp_path)
    assert [r.analysis.name for r in results] == ["tuberculosis", "tuberculosis, MH", "by latitude"]

    knha = results[0].fit
    ref = _ref("rma", "bcg_RR_REML_knha")
    assert knha.k == 13 and knha.slab[0] == "Aronson"
    assert knha.b[0] == pytest.approx(ref["b"], rel=1e-6)
    assert knha.tau2_ci_ub == pytest.approx(ref["tau2_ci_ub"], rel=1e-6)

    mh = results[1].fit
    ref = _ref("mh", "mh_bcg_OR_TRUE")
    assert mh.b == pytest.approx(ref["b"], rel=1e-6)
    assert mh.MH == pytest.approx(ref["MH"], rel=1e-6)

    ml = results[2]
    ref = _ref("rma", "bcg_RR_ablat_ML_z")
    assert list(ml.fit.b) == pytest.approx(ref["b"], rel=1e-6)
    assert ml.fit.R2 == pytest.approx(ref["R2"], rel=1e-6)
    assert set(ml.subgroups.fits) == {"alternate", "random", "systematic"}
    assert (tmp_path / "forest.svg").exists()
    assert "exp" not in ml.to_dict()  # no single pooled estimate to back-transform
    exp = results[0].to_dict()["exp"]
    assert exp["estimate"] == pytest.approx(math.exp(knha.b[0]), rel=1e-15)
    assert exp["pi_ub"] == pytest.approx(math.exp(knha.pi_ub), rel=1e-15)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"analyses": [{"name": "a", "methd": "REML"}]}, "key 'analysis.analyses.0.methd' is not"),
        ({"analyses": [{"measure": "RR"}]}, "key 'analysis.analyses.0.name' is required"),
        ({"analyses": [{"name": "a", "method": "XX"}]}, "unknown method 'XX'"),
        ({"analyses": [{"name": "a", "columns": {"events": "x"}}]}, "events not metafor input"),
        ({"analyses": [{"name": "a"}, {"name": "a"}]}, "repeated: a"),
    ],
)
def test_plan_errors_name_the_key(section: dict, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        parse_plan(section)


def test_analysis_errors_name_the_analysis() -> None:
    plan = {"analyses": [{"name": "pasi", "measure": "RR", "where": {"outcome": "pasi"}}]}
    with pytest.raises(Exception, match=r"analysis 'pasi': .*no rows match"):
        run_plan(plan, _extracted())
