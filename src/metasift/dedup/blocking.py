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
seconds; the LSH scheme (bands of rows of a min-hash signature) is the standard one. Each
word's random value is a keyed hash of the word itself (BLAKE2b), so a record's bands depend
on its own title alone: the same in every process and in every partition of a cluster.

Every order is a total order on a composite key, so that it does not depend on where a record
sits in memory: title passes sort on (title, global index); inside an exact-key group or an
LSH bucket records follow (empty title last, title, global index), the forward title order.
The per-pass functions (:func:`title_order`, :func:`run_pairs`, :func:`group_pairs`,
:func:`exact_keys`, :func:`minhash_bands`, :func:`unique_pairs`) are the whole rule set:
:func:`candidate_pairs` applies them to all records at once, and
:mod:`metasift.dedup.distributed_blocking` to sorted ranges and hash partitions on a cluster,
with the same pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from hashlib import blake2b

import numpy as np

from metasift.dedup.keys import RecordKeys

_MERSENNE = np.uint64((1 << 61) - 1)
# 8 bands of 3 rows: word-set Jaccard 0.6 collides with probability 0.86, 0.7 with 0.97.
LSH_BANDS = 8
LSH_ROWS = 3
SEED = 20240611
N_EXACT = 5
_NO_PAIRS = np.empty((0, 2), dtype=np.int64)


def lsh_window(window: int) -> int:
    """The window inside an LSH bucket: a bucket already holds similar titles, so in title
    order the nearest few suffice.

    Args:
        window: the window of the other passes.
    """
    return max(2, window // 2)


def reversed_title(title: str) -> str:
    """The title's words in reverse order: the key of the second title pass.

    Args:
        title: a normalised title.
    """
    return " ".join(reversed(title.split()))


def exact_keys(keys: RecordKeys) -> tuple[str, ...]:
    """A record's key in each of the :data:`N_EXACT` exact-key passes ("" for none).

    Args:
        keys: the record's comparison keys.
    """
    return (
        keys.doi,
        keys.pmid,
        keys.pmcid,
        f"{keys.volume}|{keys.page}|{keys.year}" if keys.volume and keys.page and keys.year else "",
        f"{keys.authors[0][0]}|{keys.year}|{keys.page}"
        if keys.authors and keys.year and keys.page
        else "",
    )


def title_order(titles: Sequence[str], index: np.ndarray) -> tuple[np.ndarray, int]:
    """Positions in ``titles`` sorted by (empty title last, title, global index), and how
    many titles are not empty (they come first).

    Args:
        titles: the records' titles (or reversed titles).
        index: each record's global index (a record may come more than once, as in a bucket
            of several groups: its copies keep their order).
    """
    by_index = np.argsort(index, kind="stable").tolist()
    # Python's sort is stable: equal titles stay in global index order.
    order = sorted(by_index, key=titles.__getitem__)
    empty = len(order) - sum(1 for i in order if titles[i])
    return np.asarray(order[empty:] + order[:empty], dtype=np.int64), len(order) - empty


def title_rank(titles: Sequence[str], index: np.ndarray) -> np.ndarray:
    """Each record's place in :func:`title_order`: the order exact-key groups and LSH buckets
    pair their records in.

    Args:
        titles: the records' titles.
        index: each record's global index.
    """
    rank = np.empty(len(index), dtype=np.int64)
    rank[title_order(titles, index)[0]] = np.arange(len(index))
    return rank


def run_pairs(run: np.ndarray, window: int, first: int | None = None) -> np.ndarray:
    """Pairs (lo, hi) of records within ``window`` positions in the sorted ``run``.

    Args:
        run: global indices in sort order.
        window: each record is paired with the next ``window - 1``.
        first: only pairs whose earlier record is among the first ``first`` of the run (the
            rest is the start of the next range, paired there).
    """
    return _neighbours(run, window, None, len(run) if first is None else first)


def group_pairs(index: np.ndarray, group: np.ndarray, rank: np.ndarray, window: int) -> np.ndarray:
    """Pairs (lo, hi) of records of one group within ``window`` positions, each group in
    ``rank`` order.

    Args:
        index: the records' global indices.
        group: each record's group (any integer code; only equality matters).
        rank: each record's place in the group's order (all different within a group).
        window: each record is paired with the next ``window - 1`` of its group.
    """
    if len(index) < 2:
        return _NO_PAIRS
    _, inverse, counts = np.unique(group, return_inverse=True, return_counts=True)
    keep = counts[inverse] > 1
    index, group, rank = index[keep], inverse[keep], rank[keep]
    order = np.lexsort((rank, group))
    return _neighbours(index[order], window, group[order], len(order))


def _neighbours(
    order: np.ndarray, window: int, groups: np.ndarray | None, first: int
) -> np.ndarray:
    chunks = []
    for k in range(1, min(window, len(order))):
        m = min(first, len(order) - k)
        a, b = order[:m], order[k : k + m]
        if groups is not None:
            same = groups[:m] == groups[k : k + m]
            a, b = a[same], b[same]
        chunks.append(np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1))
    return np.concatenate(chunks) if chunks else _NO_PAIRS


