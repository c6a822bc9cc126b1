"""The record browser: search, filters, paging, one record's page, and CSV/RIS exports of
whatever the filters select. The rules (what matches, what a reviewer may see) are
:mod:`metasift.workflow.browse`'s; this module reads the query string and renders."""

from __future__ import annotations

import io
from collections.abc import Iterator
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException

from metasift.web.app import Served
from metasift.workflow import annotations
from metasift.workflow.browse import (
    DECISION_FILTERS,
    PER_PAGE,
    BrowseFilters,
    BrowseRow,
    browse,
    browse_records,
)
from metasift.workflow.decisions import STAGE_NAMES, STAGES, TITLE_ABSTRACT

CSV_COLUMNS = (
    "record_id",
    "title",
    "authors",
    "year",
    "journal",
    "doi",
    "pmid",
    "source",
    "stage",
    "verdict",
    "decision",
    "reason",
    "votes",
    "labels",
    "keywords",
    "abstract",
)


def _filters(request: Request) -> BrowseFilters:
    q = request.query_params
    return BrowseFilters(
        text=q.get("q", "").strip(),
        stage=q.get("stage") or TITLE_ABSTRACT,
        decision=q.get("decision", ""),
        reviewer=q.get("reviewer", ""),
        source=q.get("source", ""),
        labels=tuple(dict.fromkeys(v.strip() for v in q.getlist("label") if v.strip())),
    )


def _query(filters: BrowseFilters, **more: object) -> str:
    """The query string of ``filters`` (empty ones left out), for links and exports."""
    values = {
        "q": filters.text,
        "stage": filters.stage if filters.stage != TITLE_ABSTRACT else "",
        "decision": filters.decision,
        "reviewer": filters.reviewer,
        "source": filters.source,
        "label": list(filters.labels),
        **more,
    }
    return urlencode({k: v for k, v in values.items() if v not in ("", None, [])}, doseq=True)


def _csv_rows(rows: Iterator[BrowseRow], stage: str) -> Iterator[str]:
    from metasift.records.cells import SafeDictWriter

    buffer = io.StringIO()
    writer = SafeDictWriter(buffer, CSV_COLUMNS, numeric=("record_id", "year"))
    writer.writeheader()
    for n, row in enumerate(rows, start=1):
        rec, v = row.record, row.verdict
        writer.writerow(
            {
                "record_id": row.record_id,
                "title": rec.title,
                "authors": "; ".join(rec.authors),
                "year": rec.year,
                "journal": rec.journal,
                "doi": rec.doi,
                "pmid": rec.pmid,
                "source": row.source,
                "stage": stage,
                "verdict": v.status if v else "",
                "decision": (v.decision or "") if v else "",
                "reason": (v.reason or "") if v else "",
                "votes": "; ".join(f"{k}: {d}" for k, d in v.votes.items()) if v else "",
                "labels": "; ".join(row.labels),
                "keywords": "; ".join(rec.keywords),
                "abstract": rec.abstract,
            }
        )
        if n % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _ris_rows(rows: Iterator[BrowseRow]) -> Iterator[str]:
    from itertools import islice

    from metasift.records.formats import write_records

    # Sent 500 records at a time: a large export never sits whole in memory.
    while batch := list(islice(rows, 500)):
        buffer = io.StringIO()
        write_records((row.record for row in batch), buffer, "ris")
        yield buffer.getvalue()


def add_routes(app: FastAPI, served: Served) -> None:
    """The browser's pages on ``app``."""

    @app.get("/p/{slug}/records", response_class=HTMLResponse)
    def records_page(request: Request, slug: str, page: int = 1, per_page: int = PER_PAGE):
        ctx = served.member(request, slug)
        filters = _filters(request)
        found = browse(ctx.engine, ctx.protocol, ctx.user.name, filters, page, per_page)
        return served.page(
            "records.html",
            ctx,
            found=found,
            filters=filters,
            stages=[(s, STAGE_NAMES[s]) for s in STAGES],
            decisions=DECISION_FILTERS,
            query=lambda **more: _query(filters, **more),
        )

    @app.get("/p/{slug}/records/export.{fmt}")
    def records_export(request: Request, slug: str, fmt: str) -> Response:
        ctx = served.member(request, slug)
        filters = _filters(request)
        filters.check()
        rows = browse_records(ctx.engine, ctx.protocol, ctx.user.name, filters)
        if fmt == "csv":
            body, media = _csv_rows(rows, filters.stage), "text/csv; charset=utf-8"
        elif fmt == "ris":
            body, media = _ris_rows(rows), "application/x-research-info-systems"
        else:
            raise HTTPException(404, "Export as CSV or RIS.")
        return StreamingResponse(
            body,
            media_type=media,
            headers={
                "Content-Disposition": f'attachment; filename="{ctx.served.slug}-records.{fmt}"'
            },
        )

    @app.get("/p/{slug}/records/{record_id}", response_class=HTMLResponse)
    def record_page(request: Request, slug: str, record_id: int) -> Response:
        from metasift.store.records import records_by_id
        from metasift.workflow.decisions import visible_decisions

        ctx = served.member(request, slug)
        found = records_by_id(ctx.engine, [record_id])
        if record_id not in found:
            raise HTTPException(404, f"No record {record_id} in this project.")
        seen = {
            stage: visible_decisions(ctx.engine, ctx.protocol, ctx.user.name, stage).get(record_id)
            for stage in STAGES
        }
        return served.page(
            "record.html",
            ctx,
            record_id=record_id,
            record=found[record_id],
            seen=seen,
            stage_names=STAGE_NAMES,
            labels=annotations.labels_on(ctx.engine, record_id),
            notes=annotations.notes_on(ctx.engine, record_id),
        )
