"""The import stage: files -> records in the project store, every record accounted for.

Each file is imported in one transaction: a crash or a kill leaves either the whole file in
the store or none of it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import Engine

from metasift.errors import ImportFileError
from metasift.records.formats import (
    ReadOptions,
    Rejection,
    canonical_format,
    detect_format,
    read_file,
)
from metasift.records.model import Record
from metasift.store.records import insert_records
from metasift.store.schema import imports, rejections

BATCH = 1000
NO_TITLE = "no title: a record needs a title to be screened; add it in the source file"


@dataclass
class ImportSummary:
    file: str
    format: str
    read: int = 0
    imported: int = 0
    rejected: int = 0
    merged: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    import_id: int | None = None

    def line(self) -> str:
        text = f"read {self.read}, imported {self.imported}, rejected {self.rejected}"
        if self.merged:
            text += f", merged {self.merged}"
        return text


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        with file.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def check_record(record: Record) -> str | None:
    """Why ``record`` cannot be imported, or None when it can."""
    if not record.title:
        return NO_TITLE
    return None


def import_file(
    engine: Engine,
    path: Path,
    *,
    fmt: str | None = None,
    options: ReadOptions | None = None,
    force: bool = False,
    on_record: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Read ``path`` and store its records; returns the counts and the rejections."""
    options = options or ReadOptions()
    fmt = canonical_format(fmt) if fmt else detect_format(path)
    checksum = file_checksum(path)
    with engine.begin() as conn:
        if not force:
            earlier = conn.execute(
                sa.select(imports.c.id, imports.c.imported_at).where(imports.c.checksum == checksum)
            ).first()
            if earlier is not None:
                raise ImportFileError(
                    str(path),
                    f"this file was already imported (import {earlier.id}); "
                    "pass --force to import it again.",
                )
        import_id = conn.execute(
            imports.insert().values(
                file=str(path),
                format=fmt,
                checksum=checksum,
                source=options.source_database,
                imported_at=datetime.now(UTC),
                n_read=0,
                n_imported=0,
                n_rejected=0,
                n_merged=0,
                options={"column_map": options.column_map, "label_column": options.label_column},
            )
        ).inserted_primary_key[0]
        summary = ImportSummary(file=str(path), format=fmt, import_id=import_id)
        batch: list[Record] = []
        for item in read_file(path, fmt, options):
            summary.read += 1
            if isinstance(item, Record) and (reason := check_record(item)):
                item = Rejection(
                    item.source_position or summary.read, reason, source_file=str(path)
                )
            if isinstance(item, Rejection):
                summary.rejections.append(item)
            else:
                batch.append(item)
                if len(batch) >= BATCH:
                    summary.imported += insert_records(conn, import_id, batch)
                    batch.clear()
            if on_record:
                on_record(summary.read)
        summary.imported += insert_records(conn, import_id, batch)
        summary.rejected = len(summary.rejections)
        if summary.rejections:
            conn.execute(
                rejections.insert(),
                [
                    {
                        "import_id": import_id,
                        "position": r.position,
                        "line": r.line,
                        "reason": r.reason,
                    }
                    for r in summary.rejections
                ],
            )
        if summary.read == 0:
            raise ImportFileError(str(path), f"no {fmt} records found in the file.")
        conn.execute(
            imports.update()
            .where(imports.c.id == import_id)
            .values(n_read=summary.read, n_imported=summary.imported, n_rejected=summary.rejected)
        )
    return summary


def import_files(
    engine: Engine,
    paths: Iterable[Path],
    *,
    fmt: str | None = None,
    options: ReadOptions | None = None,
    force: bool = False,
    on_record: Callable[[Path, int], None] | None = None,
) -> list[ImportSummary]:
    results = []
    for path in paths:
        callback = (lambda n, p=path: on_record(p, n)) if on_record else None
        results.append(
            import_file(engine, path, fmt=fmt, options=options, force=force, on_record=callback)
        )
    return results
