"""Reading and writing records in the store."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from metasift.records.model import RECORD_FIELDS, Record
from metasift.store.schema import dedup_clusters, dedup_members, imports, records

_STORED = [f for f in RECORD_FIELDS if f not in ("source_position",)]


def record_row(record: Record, import_id: int) -> dict:
    row = {name: getattr(record, name) for name in _STORED}
    row["import_id"] = import_id
    row["position"] = record.source_position
    return row


def insert_records(conn: Connection, import_id: int, batch: Iterable[Record]) -> int:
    rows = [record_row(r, import_id) for r in batch]
    if rows:
        conn.execute(records.insert(), rows)
    return len(rows)


def row_to_record(row: sa.Row) -> Record:
    data = {name: getattr(row, name) for name in _STORED}
    data["source_position"] = row.position
    return Record(**data)


def iter_records(
    engine: Engine | Connection, where: sa.ColumnElement[bool] | None = None
) -> Iterator[tuple[int, Record]]:
    """``(record id, Record)`` for every stored record (or those matching ``where``), by id."""
    query = sa.select(records).order_by(records.c.id)
    if where is not None:
        query = query.where(where)
    if isinstance(engine, Engine):
        with engine.connect() as conn:
            for row in conn.execution_options(yield_per=2000).execute(query):
                yield row.id, row_to_record(row)
    else:
        for row in engine.execute(query):
            yield row.id, row_to_record(row)


def count_records(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(records)).scalar_one()


def _not_removed() -> sa.ColumnElement[bool]:
    """Records screening works on: not a removed duplicate, not a study of the review's
    previous version (an import of source type "previous"), and not found again in this round
    as a duplicate of one (it was included last time; PRISMA counts it as a duplicate)."""
    removed = sa.select(dedup_members.c.record_id).where(dedup_members.c.role == "duplicate")
    previous = (
        sa.select(records.c.id)
        .join(imports, imports.c.id == records.c.import_id)
        .where(imports.c.source_type == "previous")
    )
    found_again = sa.select(dedup_members.c.record_id).where(
        dedup_members.c.cluster_id.in_(
            sa.select(dedup_members.c.cluster_id).where(dedup_members.c.record_id.in_(previous))
        )
    )
    return sa.and_(
        records.c.id.not_in(removed),
        records.c.id.not_in(previous),
        records.c.id.not_in(found_again),
    )


def screenable_clause() -> sa.ColumnElement[bool]:
    """The condition on ``records`` that :func:`iter_screenable` applies, for queries that rank
    or pick screenable records in the database."""
    return _not_removed()


def screenable_record(conn: Connection, record_id: int) -> Record | None:
    """One record as :func:`iter_screenable` yields it (merged metadata filled in); None when
    it is not screenable. Reads one row: a page can show a record without loading them all."""
    found = next(iter_records(conn, sa.and_(records.c.id == record_id, _not_removed())), None)
    if found is None:
        return None
    record = found[1]
    merged = conn.execute(
        sa.select(dedup_clusters.c.merged).where(dedup_clusters.c.primary_record_id == record_id)
    ).scalar()
    for name, value in (merged or {}).items():
        setattr(record, name, value)
    return record


def screenable_ids(engine: Engine | Connection) -> list[int]:
    """Ids of the records :func:`iter_screenable` yields, without loading the records."""
    query = sa.select(records.c.id).where(_not_removed()).order_by(records.c.id)
    if isinstance(engine, Engine):
        with engine.connect() as conn:
            return list(conn.execute(query).scalars())
    return list(engine.execute(query).scalars())


def iter_screenable(engine: Engine) -> Iterator[tuple[int, Record]]:
    """The records screening works on: every stored record that is not a removed duplicate.

    For each duplicate cluster that is its primary record, with the metadata merged from the
    other members filled in (abstract, DOI, PMID, ...); every unclustered record as stored.
    """
    with engine.connect() as conn:
        merged = {
            row.primary_record_id: row.merged
            for row in conn.execute(
                sa.select(dedup_clusters.c.primary_record_id, dedup_clusters.c.merged)
            )
        }
    for record_id, record in iter_records(engine, _not_removed()):
        for name, value in (merged.get(record_id) or {}).items():
            setattr(record, name, value)
        yield record_id, record
