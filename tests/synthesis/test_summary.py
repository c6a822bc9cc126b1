"""A fitted model prints itself as metafor prints it.

The expected texts are metafor's output for the same fits, rebuilt line by line from the
layout of print.rma.uni / print.rma.mh and the reference statistics (reference/metafor.json):
e.g. the first one is R's ``print(rma(yi, vi, data=escalc("RR", ai=tpos, bi=tneg, ci=cpos,
di=cneg, data=dat.bcg)))``, metafor's best-known example. Trailing blanks, which R's cat()
leaves at the end of table rows, are not part of the comparison.
"""

from __future__ import annotations

import math
import warnings

import pytest

from metasift.synthesis import rma, rma_mh
from metasift.synthesis.summary import fmt_test, fmtp, fmtx, stars
from tests.synthesis import metafor_cases as mc

LEGEND = "Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1"


def _case(name: str):
    case = next(c for c in mc.reference()["rma"] if c["name"] == name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mc._fit(case), case["result"]


def test_random_effects_model_prints_as_metafor() -> None:
    fit, ref = _case("bcg_RR_REML_z")
    expected = f"""\
Random-Effects Model (k = 13; tau^2 estimator: REML)

tau^2 (estimated amount of total heterogeneity): 0.3132 (SE = 0.1664)
tau (square root of estimated tau^2 value):      0.5597
I^2 (total heterogeneity / total variability):   92.22%
H^2 (total variability / sampling variability):  12.86

Test for Heterogeneity:
Q(df = 12) = 152.2330, p-val < .0001

Model Results:

estimate      se     zval    pval    ci.lb    ci.ub
 -0.7145  0.1798  -3.9744  <.0001  -1.0669  -0.3622  ***

---
{LEGEND}"""
    assert fit.summary(exp=False) == expected
    # the numbers shown are metafor's, rounded
    assert f"{ref['tau2']:.4f}" == "0.3132" and f"{ref['zval']:.4f}" == "-3.9744"


def test_str_is_the_summary_with_the_ratio_back_transformed() -> None:
    _, ref = _case("bcg_RR_REML_z")
    fit = rma(mc.effects("bcg_RR"), method="REML")  # the effect sizes know they are log RRs
    text = str(fit)
    assert text == fit.summary()
    # as predict(res, transf=exp) shows it
    tail = text.split("Model Results (RR scale):\n\n", 1)[1].splitlines()
    assert tail[:2] == [
        "estimate   ci.lb   ci.ub   pi.lb   pi.ub",
        "  0.4894  0.3441  0.6962  0.1546  1.5490",
    ]
    assert f"{math.exp(ref['pi_ub']):.4f}" == "1.5490"
    assert tail[-2:] == ["---", LEGEND]


def test_meta_regression_with_knapp_hartung_prints_as_metafor() -> None:
    fit, ref = _case("bcg_RR_ablat_REML_knha")
    expected = f"""\
Mixed-Effects Model (k = 13; tau^2 estimator: REML)

tau^2 (estimated amount of residual heterogeneity):     0.0763 (SE = 0.0590)
tau (square root of estimated tau^2 value):             0.2763
I^2 (residual heterogeneity / unaccounted variability): 68.39%
H^2 (unaccounted variability / sampling variability):   3.16
R^2 (amount of heterogeneity accounted for):            75.63%

Test for Residual Heterogeneity:
QE(df = 11) = 30.7331, p-val = 0.0012

Test of Moderators (coefficient 2):
F(df1 = 1, df2 = 11) = 12.5910, p-val = 0.0046

Model Results:

         estimate      se     tval  df    pval    ci.lb    ci.ub
intrcpt    0.2515  0.2839   0.8857  11  0.3947  -0.3734   0.8764
ablat     -0.0291  0.0082  -3.5484  11  0.0046  -0.0472  -0.0111  **

---
{LEGEND}"""
    assert fit.summary() == expected
    assert f"{ref['R2']:.2f}" == "75.63" and f"{ref['QM']:.4f}" == "12.5910"


def test_equal_effects_model_with_moderators() -> None:
    fit, _ = _case("bcg_RR_ablat+year_FE_z")
    lines = fit.summary().splitlines()
    assert lines[0] == "Fixed-Effects with Moderators Model (k = 13)"
    assert not any(line.startswith("tau") for line in lines)
    assert "Test of Moderators (coefficients 2:3):" in lines
    assert lines[lines.index("Model Results:") + 2].split() == [
        "estimate",
        "se",
        "zval",
        "pval",
        "ci.lb",
        "ci.ub",
    ]


def test_zero_tau2_and_digits() -> None:
    fit, _ = _case("identical_REML_z")
    lines = fit.summary(digits=2).splitlines()
    assert lines[2] == "tau^2 (estimated amount of total heterogeneity): 0 (SE = 0.01)"
    assert lines[3] == "tau (square root of estimated tau^2 value):      0"
    assert "Q(df = 12) = 0.00, p-val = 1.00" in lines


def test_mantel_haenszel_prints_as_metafor() -> None:
    rows = mc.table("bcg")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = rma_mh(*([r[c] for r in rows] for c in ("tpos", "tneg", "cpos", "cneg")))
    assert str(fit) == (
        """\
Equal-Effects Model (k = 13)

I^2 (total heterogeneity / total variability):  92.68%
H^2 (total variability / sampling variability): 13.66

Test for Heterogeneity:
Q(df = 12) = 163.9426, p-val < .0001

Model Results (log scale):

estimate      se      zval    pval    ci.lb    ci.ub
 -0.4734  0.0410  -11.5444  <.0001  -0.5538  -0.3930

Model Results (OR scale):

estimate   ci.lb   ci.ub
  0.6229  0.5748  0.6750

Cochran-Mantel-Haenszel Test:    CMH = 135.6889, df = 1,  p-val < 0.0001
Tarone's Test for Heterogeneity: X^2 = 171.7567, df = 12, p-val < 0.0001"""
    )


def test_every_reference_fit_prints_only_formatted_numbers() -> None:
    import re

    for case in mc.reference()["rma"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            text = mc._fit(case).summary()
        assert not re.search(r"nan|inf|\d\.\d{5,}", text), case["name"]


@pytest.mark.parametrize(
    ("p", "text", "code"),
    [
        (0.0304, "0.0304", "*"),
        (0.05, "0.0500", "*"),
        (0.00009, "<.0001", "***"),
        (0.0001, "0.0001", "***"),
        (0.001, "0.0010", "***"),
        (0.0011, "0.0011", "**"),
        (0.1, "0.1000", "."),
        (0.5, "0.5000", " "),
        (math.nan, "NA", ""),
    ],
)
def test_p_values_and_stars_as_metafor(p: float, text: str, code: str) -> None:
    assert fmtp(p) == text
    assert stars(p) == code


def test_numbers_and_tests() -> None:
    assert fmtx(-0.5663548926337385) == "-0.5664"
    assert fmtx(math.nan) == "NA" and fmtx(math.inf) == "Inf"
    assert fmt_test("Q", 12.34561, 0.0304, df=5) == "Q(df = 5) = 12.3456, p-val = 0.0304"
    assert (
        fmt_test("F", 3.0, 1e-9, df=2, df2=10.5) == "F(df1 = 2, df2 = 10.5) = 3.0000, p-val < .0001"
    )


def test_plots_are_the_fits_own() -> None:
    from matplotlib.figure import Figure

    fit = rma([0.1, 0.3, 0.2, 0.5], [0.01, 0.02, 0.015, 0.03], slab=list("abcd"))
    assert isinstance(fit.forest(), Figure)
    assert isinstance(fit.funnel(contours=True, trimfill=True), Figure)
