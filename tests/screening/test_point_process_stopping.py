"""The point-process stopping rules (Sneyd & Stevenson 2021; Stevenson & Bin-Hezam 2023) and
their rate functions, on hand-built screening orders and known curves."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.stats import poisson

from metasift.screening import rates
from metasift.screening.stopping import (
    CountingProcessStop,
    PointProcessStop,
    _checkpoints,
    _poisson_upper,
)


def test_window_points_on_a_short_order():
    labels = np.array([1, 1, 0, 1, 0, 0, 0, 0, 0, 0])
    x, y = rates.window_points(labels, 5)
    assert x.tolist() == [1.5, 3.5, 5.5, 7.5, 9.5]
    assert y.tolist() == [1.0, 0.5, 0.0, 0.0, 0.0]
    # The power law's points sit at each window's first rank.
    assert rates.window_points(labels, 5, "power")[0].tolist() == [1, 3, 5, 7, 9]


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("exponential", (0.4, 0.01)),
        ("power", (0.5, -0.6)),
        ("hyperbolic", (0.4, 0.5, 0.02)),
        ("hyperbolic", (0.3, 1.0, 0.05)),
    ],
)
def test_fit_recovers_a_known_curve_and_its_total(name, params):
    x = np.arange(5.0, 400.0, 10.0)
    y = rates.rate(name, x, params)
    fitted = rates.fit_rate(name, x, y)
    assert fitted == pytest.approx(params, rel=1e-4)
    # The expected count is the integral of the rate, found by quadrature too.
    exact = quad(lambda r: float(rates.rate(name, r, params)), 1, 2000)[0]
    assert rates.expected_count(name, fitted, 1, 2000) == pytest.approx(exact, rel=1e-4)


def test_expected_count_in_closed_form():
    # a/k (e^{-k lo} - e^{-k hi}) for the exponential: 40 (e^{-0.01} - e^{-10}).
    assert rates.expected_count("exponential", (0.4, 0.01), 1, 1000) == pytest.approx(
        40 * (math.exp(-0.01) - math.exp(-10))
    )
    # A power law with k = -1 integrates to a log: 0.5 ln(100).
    assert rates.expected_count("power", (0.5, -1.0), 1, 100) == pytest.approx(0.5 * math.log(100))
    # The harmonic rate a / (1 + k x): a/k ln((1 + k hi) / (1 + k lo)).
    assert rates.expected_count("hyperbolic", (0.3, 1.0, 0.05), 0, 100) == pytest.approx(
        6 * math.log(6)
    )


def test_misfit_is_squared_residuals_over_the_range():
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([0.5, 0.3, 0.1])
    params = (0.5, 0.0)  # a flat rate of 0.5: residuals 0, -0.2, -0.4
    assert rates.misfit("exponential", params, x, y) == pytest.approx((0.04 + 0.16) / 0.4)
    assert rates.misfit("exponential", params, x, np.full(3, 0.2)) == math.inf


def test_poisson_upper_is_the_least_count_at_the_confidence():
    # P(Poisson(2) <= 4) = 0.947 < 0.95 <= P(<= 5) = 0.983.
    assert poisson.cdf(4, 2.0) < 0.95 <= poisson.cdf(5, 2.0)
    assert _poisson_upper(2.0, 0.95, 100) == 5
    assert _poisson_upper(2.0, 0.95, 3) == 3
    assert _poisson_upper(math.nan, 0.95, 100) is None
    assert _poisson_upper(-1.0, 0.95, 100) is None


def test_checkpoints_follow_the_papers_schedules():
    assert _checkpoints(1000, 0.30, 0.05)[:3] == [300, 350, 400]
    assert _checkpoints(1000, 0.30, 0.05)[-1] == 1000
    assert _checkpoints(1000, 0.025, 0.025)[:4] == [25, 50, 75, 100]
    assert len(_checkpoints(1000, 0.025, 0.025)) == 40


def test_the_minimum_of_relevant_records_falls_with_each_check():
    rule = PointProcessStop()
    # 20, then cut by 2.5%, 5%, 7.5%, ... of itself at each check (rounded down):
    # 19, 18, 16, 14, 12, 10, 8 after the checks at 25 ... 175 of 1,000 records.
    assert rule.min_relevant_at(25, 1000) == 20
    assert rule.min_relevant_at(50, 1000) == 19
    assert rule.min_relevant_at(200, 1000) == 8


def _front_loaded(n_relevant: int, span: int, t: int) -> np.ndarray:
    labels = np.zeros(t, dtype=np.int64)
    labels[np.linspace(0, span - 1, n_relevant).astype(int)] = 1
    return labels


def test_point_process_stops_when_the_later_half_found_nothing():
    # 200 of 1,000 screened; every relevant record in the first 100 (half the windows empty).
    assert PointProcessStop().evaluate(_front_loaded(8, 100, 200), 1000).stop
    # One relevant record fewer than the minimum at this point (8): no stop.
    assert not PointProcessStop().evaluate(_front_loaded(7, 100, 200), 1000).stop


def test_point_process_stop_boundary_is_the_poisson_bound():
    """Stop exactly when target x (found + Poisson bound on the records still unfound) is at
    most the records found: the rule stops just under the boundary target, not just over it."""
    labels = np.zeros(400, dtype=np.int64)
    labels[[0, 1, 2, 4, 5, 7, 9, 12, 15, 19, 24, 30, 37, 45, 55, 68, 85, 105, 130, 165, 210]] = 1
    labels[[260, 330]] = 1
    n_total = 1000
    x, y = rates.window_points(labels, 10, "hyperbolic")
    params = rates.fit_rate("hyperbolic", x, y)
    assert params is not None and rates.misfit("hyperbolic", params, x, y) < 0.1
    rest = rates.expected_count("hyperbolic", params, 400, n_total)
    upper = poisson.ppf(0.95, rest)
    found = int(labels.sum())
    boundary = found / (found + upper)
    assert not PointProcessStop(target=boundary + 1e-6).evaluate(labels, n_total).stop
    assert PointProcessStop(target=boundary - 1e-6).evaluate(labels, n_total).stop
    estimate = PointProcessStop().evaluate(labels, n_total)
    assert estimate.estimated_recall == pytest.approx(found / (found + rest))


def test_counting_process_needs_twenty_relevant_in_the_first_30_percent():
    labels = _front_loaded(19, 200, 300)
    rule = CountingProcessStop(rate="exponential")
    assert rule.evaluate(labels, 1000).stop is False
    assert rule.first_stop(labels, 1000) is None
    # Before the first check (30%) it never stops, whatever it has found.
    assert not rule.evaluate(_front_loaded(60, 100, 299), 1000).stop


def test_counting_process_stop_boundary_is_the_poisson_bound_on_the_total():
    labels = _front_loaded(60, 150, 300)
    n_total = 1000
    rule = CountingProcessStop(rate="exponential")
    x, y = rates.window_points(labels, 10)
    params = rates.fit_rate("exponential", x, y)
    total = rates.expected_count("exponential", params, 1, n_total)
    upper = min(poisson.ppf(0.95, total), n_total)
    found = int(labels.sum())
    so_far = round(float(np.sum(rates.rate("exponential", np.arange(1, 301), params))))
    # Stop iff target x so_far <= found and target x upper <= found.
    boundary = min(found / upper, found / so_far)
    assert (
        CountingProcessStop(target=boundary - 1e-6, rate="exponential")
        .evaluate(labels, n_total)
        .stop
    )
    assert (
        not CountingProcessStop(target=boundary + 1e-6, rate="exponential")
        .evaluate(labels, n_total)
        .stop
    )
    assert "no random sample" in rule.describe()


def test_first_stop_is_a_checkpoint_and_simulate_reports_it():
    rng = np.random.default_rng(3)
    n = 2000
    order = (rng.random(n) < 0.4 * np.exp(-np.arange(n) / 120)).astype(np.int64)
    rule = PointProcessStop()
    at = rule.first_stop(order, n)
    assert at in _checkpoints(n, 0.025, 0.025)
    result = rule.simulate(order, n)
    assert result["stop_at"] == at
    assert result["recall"] == pytest.approx(order[:at].sum() / order.sum())
    assert result["records_saved"] == n - at


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 1), min_size=40, max_size=160),
    st.integers(0, 400),
    st.sampled_from(["exponential", "power", "hyperbolic"]),
)
def test_a_rule_that_stops_at_a_target_stops_at_any_lower_one(labels, extra, rate):
    labels = np.array(labels, dtype=np.int64)
    n_total = len(labels) + extra
    for cls in (CountingProcessStop, PointProcessStop):
        high = cls(target=0.95, rate=rate).evaluate(labels, n_total)
        low = cls(target=0.80, rate=rate).evaluate(labels, n_total)
        assert low.stop or not high.stop
        if high.estimated_recall is not None:
            assert 0.0 <= high.estimated_recall <= 1.0
