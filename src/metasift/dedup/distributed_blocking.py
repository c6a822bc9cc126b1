"""Blocking on a Dask cluster: the candidate pairs of
:func:`~metasift.dedup.blocking.candidate_pairs`, exactly, found on the workers.

Each pass of blocking is a sorted neighbourhood on a composite key that is a total order
(see :mod:`metasift.dedup.blocking`), so it splits without a global rank:

- Title passes (forward and reversed words): a sort by range partitioning, as dask's
  ``sort_values`` does it. Every partition sends the client a sample of its (title, global
  index) keys, some :data:`SAMPLES_PER_RANGE` per range; the client chooses the boundaries
  between ranges; each partition's titles go to their range, a worker sorts each range, and
  each range is paired with the first ``window - 1`` records of the ranges after it (their
  *heads*), keeping only pairs whose earlier record is its own, so that a pair across a
  boundary is found once.
- Exact-key and LSH passes: a hash partitioning by the group key ((pass, key), or
  (band, bucket)), then the windowed pairing of every group on a worker.

The pairs then go to the partition of their first record, where the passes' pairs are merged
(:func:`~metasift.dedup.blocking.unique_pairs`): a partition's merged pairs are its share of
the global sorted pair list.

The exchange is futures with explicit partitioning, not a ``dask.dataframe`` shuffle: every
task that splits returns one list of pieces, and a small task takes out each piece, so that a
receiving task names only the futures of its pieces and the pieces move from worker to worker
(nothing passes through the scheduler, and the client receives only the samples and counts).
It is the simplest exchange whose ordering is ours: the sort keys are Python strings compared
as Python compares them, and the pairing rules are the functions of one process, where a
dataframe shuffle would bring its string dtype's collation and partitioning in between. The
cost is about ``partitions x (2 ranges + buckets)`` small tasks each way; ranges and buckets
are sized by :data:`RECORDS_PER_RANGE` and :data:`ENTRIES_PER_BUCKET` to keep them few. For
PubMed's 37M records in 740 shards that is 74 ranges a pass and 241 buckets, some 0.6M small
tasks, minutes of scheduler time against hours of work (not measured); far beyond that,
Dask's peer-to-peer shuffle, which needs no task per piece, is the next step.
"""

from __future__ import annotations

import math
import zlib
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

import numpy as np

from metasift.dedup.blocking import (
    LSH_BANDS,
    N_EXACT,
    exact_keys,
    group_pairs,
    lsh_window,
    minhash_bands,
    reversed_title,
    run_pairs,
    title_order,
    title_rank,
    unique_pairs,
)
from metasift.dedup.keys import RecordKeys

# A range of a title pass holds about this many records; a bucket about this many entries
# (a record is an entry of each exact pass it has a key for and of each of the 8 LSH bands).
RECORDS_PER_RANGE = 500_000
ENTRIES_PER_BUCKET = 2_000_000
SAMPLES_PER_RANGE = 32

Piece = tuple[list[str], np.ndarray]
"""Titles (or reversed titles) and their records' global indices."""


@dataclass
class GroupPiece:
    """The entries of the grouped passes bound for one bucket."""

    exact_groups: list[str]  # "pass|key"
    exact_titles: list[str]
    exact_index: np.ndarray
    lsh_band: np.ndarray
    lsh_bucket: np.ndarray
    lsh_titles: list[str]
    lsh_index: np.ndarray


def _register_sizes() -> None:
    """Tell Dask what a :class:`GroupPiece` weighs (its default, the shallow size of an
    object it does not know, would let the scheduler move pieces as if they were free)."""
    try:
        from dask.sizeof import sizeof
    except ImportError:  # without the scale extra nothing here runs on Dask
        return
    sizeof.register(GroupPiece)(lambda piece: sum(sizeof(v) for v in vars(piece).values()))


_register_sizes()