def _word_values(words: Sequence[str], seed: int) -> np.ndarray:
    """Each word's random 30-bit value: a keyed hash of the word, the same in every process."""
    key = seed.to_bytes(8, "little")
    mask = (1 << 30) - 1
    return np.fromiter(
        (
            int.from_bytes(
                blake2b(w.encode("utf-8", "surrogatepass"), digest_size=8, key=key).digest(),
                "little",
            )
            & mask
            for w in words
        ),
        dtype=np.uint64,
        count=len(words),
    )


def minhash_bands(titles: Sequence[str], seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Records with a signature (titles of 3+ words) and their band keys, shape (n, bands).

    Args:
        titles: normalised titles.
        seed: chooses the hash functions.
    """
    token_ids: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for i, title in enumerate(titles):
        words = title.split()
        if len(words) < 3:
            continue
        for word in dict.fromkeys(words):
            rows.append(i)
            cols.append(token_ids.setdefault(word, len(token_ids)))
    if not rows:
        return np.empty(0, dtype=np.int64), np.empty((0, LSH_BANDS), dtype=np.uint64)
    rng = np.random.default_rng(seed)
    n_hash = LSH_BANDS * LSH_ROWS
    # Words hashed once to 30-bit values; each hash function is a*x + b mod p.
    base = _word_values(list(token_ids), seed)
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
    """Sorted unique candidate pairs ``(lo, hi)`` and whether each came from an exact key.

    Args:
        keys: every record's comparison keys, addressed by position.
        window: the sorted-neighbourhood window.
    """
    n = len(keys)
    index = np.arange(n, dtype=np.int64)
    titles = [k.title for k in keys]
    forward, filled = title_order(titles, index)
    rank = np.empty(n, dtype=np.int64)
    rank[forward] = index  # title_rank, from the order the title pass needs anyway
    reverse, filled_reverse = title_order([reversed_title(t) for t in titles], index)
    fuzzy = [run_pairs(forward[:filled], window), run_pairs(reverse[:filled_reverse], window)]
    exact = []
    per_record = [exact_keys(k) for k in keys]
    for p in range(N_EXACT):
        codes: dict[str, int] = {}
        group = np.fromiter(
            (codes.setdefault(e[p], len(codes)) if e[p] else -1 for e in per_record),
            dtype=np.int64,
            count=n,
        )
        has = np.flatnonzero(group >= 0)
        exact.append(group_pairs(has, group[has], rank[has], window))
    owners, bands = minhash_bands(titles)
    for band in range(bands.shape[1]):
        fuzzy.append(group_pairs(owners, bands[:, band], rank[owners], lsh_window(window)))
    return unique_pairs(exact, fuzzy, n)


def unique_pairs(
    exact: Sequence[np.ndarray], fuzzy: Sequence[np.ndarray], n: int
) -> tuple[np.ndarray, np.ndarray]:
    """The union of the passes' pairs, sorted and unique, and whether an exact pass found each.

    Args:
        exact: pairs (lo, hi) found by exact-key passes.
        fuzzy: pairs found by title and LSH passes.
        n: more than the largest global index.
    """
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


def _codes(chunks: Sequence[np.ndarray], n: int) -> np.ndarray:
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
