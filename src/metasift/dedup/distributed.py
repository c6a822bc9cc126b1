"""De-duplication of export files and record shards on a Dask cluster, with the clusters of
the single-process path (:func:`~metasift.dedup.standalone.dedup_files`), row for row.

1. Each input file is a partition: a worker reads it and computes every record's comparison
   keys (:func:`~metasift.dedup.keys.record_keys`, the costly normalisation), and keeps them.
2. Blocking: each partition's block keys (the few fields blocking sorts and groups on: the
   normalised title, DOI, PMID, PMCID, volume, page, year, first author) come to the client,
   which runs the single-process blocking (:func:`~metasift.dedup.blocking.candidate_pairs`)
   over them. Its sorted-neighbourhood passes pair records by their place in one global
   order, so the client, which sees the whole order, finds exactly the pairs of one process.
3. The candidate pairs, grouped by the two partitions they join, go straight to the workers
   (scattered, not through the scheduler), where each group is scored against the keys of its
   two partitions (:func:`~metasift.dedup.core.score_candidates`): a pair's verdict depends on
   its two records alone, so grouping changes nothing.
4. The client clusters the accepted pairs (:func:`~metasift.dedup.cluster.cluster`), asking
   the workers for the keys of just the records in them, with the single-process guard
   (:func:`~metasift.dedup.core.conflict_rule`).

Memory: a worker holds its partitions' keys (split big exports into shards with
``metasift shards`` to size partitions); the client holds the block keys, the candidate
pairs and the rows of the output, some 200 bytes a record.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from metasift.dedup.blocking import candidate_pairs
from metasift.dedup.cluster import cluster
from metasift.dedup.core import DUPLICATE, Progress, cluster_labels, conflict_rule, score_candidates
from metasift.dedup.keys import RecordKeys, record_keys
from metasift.dedup.scoring import PairEvidence
from metasift.dedup.settings import DedupSettings
from metasift.dedup.standalone import _noop, read_items
from metasift.records.formats import Rejection

# Candidate pairs scored by one task: some 100 MB of work in flight per worker.
PAIRS_PER_TASK = 200_000


@dataclass(frozen=True, slots=True)
class BlockKeys:
    """The fields of :class:`RecordKeys` that blocking reads, and nothing else."""

    title: str
    doi: str
    pmid: str
    pmcid: str
    volume: str
    page: str
    year: int | None
    authors: tuple[tuple[str, str], ...]  # the first author only


@dataclass
class Partition:
    """One input file's records, as a worker holds them."""

    slots: list[tuple[int, str, bool]]  # (position, source_id, read as a record)
    keys: list[RecordKeys]


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


def block_keys(partition: Partition) -> list[BlockKeys]:
    """The block keys of a partition's records (a task)."""
    return [
        BlockKeys(k.title, k.doi, k.pmid, k.pmcid, k.volume, k.page, k.year, k.authors[:1])
        for k in partition.keys
    ]


def partition_slots(partition: Partition) -> list[tuple[int, str, bool]]:
    """What the output rows need of a partition (a task)."""
    return partition.slots


def score_group(
    left: Partition,
    right: Partition,
    offsets: tuple[int, int],
    pairs_file: str,
    settings: DedupSettings,
) -> list[tuple[int, int, PairEvidence]]:
    """Score candidate pairs whose first record is in ``left`` and second in ``right`` (the
    same partition twice for pairs inside one), global record indices in and out (a task).

    ``offsets``: the global index of each partition's first record; ``pairs_file``: the
    pairs (``pairs``, ``from_exact``) as written by :func:`_score_pairs`.
    """
    with np.load(pairs_file) as data:
        pairs, from_exact = data["pairs"], data["from_exact"]
    first, second = offsets
    n_left = len(left.keys)
    same = first == second
    local = left.keys if same else [*left.keys, *right.keys]
    lo = pairs[:, 0] - first
    hi = pairs[:, 1] - first if same else pairs[:, 1] - second + n_left
    scored = score_candidates(local, np.stack([lo, hi], axis=1), from_exact, settings)

    def to_global(i: int) -> int:
        return i + first if same or i < n_left else i - n_left + second

    return [(to_global(a), to_global(b), e) for a, b, e in scored]


def keys_at(partition: Partition, offset: int, indices: list[int]) -> dict[int, RecordKeys]:
    """The keys of some records of a partition, by global index (a task)."""
    return {i: partition.keys[i - offset] for i in indices}


