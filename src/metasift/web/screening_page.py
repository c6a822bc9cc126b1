"""The title/abstract screening pages: the record with its decision bar, the criteria and
reasons beside it, the reviewer's highlight terms, notes and labels, and the progress
dashboard.

As Rayyan and ASReview LAB lay it out on a laptop screen: the record's title, authors,
journal, year and abstract and the decision bar are always in view (a long abstract scrolls
inside its box), the review's criteria beside them. The pages call workflow's functions for
every rule (who may decide or annotate, which record comes next, what the stopping rule
says); nothing is decided here. No page waits for the model: until its features are built,
:class:`~metasift.workflow.handout.TeamScreening` hands records out in a quick order, and the
page says that the ranking updates in the background.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from metasift.errors import MetasiftError
from metasift.web.app import Ctx, Served, is_htmx
from metasift.web.routes import DECISIONS, Posted, _back, _int, _text
from metasift.workflow import annotations
from metasift.workflow.decisions import TITLE_ABSTRACT, stage_closed

# The note and label forms post here; each answers with the record panel again.
ANNOTATIONS = ("note", "label", "unlabel", "highlight", "unhighlight")


def _record_values(ctx: Ctx, message: str = "", handed: tuple | None = None) -> dict:
    """What the record panel shows; ``handed`` (the record and why none is shown) when it
    was handed out with the decision before it, else it is handed out here."""
    team = ctx.served.screening()
    shown = None
    if handed is not None:
        shown, why = handed
        message = f"{message} {why}".strip()
    elif ctx.user.can_decide:
        try:
            _, shown, why = team.decide_and_next(ctx.user.name)
        except MetasiftError as exc:
            why = exc.for_web()
        message = f"{message} {why}".strip()
    criteria = ctx.protocol.criteria
    own = annotations.highlights_of(ctx.engine, ctx.user.name)
    return {
        "shown": shown,
        "closed": None if shown else stage_closed(ctx.engine, TITLE_ABSTRACT),
        "message": message,
        "criteria": criteria,
        "team": team,
        "warming": not team.ready,
        "own_terms": own,
        "include_terms": [*criteria.include_terms, *own.include],
        "exclude_terms": [*criteria.exclude_terms, *own.exclude],
        "notes": annotations.notes_on(ctx.engine, shown.record_id) if shown else [],
        "labels": annotations.labels_on(ctx.engine, shown.record_id) if shown else [],
        "known_labels": annotations.project_labels(ctx.engine),
    }


def add_screening_routes(app: FastAPI, served: Served) -> None:
    """The screening page, its actions and the progress dashboard."""

    def record_view(ctx: Ctx, message: str = "", handed: tuple | None = None) -> Response:
        return served.page("_record.html", ctx, **_record_values(ctx, message, handed))

    @app.get("/p/{slug}/screen", response_class=HTMLResponse)
    def screen_page(request: Request, slug: str) -> Response:
        ctx = served.member(request, slug)
        # The stopping rule's verdict reads every decision: the status panel loads it after
        # the page, so that the record is on screen at once.
        return served.page("screen.html", ctx, **_record_values(ctx))

    @app.post("/p/{slug}/screen/decide", response_class=HTMLResponse)
    def screen_decide(request: Request, slug: str, form: Posted):
        ctx = served.writer(request, slug, form)
        decision = _text(form, "decision")
        if decision not in DECISIONS:
            raise HTTPException(400, "decide include, exclude or maybe.")
        team = ctx.served.screening()
        record_id = _int(form, "record_id")
        reason = (_text(form, "reason") or None) if decision == "exclude" else None
        note = _text(form, "note") or None
        if not is_htmx(request):
            team.decide(ctx.user.name, record_id, decision, reason=reason, note=note)
            return RedirectResponse(f"/p/{slug}/screen", status_code=303)
        # The decision and the next record's lease in one go, as the page shows both.
        stored, shown, why = team.decide_and_next(
            ctx.user.name, record_id, decision, reason=reason, note=note
        )
        message = "" if stored else "That decision was already stored."
        response = record_view(ctx, message, (shown, why))
        response.headers["HX-Trigger"] = "screened"
        return response

    @app.post("/p/{slug}/screen/undo", response_class=HTMLResponse)
    def screen_undo(request: Request, slug: str, form: Posted):
        ctx = served.writer(request, slug, form)
        undone = ctx.served.screening().undo(ctx.user.name)
        if not is_htmx(request):
            return RedirectResponse(f"/p/{slug}/screen", status_code=303)
        message = f"Undid your decision on record {undone}." if undone else "Nothing to undo."
        response = record_view(ctx, message)
        response.headers["HX-Trigger"] = "screened"
        return response

    @app.get("/p/{slug}/screen/status", response_class=HTMLResponse)
    def screen_status(request: Request, slug: str) -> Response:
        ctx = served.member(request, slug)
        team = ctx.served.screening()
        return served.page(
            "_status.html",
            ctx,
            state=team.status(),
            warming=not team.ready,
            closed=stage_closed(ctx.engine, TITLE_ABSTRACT),
        )

    @app.post("/p/{slug}/screen/close")
    def screen_close(request: Request, slug: str, form: Posted):
        from metasift.workflow.closure import close_stage, reopen_stage

        ctx = served.writer(request, slug, form, owner=True)
        if form.get("reopen"):
            reopen_stage(ctx.engine, TITLE_ABSTRACT, ctx.user.name, _text(form, "reason"))
        else:
            close_stage(
                ctx.engine,
                ctx.protocol,
                TITLE_ABSTRACT,
                ctx.user.name,
                force=bool(form.get("force")),
            )
        ctx.served.screening().forget_status()
        return _back(request, f"/p/{slug}/screen")

    # Last: its path would otherwise answer for /screen/close too.
    @app.post("/p/{slug}/screen/{action}", response_class=HTMLResponse)
    def screen_annotate(request: Request, slug: str, action: str, form: Posted):
        if action not in ANNOTATIONS:
            raise HTTPException(404, "No such page.")
        ctx = served.writer(request, slug, form)
        name = ctx.user.name
        if action == "note":
            annotations.add_note(ctx.engine, _int(form, "record_id"), name, _text(form, "text"))
        elif action == "label":
            annotations.add_label(ctx.engine, _int(form, "record_id"), _text(form, "label"), name)
        elif action == "unlabel":
            annotations.remove_label(
                ctx.engine, _int(form, "record_id"), _text(form, "label"), name
            )
        elif action == "highlight":
            annotations.set_highlight(ctx.engine, name, _text(form, "term"), _text(form, "kind"))
        else:
            annotations.remove_highlight(ctx.engine, name, _text(form, "term"))
        if not is_htmx(request):
            return _back(request, f"/p/{slug}/screen")
        return record_view(ctx)

    @app.get("/p/{slug}/progress", response_class=HTMLResponse)
    def progress_page(request: Request, slug: str) -> Response:
        from metasift.workflow.progress import screening_progress

        ctx = served.member(request, slug)
        team = ctx.served.screening()
        progress = screening_progress(ctx.engine, ctx.protocol, team.status())
        return served.page(
            "screen_progress.html",
            ctx,
            progress=progress,
            warming=not team.ready,
            chart=recall_chart(progress.curve, progress.state.n_records),
        )


def recall_chart(curve: list[tuple[int, int]], n_records: int) -> dict:
    """The recall curve's points in a 480 x 240 drawing (numbers only: the template draws
    them as an inline SVG polyline, escaped like any value)."""
    width, height, pad = 480, 240, 36
    max_x = max(n_records, curve[-1][0], 1)
    max_y = max(curve[-1][1], 1)
    span_x, span_y = width - 2 * pad, height - 2 * pad
    points = " ".join(
        f"{pad + span_x * x / max_x:.1f},{height - pad - span_y * y / max_y:.1f}" for x, y in curve
    )
    return {
        "width": width,
        "height": height,
        "pad": pad,
        "points": points,
        "max_x": max_x,
        "max_y": max_y,
    }
