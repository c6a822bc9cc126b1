"""The browser app: FastAPI routes rendering Jinja2 pages, htmx for partial updates.

Every route goes through :func:`Served.member`: the session cookie is looked up in the store
of the project the URL names, so a session opened for project A is unknown to project B's
store and B answers "not found". State-changing requests also need the session's CSRF token
(htmx sends it in the ``X-CSRF-Token`` header, plain forms in a hidden field) and a role that
may write. Templates autoescape everything; the only markup inserted as is are the SVG figures
and the report that metasift itself draws. Unexpected errors are logged with their traceback
and answered with a generic page.
"""

from __future__ import annotations

import hmac
import logging
import re
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader
from markupsafe import Markup, escape
from starlette.datastructures import FormData, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from metasift.errors import MetasiftError
from metasift.project import Project
from metasift.web import users
from metasift.web.logins import LoginLimits
from metasift.workflow.assignments import LEASE_SECONDS
from metasift.workflow.handout import TeamScreening

log = logging.getLogger("metasift.web")

COOKIE = "metasift_session"
LOGIN_COOKIE = "metasift_login"
CSRF_HEADER = "x-csrf-token"
MAX_UPLOAD = 100 * 1024 * 1024
MAX_FILES = 50
STATIC = Path(__file__).parent / "static"


class Denied(HTTPException):
    pass


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("metasift.web", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        # The templates ship with the package: no need to look at their files at every page.
        auto_reload=False,
    )
    env.filters["highlight"] = highlight
    env.filters["pct"] = lambda x: "–" if x is None else f"{100 * x:.0f}%"
    return env


def highlight(text: str | None, include: list[str], exclude: list[str]) -> Markup:
    """``text`` escaped, with the protocol's include and exclude terms marked."""
    if not text:
        return Markup("")
    terms = {t.lower(): "include" for t in include if t.strip()}
    terms.update({t.lower(): "exclude" for t in exclude if t.strip()})
    if not terms:
        return escape(text)
    pattern = re.compile(
        "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)), re.IGNORECASE
    )
    out, last = [], 0
    for match in pattern.finditer(text):
        out.append(escape(text[last : match.start()]))
        kind = terms[match.group(0).lower()]
        out.append(Markup('<mark class="{}">{}</mark>').format(kind, match.group(0)))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


@dataclass
class ServedProject:
    slug: str
    project: Project
    lease_seconds: float = LEASE_SECONDS
    _screening: TeamScreening | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def engine(self):
        return self.project.engine

    @property
    def protocol(self):
        return self.project.protocol

    @property
    def title(self) -> str:
        return self.project.protocol.review.title

    def screening(self) -> TeamScreening:
        with self._lock:
            if self._screening is None:
                self._screening = TeamScreening(self.engine, self.protocol, ttl=self.lease_seconds)
            return self._screening

    def records_changed(self) -> None:
        """After an import or de-duplication the screening features are built again."""
        with self._lock:
            if self._screening is not None:
                self._screening.close()
            self._screening = None


@dataclass
class Ctx:
    """One authorised request: the project and who is asking."""

    request: Request
    served: ServedProject
    user: users.SessionUser

    @property
    def engine(self):
        return self.served.engine

    @property
    def protocol(self):
        return self.served.protocol


class Served:
    """The projects a server serves, and the checks every route makes."""

    def __init__(
        self,
        projects: list[Project],
        max_upload: int = MAX_UPLOAD,
        lease_seconds: float = LEASE_SECONDS,
        login_limits: LoginLimits | None = None,
    ) -> None:
        self.max_upload = max_upload
        self.login_limits = login_limits or LoginLimits()
        self.projects: dict[str, ServedProject] = {}
        for project in projects:
            base = re.sub(r"[^A-Za-z0-9_-]+", "-", project.root.resolve().name).strip("-")
            slug, n = base or "project", 1
            while slug in self.projects:
                n += 1
                slug = f"{base}-{n}"
            self.projects[slug] = ServedProject(slug, project, lease_seconds)
        self.env = _environment()

    def close(self) -> None:
        for served in self.projects.values():
            served.records_changed()
            served.project.close()

    # -- the checks ------------------------------------------------------------------------
    def member(self, request: Request, slug: str) -> Ctx:
        token = request.cookies.get(COOKIE)
        served = self.projects.get(slug)
        if not token:
            raise Denied(401, "Log in first.")
        user = users.session_user(served.engine, token) if served else None
        if served is None or user is None:
            # A project the user is not a member of looks like one that does not exist.
            if any(users.session_user(p.engine, token) for p in self.projects.values()):
                raise Denied(404, "No such project.")
            raise Denied(401, "Log in first.")
        return Ctx(request, served, user)

    def writer(self, request: Request, slug: str, form: FormData, *, owner: bool = False) -> Ctx:
        ctx = self.member(request, slug)
        sent = request.headers.get(CSRF_HEADER) or form.get("csrf_token") or ""
        if not isinstance(sent, str) or not hmac.compare_digest(
            sent.encode(), ctx.user.csrf_token.encode()
        ):
            raise Denied(403, "The form expired or did not come from this site; reload the page.")
        if owner and not ctx.user.is_owner:
            raise Denied(403, "Only the project's owners may do this.")
        if not ctx.user.can_decide:
            raise Denied(403, "Viewers may read the project but not change it.")
        return ctx

    def viewer(self, request: Request) -> tuple[ServedProject | None, users.SessionUser | None]:
        """The project of the URL and the user asking, as far as they are a member; for pages
        that must not fail (errors): never raises, and a project the user is not a member of
        is not named."""
        token = request.cookies.get(COOKIE)
        if not token:
            return None, None
        match = re.match(r"/p/([^/]+)", request.url.path)
        try:
            served = self.projects.get(match.group(1)) if match else None
            user = users.session_user(served.engine, token) if served else None
            if user is not None:
                return served, user
            mine = self.user_projects(token)
        except Exception:  # the store itself may be what failed
            return None, None
        return None, (mine[0][1] if mine else None)

    def user_projects(self, token: str | None) -> list[tuple[ServedProject, users.SessionUser]]:
        if not token:
            return []
        found = []
        for served in self.projects.values():
            user = users.session_user(served.engine, token)
            if user is not None:
                found.append((served, user))
        return found

    # -- rendering -------------------------------------------------------------------------
    def page(self, template: str, ctx: Ctx | None = None, status: int = 200, **values: Any):
        if ctx is not None:
            values.setdefault("served", ctx.served)
            values.setdefault("user", ctx.user)
            values.setdefault("csrf", ctx.user.csrf_token)
            values.setdefault("protocol", ctx.protocol)
        html = self.env.get_template(template).render(**values)
        return HTMLResponse(html, status_code=status)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def too_large(limit: int) -> HTTPException:
    size = f"{limit // 2**20} MB" if limit >= 2**20 else f"{limit:,} bytes"
    return HTTPException(413, f"The upload is larger than the limit of {size}.")