def _title_keys(keys: list[RecordKeys], offset: int) -> tuple[Piece, Piece]:
    titles = [k.title for k in keys]
    index = np.arange(offset, offset + len(keys), dtype=np.int64)
    return (titles, index), ([reversed_title(t) for t in titles], index)


def partition_size(keys: list[RecordKeys]) -> int:
    """How many records a partition holds (a task).

    Args:
        keys: the partition's comparison keys.
    """
    return len(keys)


def title_samples(
    keys: list[RecordKeys], offset: int, every: int
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Every ``every``-th (title, global index) of a partition in sort order, for each title
    pass (a task; the client chooses the ranges' boundaries from them).

    Args:
        keys: the partition's comparison keys.
        offset: the global index of its first record.
        every: the sampling step.
    """
    out = []
    for titles, index in _title_keys(keys, offset):
        order, filled = title_order(titles, index)
        chosen = order[:filled][every // 2 :: every].tolist()
        out.append([(titles[i], int(index[i])) for i in chosen])
    return out[0], out[1]


def boundaries(samples: list[tuple[str, int]], n_ranges: int) -> list[tuple[str, int]]:
    """The keys that split a pass's sorted samples into ``n_ranges`` ranges of about equal
    size (fewer when the samples are fewer); a key belongs to range ``bisect_right``.

    Args:
        samples: the samples of every partition.
        n_ranges: how many ranges are wanted.
    """
    ordered = sorted(samples)
    chosen = {ordered[len(ordered) * j // n_ranges] for j in range(1, n_ranges) if ordered}
    return sorted(chosen)


def split_blocks(
    keys: list[RecordKeys],
    offset: int,
    forward_bounds: list[tuple[str, int]],
    reverse_bounds: list[tuple[str, int]],
    n_buckets: int,
) -> tuple[list[Piece], list[Piece], list[GroupPiece]]:
    """A partition's block entries, split by destination: its titles by range of each title
    pass, and its exact-key and LSH entries by bucket (a task).

    Args:
        keys: the partition's comparison keys.
        offset: the global index of its first record.
        forward_bounds: the boundaries of the forward title pass's ranges.
        reverse_bounds: the boundaries of the reversed title pass's ranges.
        n_buckets: how many buckets the grouped passes are hashed to.
    """
    title_pieces = []
    for (titles, index), bounds in zip(
        _title_keys(keys, offset), (forward_bounds, reverse_bounds), strict=True
    ):
        by_range: list[tuple[list[str], list[int]]] = [([], []) for _ in range(len(bounds) + 1)]
        for title, i in zip(titles, index.tolist(), strict=True):
            if title:
                piece = by_range[bisect_right(bounds, (title, i))]
                piece[0].append(title)
                piece[1].append(i)
        title_pieces.append([(t, np.asarray(i, dtype=np.int64)) for t, i in by_range])

    exact: list[tuple[list[str], list[str], list[int]]] = [([], [], []) for _ in range(n_buckets)]
    for local, k in enumerate(keys):
        for p, value in enumerate(exact_keys(k)):
            if value:
                group = f"{p}|{value}"
                b = zlib.crc32(group.encode("utf-8", "surrogatepass")) % n_buckets
                exact[b][0].append(group)
                exact[b][1].append(k.title)
                exact[b][2].append(offset + local)
    owners, bands = minhash_bands([k.title for k in keys])
    band = np.broadcast_to(np.arange(LSH_BANDS, dtype=np.int64), bands.shape).ravel()
    bucket = bands.ravel()
    index = np.repeat(owners + offset, LSH_BANDS)
    target = ((bucket % np.uint64(n_buckets)).astype(np.int64) + band) % n_buckets
    groups = []
    for b in range(n_buckets):
        mine = np.flatnonzero(target == b)
        groups.append(
            GroupPiece(
                exact[b][0],
                exact[b][1],
                np.asarray(exact[b][2], dtype=np.int64),
                band[mine],
                bucket[mine],
                [keys[i - offset].title for i in index[mine].tolist()],
                index[mine],
            )
        )
    return title_pieces[0], title_pieces[1], groups


def take(pieces: tuple[list[Any], ...] | list[Any], *where: int) -> Any:
    """One piece of a split (a task): ``pieces[where[0]][where[1]]...``.

    Args:
        pieces: what a splitting task returned.
        where: the indices of the piece.
    """
    for i in where:
        pieces = pieces[i]
    return pieces


def sort_range(*pieces: Piece) -> np.ndarray:
    """The global indices of one range's records in title order (a task).

    Args:
        pieces: the range's titles from every partition.
    """
    titles = [t for piece in pieces for t in piece[0]]
    index = np.concatenate([piece[1] for piece in pieces]) if pieces else np.empty(0, np.int64)
    return index[title_order(titles, index)[0]]


def head(run: np.ndarray, size: int) -> np.ndarray:
    """The first ``size`` records of a sorted range (a task).

    Args:
        run: a range's records in title order.
        size: how many.
    """
    return run[:size]


def run_length(run: np.ndarray) -> int:
    """How many records a sorted range holds (a task).

    Args:
        run: a range's records in title order.
    """
    return len(run)


def _by_owner(
    exact: np.ndarray, fuzzy: np.ndarray, offsets: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pairs split by the partition of their first record."""
    out = []
    owners = [np.searchsorted(offsets, p[:, 0], side="right") - 1 for p in (exact, fuzzy)]
    for part in range(len(offsets) - 1):
        out.append((exact[owners[0] == part], fuzzy[owners[1] == part]))
    return out


def range_pairs(
    run: np.ndarray, *heads: np.ndarray, window: int, offsets: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """A title range's pairs, with the heads of the ranges after it, split by the partition
    of their first record (a task).

    Args:
        run: the range's records in title order.
        heads: the first records of the following ranges, enough to fill a window.
        window: the sorted-neighbourhood window.
        offsets: the global index of each partition's first record, and the total.
    """
    pairs = run_pairs(np.concatenate([run, *heads]), window, first=len(run))
    return _by_owner(np.empty((0, 2), np.int64), pairs, offsets)


def bucket_pairs(
    *pieces: GroupPiece, window: int, offsets: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The pairs of the exact-key groups and LSH buckets hashed to one bucket, split by the
    partition of their first record (a task).

    Args:
        pieces: the bucket's entries from every partition.
        window: the sorted-neighbourhood window.
        offsets: the global index of each partition's first record, and the total.
    """
    groups = [g for p in pieces for g in p.exact_groups]
    titles = [t for p in pieces for t in p.exact_titles]
    index = np.concatenate([np.empty(0, np.int64), *(p.exact_index for p in pieces)])
    codes: dict[str, int] = {}
    group = np.fromiter(
        (codes.setdefault(g, len(codes)) for g in groups), dtype=np.int64, count=len(groups)
    )
    exact = group_pairs(index, group, title_rank(titles, index), window)

    band = np.concatenate([np.empty(0, np.int64), *(p.lsh_band for p in pieces)])
    bucket = np.concatenate([np.empty(0, np.uint64), *(p.lsh_bucket for p in pieces)])
    titles = [t for p in pieces for t in p.lsh_titles]
    index = np.concatenate([np.empty(0, np.int64), *(p.lsh_index for p in pieces)])
    # A group is one (band, bucket): number the distinct pairs of them.
    group = _pair_codes(band.astype(np.uint64), bucket)
    fuzzy = group_pairs(index, group, title_rank(titles, index), lsh_window(window))
    return _by_owner(exact, fuzzy, offsets)


def _pair_codes(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The rank of each (first, second) among the distinct pairs in sorted order: what
    ``np.unique(..., axis=0, return_inverse=True)`` gives, from one lexsort (that unique
    views the rows as raw bytes and took several times longer)."""
    order = np.lexsort((second, first))
    a, b = first[order], second[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    codes = np.empty(len(order), dtype=np.int64)
    codes[order] = np.cumsum(new) - 1
    return codes


def merge_pairs(*pieces: tuple[np.ndarray, np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """A partition's candidate pairs (those whose first record is its own), sorted and
    unique, and whether an exact pass found each (a task).

    Args:
        pieces: (exact pairs, other pairs) from every pairing task.
        n: the number of records.
    """
    return unique_pairs([p[0] for p in pieces], [p[1] for p in pieces], n)


def ranges_and_buckets(
    n: int, records_per_range: int | None = None, entries_per_bucket: int | None = None
) -> tuple[int, int]:
    """How many ranges each title pass and how many buckets the grouped passes get.

    Args:
        n: the number of records.
        records_per_range: the records of a range (default :data:`RECORDS_PER_RANGE`).
        entries_per_bucket: the entries of a bucket (default :data:`ENTRIES_PER_BUCKET`).
    """
    per_range = records_per_range or RECORDS_PER_RANGE
    per_bucket = entries_per_bucket or ENTRIES_PER_BUCKET
    n_ranges = max(1, math.ceil(n / per_range))
    n_buckets = max(1, math.ceil(n * (N_EXACT + LSH_BANDS) / per_bucket))
    return n_ranges, n_buckets


def distributed_candidate_pairs(
    client: Any,
    parts: list[Any],
    offsets: np.ndarray,
    window: int,
    records_per_range: int | None = None,
    entries_per_bucket: int | None = None,
) -> list[Any]:
    """Futures of every partition's candidate pairs, as :func:`merge_pairs` gives them; in
    partition order they are :func:`~metasift.dedup.blocking.candidate_pairs` of all
    records, split.

    Args:
        client: a ``distributed.Client``.
        parts: futures of the partitions' comparison keys (lists of :class:`RecordKeys`).
        offsets: the global index of each partition's first record, and the total.
        window: the sorted-neighbourhood window.
        records_per_range: sizes the title passes' ranges (see :func:`ranges_and_buckets`).
        entries_per_bucket: sizes the grouped passes' buckets.
    """
    n = int(offsets[-1])
    n_parts = len(parts)
    n_ranges, n_buckets = ranges_and_buckets(n, records_per_range, entries_per_bucket)
    every = max(1, n // (n_ranges * SAMPLES_PER_RANGE))
    samples = client.gather(
        [client.submit(title_samples, p, int(offsets[i]), every) for i, p in enumerate(parts)]
    )
    forward_bounds = boundaries([s for f, _ in samples for s in f], n_ranges)
    reverse_bounds = boundaries([s for _, r in samples for s in r], n_ranges)
    splits = [
        client.submit(split_blocks, p, int(offsets[i]), forward_bounds, reverse_bounds, n_buckets)
        for i, p in enumerate(parts)
    ]
    outputs = []
    for kind, bounds in ((0, forward_bounds), (1, reverse_bounds)):
        runs = [
            client.submit(sort_range, *[client.submit(take, s, kind, r) for s in splits])
            for r in range(len(bounds) + 1)
        ]
        lengths = client.gather([client.submit(run_length, run) for run in runs])
        for r, run in enumerate(runs):
            if not lengths[r]:
                continue
            heads, needed = [], window - 1
            for later in range(r + 1, len(runs)):
                if needed <= 0:
                    break
                if lengths[later]:
                    heads.append(client.submit(head, runs[later], needed))
                    needed -= lengths[later]
            outputs.append(client.submit(range_pairs, run, *heads, window=window, offsets=offsets))
    for b in range(n_buckets):
        pieces = [client.submit(take, s, 2, b) for s in splits]
        outputs.append(client.submit(bucket_pairs, *pieces, window=window, offsets=offsets))
    return [
        client.submit(merge_pairs, *[client.submit(take, o, p) for o in outputs], n=n)
        for p in range(n_parts)
    ]
