"""De-duplication of export files and record shards on a Dask cluster, with the clusters of
the single-process path (:func:`~metasift.dedup.standalone.dedup_files`), row for row.

1. Each input file is a partition: a worker reads it and computes every record's comparison
   keys (:func:`~metasift.dedup.keys.record_keys`, the costly normalisation), and keeps them.
   Only each partition's record count comes to the client, which numbers the records
   globally from them (a cumulative sum).
2. Blocking runs on the workers (:mod:`metasift.dedup.distributed_blocking`): the title passes
   as a sort by ranges, the exact-key and LSH passes hash-partitioned by group, each pass with
   the single-process rules (:mod:`metasift.dedup.blocking`), so the candidate pairs are
   exactly those of :func:`~metasift.dedup.blocking.candidate_pairs`. They end on the worker
   of the partition of their first record.
3. There they are scored (:func:`~metasift.dedup.core.score_candidates`), with the keys of
   the second records that other partitions hold fetched from those partitions' workers: a
   pair's verdict depends on its two records alone, so where it is scored changes nothing.
   Only the accepted pairs come to the client.
4. The client clusters the accepted pairs (:func:`~metasift.dedup.cluster.cluster`), asking
   the workers for the keys of just the records in them, with the single-process guard
   (:func:`~metasift.dedup.core.conflict_rule`).

Memory: a worker holds its partitions' keys (split big exports into shards with
``metasift shards`` to size partitions) and, while blocking, its share of the block keys and
candidate pairs; the client holds the partitions' counts, the title samples that set the
ranges, the accepted pairs and the rows of the output.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from metasift.dedup.cluster import cluster
from metasift.dedup.core import DUPLICATE, Progress, cluster_labels, conflict_rule, score_candidates
from metasift.dedup.distributed_blocking import distributed_candidate_pairs, partition_size
from metasift.dedup.keys import RecordKeys, record_keys
from metasift.dedup.scoring import PairEvidence
from metasift.dedup.settings import DedupSettings
from metasift.dedup.standalone import _noop, read_items
from metasift.records.formats import Rejection

# Candidate pairs scored by one task: some 100 MB of work in flight per worker.
PAIRS_PER_TASK = 200_000

Candidates = tuple[np.ndarray, np.ndarray]
"""A partition's candidate pairs (global indices, the first its own) and their exact flags."""


def _keys_bytes(keys: RecordKeys) -> int:
    """About the memory of one record's keys, strings included."""
    texts = (keys.title, keys.main_title, keys.author_text, keys.journal_text, keys.abstract)
    return sys.getsizeof(keys) + sum(sys.getsizeof(t) for t in texts if t) + 100 * len(keys.authors)


@dataclass
class Batch:
    """Many of our objects as one task result. Dask first tries to encode a plain dict or
    list with msgpack, fails on the objects in it and pickles it after all, which costs some
    three times a plain pickle (measured on 5,000 record keys); one object it pickles at once.
    """

    items: Any


@dataclass
class Partition:
    """One input file's records, as a worker holds them."""

    slots: list[tuple[int, str, bool]]  # (position, source_id, read as a record)
    keys: list[RecordKeys]


def _register_sizes() -> None:
    """Tell Dask what our objects weigh. Its default for an object it does not know is the
    object's shallow size, a few dozen bytes for a partition of many megabytes, and with it
    the scheduler would move partitions to wherever a task's small inputs are."""
    try:
        from dask.sizeof import sizeof
    except ImportError:  # without the scale extra nothing here runs on Dask
        return
    sizeof.register(RecordKeys)(_keys_bytes)
    sizeof.register(Batch)(lambda batch: sizeof(batch.items))
    sizeof.register(Partition)(lambda part: sizeof(part.keys) + sizeof(part.slots))


_register_sizes()


def read_partition(path: str) -> Partition:
    """Read one file and compute its records' keys (a task)."""
    slots: list[tuple[int, str, bool]] = []
    keys: list[RecordKeys] = []
    for item in read_items(Path(path)):
        if isinstance(item, Rejection):
            slots.append((item.position, "", False))
            continue
        slots.append((item.source_position or 0, item.source_id or "", True))
        keys.append(record_keys(item))
    return Partition(slots, keys)


