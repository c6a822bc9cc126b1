"""The pure part of a living review's update: calibration, threshold, expected count."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from metasift.errors import MetasiftError
from metasift.screening.living import (
    calibration_draws,
    expected_relevant,
    fit_calibration,
    inclusion_threshold,
)


def test_calibration_tracks_the_rate_of_relevant_records():
    rng = np.random.default_rng(3)
    scores = np.r_[rng.normal(2.0, 1.0, 200), rng.normal(-1.0, 1.0, 2000)]
    labels = np.r_[np.ones(200), np.zeros(2000)].astype(int)
    calibration = fit_calibration(scores, labels)
    p = calibration.probabilities(scores)
    assert calibration.slope > 0
    # Calibrated: the probabilities add up to about the number relevant.
    assert p.sum() == pytest.approx(200, rel=0.05)
    assert p[:200].mean() > 0.5 > p[200:].mean()


def test_calibration_needs_both_classes():
    with pytest.raises(MetasiftError, match="both included and excluded"):
        fit_calibration(np.array([0.1, 0.2]), np.array([0, 0]))


def test_threshold_keeps_the_target_share_of_relevant_records():
    relevant = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    assert inclusion_threshold(relevant, 0.95) == 0.05  # 10 of 10 needed
    assert inclusion_threshold(relevant, 0.9) == 0.1  # 9 of 10
    assert inclusion_threshold(relevant, 0.5) == 0.5
    assert (relevant >= inclusion_threshold(relevant, 0.8)).mean() >= 0.8


def test_expected_count_is_the_exact_poisson_binomial_interval():
    p = np.array([0.9, 0.5, 0.2, 0.1, 0.05])
    e = expected_relevant(p, level=0.9)
    assert e.mean == pytest.approx(1.75)
    # The distribution by enumeration of every outcome.
    pmf = np.zeros(len(p) + 1)
    for outcome in itertools.product((0, 1), repeat=len(p)):
        pmf[sum(outcome)] += np.prod([q if o else 1 - q for q, o in zip(p, outcome, strict=True)])
    cdf = np.cumsum(pmf)
    assert e.low == int(np.argmax(cdf >= 0.05)) and e.high == int(np.argmax(cdf >= 0.95))
    assert e.method == "exact, Poisson-binomial"


def test_expected_count_of_many_records_uses_the_normal_approximation():
    e = expected_relevant(np.full(20_001, 0.02))
    assert e.method == "normal approximation, Poisson-binomial"
    assert e.mean == pytest.approx(400.02)
    assert e.low < e.mean < e.high
    # The approximation agrees with the exact interval where both can be computed.
    exact = expected_relevant(np.full(5000, 0.02))
    approx = expected_relevant(np.full(5000, 0.02), draws=np.full((100, 5000), 0.02))
    assert approx.method.startswith("normal") and exact.method.startswith("exact")
    assert abs(exact.low - approx.low) <= 1 and abs(exact.high - approx.high) <= 1


def test_the_calibration_draws_widen_the_interval():
    rng = np.random.default_rng(5)
    scores = np.r_[rng.normal(1.5, 1.0, 15), rng.normal(-1.0, 1.0, 150)]
    labels = np.r_[np.ones(15), np.zeros(150)].astype(int)
    new = rng.normal(0.0, 1.5, 60)
    draws = np.stack([c.probabilities(new) for c in calibration_draws(scores, labels)])
    assert draws.shape == (200, 60) and draws.sum(axis=1).std() > 0.5
    # Curves that disagree widen the interval around the same expectation.
    point = np.full(60, 0.25)
    spread = np.r_[np.full((100, 60), 0.1), np.full((100, 60), 0.4)]
    plain, wide = expected_relevant(point), expected_relevant(point, draws=spread)
    assert wide.mean == plain.mean == pytest.approx(15.0)
    assert wide.low < plain.low and wide.high > plain.high
    assert wide.method == "exact, over 200 calibration draws"
