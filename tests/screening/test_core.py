"""Features, BM25, queries, the learner and simulation, on real records (synergy_mini)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import scipy.sparse as sp

from metasift.errors import MetasiftError
from metasift.records.formats import read_records
from metasift.screening import metrics
from metasift.screening.bm25 import bm25_scores
from metasift.screening.features import record_texts
from metasift.screening.learner import Learner, RetrainProcess, next_retrain
from metasift.screening.models import MODELS, ScreeningModel, get_model
from metasift.screening.query import MixedQuery, top_k
from metasift.screening.simulate import Prior, choose_priors, simulate
from tests.conftest import FIXTURES

MINI = FIXTURES / "synergy_mini"


@pytest.fixture(scope="module")
def mini():
    records = read_records(MINI)
    return record_texts(records), np.array([r.label for r in records])


def test_bm25_matches_the_formula():
    texts = ["stem cells heal skin", "skin skin disease", "unrelated random tokens"]
    scores = bm25_scores(texts, "skin cells", k1=1.2, b=0.75)

    # Document lengths after stop-word removal: 4, 3, 3; average 10/3.
    def term(tf, dl, df):
        idf = math.log1p((3 - df + 0.5) / (df + 0.5))
        return idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * dl / (10 / 3)))

    assert scores[0] == pytest.approx(term(1, 4, 2) + term(1, 4, 1))
    assert scores[1] == pytest.approx(term(2, 3, 2))
    assert scores[2] == 0.0


def test_top_k_is_exact_and_breaks_ties_by_position():
    keys = np.array([3.0, 1.0, 2.0, 1.0, 0.5, 1.0])
    assert top_k(keys, 3).tolist() == [4, 1, 3]
    assert top_k(keys, 6).tolist() == [4, 1, 3, 5, 2, 0]


def test_mixed_query_explores_reproducibly():
    scores = np.linspace(1, 0, 200)
    query = MixedQuery(exploration=0.2)
    a = query.order(scores, 50, np.random.default_rng(5))
    b = query.order(scores, 50, np.random.default_rng(5))
    assert a.tolist() == b.tolist() and len(set(a.tolist())) == 50
    # Mostly the best records, with about one in five drawn at random from the rest.
    assert a.tolist() != list(range(50))
    assert 30 <= sum(int(i) < 50 for i in a) < 50


def test_priors_are_drawn_by_seed(mini):
    _, labels = mini
    priors = choose_priors(labels, Prior(2, 3), seed=4)
    assert len(priors) == 5 and labels[priors].tolist() == [1, 1, 0, 0, 0]
    assert priors == choose_priors(labels, Prior(2, 3), seed=4)
    assert priors != choose_priors(labels, Prior(2, 3), seed=5)


def test_simulation_is_deterministic_and_complete(mini):
    texts, labels = mini
    a = simulate(texts, labels, model="default", seed=3)
    b = simulate(texts, labels, model="default", seed=3)
    assert a.order == b.order and a.labels == b.labels
    assert sorted(a.order) == list(range(40))
    assert a.order[:2] == choose_priors(labels, Prior(1, 1), 3)
    assert a.labels == labels[a.order].tolist()
    assert a.metrics == metrics.summary(a.labels, n_prior=2)
    assert a.metrics["wss@95"] > 0  # better than random on this real sample
    assert set(a.stopping) == {
        "hypergeometric",
        "biased-urn",
        "hypergeometric-sampled",
        "knee",
        "safe",
        "consecutive",
    }
    other = simulate(texts, labels, model="default", seed=4)
    assert other.order != a.order


def test_background_retraining_gives_the_same_order(mini):
    texts, labels = mini
    model = get_model("default")
    X = model.make_features().fit_transform(texts)
    process = RetrainProcess(X)
    orders = []
    for background, where in ((False, None), (True, None), (True, process)):
        learner = Learner(X, model, seed=1, background=background, process=where)
        for index in (0, 1):
            learner.teach(index, int(labels[index]))
        while (p := learner.propose()) is not None:
            learner.teach(p.index, int(labels[p.index]))
        learner.close()
        orders.append(learner.history)
    process.close()
    assert orders[0] == orders[1] == orders[2]
    assert len(orders[0]) == 40
    with pytest.raises(ValueError, match="other features"):
        Learner(X.copy(), model, process=process)


@pytest.mark.parametrize("lag", [0, 1])
def test_rankings_follow_the_growing_batch_schedule(mini, lag):
    texts, labels = mini
    model = dataclasses.replace(get_model("default"), lag=lag)
    X = model.make_features().fit_transform(texts)
    learner = Learner(X, model, seed=0)
    first, second = choose_priors(labels, Prior(1, 1), 0)
    learner.teach(first, 1, retrain=False)
    learner.teach(second, 0)
    seen = []
    while (p := learner.propose()) is not None:
        seen.append((learner.n_labelled, p.ranking.index, p.ranking.n_labelled))
        learner.teach(p.index, int(labels[p.index]))
    # Below 1/growth (20) labels the model retrains after every label; a ranking trained on n
    # labels proposes from decision n + lag on.
    assert [r for _, r, _ in seen[:5]] == [1 - lag + i for i in range(5)]
    assert all(n_labelled - trained == lag for n_labelled, _, trained in seen[lag:15])
    # From 20 labels on, it retrains each time the labelled set grew by 5% (at least 1).
    trained_at = sorted({trained for _, _, trained in seen[lag:]})
    # 40 records: below 40 labels, 5% growth is less than one label, so every label retrains.
    assert trained_at == list(range(2, trained_at[-1] + 1)) and trained_at[-1] >= 30


def test_a_relevant_label_retrains_at_once_when_the_model_says_so(mini):
    texts, labels = mini
    # Growth 100%: the schedule alone retrains at 2, 4, 8, 16 and 32 labels.
    model = dataclasses.replace(get_model("default"), retrain_growth=1.0, lag=0)
    X = model.make_features().fit_transform(texts)
    trained_at = {}
    for on_relevant in (False, True):
        learner = Learner(X, dataclasses.replace(model, retrain_on_relevant=on_relevant), seed=0)
        first, second = choose_priors(labels, Prior(1, 1), 0)
        learner.teach(first, 1, retrain=False)
        learner.teach(second, 0)
        counts = set()
        while (p := learner.propose()) is not None:
            counts.add(p.ranking.n_labelled)
            learner.teach(p.index, int(labels[p.index]))
        found = [i + 1 for i, r in enumerate(learner.history) if labels[r]]
        trained_at[on_relevant] = (counts, found)
    schedule, _ = trained_at[False]
    assert schedule == {2, 4, 8, 16, 32}
    counts, relevant_at = trained_at[True]
    # A ranking trained right after each relevant label proposes the next record (after the
    # priors; a ranking after the last label proposes nothing), besides the schedule's.
    assert {n for n in relevant_at if 2 < n < len(labels)} <= counts
    assert len(counts) > len(schedule)


def test_retrain_schedule_grows_by_five_percent():
    assert [next_retrain(n, 0.05) for n in (1, 19, 20, 39, 40, 100, 1000)] == [
        2,
        20,
        21,
        40,
        42,
        105,
        1050,
    ]
    assert next_retrain(500, 0.0) == 501


def test_undo_restores_the_state_before_the_decision(mini):
    texts, labels = mini
    model = get_model("default")
    X = model.make_features().fit_transform(texts)
    learner = Learner(X, model, seed=2)
    for _ in range(6):
        p = learner.propose()
        learner.teach(p.index, int(labels[p.index]))
    before = learner.propose().index
    learner.teach(before, int(labels[before]))
    assert learner.undo() == before
    assert learner.labels[before] == -1 and learner.n_labelled == 6
    assert learner.propose() is not None


def test_criteria_prior_ranks_by_bm25(mini):
    texts, labels = mini
    criteria = (MINI / "criteria.txt").read_text()
    result = simulate(texts, labels, seed=0, prior=Prior(criteria=True), criteria_text=criteria)
    assert result.n_prior == 0
    assert result.order[0] == int(np.argmax(bm25_scores(texts, criteria)))


def test_every_named_model_runs(mini):
    texts, labels = mini
    for name, model in MODELS.items():
        if any(m.features == "embeddings" for m in (model, *model.members)):
            continue  # needs the embed extra (tests/screening/test_embeddings.py)
        result = simulate(texts, labels, model=name, seed=0, rules=[])
        assert sorted(result.order) == list(range(40)), name


def test_record_text_adds_headings_and_authors_as_one_token_each():
    from metasift.records.model import Record
    from metasift.screening.features import prose, record_fields, record_text

    record = Record(
        title="Bisoprolol in heart failure",
        abstract=" A trial. ",
        mesh_terms=["Adrenergic beta-Antagonists", "Aged, 80 and over"],
        authors=["Krumholz, H. M.", "Drozd-Sokołowska, J.", "ALLHAT Officers", "Mancia, ", "?"],
    )
    assert record_text(record) == "Bisoprolol in heart failure. A trial."
    assert record_text(record, ("title", "mesh")) == (
        "Bisoprolol in heart failure mesh_adrenergic_beta_antagonists mesh_aged_80_and_over"
    )
    assert record_text(record, ("title", "authors")) == (
        "Bisoprolol in heart failure author_krumholz_hm author_drozd_sokołowska_j "
        "author_allhat_officers author_mancia"
    )
    assert record_text(Record(title="T"), ("title", "authors")) == "T"
    everything = record_text(record, ("title", "abstract", "mesh", "authors"))
    assert prose(everything) == record_text(record) == prose(record_text(record))
    with pytest.raises(MetasiftError, match="unknown text field"):
        record_texts([record], ("title", "keywords"))
    # What a reader loading only a model's fields (record shards) must load.
    assert record_fields(("title", "abstract", "mesh", "authors")) == (
        "title", "abstract", "mesh_terms", "authors"
    )  # fmt: skip
    with pytest.raises(MetasiftError, match="unknown text field"):
        record_fields(("keywords",))


def test_a_prose_only_character_member_reads_the_title_and_abstract_alone():
    from metasift.screening.features import char_tfidf

    records = read_records(FIXTURES / "simulate_reference" / "donners_2021_fields.csv")
    every_field = record_texts(records, ("title", "abstract", "mesh", "authors"))
    prose_only = char_tfidf(prose_only=True).fit_transform(every_field)
    plain = char_tfidf().fit_transform(record_texts(records))
    assert (prose_only != plain).nnz == 0
    assert char_tfidf().fit_transform(every_field).shape[1] > plain.shape[1]


def test_stemmed_words_join_inflections_and_drop_stop_words_before_stemming():
    import pickle

    from metasift.screening.features import StemmedWords

    text = "Pharmacokinetics: the pharmacokinetic STUDIES studied; only a 2nd study"
    assert StemmedWords()(text) == [
        "pharmacokinet", "the", "pharmacokinet", "studi", "studi", "onli", "2nd", "studi"
    ]  # fmt: skip
    # "only" is a stop word; its stem "onli" is not, so the list is applied to the words.
    assert StemmedWords("english")(text) == [
        "pharmacokinet", "pharmacokinet", "studi", "studi", "2nd", "studi"
    ]  # fmt: skip
    assert StemmedWords(["studies", "the"])("The studies studied") == ["studi"]
    tokenizer = StemmedWords("english")
    tokenizer("warm up the stemmer")
    again = pickle.loads(pickle.dumps(tokenizer))
    assert again(text) == tokenizer(text)
    assert repr(again) == repr(tokenizer) == "StemmedWords(stop_words='english')"


@pytest.mark.parametrize(("max_df", "stem"), [(1.0, False), (0.3, False), (0.3, True)])
def test_hashed_tfidf_equals_tfidf_vectorizer_up_to_column_order(mini, max_df, stem):
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfVectorizer

    from metasift.screening.features import HashedTfidf, StemmedWords

    texts, _ = mini
    params = {"stop_words": None, "max_df": max_df, "stem": stem}
    hashed = HashedTfidf(chunk_size=7, n_jobs=1, **params)
    A = hashed.fit_transform(texts)
    words = {"tokenizer": StemmedWords(), "token_pattern": None} if stem else {}
    exact = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, max_df=max_df, **words)
    B = exact.fit_transform(texts)
    # N-grams whose hashes collide share a column (and its idf, and the rows' norms); every
    # other row matches exactly, up to column order.
    one_term = HashingVectorizer(n_features=hashed.n_features, analyzer=lambda t: [t])
    buckets = one_term.transform(exact.get_feature_names_out()).indices
    _, size = np.unique(buckets, return_counts=True)
    assert A.shape[1] == B.shape[1] - int((size - 1).sum())
    collided = np.flatnonzero(np.isin(buckets, np.unique(buckets)[size > 1]))
    clean = np.flatnonzero(np.asarray(B[:, collided].sum(axis=1)).ravel() == 0)
    assert len(clean) >= 0.6 * A.shape[0]
    for i in clean:
        assert A[i].nnz == B[i].nnz
        assert np.allclose(np.sort(A[i].data), np.sort(B[i].data), atol=1e-6)
    df = np.bincount(A.indices, minlength=A.shape[1])
    assert df.min() >= 1 and df.max() <= max_df * A.shape[0]
    assert A.has_sorted_indices
    # New texts map onto the same columns; n-grams never seen are dropped.
    again = hashed.transform(texts[:3])
    assert (again != A[:3]).nnz == 0
    # Chunks tokenised in worker processes (the tokeniser pickled) give the same matrix.
    parallel = HashedTfidf(chunk_size=7, n_jobs=2, **params)
    assert (parallel.fit_transform(texts) != A).nnz == 0


def test_latent_semantics_is_the_seeded_svd_of_the_stem_tfidf_with_unit_rows(mini):
    from sklearn.decomposition import TruncatedSVD

    from metasift.screening.features import HashedTfidf, make_features

    texts, _ = mini
    lsa = make_features("lsa", n_components=8)
    X = lsa.fit_transform(texts)
    assert X.shape == (40, 8) and X.dtype == np.float32
    assert np.allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)
    tfidf = HashedTfidf(stop_words=None, max_df=0.95, stem=True).fit_transform(texts)
    raw = TruncatedSVD(n_components=8, random_state=0).fit_transform(tfidf)
    assert np.allclose(X, raw / np.linalg.norm(raw, axis=1, keepdims=True), atol=1e-5)
    # Seeded: the same matrix again; new texts land in the same space.
    assert np.array_equal(make_features("lsa", n_components=8).fit_transform(texts), X)
    assert np.allclose(lsa.transform(texts[:3]), X[:3], atol=1e-5)
    # A collection smaller than the number of topics asked for gets one topic fewer than it
    # has records.
    assert make_features("lsa").fit_transform(texts[:5]).shape == (5, 4)


def test_shared_matrix_ensemble_scores_as_the_mean_of_standardised_member_scores(mini):
    from metasift.screening.classifiers import relevance_scores
    from metasift.screening.learner import _train, fit_scores

    texts, labels = mini
    model = get_model("svm+logistic-bmi")
    X = model.make_features().fit_transform(texts)
    assert X[0] is X[1]  # one matrix for both members
    learner = Learner(X, model, seed=0)
    assert learner.X[0] is learner.X[1]
    labelled = np.arange(12)
    y = labels[labelled]
    assert 0 < y.sum() < 12
    kind, scores = fit_scores(learner.X, labelled, y, model, 0, None)
    expected = np.zeros(len(labels))
    for member in model.members:
        s = relevance_scores(_train(learner.X[0], labelled, y, member, 0), learner.X[0])
        expected += (s - s.mean()) / s.std()
    assert kind == "classifier"
    np.testing.assert_allclose(scores, expected / 2, rtol=1e-4, atol=1e-4)


def test_words_and_stems_members_score_as_the_mean_of_all_members(mini):
    """The default's five members on three matrices (words, stems, characters): each group
    sharing a matrix is scored as one linear model, and the result is the mean of the five
    standardised member scores."""
    from metasift.screening.classifiers import relevance_scores
    from metasift.screening.learner import _train, fit_scores

    texts, labels = mini
    model = get_model("default")
    learner = Learner(model.make_features().fit_transform(texts), model, seed=0)
    X = learner.X
    assert len(model.members) == 5 and X[0] is X[1] and X[2] is X[3] and X[0] is not X[2]
    assert X[4] is not X[0] and X[4] is not X[2]
    labelled = np.arange(12)
    y = labels[labelled]
    kind, scores = fit_scores(X, labelled, y, model, 0, None)
    expected = np.zeros(len(labels))
    for Xm, member in zip(X, model.members, strict=True):
        s = relevance_scores(_train(Xm, labelled, y, member, 0), Xm)
        expected += (s - s.mean()) / s.std()
    assert kind == "classifier"
    np.testing.assert_allclose(scores, expected / 5, rtol=1e-4, atol=1e-4)


def test_reciprocal_rank_fusion_by_hand():
    from metasift.screening.learner import reciprocal_rank_fusion

    # Record 1 is labelled: the members rank records 0, 2, 3 (the second ties 0 and 2,
    # broken by position).
    fused = reciprocal_rank_fusion(
        [np.array([3.0, 9.0, 2.0, 1.0]), np.array([1.0, 9.0, 1.0, 5.0])], np.array([1])
    )
    assert fused.tolist() == [
        (1 / 61 + 1 / 62) / 2,
        0.0,
        (1 / 62 + 1 / 63) / 2,
        (1 / 63 + 1 / 61) / 2,
    ]


def test_rrf_ensemble_fuses_the_members_ranks_of_the_unlabelled_records(mini):
    from metasift.screening.classifiers import relevance_scores
    from metasift.screening.learner import _train, fit_scores

    texts, labels = mini
    model = dataclasses.replace(get_model("svm+logistic-bmi/words+stems+mesh"), fusion="rrf")
    X = Learner(model.make_features().fit_transform(texts), model, seed=0).X
    labelled = np.arange(12)
    y = labels[labelled]
    kind, scores = fit_scores(X, labelled, y, model, 0, None)
    expected = np.zeros(len(labels))
    for Xm, member in zip(X, model.members, strict=True):
        s = relevance_scores(_train(Xm, labelled, y, member, 0), Xm)[12:]
        expected[12 + np.argsort(-s, kind="stable")] += 1 / (60 + np.arange(1, len(s) + 1))
    assert kind == "classifier"
    np.testing.assert_allclose(scores, expected / 4, rtol=1e-12)
    assert not scores[:12].any()
    a = simulate(texts, labels, model=model, seed=1, until_all_found=True, rules=[])
    b = simulate(texts, labels, model=model, seed=1, until_all_found=True, rules=[])
    assert a.order == b.order and sorted(a.order) == list(range(len(labels)))


def test_nearest_relevant_scores_by_hand():
    from metasift.screening.classifiers import nearest_relevant_scores

    X = sp.csr_matrix(np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [0.8, 0.6]]))
    # Records 0 and 2 are relevant: record 1's cosines to them are 0.6 and 0.8.
    np.testing.assert_allclose(nearest_relevant_scores(X, np.array([0, 2])), [1.0, 0.8, 1.0, 0.8])
    np.testing.assert_allclose(
        nearest_relevant_scores(X, np.array([0, 2]), k=2), [0.5, 0.7, 0.5, 0.7]
    )
    # k above the number of relevant records: the mean of all of them.
    np.testing.assert_allclose(nearest_relevant_scores(X, np.array([2]), k=3), [0.0, 0.8, 1.0, 0.6])


def test_a_nearest_member_joins_the_ensemble_standardised(mini):
    from metasift.screening.classifiers import nearest_relevant_scores
    from metasift.screening.learner import fit_scores

    texts, labels = mini
    four = get_model("svm+logistic-bmi/words+stems+mesh")
    near = ScreeningModel(
        name="nearest",
        features=four.members[0].features,
        feature_params=four.members[0].feature_params,
        classifier="nearest",
        classifier_params={"k": 2},
    )
    model = dataclasses.replace(four, members=(*four.members, near))
    X = Learner(model.make_features().fit_transform(texts), model, seed=0).X
    assert X[4] is X[0]  # the word member's matrix, shared
    labelled = np.arange(12)
    y = labels[labelled]
    kind, scores = fit_scores(X, labelled, y, model, 0, None)
    _, linear = fit_scores(X[:4], labelled, y, four, 0, None)
    s = nearest_relevant_scores(X[0], labelled[y == 1], k=2)
    assert kind == "classifier"
    np.testing.assert_allclose(scores, (4 * linear + (s - s.mean()) / s.std()) / 5, rtol=1e-9)
    # Relevant labels only: the member scores by similarity, the ensemble too.
    only = np.flatnonzero(labels == 1)[:2]
    kind, _ = fit_scores(X, only, labels[only], model, 0, None)
    assert kind == "similarity"
    a = simulate(texts, labels, model=model, seed=1, until_all_found=True, rules=[])
    b = simulate(texts, labels, model=model, seed=1, until_all_found=True, rules=[])
    assert a.order == b.order and sorted(a.order) == list(range(len(labels)))


def test_an_unknown_fusion_or_pseudo_negative_source_is_a_clear_error():
    with pytest.raises(MetasiftError, match=r"unknown fusion 'median'.*mean, rrf"):
        dataclasses.replace(get_model("svm+logistic-bmi"), fusion="median")
    with pytest.raises(MetasiftError, match=r"unknown pseudo_negatives_from 'top'.*lower-half"):
        dataclasses.replace(get_model("logistic-bmi"), pseudo_negatives_from="top")


def test_large_collections_standardise_member_scores_on_evenly_spaced_rows(mini, monkeypatch):
    from metasift.screening import learner as learner_module
    from metasift.screening.classifiers import relevance_scores
    from metasift.screening.learner import _train, fit_scores

    texts, labels = mini
    model = get_model("svm+logistic-bmi")
    X = Learner(model.make_features().fit_transform(texts), model, seed=0).X
    labelled = np.arange(12)
    y = labels[labelled]
    monkeypatch.setattr(learner_module, "STATS_ROWS", 10)
    _, scores = fit_scores(X, labelled, y, model, 0, None)
    rows = np.linspace(0, len(labels) - 1, 10).astype(np.int64)
    expected = np.zeros(len(labels))
    for member in model.members:
        s = relevance_scores(_train(X[0], labelled, y, member, 0), X[0])
        expected += (s - s[rows].mean()) / s[rows].std()
    np.testing.assert_allclose(scores, expected / 2, rtol=1e-4, atol=1e-4)


def test_bmi_pseudo_negatives_are_drawn_by_seed_and_label_count(mini):
    from metasift.screening.learner import fit_scores

    texts, labels = mini
    bmi = dataclasses.replace(get_model("logistic-bmi"), pseudo_negatives=10)
    plain = dataclasses.replace(bmi, pseudo_negatives=0)
    X = bmi.make_features().fit_transform(texts)
    labelled = np.arange(6)
    y = labels[labelled]
    a = fit_scores(X, labelled, y, bmi, 1, None)[1]
    assert np.array_equal(a, fit_scores(X, labelled, y, bmi, 1, None)[1])
    assert not np.array_equal(a, fit_scores(X, labelled, y, bmi, 2, None)[1])
    assert not np.array_equal(a, fit_scores(X, labelled, y, plain, 1, None)[1])
    # Fewer unlabelled records (34) than asked for: all of them join as irrelevant, whatever the
    # seed (which then only moves liblinear's coordinate order: scores agree to the tolerance).
    b = dataclasses.replace(bmi, pseudo_negatives=1000)
    everything = fit_scores(X, labelled, y, b, 1, None)[1]
    np.testing.assert_allclose(everything, fit_scores(X, labelled, y, b, 7, None)[1], atol=1e-3)
    assert np.abs(everything - a).max() > 1e-2


def test_bmi_pseudo_negatives_can_come_from_the_lower_half_of_a_first_fit(mini):
    from metasift.screening.classifiers import relevance_scores
    from metasift.screening.learner import _train, fit_scores

    texts, labels = mini
    low = dataclasses.replace(
        get_model("logistic-bmi"), pseudo_negatives=1000, pseudo_negatives_from="lower-half"
    )
    plain = dataclasses.replace(low, pseudo_negatives=0)
    X = low.make_features().fit_transform(texts)
    labelled = np.arange(6)
    y = labels[labelled]
    pool = np.arange(6, len(labels))
    first = relevance_scores(_train(X, labelled, y, plain, 1), X[pool])
    lower = pool[first <= np.median(first)]
    assert 0 < len(lower) < len(pool)
    # More asked for than the half holds: all of it joins as irrelevant.
    with_lower = np.concatenate([labelled, lower])
    y_lower = np.concatenate([y, np.zeros(len(lower), dtype=y.dtype)])
    expected = relevance_scores(_train(X, with_lower, y_lower, plain, 1), X)
    np.testing.assert_array_equal(fit_scores(X, labelled, y, low, 1, None)[1], expected)


def test_the_default_gains_its_dense_member_only_with_the_embed_extra(monkeypatch):
    import metasift.screening.features as features
    from metasift.screening.models import DEFAULT_EMBED_MODEL, DEFAULT_MODEL

    monkeypatch.setattr(features, "embeddings_installed", lambda: False)
    plain = get_model("default")
    assert plain.name == DEFAULT_MODEL == get_model().name
    assert all(m.features != "embeddings" for m in plain.members)
    monkeypatch.setattr(features, "embeddings_installed", lambda: True)
    dense = get_model("default")
    assert dense.name == DEFAULT_EMBED_MODEL
    assert dense.members[5].features == "embeddings"
    # The same five members, but for where the BMI members draw their pseudo-negatives, and
    # the authors read without the dense member (the selection chose each default on its own).
    assert plain.text_fields == (*dense.text_fields, "authors")
    assert [dataclasses.replace(m, pseudo_negatives_from="random") for m in plain.members] == list(
        dense.members[:5]
    )
    assert {m.pseudo_negatives_from for m in plain.members if m.pseudo_negatives} == {"lower-half"}


def test_the_character_member_is_left_out_of_collections_above_its_size():
    from metasift.screening.models import CHARS_UP_TO, DEFAULT_MODEL

    model = get_model(DEFAULT_MODEL)
    assert [m.features for m in model.members][-1] == "chars"
    assert get_model(DEFAULT_MODEL, CHARS_UP_TO) is model
    large = get_model(DEFAULT_MODEL, CHARS_UP_TO + 1)
    assert large.members == model.members[:4] and large.name == model.name
    assert all(m.features != "chars" for m in large.members)
    assert large.for_records(10) is large
