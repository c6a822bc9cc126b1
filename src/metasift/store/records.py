"""Reading and writing records in the store."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from metasift.records.model import RECORD_FIELDS, Record
from metasift.store.engine import connected
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


# --- full-text search (revision 0016_record_search) -------------------------------------------
# The same expression as the GIN index of that revision, so that PostgreSQL uses the index.
PG_SEARCH_VECTOR = (
    "to_tsvector('simple'::regconfig, coalesce(title, '') || ' ' || coalesce(abstract, '') "
    "|| ' ' || coalesce(journal, '') || ' ' || (authors::jsonb)::text || ' ' "
    "|| (keywords::jsonb)::text)"
)
# Letters and digits: what both engines' tokenizers keep as words (no underscore, no marks).
_WORD = re.compile(r"[^\W_]+")
_PHRASE = re.compile(r'"([^"]*)"|([^"\s]+)')


def search_terms(query: str) -> list[tuple[list[str], bool]]:
    """The terms of a search box's text: ``(words, prefix)`` for each quoted phrase (matched
    exactly) or lone word (matched as a prefix, so ``cell`` finds "cells").

    Args:
        query: what the user typed; anything but letters and digits separates words.
    """
    terms = []
    for match in _PHRASE.finditer(query):
        quoted, bare = match.groups()
        if quoted is not None:
            words = _WORD.findall(quoted.lower())
            if words:
                terms.append((words, False))
        else:
            terms.extend(([w], True) for w in _WORD.findall(bare.lower()))
    return terms


def text_match(dialect: str, query: str) -> sa.ColumnElement[bool] | None:
    """A condition on ``records`` true for the records whose title, abstract, authors,
    journal or keywords hold every term of ``query`` (:func:`search_terms`); None when the
    query has no word. The one search both engines answer alike: SQLite through the FTS5
    index ``records_fts``, PostgreSQL through ``to_tsvector`` (its GIN index).

    Args:
        dialect: the engine's dialect name (``sqlite`` or ``postgresql``).
        query: what the user typed.
    """
    terms = search_terms(query)
    if not terms:
        return None
    if dialect == "sqlite":
        # Every word is quoted: FTS5's own operators (NOT, NEAR, column:) stay plain words.
        fts = " ".join(
            '"' + " ".join(words) + '"' + ("*" if prefix else "") for words, prefix in terms
        )
        matching = sa.select(sa.column("rowid")).select_from(sa.table("records_fts"))
        matching = matching.where(sa.text("records_fts MATCH :fts").bindparams(fts=fts))
        return records.c.id.in_(matching)
    tsquery = " & ".join(
        "(" + " <-> ".join(words) + ")" if len(words) > 1 else words[0] + (":*" if prefix else "")
        for words, prefix in terms
    )
    return sa.text(f"{PG_SEARCH_VECTOR} @@ to_tsquery('simple'::regconfig, :tsquery)").bindparams(
        tsquery=tsquery
    )


def find_record_ids(
    engine: Engine | Connection, *, text: str = "", import_ids: Iterable[int] | None = None
) -> list[int]:
    """Ids of the records matching ``text`` (:func:`text_match`) and read by one of
    ``import_ids``, in record order.

    Args:
        engine: the project store, or an open connection.
        text: what the user typed in the search box; empty: every record.
        import_ids: the imports the records must come from; None: any.
    """
    query = sa.select(records.c.id).order_by(records.c.id)
    if text.strip():
        condition = text_match(engine.dialect.name, text)
        if condition is None:
            return []
        query = query.where(condition)
    if import_ids is not None:
        query = query.where(records.c.import_id.in_(list(import_ids)))
    with connected(engine) as conn:
        return list(conn.execute(query).scalars())


def records_by_id(engine: Engine | Connection, ids: Iterable[int]) -> dict[int, Record]:
    """The stored records of ``ids`` (those that exist), read a thousand at a time."""
    wanted = sorted(set(ids))
    found: dict[int, Record] = {}
    with connected(engine) as conn:
        for start in range(0, len(wanted), 1000):
            chunk = wanted[start : start + 1000]
            found.update(iter_records(conn, records.c.id.in_(chunk)))
    return found


def record_labels(engine: Engine | Connection, ids: Iterable[int]) -> dict[int, dict]:
    """What a list shows of each record of ``ids``: title, authors, year and journal, without
    reading the rest (abstracts, raw fields) of long lists."""
    wanted = sorted(set(ids))
    columns = (records.c.id, records.c.title, records.c.authors, records.c.year, records.c.journal)
    found: dict[int, dict] = {}
    with connected(engine) as conn:
        for start in range(0, len(wanted), 1000):
            query = sa.select(*columns).where(records.c.id.in_(wanted[start : start + 1000]))
            for row in conn.execute(query):
                found[row.id] = dict(row._mapping)
    return found
