"""Blocking: the candidate pairs worth scoring, in work that grows about linearly.

Every pass is a sorted neighbourhood (Hernández & Stolfo's multi-pass method): records are
sorted on a key and each is paired with the next ``window - 1`` records. Exact-key passes
(DOI, PMID, PMCID, the bibliographic locator volume|first page|year, first author|year|page)
pair only records whose keys are equal; title passes (the normalised title, and its words in
reverse order for titles that differ at the start) pair neighbours whatever their keys, and a
MinHash/LSH pass on title words catches titles whose shared words are not at either end.
Within an LSH bucket the same windowed sort bounds the work, so a bucket of ten thousand
"Editorial" records costs ten thousand pairs, not fifty million.

The cost is one sort per pass (n log n) plus n * window pairs; the pairs are deduplicated as
int64 codes with numpy. Hand-written on numpy because datasketch's MinHash hashes one record at
a time in Python (minutes for a million records), while the vectorised form below takes
seconds; the LSH scheme (bands of rows of a min-hash signature) is the standard one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from metasift.dedup.keys import RecordKeys

_MERSENNE = np.uint64((1 << 61) - 1)
# 8 bands of 3 rows: word-set Jaccard 0.6 collides with probability 0.86, 0.7 with 0.97.
LSH_BANDS = 8
LSH_ROWS = 3


def _neighbours(order: np.ndarray, window: int, groups: np.ndarray | None) -> np.ndarray:
    """Pairs (lo, hi) of records within ``window`` positions in ``order``.

    With ``groups`` (the group of each position in ``order``), only pairs inside one group.
    """
    chunks = []
    for k in range(1, min(window, len(order))):
        a, b = order[:-k], order[k:]
        if groups is not None:
            same = groups[:-k] == groups[k:]
            a, b = a[same], b[same]
        chunks.append(np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1))
    return np.concatenate(chunks) if chunks else np.empty((0, 2), dtype=np.int64)


def _exact_pairs(keys: Sequence[str], rank: np.ndarray, window: int) -> np.ndarray:
    """Pairs of records with equal non-empty keys, each group ordered by title rank."""
    groups: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        if key:
            groups.setdefault(key, []).append(i)
    members = [g for g in groups.values() if len(g) > 1]
    if not members:
        return np.empty((0, 2), dtype=np.int64)
    index = np.fromiter((i for g in members for i in g), dtype=np.int64)
    group = np.repeat(np.arange(len(members)), [len(g) for g in members])
    order = np.lexsort((rank[index], group))
    return _neighbours(index[order], window, group[order])


def _title_pairs(titles: Sequence[str], window: int) -> tuple[np.ndarray, np.ndarray]:
    """Neighbours in title order, and every record's rank in that order."""
    idx = sorted((i for i, t in enumerate(titles) if t), key=titles.__getitem__)
    order = np.asarray(idx, dtype=np.int64)
    rank = np.full(len(titles), len(titles), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return _neighbours(order, window, None), rank


def minhash_bands(titles: Sequence[str], seed: int = 20240611) -> tuple[np.ndarray, np.ndarray]:
    """Records with a signature (titles of 3+ words) and their band keys, shape (n, bands)."""
    token_ids: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for i, title in enumerate(titles):
        words = title.split()
        if len(words) < 3:
            continue
        # dict, not set: token ids in order of first use, so the random value each word gets
        # (and the candidate pairs) do not change with Python's per-process string hashing.
        for word in dict.fromkeys(words):
            rows.append(i)
            cols.append(token_ids.setdefault(word, len(token_ids)))
    if not rows:
        return np.empty(0, dtype=np.int64), np.empty((0, LSH_BANDS), dtype=np.uint64)
    rng = np.random.default_rng(seed)
    n_hash = LSH_BANDS * LSH_ROWS
    # Token ids hashed once to random 30-bit values; each hash function is a*x + b mod p.
    base = rng.integers(1, 1 << 30, size=len(token_ids), dtype=np.uint64)
    a = rng.integers(1, 1 << 30, size=n_hash, dtype=np.uint64)
    b = rng.integers(0, 1 << 30, size=n_hash, dtype=np.uint64)
    row_arr = np.asarray(rows, dtype=np.int64)
    values = base[np.asarray(cols, dtype=np.int64)]
    # Rows were appended record by record, so each record's shingles are contiguous.
    starts = np.flatnonzero(np.r_[True, row_arr[1:] != row_arr[:-1]])
    owners = row_arr[starts]
    signature = np.empty((len(owners), n_hash), dtype=np.uint64)
    for h in range(n_hash):
        hashed = (values * a[h] + b[h]) % _MERSENNE
        signature[:, h] = np.minimum.reduceat(hashed, starts)
    bands = np.empty((len(owners), LSH_BANDS), dtype=np.uint64)
    for band in range(LSH_BANDS):
        key = np.zeros(len(owners), dtype=np.uint64)
        for column in range(band * LSH_ROWS, (band + 1) * LSH_ROWS):
            # Mix the rows of a band into one key; two bands colliding by chance is harmless.
            key = key * np.uint64(0x9E3779B97F4A7C15) + signature[:, column]
        bands[:, band] = key
    return owners, bands


def candidate_pairs(keys: Sequence[RecordKeys], window: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique candidate pairs ``(lo, hi)`` and whether each came from an exact key."""
    n = len(keys)
    titles = [k.title for k in keys]
    forward, rank = _title_pairs(titles, window)
    reverse, _ = _title_pairs([" ".join(reversed(t.split())) for t in titles], window)
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
    exact = [_exact_pairs(p, rank, window) for p in exact_passes]
    fuzzy = [forward, reverse]
    owners, bands = minhash_bands(titles)
    # A bucket already holds similar titles; in title order the nearest few suffice.
    lsh_window = max(2, window // 2)
    for band in range(bands.shape[1]):
        order = np.lexsort((rank[owners], bands[:, band]))
        fuzzy.append(_neighbours(owners[order], lsh_window, bands[order, band]))
    exact_codes = _codes(exact, n)
    fuzzy_codes = _codes(fuzzy, n)
    codes = _sorted_unique(np.concatenate([exact_codes, fuzzy_codes]))
    position = np.searchsorted(exact_codes, codes)
    from_exact = (
        (position < len(exact_codes))
        & (exact_codes[np.minimum(position, max(len(exact_codes) - 1, 0))] == codes)
        if len(exact_codes)
        else np.zeros(len(codes), dtype=bool)
    )
    pairs = np.stack([codes // n, codes % n], axis=1) if n else np.empty((0, 2), np.int64)
    return pairs, from_exact


def _codes(chunks: list[np.ndarray], n: int) -> np.ndarray:
    chunks = [c for c in chunks if len(c)]
    if not chunks:
        return np.empty(0, dtype=np.int64)
    pairs = np.concatenate(chunks)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    return _sorted_unique(pairs[:, 0] * np.int64(n) + pairs[:, 1])


def _sorted_unique(codes: np.ndarray) -> np.ndarray:
    # A plain sort: numpy's hash-based unique is several times slower on int64 codes.
    codes = np.sort(codes)
    return codes[np.r_[True, codes[1:] != codes[:-1]]] if len(codes) else codes
