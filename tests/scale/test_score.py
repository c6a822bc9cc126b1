"""metasift score on Dask: the scores of one process, of a local cluster and of a cluster of
separate processes are the same bits; a worker killed mid-run changes nothing."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from metasift.project import Project
from metasift.records.shards import pyarrow, read_shard
from metasift.scale import dask_client
from metasift.screening.model_file import load_model, project_model, save_model
from metasift.screening.scoring import score_records
from metasift.screening.shards import score_shards
from tests.scale.cluster import real_cluster
from tests.scale.project import screened_project


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = screened_project(tmp_path_factory.mktemp("project") / "review")
    with Project.open(folder) as proj:
        model = project_model(proj.engine, proj.protocol)
    return save_model(model, folder / "model.pkl")


def _scores(folder: Path) -> bytes:
    """Every scores file of ``folder`` as (id, score) rows sorted by id, as bytes."""
    pa = pyarrow()
    tables = [pa.parquet.read_table(p) for p in sorted(folder.glob("*.parquet"))]
    table = pa.concat_tables(tables).sort_by("id")
    ids = "\n".join(table["id"].to_pylist()).encode()
    return ids + table["score"].to_numpy().astype("<f8").tobytes()


def _in_one_process(model_file: Path, shards: list[Path]) -> bytes:
    """score_records over all records at once, outside any shard machinery."""
    ids, records = [], []
    for shard in shards:
        shard_ids, shard_records = read_shard(shard)
        ids.extend(shard_ids)
        records.extend(shard_records)
    scores = score_records(load_model(model_file), records)
    order = sorted(range(len(ids)), key=ids.__getitem__)
    return "\n".join(ids[i] for i in order).encode() + scores[order].astype("<f8").tobytes()


def test_scores_are_the_same_in_one_process_locally_and_on_a_cluster(
    model_file, record_shards, cluster, tmp_path
):
    expected = _in_one_process(model_file, record_shards)
    score_shards(model_file, record_shards, tmp_path / "serial")
    with dask_client(n_workers=2, processes=False) as client:
        score_shards(model_file, record_shards, tmp_path / "local", client)
    with dask_client(cluster.address) as client:
        done = score_shards(model_file, record_shards, tmp_path / "cluster", client)
    assert sum(n for _, n in done) > 2000
    assert _scores(tmp_path / "serial") == expected
    assert _scores(tmp_path / "local") == expected
    assert _scores(tmp_path / "cluster") == expected
    # The scores tell records apart (not one constant), and rank the project's relevant
    # records above its typical one.
    scores = np.frombuffer(expected[-8 * sum(n for _, n in done) :], dtype="<f8")
    assert scores.std() > 0.1
    assert load_model(model_file).included_scores.min() > 0


def test_a_worker_killed_mid_run_costs_its_tasks_not_the_run(model_file, tmp_path):
    # Many small shards, so that the kill lands while tasks are running and some are done.
    from metasift.records.formats import read_records
    from metasift.records.shards import write_shards
    from tests.scale.conftest import EXPORTS

    records = read_records(EXPORTS[1])
    shards = write_shards(
        ((f"r{i}", r) for i, r in enumerate(records * 4)), tmp_path / "shards", 50
    )
    expected = _in_one_process(model_file, shards)
    out = tmp_path / "scores"
    with real_cluster(tmp_path) as running, dask_client(running.address) as client:
        killed = threading.Event()

        def kill_when_started() -> None:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if len(list(out.glob("*.parquet"))) >= 4:
                    running.kill_worker(0)
                    killed.set()
                    return
                time.sleep(0.01)

        watcher = threading.Thread(target=kill_when_started)
        watcher.start()
        score_shards(model_file, shards, out, client)
        watcher.join()
        assert killed.is_set()
        assert len(client.scheduler_info()["workers"]) == 1
    assert len(list(out.glob("*.parquet"))) == len(shards)
    assert not list(out.glob("*.partial"))
    assert _scores(out) == expected
