"""escalc input checks and the SD/mean conversion helpers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from metasift.synthesis import (
    SynthesisError,
    escalc,
    hedges_correction,
    mean_from_median,
    sd_from_ci,
    sd_from_median,
    sd_from_se,
)


def test_table_counts_must_add_up() -> None:
    with pytest.raises(SynthesisError, match=r"n1i is not ai \+ bi: row 2"):
        escalc("OR", ai=[1, 2], bi=[9, 9], n1i=[10, 12], ci=[1, 1], di=[9, 9])


def test_negative_counts_name_the_study() -> None:
    with pytest.raises(SynthesisError, match=r"row 1 \(Smith\)"):
        escalc("RR", ai=[-1, 2], n1i=[10, 10], ci=[1, 1], n2i=[10, 10], slab=["Smith", "Lee"])


def test_unknown_measure_and_missing_inputs_are_explained() -> None:
    with pytest.raises(SynthesisError, match="unknown measure 'XYZ'"):
        escalc("XYZ", yi=[1], vi=[1])
    with pytest.raises(SynthesisError, match=r"needs the inputs \(m1i, sd1i"):
        escalc("SMD", m1i=[1], m2i=[2])
    with pytest.raises(SynthesisError, match="unknown input foo"):
        escalc("MD", foo=[1])


def test_missing_cells_give_missing_effects() -> None:
    es = escalc("OR", ai=[1, None], n1i=[10, 10], ci=[2, 3], n2i=[10, 10])
    assert math.isfinite(es.yi[0]) and math.isnan(es.yi[1]) and math.isnan(es.vi[1])


def test_hedges_correction_is_the_gamma_ratio() -> None:
    m = np.array([2.0, 10.0, 50.0])
    expected = [math.gamma(x / 2) / (math.sqrt(x / 2) * math.gamma((x - 1) / 2)) for x in m]
    assert np.allclose(hedges_correction(m), expected, rtol=1e-13)
    assert math.isnan(hedges_correction(np.array([1.0]))[0])


def test_sd_from_se_and_ci() -> None:
    assert sd_from_se(0.5, 25) == pytest.approx(2.5, rel=1e-15)
    # a 95% t interval of a mean built from a known SD gives that SD back
    n, sd, mean = 20, 3.0, 10.0
    half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    assert sd_from_ci(mean - half, mean + half, n) == pytest.approx(sd, rel=1e-12)
    half_z = stats.norm.ppf(0.975) * sd / math.sqrt(n)
    assert sd_from_ci(mean - half_z, mean + half_z, n, t=False) == pytest.approx(sd, rel=1e-12)


@pytest.mark.parametrize("n", [10, 57, 400])
def test_wan_2014_recovers_sd_from_expected_normal_quantiles(n: int) -> None:
    mu, sigma = 5.0, 2.0
    # Wan et al. place the sample extremes and quartiles at these normal quantiles.
    xi = stats.norm.ppf((n - 0.375) / (n + 0.25))
    eta = stats.norm.ppf((0.75 * n - 0.125) / (n + 0.25))
    a, b = mu - sigma * xi, mu + sigma * xi
    q1, q3 = mu - sigma * eta, mu + sigma * eta
    assert sd_from_median(n, minimum=a, maximum=b) == pytest.approx(sigma, rel=1e-12)
    assert sd_from_median(n, q1=q1, q3=q3) == pytest.approx(sigma, rel=1e-12)
    assert sd_from_median(n, minimum=a, q1=q1, q3=q3, maximum=b) == pytest.approx(sigma, rel=1e-12)


def test_luo_2018_weights() -> None:
    # symmetric summaries: every scenario returns the centre
    for kwargs in (
        {"minimum": 1, "maximum": 9},
        {"q1": 3, "q3": 7},
        {"minimum": 1, "q1": 3, "q3": 7, "maximum": 9},
    ):
        assert mean_from_median(5, 30, **kwargs) == pytest.approx(5, rel=1e-14)
    # skewed: the published weights (Luo et al. 2018, eqs. 7, 11, 15)
    n = 50
    w = 4 / (4 + n**0.75)
    assert mean_from_median(4, n, minimum=1, maximum=20) == pytest.approx(
        w * 10.5 + (1 - w) * 4, rel=1e-14
    )
    w = 0.7 + 0.39 / n
    assert mean_from_median(4, n, q1=2, q3=9) == pytest.approx(w * 5.5 + (1 - w) * 4, rel=1e-14)
    w1, w2 = 2.2 / (2.2 + n**0.75), 0.7 - 0.72 / n**0.55
    assert mean_from_median(4, n, minimum=1, q1=2, q3=9, maximum=20) == pytest.approx(
        w1 * 10.5 + w2 * 5.5 + (1 - w1 - w2) * 4, rel=1e-14
    )
    with pytest.raises(SynthesisError):
        mean_from_median(4, n, q1=2)


def test_table_columns_are_checked_by_name() -> None:
    from metasift.synthesis import effect_sizes

    rows = [{"m1i": "1", "m2i": "2"}]
    with pytest.raises(SynthesisError, match=r"measure SMD needs the columns \(m1i, sd1i"):
        effect_sizes(rows, "SMD")
    rows = [{"yi": "0.1", "vi": "abc"}]
    with pytest.raises(SynthesisError, match="row 1, column 'vi': 'abc' is not a number"):
        effect_sizes(rows)
