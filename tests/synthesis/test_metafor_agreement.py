"""Every statistic of the metafor reference (benchmarks/metafor_reference.R) within 1e-6
relative (1e-10 absolute near zero)."""

from __future__ import annotations

import pytest

from tests.synthesis import metafor_cases as mc

CASES = [(section, case) for section in mc.SECTIONS for case in mc.reference()[section]]


@pytest.mark.parametrize(("section", "case"), CASES, ids=[f"{s}:{c['name']}" for s, c in CASES])
def test_agrees_with_metafor(section: str, case: dict) -> None:
    rows = mc.compare(section, case)
    assert rows, "nothing compared"
    bad = [(path, exp, act) for path, exp, act, diff in rows if diff > mc.RTOL]
    assert not bad, f"{len(bad)} of {len(rows)} statistics differ: {bad[:5]}"


def test_reference_covers_the_issue() -> None:
    ref = mc.reference()
    measures = {case["measure"] for case in ref["escalc"]}
    assert measures >= {
        "MD",
        "SMD",
        "ROM",
        "OR",
        "RR",
        "RD",
        "PETO",
        "COR",
        "ZCOR",
        "PR",
        "PLO",
        "PAS",
        "IRR",
        "GEN",
    }
    fits = {(case["method"], case["test"]) for case in ref["rma"]}
    for method in ("EE", "FE", "DL", "REML", "ML", "PM", "EB", "HE", "SJ", "HS"):
        assert (method, "z") in fits and (method, "knha") in fits
    assert any(case["mods"] for case in ref["rma"])
    assert {case["estimator"] for case in ref["trimfill"]} == {"L0", "R0"}
    assert {case["measure"] for case in ref["mh"]} == {"OR", "RR", "RD", "IRR", "PETO"}
