"""metasift dedup on Dask: the clusters CSV of one process, of a local cluster and of a
cluster of separate processes are the same bytes."""

from __future__ import annotations

import io

from metasift.dedup.distributed import PAIRS_PER_TASK, dedup_files_distributed
from metasift.dedup.standalone import dedup_files, write_clusters
from metasift.scale import dask_client
from tests.scale.conftest import EXPORTS


def _csv(rows) -> bytes:
    stream = io.StringIO()
    write_clusters(rows, stream)
    return stream.getvalue().encode()


def test_clusters_are_the_same_in_one_process_locally_and_on_a_cluster(cluster, monkeypatch):
    rows, result = dedup_files(EXPORTS)
    expected = _csv(rows)
    assert result.duplicates_removed > 500  # the fixtures hold many duplicates across files
    # Small groups of pairs, so that pairs of one pair of partitions spread over tasks too.
    assert PAIRS_PER_TASK > 1000
    monkeypatch.setattr("metasift.dedup.distributed.PAIRS_PER_TASK", 1000)
    # Several title ranges and buckets, so that blocking exchanges pieces between workers.
    monkeypatch.setattr("metasift.dedup.distributed_blocking.RECORDS_PER_RANGE", 400)
    monkeypatch.setattr("metasift.dedup.distributed_blocking.ENTRIES_PER_BUCKET", 8000)
    with dask_client(n_workers=2, processes=False) as client:
        local, unique = dedup_files_distributed(EXPORTS, client)
    assert _csv(local) == expected
    assert unique == result.n_records - result.duplicates_removed
    with dask_client(cluster.address) as client:
        remote, _ = dedup_files_distributed(EXPORTS, client)
    assert _csv(remote) == expected


def test_shards_give_the_clusters_of_their_records(record_shards, cluster):
    rows, _ = dedup_files(record_shards)
    with dask_client(cluster.address) as client:
        remote, _ = dedup_files_distributed(record_shards, client)
    assert _csv(remote) == _csv(rows)
    assert {r["source_id"] for r in rows} >= {"zotero_export.bib:1"}


def test_a_worker_killed_mid_run_costs_its_tasks_not_the_run(tmp_path):
    from tests.scale.cluster import real_cluster

    expected = _csv(dedup_files(EXPORTS)[0])
    with real_cluster(tmp_path) as running, dask_client(running.address) as client:
        killed = []

        def progress(step: str, done: int, total: int) -> None:
            # Once every partition is read (its keys held by the workers), before the pairs
            # are scored: the dead worker's partitions must be read again elsewhere.
            if step == "blocking" and not killed:
                running.kill_worker(0)
                killed.append(step)

        rows, _ = dedup_files_distributed(EXPORTS, client, progress=progress)
        assert killed
        assert len(client.scheduler_info()["workers"]) == 1
    assert _csv(rows) == expected
