"""`metasift shards`, `metasift score` and `metasift dedup --scheduler` as users run them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from metasift.records.shards import pyarrow, shard_rows
from tests.scale.conftest import EXPORTS
from tests.scale.project import screened_project


def metasift(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "metasift.cli", *args], capture_output=True, text=True, cwd=cwd
    )


def test_shards_then_score_on_a_cluster_then_dedup(tmp_path, cluster):
    project = screened_project(tmp_path / "review")
    made = metasift(
        "shards", *map(str, EXPORTS[2:5]), "--out", str(tmp_path / "s"), "--rows", "100"
    )
    assert made.returncode == 0, made.stderr
    shards = sorted((tmp_path / "s").glob("*.parquet"))
    assert len(shards) == 3 and sum(shard_rows(s) for s in shards) == 102 + 80 + 102
    scored = metasift(
        "score",
        "--project",
        str(project),
        "--out",
        str(tmp_path / "scores"),
        "--scheduler",
        cluster.address,
        *[a for s in shards for a in ("--in", str(s))],
    )
    assert scored.returncode == 0, scored.stderr
    assert "Scored 284 records in 3 shard(s)" in scored.stderr
    assert "svm+logistic-bmi/words+stems+mesh" in scored.stderr
    table = pyarrow().parquet.read_table(tmp_path / "scores" / shards[0].name)
    assert table.column_names == ["id", "score"]
    assert table["id"][0].as_py() == "blue-light.ris:1"
    # The embedded default: a local cluster of worker processes, started by the command.
    local = metasift(
        "score",
        "--project",
        str(project),
        "--out",
        str(tmp_path / "local"),
        "--workers",
        "1",
        "--in",
        str(shards[0]),
    )
    assert local.returncode == 0, local.stderr
    assert (tmp_path / "local" / shards[0].name).read_bytes() == (
        tmp_path / "scores" / shards[0].name
    ).read_bytes()

    one = metasift("dedup", *map(str, EXPORTS[2:5]), "--out", str(tmp_path / "one.csv"))
    dask = metasift(
        "dedup",
        *map(str, EXPORTS[2:5]),
        "--out",
        str(tmp_path / "dask.csv"),
        "--scheduler",
        cluster.address,
    )
    assert one.returncode == 0 and dask.returncode == 0, dask.stderr
    assert (tmp_path / "dask.csv").read_bytes() == (tmp_path / "one.csv").read_bytes()
    assert "284 records, 102 unique." in dask.stderr and "284 records, 102 unique." in one.stderr


def test_score_refuses_shards_whose_scores_would_collide(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for folder in ("a", "b"):
        (tmp_path / folder / "x.parquet").write_bytes(b"")
    result = metasift(
        "score",
        "--project",
        str(tmp_path),
        "--out",
        str(tmp_path / "o"),
        "--in",
        str(tmp_path / "a" / "x.parquet"),
        "--in",
        str(tmp_path / "b" / "x.parquet"),
    )
    assert result.returncode == 1
    assert "two shards are named x.parquet" in result.stderr
    assert "Traceback" not in result.stderr


def test_dedup_of_every_fixture_export_on_separate_workers_writes_the_same_csv(tmp_path, cluster):
    files = list(map(str, EXPORTS))
    one = metasift("dedup", *files, "--out", str(tmp_path / "one.csv"))
    dask = metasift(
        "dedup", *files, "--out", str(tmp_path / "dask.csv"), "--scheduler", cluster.address
    )
    assert one.returncode == 0 and dask.returncode == 0, dask.stderr
    assert (tmp_path / "dask.csv").read_bytes() == (tmp_path / "one.csv").read_bytes()
