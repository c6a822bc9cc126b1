"""Blocking: the candidate pairs worth scoring, in work that grows about linearly.

Every pass is a sorted neighbourhood (Hernández & Stolfo's multi-pass method): records are
sorted on a key and each is paired with the next ``window - 1`` records. Exact-key passes
(DOI, PMID, PMCID, the bibliographic locator volume|first page|year, first author|year|page)
pair only records whose keys are equal; title passes (the normalised title, and its words in
reverse order for titles that differ at the start) pair neighbours whatever their keys, and a
MinHash/LSH pass on word shingles catches titles whose shared words are not at either end.
Within an LSH bucket the same windowed sort bounds the work, so a bucket of ten thousand
"Editorial" records costs ten thousand pairs, not fifty million.

The cost is one sort per pass (n log n) plus n * window pairs; the pairs are deduplicated as
int64 codes with numpy. Hand-written on numpy because datasketch's MinHash hashes one record at
a time in Python (minutes for a million records), while the vectorised form below takes
seconds; the LSH scheme (bands of rows of a min-hash signature) is the standard one.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from metasift.dedup.keys import RecordKeys

_MERSENNE = np.uint64((1 << 61) - 1)
# 8 bands of 3 rows: word-set Jaccard 0.6 collides with probability 0.86, 0.7 with 0.97.
LSH_BANDS = 8
LSH_ROWS = 3


def _window_pairs(
    keys: Sequence[str], window: int, equal_only: bool, tiebreak: Sequence[str] | None = None
) -> np.ndarray:
    """Pairs (lo, hi) of records within ``window`` of each other in the order of ``keys``."""
    idx = [i for i, k in enumerate(keys) if k]
    if len(idx) < 2:
        return np.empty((0, 2), dtype=np.int64)
    if tiebreak is None:
        idx.sort(key=keys.__getitem__)
    else:
        idx.sort(key=lambda i: (keys[i], tiebreak[i]))
    order = np.asarray(idx, dtype=np.int64)
    sorted_keys = np.asarray([keys[i] for i in idx], dtype=object)
    chunks = []
    for k in range(1, min(window, len(order))):
        a, b = order[:-k], order[k:]
        if equal_only:
            same = sorted_keys[:-k] == sorted_keys[k:]
            a, b = a[same], b[same]
        chunks.append(np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1))
    return np.concatenate(chunks) if chunks else np.empty((0, 2), dtype=np.int64)


def _minhash_keys(titles: Sequence[str], seed: int = 20240611) -> list[str]:
    """One bucket key per band per record: ``band:hash``; empty for titles under 3 words."""
    n = len(titles)
    token_ids: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for i, title in enumerate(titles):
        words = title.split()
        if len(words) < 3:
            continue
        shingles = set(words)
        shingles.update(f"{x} {y}" for x, y in itertools.pairwise(words))
        for s in shingles:
            rows.append(i)
            cols.append(token_ids.setdefault(s, len(token_ids)))
    if not rows:
        return []
    rng = np.random.default_rng(seed)
    n_hash = LSH_BANDS * LSH_ROWS
    # Token ids hashed once to random 61-bit values; each hash function is then a*x + b mod p.
    base = rng.integers(1, int(_MERSENNE), size=len(token_ids), dtype=np.uint64)
    a = rng.integers(1, 1 << 30, size=n_hash, dtype=np.uint64)
    b = rng.integers(0, 1 << 30, size=n_hash, dtype=np.uint64)
    row_arr = np.asarray(rows, dtype=np.int64)
    values = base[np.asarray(cols, dtype=np.int64)]
    order = np.argsort(row_arr, kind="stable")
    row_arr, values = row_arr[order], values[order]
    starts = np.flatnonzero(np.r_[True, row_arr[1:] != row_arr[:-1]])
    owners = row_arr[starts]
    signature = np.empty((len(owners), n_hash), dtype=np.uint64)
    low = values & np.uint64((1 << 30) - 1)
    for h in range(n_hash):
        hashed = (low * a[h] + b[h]) % _MERSENNE
        signature[:, h] = np.minimum.reduceat(hashed, starts)
    keys: list[list[str]] = [[] for _ in range(LSH_BANDS)]
    for band in range(LSH_BANDS):
        block = signature[:, band * LSH_ROWS : (band + 1) * LSH_ROWS]
        # Combine the rows of a band into one key; collisions across bands do not matter.
        combined = (
            block[:, 0] * np.uint64(1_000_003) ^ block[:, 1] * np.uint64(999_983) ^ block[:, 2]
        )
        band_keys = [""] * n
        for owner, value in zip(owners.tolist(), combined.tolist(), strict=True):
            band_keys[owner] = f"{value:x}"
        keys[band] = band_keys
    return [k for band in keys for k in band]


def candidate_pairs(keys: Sequence[RecordKeys], window: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique candidate pairs ``(lo, hi)`` and whether each came from an exact key."""
    n = len(keys)
    titles = [k.title for k in keys]
    exact_passes = [
        [k.doi for k in keys],
        [k.pmid for k in keys],
        [k.pmcid for k in keys],
        [f"{k.volume}|{k.page}|{k.year}" if k.volume and k.page and k.year else "" for k in keys],
        [
            f"{k.authors[0][0]}|{k.year}|{k.page}" if k.authors and k.year and k.page else ""
            for k in keys
        ],
    ]
    exact = [_window_pairs(p, window, equal_only=True, tiebreak=titles) for p in exact_passes]
    fuzzy = [
        _window_pairs(titles, window, equal_only=False),
        _window_pairs([" ".join(reversed(t.split())) for t in titles], window, equal_only=False),
    ]
    band_keys = _minhash_keys(titles)
    for band in range(LSH_BANDS):
        chunk = band_keys[band * n : (band + 1) * n] if band_keys else []
        if chunk:
            fuzzy.append(_window_pairs(chunk, window, equal_only=True, tiebreak=titles))
    exact_codes = _codes(exact, n)
    fuzzy_codes = _codes(fuzzy, n)
    codes = np.union1d(exact_codes, fuzzy_codes)
    from_exact = np.isin(codes, exact_codes, assume_unique=True)
    pairs = np.stack([codes // n, codes % n], axis=1) if n else np.empty((0, 2), np.int64)
    return pairs, from_exact


def _codes(chunks: list[np.ndarray], n: int) -> np.ndarray:
    chunks = [c for c in chunks if len(c)]
    if not chunks:
        return np.empty(0, dtype=np.int64)
    pairs = np.concatenate(chunks)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    return np.unique(pairs[:, 0] * np.int64(n) + pairs[:, 1])
