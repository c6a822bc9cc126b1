"""The full-text reader: a report's stored text beside its full-text decision and the study's
extraction and risk-of-bias forms, with the screening page's keys.

A PDF is shown by the browser's own viewer, in a frame whose source is
:func:`pdf_file`'s route: the URL names a report and a checksum, the checksum must be one the
store holds for that report, and the file is found by the checksum alone
(:class:`~metasift.fulltext.FileStore`), never by anything else from the URL. A JATS article is
rendered to inert HTML by :func:`~metasift.fulltext.jats_html`.

Beside the text, the extraction suggestions read from it (:func:`suggestion_panel`): computed
and reviewed through :mod:`metasift.workflow.text_suggestions`, which holds the rule of who
may; the page marks each one's sentence in a JATS article (``viewer.js``, by text search in the
section the suggestion names) and links a PDF's to its page.
"""

from __future__ import annotations

from collections.abc import Sequence
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
FIELD_NAMES = {
    "sample_size": "Sample size",
    "arm_size": "Group size",
    "statistic": "Mean and SD",
    "effect": "Effect estimate",
    "p_value": "P value",
    "follow_up": "Follow-up",
}
# What an edit takes, by field (the CLI's --value): said beside the value box.
EDIT_HINTS = {
    "effect": "effect=…,se=… on the pooled scale",
    "statistic": "mean=…,sd=…,n=…",
    "follow_up": "e.g. 12 weeks",
}
# Fields whose value belongs to an arm or an outcome of the form.
NEEDS_ARM = ("arm_size", "statistic")
NEEDS_OUTCOME = ("effect", "statistic")


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


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def shown_value(field: str, value: Any) -> str:
    """A suggested value as a reader reads it: "HR 0.84 (95% CI 0.74 to 0.95)", "57.1 ± 12.2".

    Args:
        field: the suggestion's field.
        value: its value as stored.
    """
    if not isinstance(value, dict):
        return _number(value)
    v = {k: _number(x) for k, x in value.items() if x is not None}
    if field == "effect":
        ci = f" (95% CI {v['lower']} to {v['upper']})" if "lower" in v and "upper" in v else ""
        return f"{v.get('measure', '')} {v.get('estimate', '')}{ci}".strip()
    if field == "arm_size":
        return f"n = {v.get('n', '')}" + (f" ({value['group']})" if value.get("group") else "")
    if field == "follow_up":
        span = v["low"] if v.get("low") == v.get("high") else f"{v.get('low')}–{v.get('high')}"
        return f"{span} {v.get('unit', '')}".strip()
    if field == "p_value":
        return f"P {v.get('op', '=')} {v.get('value', '')}"
    if field == "statistic" and "mean" in v:
        spread = f" ± {v['sd']} (SD)" if "sd" in v else f" ± {v['se']} (SE)" if "se" in v else ""
        return f"{v['mean']}{spread}" + (f", n = {v['n']}" if "n" in v else "")
    return ", ".join(f"{k} {x}" for k, x in v.items())


