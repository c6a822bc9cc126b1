"""A served project on a real uvicorn server on 127.0.0.1, with users of every role."""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from metasift.project import Project
from metasift.records.formats import ReadOptions
from metasift.records.importing import import_file
from metasift.store.pgserver import free_port
from tests.conftest import FIXTURES

PASSWORD = "correct horse battery"
USERS = {"ana": "owner", "ben": "reviewer", "cy": "reviewer", "vic": "viewer"}


def protocol_text(title: str, db_url: str | None, reviewers: int = 2) -> str:
    database = f'[project]\ndatabase_url = "{db_url}"\n' if db_url else ""
    return f"""
[review]
title = "{title}"
question = "Do adipose-derived stem cells help inflammatory skin disease?"
{database}
[criteria]
exclusion_reasons = ["wrong study type", "wrong condition"]
include_terms = ["adipose", "psoriasis"]
exclude_terms = ["umbilical"]

[screening]
reviewers_per_record = {reviewers}
blind = true
stopping_rule = "consecutive"
consecutive_irrelevant = 3

[[sources]]
name = "TestDB"
"""


def make_project(
    root: Path,
    title: str,
    db_url: str | None,
    *,
    reviewers: int = 2,
    records: bool = True,
    source: Path = FIXTURES / "workflow" / "records.jsonl",
    extra_users: tuple[str, ...] = (),
) -> Path:
    from metasift.web.users import add_user

    root.mkdir(parents=True)
    url = db_url if db_url and not db_url.startswith("sqlite") else None
    (root / "review.toml").write_text(protocol_text(title, url, reviewers), encoding="utf-8")
    with Project.open(root) as project:
        for name, role in [*USERS.items(), *((n, "reviewer") for n in extra_users)]:
            add_user(project.engine, name, PASSWORD, role, actor="ana")
        if records:
            import_file(
                project.engine,
                source,
                options=ReadOptions(source_database="TestDB"),
                name=source.name,
            )
    return root


@dataclass
class Server:
    url: str
    app: object

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, follow_redirects=False)

    def login(self, name: str, password: str = PASSWORD) -> httpx.Client:
        client = self.client()
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        response = client.post(
            "/login", data={"name": name, "password": password, "csrf_token": token}
        )
        assert response.status_code == 303, response.text
        return client


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def reader_project(
    root: Path, title: str, texts: dict[int, Path], *, included: Iterable[int] = ()
) -> Path:
    """A project (:func:`make_project`, one reviewer a record) whose records ``texts`` names
    passed title/abstract screening with their full texts attached; those in ``included`` are
    included at full text too. For the pages that show a report's text."""
    from metasift.workflow import decisions as wd
    from metasift.workflow.fulltext import attach_report

    root = make_project(root, title, None, reviewers=1)
    with Project.open(root) as p:
        for rid in texts:
            wd.decide(p.engine, p.protocol, record_id=rid, reviewer="ana", decision="include")
        for rid, path in texts.items():
            attach_report(p.engine, p.protocol, root, rid, path, "ana")
        for rid in included:
            wd.decide(
                p.engine,
                p.protocol,
                record_id=rid,
                reviewer="ana",
                decision="include",
                stage=wd.FULL_TEXT,
            )
    return root


def browser_login(browser, server: Server, name: str, errors: list[str]):
    """A new Chromium context with ``name`` logged in: (context, page). The page's console
    errors and uncaught exceptions go to ``errors``."""
    context = browser.new_context(base_url=server.url, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    return context, page


@contextmanager
def start_server(roots: list[Path], **options: Any) -> Iterator[Server]:
    import uvicorn

    from metasift.web.app import create_app
    from metasift.web.server import open_projects

    app = create_app(open_projects(roots), **options)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    try:
        yield Server(f"http://127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@pytest.fixture
def two_projects(tmp_path: Path, db_url: str) -> Iterator[tuple[Server, Path, Path]]:
    """Projects A (users of every role, 10 records) and B (only the user "bo"), served
    together; on SQLite and on PostgreSQL."""
    from metasift.web.users import add_user

    a = make_project(tmp_path / "alpha", "Alpha review", db_url)
    b_url = None
    if db_url.startswith("postgresql"):
        b_url = db_url.rsplit("/", 1)[0] + "/" + db_url.rsplit("/", 1)[1] + "b"
        import psycopg

        plain = db_url.rsplit("/", 1)[0].replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{b_url.rsplit("/", 1)[1]}"')
    b = tmp_path / "beta"
    b.mkdir()
    database = f'[project]\ndatabase_url = "{b_url}"\n' if b_url else ""
    (b / "review.toml").write_text(f'[review]\ntitle = "Beta review"\n{database}')
    with Project.open(b) as project:
        add_user(project.engine, "bo", PASSWORD, "owner")
    with start_server([a, b]) as server:
        yield server, a, b
    shutil.rmtree(tmp_path, ignore_errors=True)