def _score_pairs(
    client: Any,
    parts: list[Any],
    offsets: np.ndarray,
    pairs: np.ndarray,
    from_exact: np.ndarray,
    settings: DedupSettings,
    folder: Path,
) -> list[Any]:
    """Submit the scoring of the candidate pairs, grouped by the partitions they join, in
    tasks of at most :data:`PAIRS_PER_TASK` pairs; each group's pairs go in a file of
    ``folder`` that its task reads, so that a task lost with its worker can run again."""
    n_parts = len(parts)
    owner_lo = np.searchsorted(offsets, pairs[:, 0], side="right") - 1
    owner_hi = np.searchsorted(offsets, pairs[:, 1], side="right") - 1
    group_code = owner_lo * n_parts + owner_hi
    order = np.argsort(group_code, kind="stable")
    codes, starts = np.unique(group_code[order], return_index=True)
    bounds = [*starts.tolist(), len(order)]
    futures = []
    for g, code in enumerate(codes.tolist()):
        i, j = divmod(code, n_parts)
        rows = order[bounds[g] : bounds[g + 1]]
        for s in range(0, len(rows), PAIRS_PER_TASK):
            chunk = rows[s : s + PAIRS_PER_TASK]
            path = folder / f"pairs-{len(futures):06d}.npz"
            np.savez(path, pairs=pairs[chunk], from_exact=from_exact[chunk])
            spans = (int(offsets[i]), int(offsets[j]))
            futures.append(
                client.submit(score_group, parts[i], parts[j], spans, str(path), settings)
            )
    return futures


def dedup_files_distributed(
    paths: Sequence[Path],
    client: Any,
    settings: DedupSettings | None = None,
    progress: Progress = _noop,
    scratch: Path | None = None,
) -> tuple[list[dict[str, object]], int]:
    """The rows of :func:`~metasift.dedup.standalone.dedup_files` (one per input record, in
    input order), computed on a Dask cluster; and the number of unique records.

    Args:
        paths: export files or record shards (readable by every worker), one partition each.
        client: a ``distributed.Client`` (see :func:`metasift.scale.dask_client`).
        settings: de-duplication settings (the defaults when None).
        progress: called as long steps advance.
        scratch: a folder every worker can read, for the candidate pairs while they are
            scored (default: the system's temporary folder, which serves one machine).
    """
    settings = settings or DedupSettings()
    # Kept on the workers until the end; one lost with its worker is read again.
    parts = [client.submit(read_partition, str(Path(p).resolve()), pure=False) for p in paths]
    progress("reading and normalising", 0, len(parts))
    blocks = client.gather([client.submit(block_keys, part) for part in parts])
    progress("reading and normalising", len(parts), len(parts))
    sizes = [len(b) for b in blocks]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n = int(offsets[-1])
    progress("blocking", 0, 1)
    flat = [k for b in blocks for k in b]
    del blocks
    pairs, from_exact = candidate_pairs(flat, settings.window)
    del flat
    progress("blocking", 1, 1)

    with tempfile.TemporaryDirectory(prefix="metasift-pairs-", dir=scratch) as folder:
        futures = _score_pairs(client, parts, offsets, pairs, from_exact, settings, Path(folder))
        scored: list[tuple[int, int, PairEvidence]] = []
        for k, result in enumerate(client.gather(futures), start=1):
            scored.extend(result)
            progress("scoring pairs", k, len(futures))
    scored.sort(key=lambda item: (item[0], item[1]))

    accepted = [(a, b, e) for a, b, e in scored if e.verdict == DUPLICATE]
    wanted = sorted({i for a, b, _ in accepted for i in (a, b)})
    owner = np.searchsorted(offsets, np.asarray(wanted, dtype=np.int64), side="right") - 1
    by_part: dict[int, list[int]] = {}
    for w, o in zip(wanted, owner.tolist(), strict=True):
        by_part.setdefault(o, []).append(w)
    requests = [client.submit(keys_at, parts[p], int(offsets[p]), i) for p, i in by_part.items()]
    keys: dict[int, RecordKeys] = {}
    for found in client.gather(requests):
        keys.update(found)
    progress("clustering", 0, 1)
    clustering = cluster(n, accepted, conflict_rule(keys, settings))
    progress("clustering", 1, 1)
    labels = cluster_labels(n, clustering.clusters)

    slots = client.gather([client.submit(partition_slots, part) for part in parts])
    rows: list[dict[str, object]] = []
    index = 0
    for path, part_slots in zip(paths, slots, strict=True):
        for position, source_id, is_record in part_slots:
            label: object = ""
            if is_record:
                label = labels[index]
                index += 1
            rows.append(
                {"file": str(path), "position": position, "source_id": source_id, "cluster": label}
            )
    unique = n - sum(len(c) - 1 for c in clustering.clusters)
    return rows, unique
