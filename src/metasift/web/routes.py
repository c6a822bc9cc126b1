"""The pages of a project. Each route checks who asks (:meth:`Served.member` or
:meth:`Served.writer`), calls the stage function the CLI calls, and renders the result."""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException

from metasift.errors import ImportFileError, LoginRefusedError
from metasift.web import logins, users
from metasift.web.app import (
    COOKIE,
    LOGIN_COOKIE,
    Ctx,
    Served,
    form_data,
    is_htmx,
    too_large,
)
from metasift.web.nextpage import safe_next
from metasift.workflow.decisions import FULL_TEXT, STAGES, TITLE_ABSTRACT

DECISIONS = ("include", "exclude", "maybe")
Posted = Annotated[FormData, Depends(form_data)]


def _text(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name, default)
    return value.strip() if isinstance(value, str) else default


def _int(form: FormData, name: str) -> int:
    try:
        return int(_text(form, name))
    except ValueError:
        raise HTTPException(400, f"{name} must be a whole number.") from None


def _stage(value: str | None) -> str:
    stage = value or TITLE_ABSTRACT
    if stage not in STAGES:
        raise HTTPException(400, f"unknown stage; use one of: {', '.join(STAGES)}.")
    return stage


def _back(request: Request, path: str) -> Response:
    """After a plain form post, show the page again; htmx swaps the page in place."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": path})
    return RedirectResponse(path, status_code=303)


def _cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def add_routes(app: FastAPI, served: Served) -> None:
    # -- logging in and out ------------------------------------------------------------------
    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, message: str = "", next: str = "") -> Response:
        token = secrets.token_urlsafe(24)
        response = served.page(
            "login.html", None, message=message, csrf=token, next_page=safe_next(next)
        )
        _cookie(response, request, LOGIN_COOKIE, token, 3600)
        return response

    @app.post("/login")
    def login(request: Request, form: Posted) -> Response:
        # The login form carries a token that must match its cookie: no other site can make
        # a browser log in to an account of the attacker's choosing.
        sent, expected = _text(form, "csrf_token"), request.cookies.get(LOGIN_COOKIE, "")
        if not expected or not secrets.compare_digest(sent.encode(), expected.encode()):
            raise HTTPException(403, "The login form expired; reload the page and try again.")
        name, password = _text(form, "name"), form.get("password", "")
        if not isinstance(password, str):
            raise HTTPException(400, "no password given.")
        address = request.client.host if request.client else "unknown"
        engines = [project.engine for project in served.projects.values()]
        try:
            let_in = logins.log_in(engines, name, password, address, served.login_limits)
        except LoginRefusedError as exc:
            refused = served.page(
                "login.html",
                None,
                423 if exc.locked else 429,
                message=exc.for_web(),
                csrf=expected,
                name=name,
                next_page=safe_next(_text(form, "next")),
            )
            if exc.retry_after:
                refused.headers["Retry-After"] = str(exc.retry_after)
            return refused
        token, csrf = users.new_token(), users.new_token()
        opened = 0
        for engine, user_id in zip(engines, let_in, strict=True):
            if user_id is not None:
                users.open_session(engine, user_id, token, csrf)
                opened += 1
        if not opened:
            return served.page(
                "login.html",
                None,
                401,
                message="Unknown name or wrong password.",
                csrf=expected,
                name=name,
                next_page=safe_next(_text(form, "next")),
            )
        # Back to the page asked for, when it is one of this site's.
        response = RedirectResponse(safe_next(_text(form, "next")), status_code=303)
        _cookie(response, request, COOKIE, token, users.SESSION_DAYS * 86400)
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return response

    @app.post("/logout")
    def logout(request: Request, form: Posted) -> Response:
        token = request.cookies.get(COOKIE)
        for project, user in served.user_projects(token):
            sent = request.headers.get("x-csrf-token") or _text(form, "csrf_token")
            if not secrets.compare_digest(sent.encode(), user.csrf_token.encode()):
                raise HTTPException(403, "The form expired; reload the page.")
            if project._screening is not None:
                from metasift.workflow.assignments import release

                release(project.engine, TITLE_ABSTRACT, user.name)
            users.close_session(project.engine, token)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    @app.get("/", response_class=HTMLResponse)
    def projects(request: Request) -> Response:
        mine = served.user_projects(request.cookies.get(COOKIE))
        if not mine:
            return RedirectResponse("/login", status_code=303)
        user = mine[0][1]
        return served.page("projects.html", None, projects=mine, user=user, csrf=user.csrf_token)

    # -- overview ------------------------------------------------------------------------------
    @app.get("/p/{slug}/", response_class=HTMLResponse)
    def overview(request: Request, slug: str) -> Response:
        from metasift.workflow.state import review_state

        ctx = served.member(request, slug)
        return served.page("overview.html", ctx, review=review_state(ctx.engine, ctx.protocol))

    # -- import ----------------------------------------------------------------------------------
    @app.get("/p/{slug}/import", response_class=HTMLResponse)
    def import_page(request: Request, slug: str) -> Response:
        ctx = served.member(request, slug)
        return served.page("import.html", ctx, formats=_formats(), imports=_imports(ctx))

    @app.post("/p/{slug}/import", response_class=HTMLResponse)
    def import_upload(request: Request, slug: str, form: Posted):
        from metasift.records.formats import ReadOptions, canonical_format
        from metasift.records.importing import import_file
        from metasift.records.provenance import SearchDetails, declared_details, describe

        ctx = served.writer(request, slug, form, owner=True)
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise HTTPException(400, "Choose a file to import.")
        name = Path(upload.filename).name
        fmt = canonical_format(_text(form, "format")) if _text(form, "format") else None
        suffix = "".join(Path(name).suffixes[-2:])[:20]
        with tempfile.TemporaryDirectory(prefix="metasift-upload-") as tmp:
            path = Path(tmp) / f"upload{suffix}"
            size = 0
            with path.open("wb") as out:
                while chunk := upload.file.read(1 << 20):
                    size += len(chunk)
                    if size > served.max_upload:
                        raise too_large(served.max_upload)
                    out.write(chunk)
            source = _text(form, "source") or None
            given = SearchDetails(
                source=source,
                platform=_text(form, "platform") or None,
                searched=_text(form, "searched") or None,
                query=_text(form, "query") or None,
                limits=_text(form, "limits") or None,
                source_type=_text(form, "source_type") or None,
            )
            declared = declared_details(ctx.protocol, source, ctx.served.project.root)
            try:
                summary = import_file(
                    ctx.engine,
                    path,
                    fmt=fmt,
                    options=ReadOptions(),
                    name=name,
                    force=bool(form.get("force")),
                    details=given.over(declared),
                )
            except ImportFileError as exc:
                # Name the file as the user knows it, not the temporary copy.
                message = exc.for_web().replace(str(path), name)
                raise ImportFileError(name, message.removeprefix(f"{name}: ")) from None
        ctx.served.records_changed()
        return served.page(
            "import.html",
            ctx,
            formats=_formats(),
            imports=_imports(ctx),
            summary=summary,
            describe=describe,
        )

    def _formats() -> list[str]:
        from metasift.records.formats import FORMAT_NAMES

        return list(FORMAT_NAMES)

    def _imports(ctx: Ctx) -> list:
        import sqlalchemy as sa

        from metasift.store.schema import imports

        with ctx.engine.connect() as conn:
            return conn.execute(sa.select(imports).order_by(imports.c.id)).all()

    # -- de-duplication ------------------------------------------------------------------------
    @app.get("/p/{slug}/dedup", response_class=HTMLResponse)
    def dedup_page(request: Request, slug: str) -> Response:
        from metasift.dedup import store

        ctx = served.member(request, slug)
        return served.page(
            "dedup.html",
            ctx,
            queue=store.review_queue(ctx.engine),
            clusters=store.compare_clusters(ctx.engine),
        )

    @app.post("/p/{slug}/dedup/run")
    def dedup_run(request: Request, slug: str, form: Posted) -> Response:
        from metasift.dedup import store
        from metasift.dedup.settings import parse_settings

        ctx = served.writer(request, slug, form, owner=True)
        settings = parse_settings(ctx.protocol.dedup, "review.toml")
        store.run_dedup(ctx.engine, settings)
        ctx.served.records_changed()
        return _back(request, f"/p/{slug}/dedup")

    @app.post("/p/{slug}/dedup/decide")
    def dedup_decide(request: Request, slug: str, form: Posted):
        from metasift.dedup import store

        ctx = served.writer(request, slug, form)
        store.decide(ctx.engine, _text(form, "pair"), _text(form, "verdict"), ctx.user.name)
        return _back(request, f"/p/{slug}/dedup")

    @app.post("/p/{slug}/dedup/undo")
    def dedup_undo(request: Request, slug: str, form: Posted):
        from metasift.dedup import store

        ctx = served.writer(request, slug, form, owner=True)
        store.undo(ctx.engine, _text(form, "cluster"), ctx.user.name)
        ctx.served.records_changed()
        return _back(request, f"/p/{slug}/dedup")

    # -- decisions, conflicts, agreement -----------------------------------------------------
    @app.get("/p/{slug}/decisions", response_class=HTMLResponse)
    def decisions_page(request: Request, slug: str, stage: str | None = None) -> Response:
        from metasift.store.records import record_labels
        from metasift.workflow.decisions import visible_decisions

        ctx = served.member(request, slug)
        stage = _stage(stage)
        seen = visible_decisions(ctx.engine, ctx.protocol, ctx.user.name, stage)
        recs = record_labels(ctx.engine, seen)
        return served.page(
            "decisions.html", ctx, stage=stage, verdicts=list(seen.values()), records=recs
        )

    @app.get("/p/{slug}/conflicts", response_class=HTMLResponse)
    def conflicts_page(request: Request, slug: str, stage: str | None = None) -> Response:
        from metasift.extraction.stage import study_records
        from metasift.screening.settings import screening_settings
        from metasift.workflow.decisions import agreement, conflicts

        ctx = served.member(request, slug)
        stage = _stage(stage)
        found = conflicts(ctx.engine, ctx.protocol, stage)
        recs = study_records(ctx.engine, [v.record_id for v in found]) if found else {}
        blind = screening_settings(ctx.protocol).blind
        return served.page(
            "conflicts.html",
            ctx,
            stage=stage,
            conflicts=found,
            records=recs,
            blind=blind,
            agreement=agreement(ctx.engine, ctx.protocol, stage),
            reasons=ctx.protocol.criteria.exclusion_reasons,
        )

    @app.post("/p/{slug}/conflicts/resolve")
    def conflicts_resolve(request: Request, slug: str, form: Posted):
        from metasift.workflow.decisions import resolve

        ctx = served.writer(request, slug, form)
        stage = _stage(_text(form, "stage"))
        resolve(
            ctx.engine,
            ctx.protocol,
            record_id=_int(form, "record_id"),
            resolver=ctx.user.name,
            decision=_text(form, "decision"),
            stage=stage,
            reason=_text(form, "reason") or None,
            note=_text(form, "note") or None,
        )
        return _back(request, f"/p/{slug}/conflicts?stage={stage}")

    # -- full text -------------------------------------------------------------------------------
    @app.get("/p/{slug}/fulltext", response_class=HTMLResponse)
    def fulltext_page(request: Request, slug: str) -> Response:
        from metasift.extraction.stage import study_records
        from metasift.workflow.fulltext import list_reports

        ctx = served.member(request, slug)
        reports = list_reports(ctx.engine, ctx.protocol)
        recs = study_records(ctx.engine, [r.record_id for r in reports]) if reports else {}
        return served.page(
            "fulltext.html",
            ctx,
            reports=reports,
            records=recs,
            reasons=ctx.protocol.criteria.exclusion_reasons,
        )

    @app.post("/p/{slug}/fulltext/{action}")
    def fulltext_action(request: Request, slug: str, action: str, form: Posted) -> Response:
        from metasift.workflow import fulltext
        from metasift.workflow.decisions import decide

        ctx = served.writer(request, slug, form)
        if action == "locate":
            fulltext.set_location(
                ctx.engine,
                ctx.protocol,
                _int(form, "record_id"),
                _text(form, "location"),
                ctx.user.name,
            )
        elif action == "not-retrieved":
            fulltext.mark_not_retrieved(
                ctx.engine,
                ctx.protocol,
                _int(form, "record_id"),
                _text(form, "reason"),
                ctx.user.name,
            )
        elif action == "attach":
            _attach_upload(ctx, _int(form, "record_id"), form.get("file"))
        elif action == "upload":
            return _upload_many(ctx, form.getlist("files"))
        elif action in ("confirm", "discard"):
            sha = _text(form, "sha256")
            if action == "confirm":
                fulltext.attach_held(
                    ctx.engine,
                    ctx.protocol,
                    ctx.served.project.root,
                    sha,
                    _int(form, "record_id"),
                    ctx.user.name,
                )
            else:
                fulltext.discard_held(ctx.engine, ctx.served.project.root, sha, ctx.user.name)
            return _back(request, f"/p/{slug}/fulltext/held")
        elif action == "group":
            try:
                ids = [int(x) for x in _text(form, "records").replace(",", " ").split()]
            except ValueError:
                raise HTTPException(400, "records: give record ids like 3 7 12.") from None
            fulltext.group_reports(
                ctx.engine, ctx.protocol, ids, ctx.user.name, _text(form, "label")
            )
        elif action == "decide":
            decide(
                ctx.engine,
                ctx.protocol,
                record_id=_int(form, "record_id"),
                reviewer=ctx.user.name,
                decision=_text(form, "decision"),
                stage=FULL_TEXT,
                reason=_text(form, "reason") or None,
                note=_text(form, "note") or None,
            )
        else:
            raise HTTPException(404, "No such page.")
        return _back(request, f"/p/{slug}/fulltext")

    def _received(upload: UploadFile, folder: str) -> Path:
        """An uploaded file's bytes in a private file (within the upload limit); its name is
        never used for anything but messages."""
        path = Path(folder) / "upload"
        size = 0
        with path.open("wb") as out:
            while chunk := upload.file.read(1 << 20):
                size += len(chunk)
                if size > served.max_upload:
                    raise too_large(served.max_upload)
                out.write(chunk)
        return path

    def _upload_many(ctx: Ctx, uploads: list) -> Response:
        """Several full texts at once, each matched to its report (workflow's rule); what is
        not certain waits on the page of held uploads."""
        from metasift.errors import FileRefusedError
        from metasift.workflow.fulltext import upload_report

        files = [u for u in uploads if isinstance(u, UploadFile) and u.filename]
        if not files:
            raise HTTPException(400, "Choose one or more PDF or JATS XML files.")
        results = []
        for upload in files:
            name = Path(upload.filename).name
            with tempfile.TemporaryDirectory(prefix="metasift-fulltext-") as tmp:
                try:
                    done = upload_report(
                        ctx.engine,
                        ctx.protocol,
                        ctx.served.project.root,
                        _received(upload, tmp),
                        ctx.user.name,
                        shown=name,
                    )
                    results.append((name, done, None))
                except FileRefusedError as exc:
                    results.append((name, None, exc.reason))
        return _held_page(ctx, results)

    def _held_page(ctx: Ctx, results: list | None = None) -> Response:
        from metasift.extraction.stage import study_records
        from metasift.workflow.fulltext import held_uploads, sought_ids

        sought = sought_ids(ctx.engine, ctx.protocol)
        return served.page(
            "fulltext_held.html",
            ctx,
            results=results or [],
            held=held_uploads(ctx.engine, ctx.protocol, ctx.served.project.root),
            records=study_records(ctx.engine, sought) if sought else {},
        )

    @app.get("/p/{slug}/fulltext/held", response_class=HTMLResponse)
    def fulltext_held(request: Request, slug: str) -> Response:
        return _held_page(served.member(request, slug))

    @app.get("/p/{slug}/fulltext/held/{sha256}")
    def fulltext_held_file(request: Request, slug: str, sha256: str) -> Response:
        """A held upload, for the reviewer to look at before saying whose report it is."""
        from fastapi.responses import FileResponse

        from metasift.fulltext import FileStore

        ctx = served.member(request, slug)
        media_type, path = FileStore(ctx.served.project.root).held_file(sha256)
        return FileResponse(
            path,
            media_type=media_type,
            filename=f"upload-{sha256[:12]}{path.suffix}",
            headers={"Content-Security-Policy": "sandbox", "Cache-Control": "private"},
        )

    def _attach_upload(ctx: Ctx, record_id: int, upload: object) -> None:
        """One uploaded file attached as a report's full text."""
        from metasift.errors import FileRefusedError
        from metasift.workflow.fulltext import attach_report

        if not isinstance(upload, UploadFile) or not upload.filename:
            raise HTTPException(400, "Choose a PDF or JATS XML file to attach.")
        name = Path(upload.filename).name
        with tempfile.TemporaryDirectory(prefix="metasift-fulltext-") as tmp:
            path = _received(upload, tmp)
            try:
                attach_report(
                    ctx.engine,
                    ctx.protocol,
                    ctx.served.project.root,
                    record_id,
                    path,
                    ctx.user.name,
                )
            except FileRefusedError as exc:
                raise FileRefusedError(name, exc.reason) from None

    @app.get("/p/{slug}/fulltext/{record_id}/text")
    def fulltext_file(request: Request, slug: str, record_id: int) -> Response:
        """The report's latest stored full text, as a download: a file from a publisher or a
        reviewer is never rendered by the browser on this site's origin (an XML file could
        carry XHTML scripts)."""
        from fastapi.responses import FileResponse

        from metasift.fulltext import FileStore, stored_texts

        ctx = served.member(request, slug)
        texts = stored_texts(ctx.engine, [record_id]).get(record_id)
        if not texts:
            raise HTTPException(404, "No full text is stored for this report.")
        text = texts[-1]
        path = FileStore(ctx.served.project.root).verified_path(text.sha256, text.media_type)
        return FileResponse(
            path,
            media_type=text.media_type,
            filename=f"record-{record_id}{path.suffix}",
            headers={"Content-Security-Policy": "sandbox", "Cache-Control": "private"},
        )

    # -- extraction and risk of bias ----------------------------------------------------------
    def _included_studies(ctx: Ctx) -> list[int]:
        from metasift.workflow.state import extraction_studies

        return extraction_studies(ctx.engine, ctx.protocol)

    @app.get("/p/{slug}/extract", response_class=HTMLResponse)
    def extract_page(request: Request, slug: str) -> Response:
        from metasift.extraction.rob import TOOL_NAMES
        from metasift.extraction.stage import (
            characteristics,
            citation,
            evidence_map,
            rob_table,
            study_records,
        )

        ctx = served.member(request, slug)
        studies = _included_studies(ctx)
        recs = study_records(ctx.engine, studies) if studies else {}
        labels = {sid: citation(rec) for sid, rec in recs.items()}
        table = characteristics(ctx.engine, ctx.protocol, studies) if studies else None
        emap = evidence_map(ctx.engine, ctx.protocol, studies) if studies else None
        rob = {tool: rob_table(ctx.engine, studies, tool, labels) for tool in TOOL_NAMES}
        return served.page(
            "extract.html",
            ctx,
            studies=studies,
            labels=labels,
            table=table,
            emap=emap,
            rob=rob,
            tool_names=TOOL_NAMES,
        )

    @app.post("/p/{slug}/extract/{study_id}/{action}")
    def study_action(
        request: Request,
        slug: str,
        study_id: int,
        action: str,
        form: Posted,
    ) -> Response:
        from metasift.extraction.stage import (
            enter_value,
            record_rob,
            review_suggestion,
            run_suggestions,
        )

        ctx = served.writer(request, slug, form)
        if study_id not in _included_studies(ctx):
            raise HTTPException(404, "No such study among the included ones.")
        if action == "value":
            key = (
                study_id,
                _text(form, "field"),
                _text(form, "arm"),
                _text(form, "outcome"),
                _text(form, "timepoint"),
            )
            enter_value(ctx.engine, ctx.protocol, key, _text(form, "value"), ctx.user.name)
        elif action == "suggest":
            run_suggestions(ctx.engine, ctx.protocol, [study_id])
        elif action == "suggestion":
            review_suggestion(
                ctx.engine,
                ctx.protocol,
                _int(form, "suggestion_id"),
                _text(form, "review"),
                ctx.user.name,
                value_text=_text(form, "value") or None,
            )
        elif action == "rob":
            answers = {
                key[len("answer:") :]: value
                for key, value in form.multi_items()
                if key.startswith("answer:") and isinstance(value, str) and value.strip()
            }
            record_rob(
                ctx.engine,
                study_id=study_id,
                tool=_text(form, "tool"),
                domain=_text(form, "domain"),
                reviewer=ctx.user.name,
                answers=answers or None,
                judgement=_text(form, "judgement") or None,
                support=_text(form, "support"),
                result=_text(form, "result"),
            )
        else:
            raise HTTPException(404, "No such page.")
        return _back(request, f"/p/{slug}/extract/{study_id}")

    # -- PRISMA, report ------------------------------------------------------------------
    @app.get("/p/{slug}/prisma", response_class=HTMLResponse)
    def prisma_page(request: Request, slug: str) -> Response:
        from markupsafe import Markup

        from metasift.report.prisma_diagram import prisma_svg
        from metasift.workflow.counts import prisma_counts

        ctx = served.member(request, slug)
        counts = prisma_counts(ctx.engine, ctx.protocol)
        draft = bool(counts.pending)
        svg = Markup(prisma_svg(counts, draft=draft))
        return served.page("prisma.html", ctx, counts=counts, draft=draft, svg=svg)

    @app.get("/p/{slug}/report", response_class=HTMLResponse)
    def report_page(request: Request, slug: str) -> Response:
        # The report inside the project's pages, which keep their navigation.
        return served.page("report.html", served.member(request, slug))

    @app.get("/p/{slug}/report/document", response_class=HTMLResponse)
    def report_document(request: Request, slug: str) -> Response:
        from metasift.report.build import build_report
        from metasift.report.render import render_html

        ctx = served.member(request, slug)
        html = render_html(build_report(ctx.served.project))
        # The report is a standalone document with its own styles and no scripts, shown in
        # the report page's frame or on its own.
        return HTMLResponse(
            html,
            headers={
                "Content-Security-Policy": "default-src 'none'; img-src data:; "
                "style-src 'unsafe-inline'; frame-ancestors 'self'",
                "X-Frame-Options": "SAMEORIGIN",
            },
        )

    # The audit log is web/audit_page.py.

    @app.get("/p/{slug}", include_in_schema=False)
    def project_root(slug: str) -> Response:
        return RedirectResponse(f"/p/{slug}/", status_code=307)
