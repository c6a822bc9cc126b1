"""Blocking on Dask finds exactly the candidate pairs of one process: on real libraries split
into partitions, on cases built to break a partitioned sort, and on random record sets."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metasift.dedup.blocking import candidate_pairs
from metasift.dedup.core import compute_keys
from metasift.dedup.distributed_blocking import distributed_candidate_pairs
from metasift.dedup.keys import RecordKeys, record_keys
from metasift.records.formats import read_records
from metasift.records.model import Record
from metasift.scale import dask_client
from tests.conftest import SHARED_DATA
from tests.scale.conftest import EXPORTS

# Sizes that give many small ranges and buckets, most smaller than a window (each costs
# tasks: keep the cases small).
SMALL = {"records_per_range": 4, "entries_per_bucket": 60}


@pytest.fixture(scope="module")
def local() -> Iterator[object]:
    with dask_client(n_workers=2, processes=False) as client:
        yield client


def _split(keys: Sequence[RecordKeys], sizes: Sequence[int]) -> list[list[RecordKeys]]:
    """``keys`` cut into partitions of ``sizes`` (the last takes the rest)."""
    parts, start = [], 0
    for size in sizes:
        parts.append(list(keys[start : start + size]))
        start += size
    parts.append(list(keys[start:]))
    return parts


def assert_same_pairs(
    client, partitions: list[list[RecordKeys]], window: int = 10, **sizes: int
) -> int:
    """The pairs of the partitions on ``client`` are those of one process; their number."""
    flat = [k for part in partitions for k in part]
    expected, expected_exact = candidate_pairs(flat, window)
    futures = [client.scatter([part], hash=False)[0] for part in partitions]
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in partitions])]).astype(np.int64)
    found = client.gather(distributed_candidate_pairs(client, futures, offsets, window, **sizes))
    pairs = np.concatenate([np.empty((0, 2), np.int64), *(f[0] for f in found)])
    exact = np.concatenate([np.empty(0, bool), *(f[1] for f in found)])
    assert pairs.tolist() == expected.tolist()
    assert exact.tolist() == expected_exact.tolist()
    return len(pairs)


def keys_of(*records: Record) -> list[RecordKeys]:
    return [record_keys(r) for r in records]


def test_real_libraries_on_a_cluster_of_processes(cluster):
    files = [list(read_records(p)) for p in EXPORTS]
    library = SHARED_DATA / "dedup" / "respiratory" / "Respiratory.xml"
    copper = SHARED_DATA / "dedup" / "deduplicator_forbes2024" / "copper.xml"
    with dask_client(cluster.address) as client:
        # Each export a partition, as `metasift dedup FILE...` makes them.
        partitions = [compute_keys(records) for records in files]
        assert assert_same_pairs(client, partitions) > 40_000
        assert assert_same_pairs(client, partitions, records_per_range=200) > 40_000
        flat = [k for part in partitions for k in part]
        uneven = _split(flat, [1, 0, 737, 5, 1200, 0, 3])
        assert_same_pairs(client, uneven, records_per_range=97, entries_per_bucket=1500)
        assert_same_pairs(client, uneven, window=3, records_per_range=50)
        if not (library.exists() and copper.exists()):
            pytest.skip(f"{library.parent.parent} is not here: only the fixture libraries ran")
        keys = compute_keys([*read_records(library), *read_records(copper)])
        assert len(keys) > 2400
        assert assert_same_pairs(client, _split(keys, [900, 13, 1100]), records_per_range=250)


def test_many_equal_titles_across_partition_and_range_boundaries(local):
    records = [
        Record(title="Editorial", doi=f"10.1/e{i % 7}", year=2000 + i % 3) for i in range(120)
    ]
    records += [Record(title="Correction to a trial of x in y", pages="1-2") for _ in range(60)]
    keys = keys_of(*records)
    for sizes in ([50, 50], [1] * 9, [0, 179]):
        assert assert_same_pairs(local, _split(keys, sizes), records_per_range=15) > 0
    # Ranges of one record: a window's heads come from many ranges.
    assert_same_pairs(local, _split(keys, [90]), window=5, records_per_range=1)


def test_empty_titles_sort_last_inside_their_groups(local):
    records = [Record(title="", doi="10.1/a", pmid=str(i % 3)) for i in range(25)]
    records += [Record(title=f"study {i % 4} of z", doi="10.1/a") for i in range(25)]
    records += [Record(title="", volume="3", pages="7", year=1999) for _ in range(12)]
    keys = keys_of(*records)
    keys = keys[::2] + keys[1::2]  # empty and full titles interleaved in index order
    assert assert_same_pairs(local, _split(keys, [10, 30]), **SMALL) > 0
    assert assert_same_pairs(local, _split(keys, [61]), window=4) > 0


def test_one_partition_and_more_partitions_than_records(local):
    keys = keys_of(
        Record(title="alpha beta gamma delta", doi="10.1/x"),
        Record(title="alpha beta gamma delta", doi="10.1/x"),
        Record(title="delta gamma beta alpha"),
        Record(title=""),
        Record(title="omega"),
    )
    assert assert_same_pairs(local, [keys]) == 6
    assert assert_same_pairs(local, _split(keys, [0, 1, 0, 0, 1, 1, 0, 1, 0, 1, 0]), **SMALL) == 6
    assert assert_same_pairs(local, [[], []]) == 0
    assert assert_same_pairs(local, [[]], **SMALL) == 0


def test_a_huge_lsh_bucket(local):
    # One word set: every band of every record lands in one bucket, whatever the word order.
    words = ["annual", "report", "of", "the", "society"]
    rng = np.random.default_rng(3)
    records = [Record(title=" ".join(rng.permutation(words))) for _ in range(1500)]
    keys = keys_of(*records)
    assert assert_same_pairs(local, _split(keys, [400, 3, 700]), records_per_range=40) > 1500


VOCABULARY = ["", "a", "b", "c", "a b", "b a", "a b c", "c b a", "a b c d", "d c b a x"]


@st.composite
def record_sets(draw: st.DrawFn) -> tuple[list[list[RecordKeys]], int, dict[str, int]]:
    n = draw(st.integers(0, 40))
    records = [
        Record(
            title=draw(st.sampled_from(VOCABULARY)),
            doi=draw(st.sampled_from(["", "10.1/a", "10.1/b"])) or None,
            pmid=draw(st.sampled_from(["", "1", "2"])) or None,
            year=draw(st.sampled_from([None, 2001])),
            volume=draw(st.sampled_from([None, "4"])),
            pages=draw(st.sampled_from([None, "10-12"])),
            authors=draw(st.sampled_from([[], ["Smith, J"]])),
        )
        for _ in range(n)
    ]
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=6)))
    sizes = [b - a for a, b in zip([0, *cuts], cuts, strict=False)]
    window = draw(st.integers(2, 6))
    sizing = {
        "records_per_range": draw(st.integers(2, 15)),
        "entries_per_bucket": draw(st.integers(20, 200)),
    }
    return _split(keys_of(*records), sizes), window, sizing


@settings(max_examples=30)
@given(record_sets())
def test_random_record_sets_in_random_partitions(local, case):
    partitions, window, sizing = case
    assert_same_pairs(local, partitions, window, **sizing)
