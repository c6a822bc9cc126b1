"""The pair model: features from pair evidence, verdicts with vetoes, fitting, and the core's
re-judging path (scored pairs kept, clusters assembled again)."""

import numpy as np

from metasift.dedup.blocking import candidate_pairs
from metasift.dedup.core import assemble, compute_keys, deduplicate, score_candidates
from metasift.dedup.pairmodel import FEATURES, PairModel, fit_pair_model, pair_features
from metasift.dedup.scoring import (
    CONFERENCE,
    DISTINCT,
    DUPLICATE,
    REVIEW,
    PairEvidence,
)
from metasift.dedup.settings import DedupSettings

from .test_real_cases import CASES, _record

AGREE = PairEvidence(DUPLICATE, 16.5, "score", ("title", "authors", "year", "pages"), ())
DOI = PairEvidence(DUPLICATE, 45.0, "doi", ("title", "doi"), ("issue",))
PARTS = PairEvidence(REVIEW, 9.0, "title numbers differ", ("title", "authors"), ("title numbers",))
ERRATUM = PairEvidence(DISTINCT, -20.0, "kind", (), ("kind",))
ABSTRACT = PairEvidence(CONFERENCE, 8.0, CONFERENCE, ("title", "authors"), ("journal",))
WEAK = PairEvidence(DISTINCT, -4.0, "score", ("title",), ("authors", "year"))


def test_features_are_points_and_the_named_fields():
    x = pair_features([AGREE, DOI, ERRATUM])
    assert x.shape == (3, len(FEATURES)) == (3, 32)
    named = [
        {FEATURES[j]: x[i, j] for j in np.flatnonzero(x[i]) if FEATURES[j] != "points"}
        for i in range(3)
    ]
    assert x[:, 0].tolist() == [16.5, 30.0, -20.0]  # points beyond 30 say nothing more
    assert named[0] == {
        "agree: title": 1.0,
        "agree: authors": 1.0,
        "agree: year": 1.0,
        "agree: pages": 1.0,
        "rule: score": 1.0,
    }
    assert named[1] == {
        "agree: title": 1.0,
        "agree: doi": 1.0,
        "differ: issue": 1.0,
        "rule: doi": 1.0,
    }
    assert named[2] == {}  # a kind conflict is a veto, not a feature


def test_verdicts_from_two_thresholds_with_facts_as_vetoes():
    model = PairModel((), 0.0, merge=0.9, queue=0.2)
    scored = [
        (0, 1, AGREE),
        (2, 3, WEAK),
        (4, 5, WEAK),
        (6, 7, PARTS),
        (8, 9, ERRATUM),
        (10, 11, ABSTRACT),
    ]
    judged = model.judge(scored, [0.95, 0.5, 0.1, 0.999, 1.0, 0.0])
    assert [e.verdict for _, _, e in judged] == [
        DUPLICATE,
        REVIEW,
        DISTINCT,
        REVIEW,  # Part I and Part II: never merged, whatever the probability
        DISTINCT,  # an erratum and its article: not even queued
        CONFERENCE,  # the rules' link stands
    ]
    assert judged[0][2].rule == "pair model p=0.950"
    assert judged[5][2] is ABSTRACT


def test_fitted_weights_work_without_a_scaler():
    evidence = [AGREE, DOI, WEAK, ERRATUM] * 5 + [
        PairEvidence(DISTINCT, -9.0, "score", (), ("title",))
    ] * 5
    same = [True, True, False, False] * 5 + [False] * 5
    model = fit_pair_model(evidence, same)
    assert (model.merge, model.queue) == (0.5, 0.5)
    p = model.probability([AGREE, DOI, WEAK, ERRATUM])
    assert np.round(p, 3).tolist() == [0.957, 0.963, 0.028, 0.031]
    # The same as scikit-learn's own scaler and regression in a pipeline.
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    pipeline.fit(pair_features(evidence), same)
    reference = pipeline.predict_proba(pair_features([AGREE, DOI, WEAK, ERRATUM]))[:, 1]
    assert np.abs(p - reference).max() < 1e-9
    assert model.probability([]).shape == (0,)


def test_keeping_distinct_pairs_and_assembling_again_changes_nothing():
    records = [_record(r) for _, rows in CASES.values() for r in rows]
    settings = DedupSettings()
    keys = compute_keys(records)
    pairs, exact = candidate_pairs(keys, settings.window)
    every = score_candidates(keys, pairs, exact, settings, keep_distinct=True)
    kept = score_candidates(keys, pairs, exact, settings)
    assert len(every) > len(kept) == sum(e.verdict != DISTINCT for _, _, e in every)
    again = assemble(records, keys, every, settings, n_candidates=len(pairs))
    once = deduplicate(records)
    assert again.labels() == once.labels()
    assert [(p.a, p.b) for p in again.review] == [(p.a, p.b) for p in once.review]
    assert (again.n_candidates, again.n_scored) == (once.n_candidates, once.n_scored)
