"""The import stage: files -> records in the project store, every record accounted for.

Each file is imported in one transaction: a crash or a kill leaves either the whole file in
the store or none of it. The steps of an import (:func:`begin_import`, :func:`add_items`,
:func:`finish_import`) also serve imports that do not come from a file, such as the records
of a live search, inside the caller's transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from metasift.errors import ImportFileError
from metasift.records.formats import (
    ReadOptions,
    Rejection,
    canonical_format,
    detect_format,
    read_file,
)
from metasift.records.model import Record
from metasift.records.normalize import EMPTY_RECORD, record_has_content
from metasift.records.provenance import ExportTally, Provenance, SearchDetails, resolve
from metasift.store.records import insert_records
from metasift.store.rounds import current_round
from metasift.store.schema import imports, rejections

BATCH = 1000


@dataclass
class ImportSummary:
    file: str
    format: str
    read: int = 0
    imported: int = 0
    rejected: int = 0
    merged: int = 0
    # Imported records without a title (kept, screened as "(no title)"; counted to be seen).
    untitled: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    import_id: int | None = None
    # The PRISMA-S details stored with the import (a file import's, once read).
    provenance: Provenance | None = None

    def line(self) -> str:
        imported = f"imported {self.imported}"
        if self.untitled:
            imported += f" ({self.untitled} without a title)"
        text = f"read {self.read}, {imported}, rejected {self.rejected}"
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
    """Why ``record`` cannot be imported, or None when it can.

    Only an empty record is refused; one without a title is kept (see ``ImportSummary.untitled``).
    """
    if not record_has_content(record):
        return EMPTY_RECORD
    return None


def record_keys(record: Record) -> list[str]:
    """The identifiers by which a record is recognised as seen before: PMID, DOI, source id."""
    keys = []
    if record.pmid:
        keys.append(f"pmid:{record.pmid}")
    if record.doi:
        keys.append(f"doi:{record.doi}")
    if record.source_id:
        keys.append(f"id:{record.source_id}")
    return keys


def begin_import(
    conn: Connection,
    *,
    file: str,
    fmt: str,
    checksum: str,
    source: str | None,
    options: dict,
    origin: str | None = None,
) -> ImportSummary:
    """Create the ``imports`` row of a new import inside the caller's transaction.

    Args:
        conn: the caller's transaction.
        file: how the file (or the search) is named in the store.
        fmt: the format read.
        checksum: the file's SHA-256, by which a second import of it is recognised.
        source: the name PRISMA reports the import under (None: decided when read).
        options: the reader's settings, kept to re-read the file the same way.
        origin: how ``source`` was obtained (see :mod:`metasift.records.provenance`).
    """
    import_id = conn.execute(
        imports.insert().values(
            file=file,
            format=fmt,
            checksum=checksum,
            source=source,
            source_origin=origin,
            imported_at=datetime.now(UTC),
            n_read=0,
            n_imported=0,
            n_rejected=0,
            n_merged=0,
            options=options,
            round=current_round(conn),
        )
    ).inserted_primary_key[0]
    return ImportSummary(file=file, format=fmt, import_id=import_id)


def add_items(
    conn: Connection,
    summary: ImportSummary,
    items: Iterable[Record | Rejection],
    *,
    source_file: str | None = None,
    seen: set[str] | frozenset[str] = frozenset(),
    on_record: Callable[[int], None] | None = None,
) -> None:
    """Store ``items`` under ``summary``'s import, counting every one of them.

    With ``seen`` (identity keys of records stored before, see :func:`record_keys`), a record
    matching one of them is counted as merged instead of stored. Records of this import are
    not compared with each other: telling duplicates apart is the de-duplication stage's job.
    """
    batch: list[Record] = []
    for item in items:
        summary.read += 1
        if isinstance(item, Record) and (reason := check_record(item)):
            item = Rejection(item.source_position or summary.read, reason, source_file=source_file)
        if isinstance(item, Rejection):
            summary.rejections.append(item)
        elif seen and any(key in seen for key in record_keys(item)):
            summary.merged += 1
        else:
            summary.untitled += not item.title
            batch.append(item)
            if len(batch) >= BATCH:
                summary.imported += insert_records(conn, summary.import_id, batch)
                batch.clear()
        if on_record:
            on_record(summary.read)
    summary.imported += insert_records(conn, summary.import_id, batch)


def finish_import(conn: Connection, summary: ImportSummary) -> None:
    """Write the rejections and the final counts of ``summary``'s import."""
    summary.rejected = len(summary.rejections)
    details = {}
    if (p := summary.provenance) is not None:
        details = {
            "source": p.source,
            "source_origin": p.origin,
            "database": p.database,
            "platform": p.platform,
            "searched": p.searched,
            "query": p.query,
            "limits": p.limits,
            "source_type": p.source_type,
        }
    if summary.rejections:
        conn.execute(
            rejections.insert(),
            [
                {
                    "import_id": summary.import_id,
                    "position": r.position,
                    "line": r.line,
                    "reason": r.reason,
                }
                for r in summary.rejections
            ],
        )
    conn.execute(
        imports.update()
        .where(imports.c.id == summary.import_id)
        .values(
            n_read=summary.read,
            n_imported=summary.imported,
            n_rejected=summary.rejected,
            n_merged=summary.merged,
            **details,
        )
    )


