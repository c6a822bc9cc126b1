"""Multilevel models and CR2 cluster-robust tests against R (metafor's rma.mv, clubSandwich).

The references in tests/fixtures/multilevel were written by benchmarks/multilevel_reference.R;
these tests need neither R nor its packages.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from metasift.errors import SynthesisError
from metasift.synthesis import parse_random, rma_mv
from metasift.synthesis.models import SynthesisWarning
from metasift.synthesis.table import effect_sizes, moderators, read_csv

FIXTURES = Path(__file__).parents[1] / "fixtures" / "multilevel"
REFERENCE = json.loads((FIXTURES / "reference.json").read_text())
CASES = sorted(name for name in REFERENCE if name != "versions")
RTOL = 1e-6


def _rows(dataset: str) -> list[dict]:
    return read_csv(FIXTURES / f"{dataset}.csv")


def _columns(rows: list[dict]) -> dict[str, list]:
    return {name: [row[name] for row in rows] for name in rows[0]}


def _fit(case: dict):
    rows = _rows(case["dataset"])
    spec = dict(case["escalc"] or {})
    measure = spec.pop("measure", None)
    es = effect_sizes(rows, measure, columns=spec)
    mods = moderators(rows, case["mods"]) if case["mods"] else None
    return rma_mv(es, random=case["random"], data=_columns(rows), method=case["method"], mods=mods)


def _close(actual, expected, rtol: float = RTOL) -> None:
    np.testing.assert_allclose(np.atleast_1d(actual), np.atleast_1d(expected), rtol=rtol, atol=0)


@pytest.fixture(scope="module")
def fits() -> dict:
    return {name: _fit(REFERENCE[name]) for name in CASES}


@pytest.mark.parametrize("name", CASES)
def test_rma_mv_agrees_with_metafor(fits: dict, name: str) -> None:
    ref, fit = REFERENCE[name], fits[name]
    assert fit.k == ref["k"]
    assert fit.coef_names == ref["coef_names"]
    assert fit.s_names == ref["s_names"]
    assert fit.s_nlevels == ref["s_nlevels"]
    for key in ("b", "se", "zval", "pval", "ci_lb", "ci_ub", "sigma2"):
        _close(getattr(fit, key), ref[key])
    _close(fit.vb, ref["vb"])
    for key in ("QE", "QEp", "QM", "QMp", "logLik", "deviance", "AIC", "BIC", "AICc"):
        _close(getattr(fit, key), ref[key])


@pytest.mark.parametrize("name", CASES)
def test_robust_agrees_with_clubsandwich(fits: dict, name: str) -> None:
    ref = REFERENCE[name]
    rob = fits[name].robust(ref["cluster"])
    assert rob.n_clusters == ref["robust"]["n_clusters"]
    for key in ("se", "tval", "df", "pval", "ci_lb", "ci_ub"):
        _close(getattr(rob, key), ref["robust"][key])
    _close(rob.vb, ref["robust"]["vb"])
    # the test of the moderators (HTZ Wald test; the squared t test for an intercept alone)
    _close(
        [rob.QM, *rob.QMdf, rob.QMp],
        [ref["robust"]["QM"], *ref["robust"]["QMdf"], ref["robust"]["QMp"]],
    )


@pytest.mark.parametrize("name", CASES)
def test_summary_prints_as_metafor(fits: dict, name: str) -> None:
    expected = [line.rstrip() for line in REFERENCE[name]["printed"].strip("\n").splitlines()]
    assert fits[name].summary().splitlines() == expected


def test_the_reference_is_the_maximum_not_the_optimisers_stop() -> None:
    # nlminb stops within ~1e-6 of the maximum; the fixtures record where, and the fit
    # agrees with the polished maximum far closer than with that stop.
    ref = REFERENCE["bornmann_ml_type"]
    fit = _fit(ref)
    assert np.max(np.abs(fit.sigma2 / np.array(ref["sigma2"]) - 1)) < 1e-9
    assert np.max(np.abs(np.array(ref["sigma2_nlminb"]) / np.array(ref["sigma2"]) - 1)) > 1e-7


def test_to_dict_has_the_keys_the_cli_promises(fits: dict) -> None:
    fit = fits["konstantopoulos_reml"]
    out = fit.to_dict()
    for key in ("estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "QE", "QEp", "logLik"):
        assert isinstance(out[key], float), key
    assert out["sigma2"] == pytest.approx(REFERENCE["konstantopoulos_reml"]["sigma2"], rel=RTOL)
    robust = fit.robust("district").to_dict()
    assert set(robust) >= {"se", "tval", "df", "pval", "ci_lb", "ci_ub"}
    assert robust["df"] == pytest.approx(REFERENCE["konstantopoulos_reml"]["robust"]["df"][0])
    json.dumps(out)
    json.dumps(robust)
    moderated = fits["assink_reml_deltype"].to_dict()
    assert [c["name"] for c in moderated["coefficients"]] == [
        "intrcpt",
        "deltypegeneral",
        "deltypeovert",
    ]


def test_robust_summary_lists_clusters(fits: dict) -> None:
    text = str(fits["assink_reml"].robust("study"))
    assert "Number of clusters:    17" in text
    assert "Estimates per cluster: 1-22 (mean: 5.88, median: 5)" in text
    assert "var-cov estimator: CR2" in text
    # as metafor prints robust(res, cluster=study, clubSandwich=TRUE) with mods = ~ deltype
    text = str(fits["assink_reml_deltype"].robust("study"))
    assert "Test of Moderators (coefficients 2:3):\nF(df1 = 2, df2 = 0.8) = 47.7593, " in text
    assert "p-val = 0.1480" in text
    assert "deltypegeneral    0.7297  0.0539  13.5481  2.28  0.0032" in text


# ---- formulas --------------------------------------------------------------------------------


def test_parse_random_expands_nesting_in_formula_order() -> None:
    assert [t.name for t in parse_random("~ 1 | district/school")] == [
        "district",
        "district/school",
    ]
    assert [t.name for t in parse_random("~1|a/b/c")] == ["a", "a/b", "a/b/c"]
    assert [t.name for t in parse_random(["~ 1 | study", "~ 1 | esid"])] == ["study", "esid"]
    # a term named twice counts once
    assert [t.name for t in parse_random(["~ 1 | a/b", "~ 1 | a"])] == ["a", "a/b"]


@pytest.mark.parametrize(
    "formula", ["district/school", "~ x | study", "~ 1 | ", "~ 1 | a//b", "~ 1 | a + b", []]
)
def test_parse_random_refuses_what_it_cannot_read(formula) -> None:
    with pytest.raises(SynthesisError, match="~ 1 \\| study"):
        parse_random(formula)


# ---- refusals and messages -------------------------------------------------------------------


def _konstantopoulos():
    rows = _rows("konstantopoulos2011")
    return effect_sizes(rows), _columns(rows)


def test_only_reml_and_ml() -> None:
    es, data = _konstantopoulos()
    with pytest.raises(SynthesisError, match="REML or ML"):
        rma_mv(es, random="~ 1 | district/school", data=data, method="DL")


def test_an_unknown_column_is_named() -> None:
    es, data = _konstantopoulos()
    with pytest.raises(SynthesisError, match=r"'region'.*columns: district"):
        rma_mv(es, random="~ 1 | region/school", data=data)


def test_cluster_must_contain_the_random_effects() -> None:
    es, data = _konstantopoulos()
    fit = rma_mv(es, random="~ 1 | district/school", data=data)
    with pytest.raises(SynthesisError, match="not nested within 'school'"):
        fit.robust("school")
    with pytest.raises(SynthesisError, match="no column 'region'"):
        fit.robust("region")


def test_rows_with_missing_values_are_dropped_and_named() -> None:
    es, data = _konstantopoulos()
    data = {name: list(values) for name, values in data.items()}
    data["school"][4] = None
    es.yi[7] = np.nan
    with pytest.warns(SynthesisWarning, match="rows 5, 8"):
        fit = rma_mv(es, random="~ 1 | district/school", data=data)
    assert fit.k == 54
    # cluster values may be given for every row of the data or for the rows of the fit
    rob = fit.robust(data["district"])
    assert rob.n_clusters == 11
    assert fit.robust([data["district"][r] for r in fit.rows]).se == pytest.approx(rob.se)


def test_t_test_uses_k_minus_p_degrees_of_freedom() -> None:
    es, data = _konstantopoulos()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = rma_mv(es, random="~ 1 | district/school", data=data, test="t")
    assert fit.ddf == 55
    assert "tval  df" in fit.summary()
    z = rma_mv(es, random="~ 1 | district/school", data=data)
    assert fit.ci_ub[0] - fit.ci_lb[0] > z.ci_ub[0] - z.ci_lb[0]


# ---- cross-checks that need no reference ------------------------------------------------------


def test_one_level_per_row_is_the_random_effects_model() -> None:
    from metasift.synthesis import rma

    es, data = _konstantopoulos()
    data = dict(data, row=list(range(len(es.yi))))
    for method in ("REML", "ML"):
        mv = rma_mv(es, random="~ 1 | row", data=data, method=method)
        uni = rma(es, method=method)
        assert mv.sigma2[0] == pytest.approx(uni.tau2, rel=1e-9)
        assert mv.b[0] == pytest.approx(uni.b[0], rel=1e-9)
        assert mv.se[0] == pytest.approx(uni.se[0], rel=1e-9)
        assert mv.QE == pytest.approx(uni.QE, rel=1e-12)


def test_a_full_v_matrix_gives_what_its_diagonal_gives() -> None:
    es, data = _konstantopoulos()
    by_vector = rma_mv(es.yi, es.vi, random="~ 1 | district/school", data=data)
    by_matrix = rma_mv(es.yi, np.diag(es.vi), random="~ 1 | district/school", data=data)
    _close(by_matrix.sigma2, by_vector.sigma2, 1e-12)
    _close(by_matrix.logLik, by_vector.logLik, 1e-12)


def test_a_component_on_the_boundary_is_exactly_zero() -> None:
    # effect sizes that vary within clusters only: no between-cluster variance
    rng = np.random.default_rng(7)
    k = 40
    cluster = np.repeat(np.arange(8), 5)
    yi = 0.3 + rng.normal(0, 0.3, k)
    yi -= np.bincount(cluster, yi)[cluster] / 5 - 0.3  # every cluster has the same mean
    vi = np.full(k, 0.02)
    data = {"cluster": list(cluster), "row": list(range(k))}
    with pytest.warns(SynthesisWarning, match="variance component of cluster is estimated as 0"):
        fit = rma_mv(yi, vi, random="~ 1 | cluster/row", data=data)
    assert fit.sigma2[0] == 0.0
    assert fit.sigma2[1] > 0
    # a zero component contributes nothing: the fit is the model without it
    alone = rma_mv(yi, vi, random="~ 1 | row", data=data)
    _close(fit.logLik, alone.logLik, 1e-12)
    _close(fit.sigma2[1], alone.sigma2[0], 1e-9)


def test_no_heterogeneity_at_all_gives_zero_components() -> None:
    data = {"s": [1, 1, 2, 2, 3, 3, 4, 4], "e": [1, 2] * 4}
    with pytest.warns(SynthesisWarning, match="estimated as 0"):
        fit = rma_mv([0.2] * 8, [0.01] * 8, random="~ 1 | s/e", data=data)
    assert list(fit.sigma2) == [0.0, 0.0]
    assert fit.estimate == pytest.approx(0.2)
    assert fit.se[0] == pytest.approx((0.01 / 8) ** 0.5)