def partition_keys(partition: Partition) -> list[RecordKeys]:
    """A partition's comparison keys (a task: on the partition's worker, the same list).

    Args:
        partition: the partition.
    """
    return partition.keys


def partition_slots(partition: Partition) -> Batch:
    """What the output rows need of a partition (a task): its ``slots``."""
    return Batch(partition.slots)


def guard_keys(partition: Partition, offset: int, indices: list[int]) -> Batch:
    """The keys that the clustering guard reads of some records of a partition, by global
    index (a task): without their abstracts, which the guard does not read and which would
    be most of the bytes sent.

    Args:
        partition: the partition holding the records.
        offset: the global index of its first record.
        indices: the records' global indices.
    """
    return Batch({i: replace(partition.keys[i - offset], abstract=None) for i in indices})


def wanted_keys(candidates: Candidates, offsets: np.ndarray, own: int) -> dict[int, list[int]]:
    """The second records of a partition's candidate pairs that other partitions hold, by
    partition (a task).

    Args:
        candidates: the partition's candidate pairs.
        offsets: the global index of each partition's first record, and the total.
        own: the partition's number.
    """
    second = np.unique(candidates[0][:, 1])
    owner = np.searchsorted(offsets, second, side="right") - 1
    return {int(q): second[owner == q].tolist() for q in np.unique(owner) if q != own}


def wanted_partitions(wanted: dict[int, list[int]]) -> list[int]:
    """The partitions that :func:`wanted_keys` asks for keys (a task).

    Args:
        wanted: as :func:`wanted_keys` returns it.
    """
    return sorted(wanted)


def fetch_keys(partition: Partition, offset: int, wanted: dict[int, list[int]], own: int) -> Batch:
    """The keys of a partition's records that another partition's pairs need (a task).

    Args:
        partition: the partition holding the records.
        offset: the global index of its first record.
        wanted: as :func:`wanted_keys` returns it for the other partition.
        own: the holding partition's number.
    """
    return Batch({i: partition.keys[i - offset] for i in wanted[own]})


def pair_count(candidates: Candidates) -> int:
    """How many candidate pairs a partition has (a task).

    Args:
        candidates: the partition's candidate pairs.
    """
    return len(candidates[0])


def score_partition(
    partition: Partition,
    offset: int,
    candidates: Candidates,
    span: tuple[int, int],
    settings: DedupSettings,
    *fetched: Batch,
) -> Batch:
    """Score some of a partition's candidate pairs and keep the accepted ones, global record
    indices in and out (a task).

    Args:
        partition: the partition holding every pair's first record.
        offset: the global index of its first record.
        candidates: the partition's candidate pairs.
        span: which of them, as (start, stop).
        settings: de-duplication settings.
        fetched: the keys of the second records that other partitions hold, by index.

    Returns:
        A :class:`Batch` of (index, index, evidence).
    """
    pairs, from_exact = candidates[0][span[0] : span[1]], candidates[1][span[0] : span[1]]
    lookup = {i: k for f in fetched for i, k in f.items.items()}
    held = np.asarray(sorted(lookup), dtype=np.int64)
    n_own = len(partition.keys)
    local = [*partition.keys, *(lookup[i] for i in held.tolist())]
    second = pairs[:, 1]
    mine = (second >= offset) & (second < offset + n_own)
    hi = np.where(mine, second - offset, n_own + np.searchsorted(held, second))
    local_pairs = np.stack([pairs[:, 0] - offset, hi], axis=1)
    scored = score_candidates(local, local_pairs, from_exact, settings)
    to_global = np.concatenate([np.arange(offset, offset + n_own, dtype=np.int64), held])
    return Batch(
        [(int(to_global[a]), int(to_global[b]), e) for a, b, e in scored if e.verdict == DUPLICATE]
    )


