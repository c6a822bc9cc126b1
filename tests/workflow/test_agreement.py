"""Agreement statistics against published worked examples."""

import numpy as np
import pytest

from metasift.workflow.agreement import (
    cohen_kappa,
    cohen_kappa_table,
    fleiss_kappa,
    fleiss_kappa_counts,
)


def test_cohen_matches_fleiss_paik_example():
    # statpsych::ci.kappa(.05, 31, 12, 4, 58) (Fleiss & Paik 2003): 0.6756757, SE 0.07344761.
    result = cohen_kappa_table(np.array([[31, 12], [4, 58]]))
    assert result.kappa == pytest.approx(0.6756757, abs=5e-8)
    assert result.se == pytest.approx(0.07344761, abs=5e-9)
    assert (result.ci_lb, result.ci_ub) == pytest.approx((0.5317210, 0.8196303), abs=5e-8)


def test_cohen_matches_stata_kapci():
    # Stata kapci on a 1,932-subject table: kappa .3411969207847029, se .0262913719660408.
    result = cohen_kappa_table(np.array([[1395, 118], [261, 158]]))
    assert result.kappa == pytest.approx(0.3411969207847029, rel=1e-12)
    assert result.se == pytest.approx(0.0262913719660408, rel=1e-10)
    assert result.ci_lb == pytest.approx(0.2896667786271169, rel=1e-9)
    assert result.ci_ub == pytest.approx(0.3927270629422889, rel=1e-9)
    assert result.percent_agreement == pytest.approx(0.8038302277432712, rel=1e-12)


def test_cohen_from_decisions():
    a = ["include", "exclude", "exclude", "include", "maybe", "exclude"]
    b = ["include", "exclude", "include", "include", "maybe", "exclude"]
    result = cohen_kappa(a, b)
    assert result.percent_agreement == pytest.approx(5 / 6)
    # po = 5/6; pe = (2*3 + 3*2 + 1*1) / 36 = 13/36.
    assert result.kappa == pytest.approx((5 / 6 - 13 / 36) / (1 - 13 / 36))


def test_fleiss_matches_the_textbook_example():
    # 10 subjects, 14 raters, 5 categories: P-bar 0.378, kappa 0.210.
    counts = np.array(
        [
            [0, 0, 0, 0, 14],
            [0, 2, 6, 4, 2],
            [0, 0, 3, 5, 6],
            [0, 3, 9, 2, 0],
            [2, 2, 8, 1, 1],
            [7, 7, 0, 0, 0],
            [3, 2, 6, 3, 0],
            [2, 5, 3, 2, 2],
            [6, 5, 2, 1, 0],
            [0, 2, 2, 3, 7],
        ]
    )
    result = fleiss_kappa_counts(counts)
    assert result.kappa == pytest.approx(0.20993, abs=5e-6)
    assert result.percent_agreement == pytest.approx(0.378022, abs=5e-7)
    assert result.ci_lb < result.kappa < result.ci_ub
    assert fleiss_kappa_counts(counts) == result  # seeded bootstrap: same interval every run


def test_fleiss_from_decisions_and_uneven_raters():
    ratings = [["include"] * 3, ["exclude"] * 3, ["include", "exclude", "include"]]
    assert fleiss_kappa(ratings).n_raters == 3
    with pytest.raises(ValueError, match="same number"):
        fleiss_kappa([["include", "exclude"], ["include"]])


def test_perfect_agreement_on_one_category_is_undefined_not_a_crash():
    result = cohen_kappa(["exclude"] * 4, ["exclude"] * 4)
    assert result.percent_agreement == 1.0
    assert np.isnan(result.kappa)
