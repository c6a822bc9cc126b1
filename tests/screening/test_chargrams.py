"""CharTfidf counts character n-grams per distinct word; its matrix and fitted state must be
scikit-learn's TfidfVectorizer's, bit for bit, on real abstracts and on awkward texts."""

from __future__ import annotations

import csv
import pickle

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from metasift.screening.chargrams import CharTfidf
from metasift.screening.features import char_tfidf
from tests.conftest import FIXTURES


def _texts() -> list[str]:
    path = FIXTURES / "simulate_reference" / "donners_2021.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        return [f"{row['title']}. {row['abstract']}" for row in csv.DictReader(fh)]


AWKWARD = [
    "",
    "a",
    "  Two  spaces\tand a tab\nand a newline  ",
    "Non\xa0breaking\u2003em\u2003space and\u3000ideographic",
    "Café naïve ÉCOLE résumé",
    "x y z ab abc abcd abcde abcdef",
    "mesh_analgesics_opioid mesh_analgesics_opioid 5-HT3 IL-17A/IL-23",
    "a",
    "\t\n ",
    "ΑΒΓ δεζ ηθι — “quoted” (parenthesised) [bracketed]",
]

SETTINGS = [
    {},
    {"ngram_range": (2, 4)},
    {"ngram_range": (1, 1)},
    {"lowercase": False},
    {"strip_accents": "unicode"},
    {"min_df": 1, "max_df": 0.5},
    {"max_features": 300},
    {"sublinear_tf": False, "norm": None, "dtype": np.float64},
]


def assert_same(ours, theirs, texts):
    a, b = theirs.fit_transform(texts), ours.fit_transform(texts)
    assert type(a) is type(b) and a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(a.indptr, b.indptr)
    assert a.indices.dtype == b.indices.dtype and np.array_equal(a.indices, b.indices)
    assert a.data.tobytes() == b.data.tobytes()
    assert list(ours.vocabulary_.items()) == list(theirs.vocabulary_.items())
    assert ours.idf_.tobytes() == theirs.idf_.tobytes()
    later = ["an unseen text about pharmacokinetics", *texts[:3]]
    assert theirs.transform(later).data.tobytes() == ours.transform(later).data.tobytes()


@pytest.mark.parametrize("settings", SETTINGS, ids=repr)
def test_same_matrix_as_scikit_learn(settings):
    params = {"analyzer": "char_wb", "ngram_range": (3, 5), "min_df": 2, **settings}
    texts = _texts() + AWKWARD
    assert_same(CharTfidf(**params), TfidfVectorizer(**params), texts)


def test_the_model_member_is_scikit_learns_vectoriser_counted_faster():
    ours = char_tfidf()
    theirs = TfidfVectorizer(**ours.get_params())
    assert_same(ours, theirs, _texts())
    assert isinstance(ours, TfidfVectorizer)
    assert pickle.loads(pickle.dumps(ours)).vocabulary_ == ours.vocabulary_


@pytest.mark.parametrize("analyzer", ["char", "word"])
def test_other_analysers_are_counted_by_scikit_learn(analyzer):
    params = {"analyzer": analyzer, "min_df": 2}
    assert_same(CharTfidf(**params), TfidfVectorizer(**params), _texts()[:40] + AWKWARD)


def test_empty_vocabulary_is_scikit_learns_error():
    with pytest.raises(ValueError, match="empty vocabulary"):
        CharTfidf(analyzer="char_wb").fit_transform(["", "  "])
