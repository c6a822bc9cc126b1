"""Stand-alone de-duplication of export files, without a project: for scripts and benchmarks.

Every record read (and every record a reader rejected) gets one row: file, position (1-based
order in its file), source_id (the record's own id field) and cluster (1-based, numbered in
order of first appearance; rejected records have an empty cluster).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from metasift.dedup.compare import FieldRow, record_fields, side_by_side
from metasift.dedup.core import DedupResult, Pair, Progress, deduplicate
from metasift.dedup.settings import DedupSettings
from metasift.records.cells import SafeDictWriter
from metasift.records.formats import Rejection, read_file
from metasift.records.formats.base import ReadItem
from metasift.records.model import Record
from metasift.records.shards import is_shard, iter_records

COLUMNS = ("file", "position", "source_id", "cluster")


def _noop(step: str, done: int, total: int) -> None:
    return None


def read_items(path: Path) -> Iterator[ReadItem]:
    """The records of an export file (any format ``metasift import`` reads) or of a record
    shard (``.parquet``, see :mod:`metasift.records.shards`), with rejections.

    Args:
        path: the file.
    """
    if is_shard(path):
        return iter_records(path)
    return read_file(path)


def dedup_files(
    paths: Sequence[Path],
    settings: DedupSettings | None = None,
    progress: Progress = _noop,
    records_out: list[Record] | None = None,
) -> tuple[list[dict[str, object]], DedupResult]:
    """One row per input record, in input order, and the clustering behind them.

    Args:
        paths: export files or record shards, read in order.
        settings: de-duplication settings (the defaults when None).
        progress: called as long steps advance.
        records_out: when given, receives the records read (indices of ``result``).
    """
    slots: list[tuple[str, int, str, int | None]] = []
    records: list[Record] = [] if records_out is None else records_out
    for path in paths:
        for item in read_items(path):
            if isinstance(item, Rejection):
                slots.append((str(path), item.position, "", None))
                continue
            slots.append((str(path), item.source_position or 0, item.source_id or "", len(records)))
            records.append(item)
            if len(records) % 20000 == 0:
                progress("reading records", len(records), 0)
    result = deduplicate(records, settings, progress=progress)
    labels = result.labels()
    rows = [
        {
            "file": file,
            "position": position,
            "source_id": source_id,
            "cluster": labels[index] if index is not None else "",
        }
        for file, position, source_id, index in slots
    ]
    return rows, result


def write_clusters(rows: Sequence[dict[str, object]], stream: TextIO) -> None:
    """Write the rows of :func:`dedup_files` as CSV (cells safe to open in a spreadsheet)."""
    writer = SafeDictWriter(stream, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


def queued_pairs(
    result: DedupResult, records: Sequence[Record]
) -> list[tuple[Pair, list[FieldRow]]]:
    """The pairs left to a reviewer, each with both records side by side field by field."""
    return [
        (
            pair,
            side_by_side(
                record_fields(records[pair.a]),
                record_fields(records[pair.b]),
                pair.evidence.matched,
                pair.evidence.conflicts,
            ),
        )
        for pair in result.review
    ]
