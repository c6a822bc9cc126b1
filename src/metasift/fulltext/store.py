"""The full texts and look-ups in the project store: what was found, where, and what was not."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from metasift.fulltext.files import EXTENSION, FOLDER, Checked
from metasift.store.audit import record_event
from metasift.store.engine import connected
from metasift.store.schema import fulltext_files, fulltext_lookups


@dataclass(frozen=True)
class StoredText:
    """A full text of a record in the project folder, with where it came from.

    ``source`` is ``europepmc``, ``pmc_oa``, ``unpaywall`` or ``upload`` (attached by hand);
    ``path`` is relative to the project folder.
    """

    record_id: int
    sha256: str
    size: int
    media_type: str
    source: str
    url: str | None
    licence: str | None
    pages: int | None
    stored_by: str
    stored_at: datetime

    @property
    def path(self) -> str:
        return f"{FOLDER}/{self.sha256}{EXTENSION[self.media_type]}"


@dataclass(frozen=True)
class Try:
    """One look-up or download of one record in a fetch: its source, URL and outcome.

    ``outcome`` is ``stored``, ``not_found`` (the source has no copy), ``refused`` (a copy was
    offered but is not a full text: an HTML page, cut short, hostile) or ``failed`` (the
    source could not be asked; the next fetch tries again).
    """

    source: str
    outcome: str
    detail: str = ""
    url: str | None = None


@dataclass(frozen=True)
class LastFetch:
    """The latest fetch of one record: its run, its tries, and what they add up to."""

    record_id: int
    fetch_run: int
    tries: tuple[Try, ...]

    @property
    def outcome(self) -> str:
        """``stored``; ``failed`` when a source could not be asked; else ``not_found``."""
        outcomes = {t.outcome for t in self.tries}
        if "stored" in outcomes:
            return "stored"
        return "failed" if "failed" in outcomes else "not_found"

    def summary(self) -> str:
        """The tries in a line: "Europe PMC: not in Europe PMC; Unpaywall: no DOI"."""
        from metasift.fulltext.sources import SOURCE_NAMES

        return "; ".join(
            f"{SOURCE_NAMES.get(t.source, t.source)}: {t.detail or t.outcome}" for t in self.tries
        )


def stored_texts(
    engine: Engine | Connection, record_ids: Iterable[int] | None = None
) -> dict[int, list[StoredText]]:
    """The full texts of each record (all records, or those of ``record_ids``), oldest first.

    Args:
        engine: the project store.
        record_ids: the records wanted (default: all).
    """
    query = sa.select(fulltext_files).order_by(fulltext_files.c.id)
    if record_ids is not None:
        query = query.where(fulltext_files.c.record_id.in_(list(record_ids)))
    out: dict[int, list[StoredText]] = {}
    with connected(engine) as conn:
        for row in conn.execute(query):
            out.setdefault(row.record_id, []).append(
                StoredText(
                    record_id=row.record_id,
                    sha256=row.sha256,
                    size=row.size,
                    media_type=row.media_type,
                    source=row.source,
                    url=row.url,
                    licence=row.licence,
                    pages=row.pages,
                    stored_by=row.stored_by,
                    stored_at=row.stored_at,
                )
            )
    return out


def last_fetches(engine: Engine | Connection) -> dict[int, LastFetch]:
    """The latest fetch of every record that was looked up.

    Args:
        engine: the project store.
    """
    t = fulltext_lookups
    latest = (
        sa.select(t.c.record_id, sa.func.max(t.c.fetch_run).label("run"))
        .group_by(t.c.record_id)
        .subquery()
    )
    query = (
        sa.select(t)
        .join(latest, sa.and_(t.c.record_id == latest.c.record_id, t.c.fetch_run == latest.c.run))
        .order_by(t.c.id)
    )
    tries: dict[int, tuple[int, list[Try]]] = {}
    with connected(engine) as conn:
        for row in conn.execute(query):
            tries.setdefault(row.record_id, (row.fetch_run, []))[1].append(
                Try(row.source, row.outcome, row.detail or "", row.url)
            )
    return {rid: LastFetch(rid, run, tuple(ts)) for rid, (run, ts) in tries.items()}


def next_fetch_run(engine: Engine) -> int:
    """The number of a new fetch run (one more than the last)."""
    with engine.connect() as conn:
        last = conn.execute(sa.select(sa.func.max(fulltext_lookups.c.fetch_run))).scalar()
    return (last or 0) + 1


def record_tries(
    engine: Engine, fetch_run: int, record_id: int, tries: Iterable[Try], at: datetime
) -> None:
    """Store the tries of one record in one fetch run."""
    rows = [
        {
            "fetch_run": fetch_run,
            "record_id": record_id,
            "source": t.source,
            "url": t.url,
            "outcome": t.outcome,
            "detail": t.detail[:2000] or None,
            "at": at,
        }
        for t in tries
    ]
    if rows:
        with engine.begin() as conn:
            conn.execute(fulltext_lookups.insert(), rows)


def record_text(
    engine: Engine,
    record_id: int,
    checked: Checked,
    *,
    source: str,
    url: str | None,
    licence: str | None,
    actor: str,
    at: datetime,
) -> StoredText:
    """Store the row of a full text now in the project folder (once per record and file),
    with its audit entry.

    Args:
        engine: the project store.
        record_id: whose report it is.
        checked: what the file was found to be (checksum, size, media type, pages).
        source: ``europepmc``, ``pmc_oa``, ``unpaywall`` or ``upload``.
        url: where it was downloaded from (None for a file attached by hand).
        licence: its licence, as the source states it.
        actor: who fetched or attached it.
        at: when.
    """
    values = {
        "record_id": record_id,
        "sha256": checked.sha256,
        "size": checked.size,
        "media_type": checked.media_type,
        "source": source,
        "url": url,
        "licence": licence,
        "pages": checked.pages,
        "stored_by": actor,
        "stored_at": at,
    }
    with engine.begin() as conn:
        known = conn.execute(
            sa.select(fulltext_files.c.id).where(
                fulltext_files.c.record_id == record_id, fulltext_files.c.sha256 == checked.sha256
            )
        ).first()
        if known is None:
            conn.execute(fulltext_files.insert().values(**values))
            record_event(
                conn,
                actor=actor,
                action="fulltext.attach" if source == "upload" else "fulltext.fetch",
                entity="report",
                entity_id=record_id,
                value={k: v for k, v in values.items() if k not in ("stored_at", "stored_by")},
            )
    return StoredText(**values)
