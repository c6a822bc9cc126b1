"""The full-text reader: a report's stored text beside its full-text decision and the study's
extraction and risk-of-bias forms, with the screening page's keys.

A PDF is shown by the browser's own viewer, in a frame whose source is
:func:`pdf_file`'s route: the URL names a report and a checksum, the checksum must be one the
store holds for that report, and the file is found by the checksum alone
(:class:`~metasift.fulltext.FileStore`), never by anything else from the URL. A JATS article is
rendered to inert HTML by :func:`~metasift.fulltext.jats_html`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from starlette.exceptions import HTTPException

from metasift.web.app import Ctx, Served, is_htmx
from metasift.web.forms import included_studies, rob_forms, values_form
from metasift.web.routes import Posted

# The frame's page is ours: the PDF may be framed by this site and by no other.
PDF_HEADERS = {
    "X-Frame-Options": "SAMEORIGIN",
    "Content-Security-Policy": "frame-ancestors 'self'",
    "Cache-Control": "private",
}
MAX_KEYED_REASONS = 9  # keys 1-9


def _report(ctx: Ctx, record_id: int) -> tuple[Any, list[int]]:
    from metasift.workflow.fulltext import list_reports

    reports = list_reports(ctx.engine, ctx.protocol)
    found = next((r for r in reports if r.record_id == record_id), None)
    if found is None:
        raise HTTPException(404, "No such report among those sought for full text.")
    return found, [r.record_id for r in reports]


def _decision_values(ctx: Ctx, report: Any, message: str = "") -> dict[str, Any]:
    verdict = report.verdict
    return {
        "report": report,
        "mine": verdict.votes.get(ctx.user.name) if verdict else None,
        "my_reason": verdict.reasons.get(ctx.user.name) if verdict else None,
        "reasons": list(ctx.protocol.criteria.exclusion_reasons),
        "keyed": MAX_KEYED_REASONS,
        "message": message,
    }


def add_viewer_routes(app: FastAPI, served: Served) -> None:
    """The reader page, the PDF it frames, and the decision made there.

    Args:
        app: the app.
        served: the served projects and their checks.
    """

    @app.get("/p/{slug}/fulltext/{record_id}/read", response_class=HTMLResponse)
    def read(request: Request, slug: str, record_id: int) -> Response:
        from metasift.extraction.stage import citation, study_records
        from metasift.fulltext import FileStore, jats_html
        from metasift.fulltext.files import JATS, PDF

        ctx = served.member(request, slug)
        report, order = _report(ctx, record_id)
        record = study_records(ctx.engine, [record_id])[record_id]
        text = report.texts[-1] if report.texts else None
        article = None
        if text is not None and text.media_type == JATS:
            path = FileStore(ctx.served.project.root).verified_path(text.sha256, JATS)
            # Built from an allow-list of elements, with no attribute of the file copied.
            article = Markup(jats_html(path, shown=text.path))
        at = order.index(record_id)
        study_id = report.study_id
        extracting = ctx.user.can_decide and study_id in included_studies(ctx)
        back = f"/p/{slug}/fulltext/{record_id}/read"
        return served.page(
            "viewer.html",
            ctx,
            record_id=record_id,
            record=record,
            label=citation(record),
            text=text,
            is_pdf=text is not None and text.media_type == PDF,
            article=article,
            previous=order[at - 1] if at > 0 else None,
            following=order[at + 1] if at + 1 < len(order) else None,
            position=(at + 1, len(order)),
            study_id=study_id,
            values_form=values_form(ctx, study_id) if extracting else None,
            rob=rob_forms(ctx, study_id) if extracting else [],
            back=back,
            **_decision_values(ctx, report),
        )

    @app.get("/p/{slug}/fulltext/{record_id}/file/{sha256}")
    def pdf_file(request: Request, slug: str, record_id: int, sha256: str) -> Response:
        """A report's stored PDF, shown inline by the browser's own viewer."""
        from metasift.fulltext import FileStore, stored_texts
        from metasift.fulltext.files import PDF

        ctx = served.member(request, slug)
        texts = stored_texts(ctx.engine, [record_id]).get(record_id, [])
        text = next((t for t in texts if t.sha256 == sha256 and t.media_type == PDF), None)
        if text is None:
            raise HTTPException(404, "No such PDF is stored for this report.")
        path = FileStore(ctx.served.project.root).verified_path(text.sha256, PDF)
        return FileResponse(
            path,
            media_type=PDF,
            filename=f"record-{record_id}.pdf",
            content_disposition_type="inline",
            headers=PDF_HEADERS,
        )

    @app.post("/p/{slug}/fulltext/{record_id}/decide", response_class=HTMLResponse)
    def decide_here(request: Request, slug: str, record_id: int, form: Posted) -> Response:
        """The full-text decision made beside the text: Include, or Exclude with a reason
        (a reason alone means exclude, as the reason buttons send)."""
        from metasift.workflow.decisions import FULL_TEXT, decide

        ctx = served.writer(request, slug, form)
        report, _ = _report(ctx, record_id)
        had_forms = report.study_id in included_studies(ctx)
        reason = form.get("reason")
        reason = reason.strip() if isinstance(reason, str) else ""
        decision = form.get("decision")
        decision = decision if isinstance(decision, str) and decision else ""
        if not decision:
            decision = "exclude" if reason else ""
        if decision not in ("include", "exclude"):
            raise HTTPException(400, "Include the report, or exclude it with a reason.")
        decide(
            ctx.engine,
            ctx.protocol,
            record_id=record_id,
            reviewer=ctx.user.name,
            decision=decision,
            stage=FULL_TEXT,
            reason=reason or None,
        )
        if not is_htmx(request):
            return RedirectResponse(f"/p/{slug}/fulltext/{record_id}/read", status_code=303)
        if (report.study_id in included_studies(ctx)) != had_forms:
            # The study's forms open (or close) beside the text: the whole page changes.
            return Response(status_code=204, headers={"HX-Refresh": "true"})
        report, _ = _report(ctx, record_id)
        said = f"Recorded: {decision}" + (f" ({reason})." if reason else ".")
        response = served.page("_ft_decision.html", ctx, **_decision_values(ctx, report, said))
        response.headers["HX-Trigger"] = "decided"
        return response