async def form_data(request: Request) -> FormData:
    """The posted form (an empty one for other bodies); uploads above the limit refused."""
    limit = request.app.state.served.max_upload
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit + 64 * 1024:
        raise too_large(limit)
    kind = request.headers.get("content-type", "")
    if kind.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        # Several full texts may come at once; their total stays within the upload limit.
        return await request.form(max_files=MAX_FILES, max_fields=200)
    return FormData()


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
HTML_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-ancestors 'none'"
)


class Guard:
    """Security headers on every answer, and a generic page for unexpected errors.

    Unexpected errors are answered here rather than by Starlette's last-resort handler, which
    would re-raise and drop the connection after its plain-text answer. A plain ASGI
    middleware: Starlette's ``@app.middleware("http")`` runs each request's answer through
    an extra task and stream, a measurable share of a busy server's time.
    """

    def __init__(self, app: ASGIApp, error_page: Callable[[Request, int, str], Response]):
        self.app = app
        self.error_page = error_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_secured(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Content-Security-Policy", HTML_POLICY)
            await send(message)

        try:
            await self.app(scope, receive, send_secured)
        except Exception as exc:
            if started:
                raise
            request = Request(scope)
            ref = uuid.uuid4().hex[:8]
            log.error("error %s on %s %s", ref, request.method, request.url.path, exc_info=exc)
            response = self.error_page(
                request,
                500,
                f"Something went wrong on the server (reference {ref}); it was logged.",
            )
            await response(scope, receive, send_secured)


DEFAULT_HOSTS = ("127.0.0.1", "localhost")


def create_app(
    projects: list[Project],
    *,
    max_upload: int = MAX_UPLOAD,
    lease_seconds: float = LEASE_SECONDS,
    login_limits: LoginLimits | None = None,
    allowed_hosts: Sequence[str] = DEFAULT_HOSTS,
) -> FastAPI:
    """The app serving ``projects``.

    Args:
        projects: the opened projects; closed when the app shuts down.
        max_upload: uploads of more than this many bytes are refused.
        lease_seconds: a record shown to a reviewer who does not decide it goes back to the
            others after this.
        login_limits: the limits on failed logins (default: :class:`LoginLimits`).
        allowed_hosts: the names the server answers to; a request with another ``Host``
            header gets 400 (a DNS-rebinding page cannot talk to a server on localhost).
    """
    from contextlib import asynccontextmanager

    from starlette.middleware.trustedhost import TrustedHostMiddleware

    served = Served(projects, max_upload, lease_seconds, login_limits)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        served.close()

    app = FastAPI(
        title="metasift", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.served = served
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    def error_page(request: Request, status: int, message: str) -> Response:
        if status == 401 and request.method == "GET" and not is_htmx(request):
            from metasift.web.nextpage import login_url

            where = login_url(request.url.path, request.url.query)
            return RedirectResponse(where, status_code=303)
        if is_htmx(request):
            return HTMLResponse(
                f'<p class="error" role="alert">{escape(message)}</p>',
                status_code=status,
                headers={"HX-Retarget": "#messages", "HX-Reswap": "innerHTML"},
            )
        # The page keeps the navigation of the project it is in, for its members.
        project, user = served.viewer(request)
        return served.page(
            "error.html",
            None,
            status,
            message=message,
            code=status,
            served=project,
            user=user,
            csrf=user.csrf_token if user else None,
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return error_page(request, exc.status_code, str(exc.detail))

    @app.exception_handler(MetasiftError)
    async def stage_error(request: Request, exc: MetasiftError) -> Response:
        return error_page(request, 400, exc.for_web())

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        return error_page(request, 400, "The request was not understood (a field is missing?).")

    # Added first, so that it runs inside the Guard: a refused Host gets the security headers.
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    app.add_middleware(Guard, error_page=error_page)

    from metasift.web import audit_page, browse, forms, routes, screening_page, viewer

    routes.add_routes(app, served)
    screening_page.add_screening_routes(app, served)
    forms.add_form_routes(app, served)
    viewer.add_viewer_routes(app, served)
    browse.add_routes(app, served)
    audit_page.add_routes(app, served)
    return app