def _renamed(
    items: Iterable[Record | Rejection],
    name: str,
    tally: ExportTally,
    database: str | None,
) -> Iterator[Record | Rejection]:
    """``items`` under the stored file name, counted by what each says of its database
    before the reviewer's ``database`` (``--source``), when given, replaces it."""
    for item in items:
        item.source_file = name
        if isinstance(item, Record):
            tally.add(item)
            if database:
                item.source_database = database
        yield item


def import_file(
    engine: Engine,
    path: Path,
    *,
    fmt: str | None = None,
    options: ReadOptions | None = None,
    force: bool = False,
    on_record: Callable[[int], None] | None = None,
    name: str | None = None,
    details: SearchDetails | None = None,
) -> ImportSummary:
    """Read ``path`` and store its records; returns the counts, the rejections and the
    PRISMA-S details stored with the import.

    Args:
        engine: the project store.
        path: the export file (or SYNERGY folder).
        fmt: its format; detected from the content when None.
        options: reader settings; ``options.source_database`` is the reviewer's name for the
            source, as ``details.source``.
        force: import a file again that was imported before.
        on_record: called with the number of records read so far.
        name: how the file is recorded (the import's file and each record's source file);
            by default the path as given. A project passes its own relative path, so that
            the store does not depend on where the project folder lies.
        details: the PRISMA-S details the reviewer gave (source, platform, date searched,
            search string, limits, source type); the export's own statements fill the gaps.
    """
    options = options or ReadOptions()
    details = details or SearchDetails()
    source = details.source or options.source_database
    if source != details.source:
        details = SearchDetails(**{**details.__dict__, "source": source})
    name = name or str(path)
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
                    web=f"this file was already imported (import {earlier.id}); tick 'import "
                    "again' to import it again.",
                )
        summary = begin_import(
            conn,
            file=name,
            fmt=fmt,
            checksum=checksum,
            source=source,
            options={"column_map": options.column_map, "label_column": options.label_column},
        )
        tally = ExportTally(fmt)
        # The reader leaves each record's database as the export states it; _renamed applies
        # the reviewer's name after counting what the export said.
        as_read = replace(options, source_database=None)
        add_items(
            conn,
            summary,
            _renamed(read_file(path, fmt, as_read), name, tally, source),
            source_file=name,
            on_record=on_record,
        )
        if summary.read == 0:
            raise ImportFileError(str(path), f"no {fmt} records found in the file.")
        summary.provenance = resolve(details, tally)
        finish_import(conn, summary)
    return summary


def import_files(
    engine: Engine,
    paths: Iterable[Path],
    *,
    fmt: str | None = None,
    options: ReadOptions | None = None,
    force: bool = False,
    on_record: Callable[[Path, int], None] | None = None,
    details: SearchDetails | None = None,
) -> list[ImportSummary]:
    """:func:`import_file` for each of ``paths``, with the same settings and details."""
    results = []
    for path in paths:
        callback = (lambda n, p=path: on_record(p, n)) if on_record else None
        results.append(
            import_file(
                engine,
                path,
                fmt=fmt,
                options=options,
                force=force,
                on_record=callback,
                details=details,
            )
        )
    return results
