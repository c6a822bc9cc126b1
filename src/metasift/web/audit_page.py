"""The audit log as a table people read: who, when, what, and each changed value as
before -> after; filtered by user, action, record and dates, and paged. The entries are the
store's (:func:`metasift.store.audit.log_page`), shown as they were written."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException

from metasift.store.audit import AuditEntry, LogQuery, log_choices, log_page
from metasift.web.app import Served

PER_PAGE = 100
# Entities whose id is a record's: the "what" column links to the record.
RECORD_ENTITIES = ("record", "report")


@dataclass(frozen=True)
class Change:
    """One value of an entry: its name, what it was and what it became ("" for none), and
    whether it was ``removed`` (the whole entry's value is gone, as for a retraction) rather
    than only stated before (the votes a resolution settled)."""

    field: str
    before: str
    after: str
    removed: bool = False


def _shown(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_shown(v)}" for k, v in value.items() if _shown(v))
    if isinstance(value, list | tuple):
        return ", ".join(_shown(v) for v in value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def changes(previous: Any, value: Any) -> list[Change]:
    """The entry's values side by side: one row per field of either dict, in the order
    written; values that are not dicts make one row.

    Args:
        previous: the entry's value before (any JSON value, or None).
        value: the entry's value after.
    """
    if isinstance(previous, dict) or isinstance(value, dict):
        before = previous if isinstance(previous, dict) else {}
        after = value if isinstance(value, dict) else {}
        names = list(before) + [k for k in after if k not in before]
        gone = value is None
        rows = [Change(k, _shown(before.get(k)), _shown(after.get(k)), gone) for k in names]
        return [r for r in rows if r.before or r.after]
    if previous is None and value is None:
        return []
    return [Change("", _shown(previous), _shown(value), value is None)]


def _day(text: str | None, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise HTTPException(400, f"{name}: give a date as YYYY-MM-DD.") from None


def add_routes(app: FastAPI, served: Served) -> None:
    """The audit log's page on ``app``."""

    @app.get("/p/{slug}/log", response_class=HTMLResponse)
    def log_view(
        request: Request,
        slug: str,
        actor: str = "",
        action: str = "",
        record: str = "",
        since: str = "",
        until: str = "",
        page: int = 1,
    ) -> Response:
        ctx = served.member(request, slug)
        first, last = _day(since, "From"), _day(until, "To")
        filters = LogQuery(
            actor=actor or None,
            action=action or None,
            entity_id=record.strip() or None,
            since=datetime.combine(first, time(), UTC) if first else None,
            until=datetime.combine(last + timedelta(days=1), time(), UTC) if last else None,
        )
        page = max(1, page)
        entries, total = log_page(ctx.engine, filters, offset=(page - 1) * PER_PAGE, limit=PER_PAGE)
        pages = max(1, -(-total // PER_PAGE))
        actors, actions = log_choices(ctx.engine)
        kept = {
            "actor": actor,
            "action": action,
            "record": record,
            "since": since,
            "until": until,
        }

        def query(**more: object) -> str:
            return urlencode({k: v for k, v in {**kept, **more}.items() if v not in ("", None)})

        return served.page(
            "log.html",
            ctx,
            entries=entries,
            changes=changes,
            links=_record_link,
            total=total,
            page=page,
            pages=pages,
            actors=actors,
            actions=actions,
            kept=kept,
            query=query,
        )


def _record_link(entry: AuditEntry) -> bool:
    return entry.entity in RECORD_ENTITIES and (entry.entity_id or "").isdigit()
