"""Okapi BM25 on scipy.sparse, for ranking records before any label (cold start).

Written here on top of scikit-learn's CountVectorizer rather than taken from a package:
rank-bm25 loops over documents in Python (minutes at a million records) and has not been
maintained since 2022; bm25s is fast but brings its own tokeniser and index format, whereas
cold start needs one weighted sum over a single query's columns of a term-count matrix built
with scikit-learn's word tokenisation - a dozen lines of sparse arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer


def bm25_scores(
    texts: Sequence[str], query: str, *, k1: float = 1.2, b: float = 0.75
) -> np.ndarray:
    """BM25 score of every text for ``query`` (Robertson-Sparck Jones idf, floored at 0)."""
    vectorizer = CountVectorizer(stop_words="english", strip_accents="unicode", dtype=np.float64)
    counts = vectorizer.fit_transform(texts)
    return bm25_from_counts(
        counts, vectorizer.build_analyzer()(query), vectorizer.vocabulary_, k1, b
    )


def bm25_from_counts(
    counts: sp.csr_matrix,
    query_terms: Sequence[str],
    vocabulary: dict[str, int],
    k1: float = 1.2,
    b: float = 0.75,
) -> np.ndarray:
    n_docs = counts.shape[0]
    columns = sorted({vocabulary[t] for t in query_terms if t in vocabulary})
    if not columns or n_docs == 0:
        return np.zeros(n_docs)
    counts = sp.csr_matrix(counts)
    lengths = np.asarray(counts.sum(axis=1)).ravel()
    avg = lengths.mean() or 1.0
    sub = counts[:, columns].tocsc()
    df = np.diff(sub.indptr)
    idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
    sub = sub.tocsr()
    rows = np.repeat(np.arange(n_docs), np.diff(sub.indptr))
    tf = sub.data
    norm = k1 * (1.0 - b + b * lengths[rows] / avg)
    sub.data = tf * (k1 + 1.0) / (tf + norm) * idf[sub.indices]
    return np.asarray(sub.sum(axis=1)).ravel()
