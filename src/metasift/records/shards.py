"""Records as Parquet shards: the input of work spread over a Dask cluster.

A shard is one Parquet file of records, one row each, with the columns of :data:`SCHEMA`:
``id`` (a string unique across the shards of a run: what scores and clusters are reported
against) and the :class:`Record` fields but ``raw`` (strings, ``year`` an int32, the list
fields lists of strings). Any column but ``id`` may be missing or null. Workers read their
shards themselves, in row batches, so that a shard of any size costs a worker only a batch
of memory. :func:`write_shards` writes them from any records (``metasift shards FILE...``
from any file ``metasift import`` reads).

Needs the ``scale`` extra (pyarrow).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from metasift.errors import ImportFileError, MetasiftError
from metasift.records.model import LIST_FIELDS, RECORD_FIELDS, Record

ROWS_PER_SHARD = 50_000
BATCH_ROWS = 10_000
_SKIP = ("raw", "source_position")
FIELDS = tuple(f for f in RECORD_FIELDS if f not in _SKIP)


def pyarrow() -> Any:
    """The pyarrow module, or an error saying which extra to install."""
    try:
        import pyarrow as pa
        import pyarrow.parquet  # loads pa.parquet
    except ImportError as exc:
        raise MetasiftError("record shards need pyarrow: pip install 'metasift[scale]'.") from exc
    return pa


def schema() -> Any:
    """The shard schema (a ``pyarrow.Schema``)."""
    pa = pyarrow()
    columns = [pa.field("id", pa.string(), nullable=False)]
    for name in FIELDS:
        if name in LIST_FIELDS:
            kind = pa.list_(pa.string())
        elif name in ("year", "label"):
            kind = pa.int32()
        else:
            kind = pa.string()
        columns.append(pa.field(name, kind))
    return pa.schema(columns)


def _table(ids: Sequence[str], records: Sequence[Record]) -> Any:
    pa = pyarrow()
    columns: dict[str, list[Any]] = {"id": list(ids)}
    for name in FIELDS:
        columns[name] = [getattr(r, name) for r in records]
    return pa.Table.from_pydict(columns, schema=schema())


def write_shard(path: Path, ids: Sequence[str], records: Sequence[Record]) -> Path:
    """Write one shard (atomically: a reader never sees half a file).

    Args:
        path: the ``.parquet`` file to write.
        ids: one unique id per record.
        records: the records, in order.
    """
    pa = pyarrow()
    if len(ids) != len(records):
        raise MetasiftError(f"{path}: {len(ids)} ids for {len(records)} records.")
    partial = path.with_name(path.name + ".partial")
    pa.parquet.write_table(_table(ids, records), partial, row_group_size=BATCH_ROWS)
    partial.replace(path)
    return path


def write_shards(
    items: Iterable[tuple[str, Record]],
    folder: Path,
    rows_per_shard: int = ROWS_PER_SHARD,
    prefix: str = "records",
) -> list[Path]:
    """Write ``(id, record)`` pairs into shards of ``rows_per_shard`` rows in ``folder``,
    named ``PREFIX-00000.parquet`` on; returns their paths.

    Args:
        items: the records with their ids, in order.
        folder: where to write (created when missing).
        rows_per_shard: rows per shard (the last one may hold fewer).
        prefix: the start of each shard's file name.
    """
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    ids: list[str] = []
    records: list[Record] = []

    def flush() -> None:
        path = folder / f"{prefix}-{len(paths):05d}.parquet"
        paths.append(write_shard(path, ids, records))
        ids.clear()
        records.clear()

    for record_id, record in items:
        ids.append(record_id)
        records.append(record)
        if len(records) >= rows_per_shard:
            flush()
    if records or not paths:
        flush()
    return paths


def _record(row: dict[str, Any]) -> Record:
    values = {k: v for k, v in row.items() if k in FIELDS and v is not None}
    return Record(**values)


def read_batches(
    path: Path, columns: Sequence[str] | None = None, batch_rows: int = BATCH_ROWS
) -> Iterator[tuple[list[str], list[Record]]]:
    """The shard's records in batches of at most ``batch_rows``: ``(ids, records)``.

    Args:
        path: a shard.
        columns: the record fields to read (all when None; ``id`` is always read).
        batch_rows: rows per batch.
    """
    pa = pyarrow()
    try:
        handle = pa.parquet.ParquetFile(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise ImportFileError(str(path), f"is not a Parquet shard ({exc}).") from exc
    present = set(handle.schema_arrow.names)
    if "id" not in present:
        raise ImportFileError(str(path), "has no 'id' column; write shards with 'metasift shards'.")
    wanted = [c for c in (columns or FIELDS) if c in present and c in FIELDS]
    for batch in handle.iter_batches(batch_size=batch_rows, columns=["id", *wanted]):
        rows = batch.to_pylist()
        yield [str(r["id"]) for r in rows], [_record(r) for r in rows]


def read_shard(path: Path, columns: Sequence[str] | None = None) -> tuple[list[str], list[Record]]:
    """Every record of a shard at once: ``(ids, records)``.

    Args:
        path: a shard.
        columns: the record fields to read (all when None).
    """
    ids: list[str] = []
    records: list[Record] = []
    for batch_ids, batch in read_batches(path, columns):
        ids.extend(batch_ids)
        records.extend(batch)
    return ids, records


def shard_rows(path: Path) -> int:
    """The number of records in a shard (from its footer, without reading the rows)."""
    pa = pyarrow()
    return pa.parquet.ParquetFile(path).metadata.num_rows


def iter_records(path: Path) -> Iterator[Record]:
    """A shard's records as an export file's are read: ``source_file`` the shard,
    ``source_position`` the 1-based row and ``source_id`` the shard's ``id``.

    Args:
        path: a shard.
    """
    position = 0
    for ids, records in read_batches(path):
        for record_id, record in zip(ids, records, strict=True):
            position += 1
            record.source_file = str(path)
            record.source_position = position
            record.source_id = record_id
            yield record


def is_shard(path: Path) -> bool:
    """Whether ``path`` names a record shard (a ``.parquet`` file)."""
    return path.suffix.lower() == ".parquet"
