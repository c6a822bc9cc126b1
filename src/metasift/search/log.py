"""The PRISMA-S search log: every search, run live or by hand and imported, as Markdown, CSV
or JSON.

One entry per live run (the log keeps them all, failed and abandoned ones too) and per imported
export, in the order they were done, each in PRISMA-S order: database, platform, date
searched, the full search string, limits and filters, and the records: the count the database
reported, the records retrieved, imported as new and merged as seen before. An import whose
database, date or search string was not stated says so; one that gave no records stays in the
log as such.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from metasift.errors import SearchError
from metasift.records.cells import SafeDictWriter
from metasift.records.provenance import NOT_STATED
from metasift.store.schema import imports, searches

FORMATS = ("md", "csv", "json")


@dataclass
class LogEntry:
    """One search in the log: a live run (``kind`` "search") or an imported export ("import";
    ``run`` is then the import's id, ``file`` its file)."""

    run: int
    source: str
    database: str
    platform: str
    url: str
    date: str
    finished: str | None
    query: str
    query_as_written: str
    filters: str
    ad_hoc: bool
    status: str
    reported: int | None
    retrieved: int
    imported: int | None
    merged: int | None
    rejected: int | None
    resumed: int
    import_id: int | None
    warning: str | None
    error: str | None
    kind: str = "search"
    file: str = ""
    limits: str = ""
    # What PRISMA-S asks for and the import lacks ("source not stated", ...), and notes.
    flags: str = ""


def _filters(value: dict[str, Any] | None) -> str:
    value = value or {}
    parts = []
    if value.get("date_from") or value.get("date_to"):
        parts.append(f"dates {value.get('date_from') or '...'} to {value.get('date_to') or '...'}")
    if value.get("added_from") or value.get("added_to"):
        parts.append(
            f"added {value.get('added_from') or '...'} to {value.get('added_to') or '...'}"
        )
    for key, item in (value.get("params") or {}).items():
        if item not in (None, ""):
            parts.append(f"{key}={item}")
    return "; ".join(parts)


def _iso(moment: Any) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None


def search_log(engine: Engine) -> list[LogEntry]:
    """Every live search run and every imported export, in the order they were done.

    Args:
        engine: the project store.
    """
    with engine.connect() as conn:
        rows = conn.execute(sa.select(searches).order_by(searches.c.id)).all()
        of_searches = sa.select(searches.c.import_id).where(searches.c.import_id.is_not(None))
        files = conn.execute(
            sa.select(imports).where(imports.c.id.not_in(of_searches)).order_by(imports.c.id)
        ).all()
    entries = [
        LogEntry(
            run=row.id,
            source=row.source,
            database=row.database,
            platform=row.platform,
            url=row.base_url,
            date=_iso(row.started_at) or "",
            finished=_iso(row.finished_at),
            query=row.query,
            query_as_written=row.query_input,
            filters=_filters(row.filters),
            ad_hoc=bool(row.adhoc),
            status=row.status,
            reported=row.n_reported,
            retrieved=row.n_retrieved,
            imported=row.n_imported,
            merged=row.n_merged,
            rejected=row.n_rejected,
            resumed=row.n_resumed,
            import_id=row.import_id,
            warning=row.warning,
            error=row.error,
        )
        for row in rows
    ]
    # Searches by when they started, imports by when they were imported: the order of work.
    moments = [_iso(row.started_at) or "" for row in rows]
    moments += [_iso(row.imported_at) or "" for row in files]
    entries += [_import_entry(row) for row in files]
    order = sorted(range(len(entries)), key=lambda i: moments[i])
    return [entries[i] for i in order]


def _import_entry(row: sa.Row) -> LogEntry:
    """An imported export as a log entry: what the reviewer and the export stated."""
    file = row.file.replace("\\", "/").rsplit("/", 1)[-1]
    flags = []
    if not row.source:
        flags.append(NOT_STATED)
    if not row.searched:
        flags.append("date searched not stated")
    if not row.query:
        flags.append("search string not stated")
    if row.database and row.source and row.database.lower() not in row.source.lower():
        flags.append(f"the export says {row.database}")
    if row.n_imported == 0:
        flags.append("gave no records")
    return LogEntry(
        run=row.id,
        source=row.source or file,
        database=row.source or row.database or file,
        platform=row.platform or "",
        url="",
        date=row.searched or "",
        finished=_iso(row.imported_at),
        query=row.query or "",
        query_as_written=row.query or "",
        filters=row.limits or "",
        ad_hoc=False,
        status="imported" if row.n_imported else "imported, no records",
        reported=None,
        retrieved=row.n_read,
        imported=row.n_imported,
        merged=row.n_merged,
        rejected=row.n_rejected,
        resumed=0,
        import_id=row.id,
        warning=None,
        error=None,
        kind="import",
        file=file,
        limits=row.limits or "",
        flags="; ".join(flags),
    )


def last_searched(engine: Engine, source: str) -> str | None:
    """The day ``source`` was last searched (YYYY-MM-DD), from the search log: the start of
    its latest complete live run, else the latest stated search date of an export imported
    under its name; None when neither is known.

    Args:
        engine: the project store.
        source: the source's name in review.toml.
    """
    with engine.connect() as conn:
        started = conn.execute(
            sa.select(sa.func.max(searches.c.started_at)).where(
                searches.c.source == source,
                searches.c.status == "complete",
                searches.c.adhoc.is_(False),
            )
        ).scalar_one()
        if started is not None:
            return started.date().isoformat()
        return conn.execute(
            sa.select(sa.func.max(imports.c.searched)).where(imports.c.source == source)
        ).scalar_one()


def completed_sources(engine: Engine, since: datetime) -> set[str]:
    """The sources with a live run started at or after ``since`` that completed.

    Args:
        engine: the project store.
        since: the earliest start counted (e.g. when a living review's round began).
    """
    with engine.connect() as conn:
        return set(
            conn.execute(
                sa.select(searches.c.source).where(
                    searches.c.status == "complete", searches.c.started_at >= since
                )
            ).scalars()
        )


def _number(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(entries: list[LogEntry]) -> str:
    """The log as Markdown: a summary table, then each search in PRISMA-S order."""
    out = ["# Search log (PRISMA-S)", ""]
    if not entries:
        return "\n".join([*out, "No searches have been run. No exports have been imported.", ""])
    out += [
        "| # | database | platform | date searched | limits | reported | retrieved | new "
        "| merged | status |",
        "| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for e in entries:
        out.append(
            f"| {_label(e)} | {_cell(e.source)} | {_cell(e.platform)} | "
            f"{e.date[:10] if e.kind == 'import' else e.date} | "
            f"{_cell(e.filters)} | {_number(e.reported)} | {_number(e.retrieved)} | "
            f"{_number(e.imported)} | {_number(e.merged)} | {e.status} |"
        )
    out.append("")
    for e in entries:
        out += _section(e) if e.kind == "import" else _run_section(e)
    return "\n".join(out)


def _label(e: LogEntry) -> str:
    return f"import {e.run}" if e.kind == "import" else f"run {e.run}"


def _fenced(query: str) -> list[str]:
    fence = "~~~~" if "```" in query else "```"
    return ["", fence, query, fence, ""]


def _run_section(e: LogEntry) -> list[str]:
    name = e.source if e.source == e.database else f"{e.source} ({e.database})"
    out = [f"## Run {e.run}: {name}, {e.date}", ""]
    out.append(f"- Platform: {e.platform} ({e.url})")
    out.append(f"- Date searched: {e.date}")
    if e.filters:
        out.append(f"- Limits and filters: {e.filters}")
    out.append(
        f"- Records: reported {_number(e.reported) or '-'}, retrieved {e.retrieved:,}, "
        f"new {_number(e.imported) or '-'}, merged {_number(e.merged) or '-'}"
    )
    if e.ad_hoc:
        out.append("- Ad hoc query (not the protocol's)")
    if e.resumed:
        out.append(f"- Resumed {e.resumed} time(s) after an interruption")
    if e.warning:
        out.append(f"- **Warning:** {e.warning}")
    if e.error:
        out.append(f"- Error: {e.error}")
    return [*out, "- Query, exactly as sent:", *_fenced(e.query)]


def _section(e: LogEntry) -> list[str]:
    out = [f"## Import {e.run}: {e.source}, from {e.file}", ""]
    out.append(f"- Database: {e.database}")
    out.append(f"- Platform: {e.platform or 'not stated'}")
    out.append(f"- Date searched: {e.date or 'not stated'}")
    if e.filters:
        out.append(f"- Limits and filters: {e.filters}")
    out.append(
        f"- Records: read {e.retrieved:,}, imported {_number(e.imported)}, rejected "
        f"{_number(e.rejected)}, merged {_number(e.merged)}"
    )
    if e.flags:
        out.append(f"- **Not stated or noted:** {e.flags}")
    if not e.query:
        return [*out, "- Search string: not stated", ""]
    return [*out, "- Search string, as run:", *_fenced(e.query)]


def to_csv(entries: list[LogEntry]) -> str:
    buffer = io.StringIO()
    names = list(LogEntry.__dataclass_fields__)
    writer = SafeDictWriter(buffer, names, lineterminator="\n")
    writer.writeheader()
    for entry in entries:
        writer.writerow(asdict(entry))
    return buffer.getvalue()


def to_json(entries: list[LogEntry]) -> str:
    return json.dumps([asdict(e) for e in entries], indent=2, ensure_ascii=False) + "\n"


def render_log(engine: Engine, fmt: str = "md") -> str:
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise SearchError(f"unknown search log format {fmt!r}; use one of {', '.join(FORMATS)}.")
    entries = search_log(engine)
    return {"md": to_markdown, "csv": to_csv, "json": to_json}[fmt](entries)