def suggestion_panel(
    ctx: Ctx, record_id: int, texts: Sequence[Any], message: str = ""
) -> dict[str, Any]:
    """What the suggestions panel shows: each suggestion of the report's text with where it
    comes from, and whether this reader may review them.

    Args:
        ctx: the request.
        record_id: the report.
        texts: the report's stored texts, oldest first (none when it has none).
        message: what the last action did, or why it failed.
    """
    from metasift.extraction import fulltext_suggestions
    from metasift.fulltext import text_parts
    from metasift.fulltext.files import PDF
    from metasift.workflow.text_suggestions import study_of_report

    found = fulltext_suggestions(ctx.engine, record_id) if texts else []
    # The text the suggestions were read from (a JATS one before a PDF), which need not be
    # the one shown.
    sha = found[0].fulltext_sha256 if found else None
    text = next((t for t in texts if t.sha256 == sha), texts[-1] if texts else None)
    names: list[str] = []
    if found and text.media_type != PDF:
        # The nth part of a name is the nth element of that data-section in the rendered text.
        names = [name for name, _ in text_parts(ctx.served.project.root, text)]
    items = []
    for s in found:
        index = s.part_index if s.part_index is not None else 0
        page = s.text_source.removeprefix("page ") if text.media_type == PDF else None
        items.append(
            {
                "s": s,
                "label": FIELD_NAMES.get(s.field, s.field.replace("_", " ")),
                "shown": shown_value(s.field, s.value),
                "final": "" if s.final_value is None else shown_value(s.field, s.final_value),
                "page": page if page and page.isdigit() else None,
                "occurrence": names[:index].count(s.text_source) if names else 0,
                "hint": EDIT_HINTS.get(s.field, ""),
                "needs_arm": s.field in NEEDS_ARM,
                "needs_outcome": s.field in NEEDS_OUTCOME,
            }
        )
    study_id = study_of_report(ctx.engine, ctx.protocol, record_id)
    return {
        "suggestions": items,
        "suggestions_text": text,
        "may_review": ctx.user.can_decide and study_id in included_studies(ctx),
        "suggestions_message": message,
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
            **suggestion_panel(ctx, record_id, report.texts),
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

    def panel(request: Request, ctx: Ctx, record_id: int, message: str) -> Response:
        if not is_htmx(request):
            return RedirectResponse(
                f"/p/{ctx.served.slug}/fulltext/{record_id}/read#suggestions", status_code=303
            )
        report, _ = _report(ctx, record_id)
        values = suggestion_panel(ctx, record_id, report.texts, message)
        return served.page("_suggestions.html", ctx, record_id=record_id, **values)

    @app.post("/p/{slug}/fulltext/{record_id}/suggest", response_class=HTMLResponse)
    def suggest_here(request: Request, slug: str, record_id: int, form: Posted) -> Response:
        """Suggestions computed from the report's full text (as 'metasift fulltext suggest')."""
        from metasift.workflow.text_suggestions import suggest_report

        ctx = served.writer(request, slug, form)
        _report(ctx, record_id)
        found = suggest_report(
            ctx.engine, ctx.protocol, ctx.served.project.root, record_id, ctx.user.name
        )
        return panel(request, ctx, record_id, f"{found.added} suggestions found in the text.")

    @app.post(
        "/p/{slug}/fulltext/{record_id}/suggestions/{suggestion_id}",
        response_class=HTMLResponse,
    )
    def review_here(
        request: Request, slug: str, record_id: int, suggestion_id: int, form: Posted
    ) -> Response:
        """A suggestion accepted, edited (with the value given) or rejected beside the text."""
        from metasift.errors import ExtractionError
        from metasift.workflow.text_suggestions import review_report_suggestion

        ctx = served.writer(request, slug, form)
        _report(ctx, record_id)

        def given(name: str) -> str | None:
            value = form.get(name)
            return value.strip() or None if isinstance(value, str) else None

        action = given("review") or ""
        try:
            done = review_report_suggestion(
                ctx.engine,
                ctx.protocol,
                record_id,
                suggestion_id,
                action,
                ctx.user.name,
                value_text=given("value") if action == "edit" else None,
                arm=given("arm"),
                outcome=given("outcome"),
                timepoint=given("timepoint"),
            )
        except ExtractionError as exc:
            if not is_htmx(request):
                raise
            # Said in the panel, beside the suggestion, so that the reviewer can correct it.
            return panel(request, ctx, record_id, f"Not recorded: {exc.for_web()}")
        said = {"accepted": "Accepted", "edited": "Recorded as edited", "rejected": "Rejected"}
        return panel(
            request,
            ctx,
            record_id,
            f"{said.get(done.status, done.status)}: "
            f"{FIELD_NAMES.get(done.field, done.field)} from {done.text_source}.",
        )