def _score_on_workers(
    client: Any,
    parts: list[Any],
    offsets: np.ndarray,
    candidates: list[Any],
    settings: DedupSettings,
) -> list[Any]:
    """Submit the scoring of every partition's candidate pairs, in tasks of at most
    :data:`PAIRS_PER_TASK` pairs, each given the keys it needs from other partitions."""
    wanted = [client.submit(wanted_keys, c, offsets, p) for p, c in enumerate(candidates)]
    needed = client.gather([client.submit(wanted_partitions, w) for w in wanted])
    counts = client.gather([client.submit(pair_count, c) for c in candidates])
    futures = []
    for p, found in enumerate(candidates):
        fetched = [
            client.submit(fetch_keys, parts[q], int(offsets[q]), wanted[p], q) for q in needed[p]
        ]
        for start in range(0, counts[p], PAIRS_PER_TASK):
            span = (start, min(start + PAIRS_PER_TASK, counts[p]))
            futures.append(
                client.submit(
                    score_partition, parts[p], int(offsets[p]), found, span, settings, *fetched
                )
            )
    return futures


def dedup_files_distributed(
    paths: Sequence[Path],
    client: Any,
    settings: DedupSettings | None = None,
    progress: Progress = _noop,
) -> tuple[list[dict[str, object]], int]:
    """The rows of :func:`~metasift.dedup.standalone.dedup_files` (one per input record, in
    input order), computed on a Dask cluster; and the number of unique records.

    Args:
        paths: export files or record shards (readable by every worker), one partition each.
        client: a ``distributed.Client`` (see :func:`metasift.scale.dask_client`).
        settings: de-duplication settings (the defaults when None).
        progress: called as long steps advance.
    """
    settings = settings or DedupSettings()
    # Kept on the workers until the end; one lost with its worker is read again.
    parts = [client.submit(read_partition, str(Path(p).resolve()), pure=False) for p in paths]
    keys = [client.submit(partition_keys, part) for part in parts]
    progress("reading and normalising", 0, len(parts))
    sizes = client.gather([client.submit(partition_size, k) for k in keys])
    progress("reading and normalising", len(parts), len(parts))
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n = int(offsets[-1])
    progress("blocking", 0, 1)
    candidates = distributed_candidate_pairs(client, keys, offsets, settings.window)
    futures = _score_on_workers(client, parts, offsets, candidates, settings)
    progress("blocking", 1, 1)
    accepted: list[tuple[int, int, PairEvidence]] = []
    for k, result in enumerate(client.gather(futures), start=1):
        accepted.extend(result.items)
        progress("scoring pairs", k, len(futures))
    del candidates, futures
    accepted.sort(key=lambda item: (item[0], item[1]))

    wanted = sorted({i for a, b, _ in accepted for i in (a, b)})
    owner = np.searchsorted(offsets, np.asarray(wanted, dtype=np.int64), side="right") - 1
    by_part: dict[int, list[int]] = {}
    for w, o in zip(wanted, owner.tolist(), strict=True):
        by_part.setdefault(o, []).append(w)
    requests = [client.submit(guard_keys, parts[p], int(offsets[p]), i) for p, i in by_part.items()]
    found: dict[int, RecordKeys] = {}
    for chunk in client.gather(requests):
        found.update(chunk.items)
    progress("clustering", 0, 1)
    clustering = cluster(n, accepted, conflict_rule(found, settings))
    progress("clustering", 1, 1)
    labels = cluster_labels(n, clustering.clusters)

    slots = client.gather([client.submit(partition_slots, part) for part in parts])
    rows: list[dict[str, object]] = []
    index = 0
    for path, part_slots in zip(paths, slots, strict=True):
        for position, source_id, is_record in part_slots.items:
            label: object = ""
            if is_record:
                label = labels[index]
                index += 1
            rows.append(
                {"file": str(path), "position": position, "source_id": source_id, "cluster": label}
            )
    unique = n - sum(len(c) - 1 for c in clustering.clusters)
    return rows, unique
