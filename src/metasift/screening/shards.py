"""Scoring record shards with a project's model: in this process or on a Dask cluster.

One task per shard: it loads the model file, reads the shard in row batches, scores each
batch with :func:`~metasift.screening.scoring.score_records` and writes ``id, score`` rows to
a Parquet file of the same name in the output folder. A task's memory is one batch (not the
shard), and its inputs and output are paths: the scheduler carries nothing else. The output
file is written under a temporary name and renamed when complete, so a task that a lost
worker left half done is simply run again, and the result does not depend on which worker ran
which shard, nor on how many there were.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from metasift.errors import MetasiftError
from metasift.records.shards import BATCH_ROWS, pyarrow, read_batches
from metasift.screening.features import record_fields
from metasift.screening.model_file import load_model
from metasift.screening.scoring import score_records


def score_shard(model_file: Path, shard: Path, out: Path, batch_rows: int = BATCH_ROWS) -> int:
    """Score one shard into ``out`` (Parquet: ``id`` string, ``score`` float64, in the
    shard's order); returns the number of records scored.

    Args:
        model_file: a model written by :func:`~metasift.screening.model_file.save_model`.
        shard: a record shard (:mod:`metasift.records.shards`).
        out: the scores file to write.
        batch_rows: records scored at a time (the task's memory).
    """
    pa = pyarrow()
    model = load_model(Path(model_file))
    out = Path(out)
    partial = out.with_name(out.name + ".partial")
    table_schema = pa.schema([pa.field("id", pa.string()), pa.field("score", pa.float64())])
    n = 0
    # Only the fields the model reads are loaded.
    fields = record_fields(model.text_fields)
    with pa.parquet.ParquetWriter(partial, table_schema) as writer:
        for ids, records in read_batches(Path(shard), fields, batch_rows):
            scores = score_records(model, records)
            writer.write_table(pa.table({"id": ids, "score": scores}, schema=table_schema))
            n += len(ids)
    partial.replace(out)
    return n


def outputs(shards: Sequence[Path], out: Path) -> list[Path]:
    """The scores file of each shard: the shard's file name in ``out``.

    Raises:
        MetasiftError: when two shards have the same file name.
    """
    seen: dict[str, Path] = {}
    for shard in shards:
        if shard.name in seen:
            raise MetasiftError(
                f"two shards are named {shard.name} ({seen[shard.name]} and {shard}); their "
                "scores would overwrite each other: rename one."
            )
        if not shard.exists():
            raise MetasiftError(f"{shard}: no such shard.")
        seen[shard.name] = shard
    return [out / shard.name for shard in shards]


def score_shards(
    model_file: Path,
    shards: Sequence[Path],
    out: Path,
    client: Any | None = None,
    batch_rows: int = BATCH_ROWS,
    progress: Callable[[int, int, int], None] | None = None,
) -> list[tuple[Path, int]]:
    """Score every shard; returns ``(scores file, records)`` per shard, in the shards' order.

    Args:
        model_file: the project's model file (readable by every worker).
        shards: record shards (readable by every worker).
        out: the folder of the scores files (created when missing).
        client: a ``distributed.Client`` (see :func:`metasift.scale.dask_client`); None scores
            the shards one after the other in this process.
        batch_rows: records a task scores at a time.
        progress: called as ``progress(shards done, shards, records scored)``.
    """
    out.mkdir(parents=True, exist_ok=True)
    targets = outputs(shards, out)
    jobs = [
        (str(model_file), str(s), str(t), batch_rows) for s, t in zip(shards, targets, strict=True)
    ]
    done: list[int] = []
    if client is None:
        for job in jobs:
            done.append(score_shard(*job))
            if progress:
                progress(len(done), len(jobs), sum(done))
        return list(zip(targets, done, strict=True))
    from distributed import as_completed

    # Pure tasks (the output file is a function of the arguments): a task lost with its
    # worker is run again elsewhere.
    futures = [client.submit(score_shard, *job) for job in jobs]
    scored = 0
    for finished, future in enumerate(as_completed(futures), start=1):
        scored += future.result()
        if progress:
            progress(finished, len(jobs), scored)
    counts = client.gather(futures)
    return list(zip(targets, counts, strict=True))
