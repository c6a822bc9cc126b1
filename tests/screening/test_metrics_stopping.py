"""Metrics and stopping rules on hand-computable screening orders."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import hypergeom

from metasift.screening import metrics
from metasift.screening.stopping import (
    RANKING_BIAS,
    BiasedUrnStop,
    ConsecutiveIrrelevantStop,
    HypergeometricStop,
    KneeStop,
    QuantileStop,
    SafeStop,
    SampledHypergeometricStop,
    TargetStop,
    _least_missed_bound,
    _missed_bound,
    _samples,
    _wallenius_cdf,
    hypergeometric_bound,
)


def test_metrics_on_a_short_order():
    order = [1, 1, 0, 1, 0, 0, 0, 0, 0, 0]
    s = metrics.summary(order)
    assert s["screened_to_95"] == 4 and s["screened_to_100"] == 4
    assert s["wss@95"] == pytest.approx(6 / 10 - 0.05)
    assert s["wss@100"] == pytest.approx(0.6)
    assert s["recall@10%"] == pytest.approx(1 / 3)
    assert s["recall@20%"] == pytest.approx(2 / 3)
    assert s["atd"] == pytest.approx((1 + 2 + 4) / 3 / 10)
    # Prior records count as screened but are not discoveries.
    assert metrics.atd(order, n_prior=1) == pytest.approx((2 + 4) / 2 / 10)


def test_wss95_and_wss100_differ_when_the_last_record_is_late():
    order = [1] * 19 + [0] * 80 + [1]
    assert metrics.screened_to(order, 0.95) == 19  # ceil(0.95 * 20) = 19 relevant
    assert metrics.wss(order, 0.95) == pytest.approx(81 / 100 - 0.05)
    assert metrics.wss(order, 1.0) == pytest.approx(0.0)
    assert metrics.recall_at(order, 0.10) == pytest.approx(10 / 20)
    assert metrics.recall_curve(order)[18] == pytest.approx(0.95)


def test_random_order_has_wss_near_zero():
    rng = np.random.default_rng(0)
    labels = np.zeros(20000, dtype=int)
    labels[:1000] = 1
    values = [metrics.wss(rng.permutation(labels), 0.95) for _ in range(5)]
    assert abs(float(np.mean(values))) < 0.01


def test_consecutive_irrelevant():
    rule = ConsecutiveIrrelevantStop(n=3)
    labels = np.array([1, 0, 0, 1, 0, 0, 0, 0])
    assert rule.first_stop(labels, 100) == 7
    assert not rule.evaluate(labels[:6], 100).stop
    assert rule.evaluate(labels[:7], 100).stop
    sim = rule.simulate(np.array([1, 0, 0, 1, 0, 0, 0, 1]), 8)
    assert sim["stop_at"] == 7 and sim["recall"] == pytest.approx(2 / 3)
    assert sim["records_saved"] == 1


def test_safe_needs_all_three_heuristics():
    rule = SafeStop(min_fraction=0.10, relevant_multiple=2, consecutive=3)
    labels = np.array([1, 1, 1, 1] + [0] * 8)
    # 3 irrelevant in a row at 7, twice the 4 relevant found at 8, 10% of 100 records at 10.
    assert rule.first_stop(labels, 20) == 8
    assert rule.first_stop(labels, 100) == 10
    assert rule.first_stop(labels, 1000) is None


def test_knee_stops_where_the_slope_ratio_reaches_the_threshold():
    # 20 relevant among the first 39 records (every other one), then none.
    labels = np.array(([1, 0] * 20)[:39] + [0] * 400)
    knee, ratio = KneeStop.knee(labels[:150])
    assert knee == 39
    assert ratio == pytest.approx((20 / 39) / (1 / (150 - 39)))
    # Stop when (20/39) * (t - 39) >= 156 - 20, i.e. t >= 304.2.
    assert KneeStop().first_stop(labels, 1000) == 305
    assert KneeStop(min_screened=400).first_stop(labels, 1000) == 400


def _p_zero_of_three(z: int) -> float:
    """P(no relevant among z draws) from an urn of 160 holding 3 relevant records."""
    return math.comb(160 - 3, z) / math.comb(160, z)


def test_hypergeometric_stop_matches_the_hand_computed_test():
    # 40 relevant found first, then irrelevant ones, out of 200 records. H0 "recall < 95%"
    # means at least floor(40 / 0.95 - 40) + 1 = 3 relevant are still unseen; the zeros after
    # the last relevant are the sample, drawn from the 160 records left when it started.
    labels = np.array([1] * 40 + [0] * 160)
    rule = HypergeometricStop(target=0.95, confidence=0.95)
    expected = next(z for z in range(1, 161) if _p_zero_of_three(z) < 0.05)
    assert rule.first_stop(labels, 200) == 40 + expected
    assert rule.p_value(labels[:90], 200) == pytest.approx(_p_zero_of_three(50))
    at = rule.simulate(labels, 200)
    assert at["stop_at"] == 40 + expected and at["recall"] == 1.0
    assert at["recall_lower_bound"] >= 0.95
    before = rule.evaluate(labels[: 40 + expected - 1], 200)
    assert not before.stop and before.recall_lower_bound < 0.95


def test_hypergeometric_bound_is_consistent_with_the_test():
    rng = np.random.default_rng(3)
    labels = (rng.random(400) < np.linspace(0.5, 0.0, 400)).astype(int)
    rule = HypergeometricStop()
    for t in (50, 150, 250, 350):
        estimate = rule.evaluate(labels[:t], 1000)
        assert estimate.stop == (estimate.recall_lower_bound >= 0.95)
        assert 0 <= estimate.recall_lower_bound <= estimate.estimated_recall <= 1
    assert hypergeometric_bound(labels, 400) == (1.0, 1.0, 0.0)


@settings(max_examples=60, deadline=None)
@given(
    screened=st.integers(1, 600),
    unscreened=st.integers(1, 20_000),
    share=st.floats(0.0, 0.5),
    seed=st.integers(0, 2**16),
    confidence=st.sampled_from([0.5, 0.9, 0.95, 0.99]),
)
def test_least_missed_bound_is_the_least_of_every_samples_bound(
    screened, unscreened, share, seed, confidence
):
    # The pruned search must find exactly what a full search of every candidate sample finds.
    labels = (np.random.default_rng(seed).random(screened) < share).astype(np.int64)
    n, k = _samples(labels)
    total = screened + unscreened
    full = int(_missed_bound(n, k, screened, total, confidence).min())
    assert _least_missed_bound(n, k, screened, total, confidence) == full


def test_hypergeometric_target_and_confidence_are_configurable():
    labels = np.array([1] * 40 + [0] * 160)
    strict = HypergeometricStop(target=0.99, confidence=0.99).first_stop(labels, 200)
    loose = HypergeometricStop(target=0.80, confidence=0.90).first_stop(labels, 200)
    default = HypergeometricStop().first_stop(labels, 200)
    assert loose < default < strict


def _p_zero_of(k: int, urn: int, n: int) -> float:
    """P(no relevant among n draws) from an urn of ``urn`` records holding k relevant ones."""
    return math.comb(urn - k, n) / math.comb(urn, n)


def test_sampled_hypergeometric_stop_tests_the_random_sample_only():
    # Ranked screening finds all 40 relevant records first; the ranked test rejects at 141
    # (see above), random sampling starts there: the urn holds the 59 records left, and H0
    # "recall < 95%" means it holds at least floor(40 / 0.95 - 40 + 1) = 3 relevant records.
    labels = np.array([1] * 40 + [0] * 160)
    rule = SampledHypergeometricStop(target=0.95, confidence=0.95, seed=0)
    switch = HypergeometricStop().first_stop(labels, 200)
    assert switch == 141
    expected = next(n for n in range(1, 60) if _p_zero_of(3, 59, n) < 0.05)
    result = rule.simulate(labels, 200)
    assert result == {
        "stop_at": switch + expected,
        "recall": 1.0,
        "records_saved": 59 - expected,
        "switch_at": switch,
    }


def test_sampled_hypergeometric_p_values_follow_the_paper():
    rule = SampledHypergeometricStop(target=0.9)
    sample = np.array([0, 1, 0, 0, 1, 0, 0, 0])
    p = rule.p_values(r_before=30, sample=sample, urn=120)
    for n in range(1, len(sample) + 1):
        k = int(sample[:n].sum())
        big_k = math.floor((30 + k) / 0.9 - 30 + 1)
        assert p[n - 1] == pytest.approx(hypergeom.cdf(k, 120, big_k, n))
    # A relevant record in the sample raises the p-value: the urn holds more than assumed.
    assert p[1] > p[0] and p[4] > p[3]


def _p_zero_biased(m1: int, m2: int, draws: int, odds: float) -> float:
    """P(no relevant record among ``draws``) from an urn of ``m1`` relevant and ``m2``
    irrelevant records, each relevant one ``odds`` times as likely to be drawn (Wallenius):
    with no relevant record ever drawn, every draw takes an irrelevant one with probability
    (irrelevant left) / (irrelevant left + odds * m1)."""
    return math.prod((m2 - i) / (m2 - i + odds * m1) for i in range(draws))


def test_biased_urn_stop_matches_the_hand_computed_test():
    # As above: 40 relevant first out of 200, H0 leaves at least 3 unseen among the 160 records
    # left when the sample of irrelevant records started; here the sample is taken to favour
    # relevant records 1.5 to 1, so fewer irrelevant ones in a row reject H0.
    labels = np.array([1] * 40 + [0] * 160)
    rule = BiasedUrnStop(target=0.95, confidence=0.95, bias=1.5)
    expected = next(z for z in range(1, 161) if _p_zero_biased(3, 157, z, 1.5) < 0.05)
    plain = HypergeometricStop().first_stop(labels, 200)
    assert rule.first_stop(labels, 200) == 40 + expected < plain
    assert rule.p_value(labels[:90], 200) == pytest.approx(_p_zero_biased(3, 157, 50, 1.5))
    at = rule.simulate(labels, 200)
    assert at["stop_at"] == 40 + expected and at["recall_lower_bound"] >= 0.95
    before = rule.evaluate(labels[: 40 + expected - 1], 200)
    assert not before.stop and before.recall_lower_bound < 0.95


def test_biased_urn_without_bias_is_the_plain_test():
    rng = np.random.default_rng(5)
    labels = (rng.random(300) < np.linspace(0.4, 0.0, 300)).astype(np.int64)
    plain, unbiased = HypergeometricStop(), BiasedUrnStop(bias=1.0)
    assert unbiased.first_stop(labels, 600) == plain.first_stop(labels, 600)
    for t in (60, 180, 300):
        assert unbiased.evaluate(labels[:t], 600) == plain.evaluate(labels[:t], 600)
    assert BiasedUrnStop().bias == RANKING_BIAS and BiasedUrnStop().name == "biased-urn"


def test_biased_urn_bound_is_consistent_with_its_test():
    rng = np.random.default_rng(3)
    labels = (rng.random(400) < np.linspace(0.5, 0.0, 400)).astype(int)
    biased, plain = BiasedUrnStop(), HypergeometricStop()
    for t in (50, 150, 250, 350):
        estimate = biased.evaluate(labels[:t], 1000)
        assert estimate.stop == (estimate.recall_lower_bound >= 0.95)
        # The stronger assumption can only raise the bound.
        assert estimate.recall_lower_bound >= plain.evaluate(labels[:t], 1000).recall_lower_bound


@settings(max_examples=200, deadline=None)
@given(
    urn=st.integers(2, 3000),
    share=st.floats(0.0, 1.0),
    drawn=st.floats(0.0, 1.0),
    seen=st.floats(0.0, 1.0),
    bias=st.sampled_from([1.2, 1.5, 2.0, 3.0, 8.0]),
)
def test_the_biased_urns_distribution_and_its_central_bounds(urn, share, drawn, seen, bias):
    # The urn's cdf as scipy's distribution gives it; and what _pvalues settles without it
    # rests on the two central bounds.
    from scipy.stats import nchypergeom_wallenius

    relevant = max(1, round(share * urn))
    n = round(drawn * urn)
    k = round(seen * min(n, relevant))
    biased = nchypergeom_wallenius.cdf(k, urn, relevant, n, bias)
    assert _wallenius_cdf(*(np.array([v]) for v in (k, urn, relevant, n)), bias)[0] == (
        pytest.approx(biased, abs=1e-9)
    )
    copies = math.ceil(bias * relevant)
    assert hypergeom.cdf(k, urn - relevant + copies, copies, n) <= biased + 1e-9
    assert biased <= hypergeom.cdf(k, urn, relevant, n) + 1e-9


def test_biased_urn_decides_as_its_exact_p_value():
    rng = np.random.default_rng(7)
    rule, rejected = BiasedUrnStop(), 0
    for _ in range(40):
        n = int(rng.integers(40, 400))
        total = n + int(rng.integers(1, 20))
        labels = (rng.random(n) < 0.6 * np.exp(-np.arange(n) / (n / 12))).astype(np.int64)
        for t in rng.integers(n // 2, n + 1, size=4):
            exact = rule.p_value(labels[:t], total) < 0.05
            assert rule.rejects(labels[:t], total) == exact
            rejected += exact
    assert 15 < rejected < 145  # both verdicts are compared


def test_every_rule_states_its_guarantee():
    assert "the guarantee rests on this ranking, not on a random draw" in (
        HypergeometricStop().describe()
    )
    assert "at least 1.5 times as likely" in BiasedUrnStop().describe()
    assert "not for every model" in BiasedUrnStop().describe()
    assert "held out" not in BiasedUrnStop(bias=3.0).describe()
    for rule in (KneeStop(), SafeStop(), ConsecutiveIrrelevantStop()):
        assert "without a statistical guarantee" in rule.describe()


def test_recall_in_words():
    from metasift.screening.stopping import recall_in_words

    assert recall_in_words(None, None, False) == (
        "too early to estimate how many relevant records are found; keep screening"
    )
    assert recall_in_words(0.8, 0.65, False) == (
        "about 80% of the relevant records found so far (at least 65%); keep screening"
    )
    assert recall_in_words(0.97, 0.97, True) == (
        "about 97% of the relevant records found so far; the stopping rule says you may stop"
    )


def test_target_method_size_and_cost():
    """59 random relevant records make the target set for 95% recall at 95% confidence
    (0.95**59 < 0.05 < 0.95**58); the random draws count as screened."""
    assert TargetStop().target_size == 59 and TargetStop(0.9, 0.95).target_size == 29
    labels = np.zeros(2000, dtype=np.int64)
    labels[:200] = 1  # a perfect ranking
    result = TargetStop(seed=1).simulate(labels, 2000)
    drawn = np.random.default_rng(1).permutation(2000)
    sample = drawn[: int(np.searchsorted(np.cumsum(labels[drawn]), 59)) + 1]
    ranked = int(max(i for i in sample if labels[i])) + 1  # the last target, in rank order
    assert result["sample"] == len(sample) and labels[sample].sum() == 59
    assert result["stop_at"] == len(set(range(ranked)) | set(sample.tolist()))
    assert result["recall"] == 1.0 and result["records_saved"] == 2000 - result["stop_at"]
    few = np.zeros(2000, dtype=np.int64)
    few[:58] = 1  # fewer relevant records than the target set needs: screen everything
    assert TargetStop(seed=1).simulate(few, 2000)["stop_at"] is None


def test_quantile_rule_needs_59_relevant_in_its_sample():
    q = QuantileStop()
    assert [q.needed(r) for r in (58, 59, 60, 100, 200)] == [0, 59, 60, 99, 196]
    labels = np.zeros(1000, dtype=np.int64)
    labels[::10] = 1  # 100 relevant, spread evenly in rank order
    result = QuantileStop(sample_size=1000, seed=2).simulate(labels, 1000)
    assert result["stop_at"] == 1000 and result["records_saved"] == 0  # the sample is all
    result = QuantileStop(sample_size=700, seed=2).simulate(labels, 1000)
    sample = np.random.default_rng(2).permutation(1000)[:700]
    r = int(labels[sample].sum())
    hits = sorted(i for i in sample if labels[i])
    ranked = hits[q.needed(r) - 1] + 1
    assert result["stop_at"] == len(set(range(ranked)) | set(sample.tolist()))
    found = labels[:ranked].sum() + sum(labels[i] for i in sample if i >= ranked)
    assert result["recall"] == found / 100


@pytest.mark.parametrize(("rule", "orders"), [(HypergeometricStop(), 150), (BiasedUrnStop(), 60)])
def test_first_stop_equals_testing_every_step(rule, orders):
    """first_stop tests each stretch of irrelevant records at its end and bisects; it must
    find the same step as testing after every record screened."""
    rng = np.random.default_rng(1)
    stops = 0
    for _ in range(orders):
        n = int(rng.integers(2, 300))
        relevant = int(rng.integers(0, max(1, n // 4)))
        labels = np.zeros(n, dtype=np.int64)
        labels[:relevant] = 1
        order = labels[np.argsort(-(rng.random(n) + labels * rng.uniform(0, 3)))]
        for screened in (order, order[: int(rng.integers(1, n + 1))]):
            steps = range(1, min(len(screened), n - 1) + 1)
            every = [t for t in steps if rule.rejects(screened[:t], n)]
            assert rule.first_stop(screened, n) == (every[0] if every else None)
            stops += bool(every)
    assert stops > orders * 2 // 3  # most orders do stop: the comparison is not vacuous


def test_the_review_chooses_the_biased_urn_by_name():
    from metasift.screening.session import make_rule
    from metasift.screening.settings import ScreeningSettings

    rule = make_rule(
        ScreeningSettings(stopping_rule="biased-urn", target_recall=0.9, confidence=0.99)
    )
    assert rule == BiasedUrnStop(target=0.9, confidence=0.99)
    assert type(make_rule(ScreeningSettings())) is HypergeometricStop
