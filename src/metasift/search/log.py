"""The PRISMA-S search log: every run of every search, as Markdown, CSV or JSON.

One entry per run (the log keeps them all, failed and abandoned ones too): database,
platform, date, the exact query as sent, limits and filters, and the results: the count the
database reported, the records retrieved, imported as new and merged as seen before.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from metasift.errors import SearchError
from metasift.records.cells import SafeDictWriter
from metasift.store.schema import searches

FORMATS = ("md", "csv", "json")


@dataclass
class LogEntry:
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


def _filters(value: dict[str, Any] | None) -> str:
    value = value or {}
    parts = []
    if value.get("date_from") or value.get("date_to"):
        parts.append(f"dates {value.get('date_from') or '...'} to {value.get('date_to') or '...'}")
    for key, item in (value.get("params") or {}).items():
        if item not in (None, ""):
            parts.append(f"{key}={item}")
    return "; ".join(parts)


def _iso(moment: Any) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None


def search_log(engine: Engine) -> list[LogEntry]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(searches).order_by(searches.c.id)).all()
    return [
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


def _number(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(entries: list[LogEntry]) -> str:
    out = ["# Search log (PRISMA-S)", ""]
    if not entries:
        return "\n".join([*out, "No searches have been run.", ""])
    out += [
        "| run | database | platform | date | filters | reported | retrieved | new | merged "
        "| status |",
        "| ---: | --- | --- | --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for e in entries:
        out.append(
            f"| {e.run} | {_cell(e.source)} | {_cell(e.platform)} | {e.date} | "
            f"{_cell(e.filters)} | {_number(e.reported)} | {_number(e.retrieved)} | "
            f"{_number(e.imported)} | {_number(e.merged)} | {e.status} |"
        )
    out.append("")
    for e in entries:
        name = e.source if e.source == e.database else f"{e.source} ({e.database})"
        out += [f"## Run {e.run}: {name}, {e.date}", ""]
        out.append(f"- Platform: {e.platform} ({e.url})")
        if e.filters:
            out.append(f"- Limits and filters: {e.filters}")
        if e.ad_hoc:
            out.append("- Ad hoc query (not the protocol's)")
        if e.resumed:
            out.append(f"- Resumed {e.resumed} time(s) after an interruption")
        if e.warning:
            out.append(f"- **Warning:** {e.warning}")
        if e.error:
            out.append(f"- Error: {e.error}")
        fence = "~~~~" if "```" in e.query else "```"
        out += ["- Query, exactly as sent:", "", fence, e.query, fence, ""]
    return "\n".join(out)


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
