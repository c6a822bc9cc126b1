"""Who may read and write what, CSRF, escaping, error pages and cookies: over real HTTP."""

from __future__ import annotations

import logging
import re

import sqlalchemy as sa

from metasift.project import Project
from metasift.store.schema import decisions
from tests.web.conftest import PASSWORD, csrf_of, make_project, start_server

RECORD = re.compile(r'name="record_id" value="(\d+)"')


def _decisions(root) -> int:
    with Project.open(root) as project, project.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(decisions)).scalar_one()


def test_a_member_of_one_project_cannot_read_or_write_another(two_projects):
    server, alpha, beta = two_projects
    ana = server.login("ana")
    listing = ana.get("/")
    assert "Alpha review" in listing.text and "Beta review" not in listing.text
    token = csrf_of(ana.get("/p/alpha/screen").text)
    for path in ("/p/beta/", "/p/beta/screen", "/p/beta/log", "/p/beta/report"):
        assert ana.get(path).status_code == 404, path
    upload = ana.post(
        "/p/beta/import",
        files={"file": ("r.jsonl", b'{"title": "Planted"}\n')},
        data={"csrf_token": token},
    )
    assert upload.status_code == 404
    with Project.open(beta) as project, project.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM records")).scalar() == 0

    bo = server.login("bo")
    assert bo.get("/p/alpha/screen").status_code == 404
    bo_token = csrf_of(bo.get("/p/beta/import").text)
    refused = bo.post(
        "/p/alpha/screen/decide",
        data={"record_id": "1", "decision": "include", "csrf_token": bo_token},
    )
    assert refused.status_code == 404
    assert _decisions(alpha) == 0
    # Without a session every page sends to the login form, and posts are refused.
    anonymous = server.client()
    assert (
        anonymous.get("/p/alpha/screen").headers["location"] == "/login?next=%2Fp%2Falpha%2Fscreen"
    )
    assert anonymous.post("/p/alpha/screen/decide", data={}).status_code == 401


def test_a_viewer_reads_but_cannot_decide(two_projects):
    server, alpha, _ = two_projects
    vic = server.login("vic")
    page = vic.get("/p/alpha/screen")
    assert page.status_code == 200
    assert "Viewers do not screen" in page.text and 'value="include"' not in page.text
    token = csrf_of(page.text)
    for path, data in (
        ("/p/alpha/screen/decide", {"record_id": "1", "decision": "include"}),
        ("/p/alpha/conflicts/resolve", {"record_id": "1", "decision": "include"}),
        ("/p/alpha/fulltext/decide", {"record_id": "1", "decision": "include"}),
        ("/p/alpha/dedup/decide", {"pair": "1-2", "verdict": "same"}),
    ):
        response = vic.post(path, data=data, headers={"X-CSRF-Token": token})
        assert response.status_code == 403, path
        assert "Viewers may read" in response.text
    assert _decisions(alpha) == 0
    # A reviewer is not an owner: importing is refused too.
    ben = server.login("ben")
    ben_token = csrf_of(ben.get("/p/alpha/import").text)
    response = ben.post(
        "/p/alpha/import",
        files={"file": ("r.jsonl", b'{"title": "x"}\n')},
        data={"csrf_token": ben_token},
    )
    assert response.status_code == 403


def test_state_changes_need_the_csrf_token(two_projects):
    server, alpha, _ = two_projects
    ben = server.login("ben")
    page = ben.get("/p/alpha/screen")
    assert RECORD.search(page.text), page.text
    record_id = RECORD.search(page.text).group(1)
    data = {"record_id": record_id, "decision": "include"}
    assert ben.post("/p/alpha/screen/decide", data=data).status_code == 403
    wrong = ben.post("/p/alpha/screen/decide", data=data, headers={"X-CSRF-Token": "x" * 43})
    assert wrong.status_code == 403
    assert ben.post("/logout", data={}).status_code == 403
    assert _decisions(alpha) == 0
    # With the token (header, as htmx sends it, or form field) the decision is stored once.
    token = csrf_of(page.text)
    ok = ben.post("/p/alpha/screen/decide", data={**data, "csrf_token": token})
    assert ok.status_code == 303
    assert _decisions(alpha) == 1
    # The login form has its own token, bound to a cookie.
    fresh = server.client()
    assert fresh.post("/login", data={"name": "ben", "password": PASSWORD}).status_code == 403


def test_record_text_is_escaped(tmp_path):
    root = make_project(tmp_path / "xss", "XSS", None, reviewers=1, records=False)
    evil = tmp_path / "evil.jsonl"
    evil.write_text(
        '{"title": "<script>alert(1)</script><b>Adipose</b> cells", '
        '"abstract": "<img src=x onerror=alert(2)> psoriasis & <i>more</i>", '
        '"authors": ["<svg onload=alert(3)>"], "journal": "J <u>Test</u>", "doi": "10.1/x"}\n'
        '{"title": "Umbilical cord cells in acne", "abstract": "Cells in acne more", '
        '"doi": "10.1/y"}\n',
        encoding="utf-8",
    )
    with start_server([root]) as server:
        ana = server.login("ana")
        token = csrf_of(ana.get("/p/xss/import").text)
        imported = ana.post(
            "/p/xss/import",
            files={"file": ("evil.jsonl", evil.read_bytes())},
            data={"csrf_token": token},
        )
        assert imported.status_code == 200
        assert "read 2, imported 2, rejected 0" in imported.text
        screen = ana.get("/p/xss/screen").text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;" in screen
        assert "&lt;img src=x onerror=alert(2)&gt;" in screen
        assert "J &lt;u&gt;Test&lt;/u&gt;" in screen
        # Highlighting marks the terms inside the escaped text.
        assert '<mark class="include">Adipose</mark>' in screen
        assert '<mark class="include">psoriasis</mark> &amp; &lt;i&gt;more' in screen
        for page in (screen, ana.get("/p/xss/log").text, ana.get("/p/xss/report/document").text):
            assert "<script>alert" not in page and "<img src=x" not in page
            assert "<svg onload" not in page and "<b>Adipose" not in page


def test_uploads_are_checked(tmp_path):
    root = make_project(tmp_path / "up", "Uploads", None, records=False)
    with start_server([root], max_upload=2000) as server:
        ana = server.login("ana")
        token = csrf_of(ana.get("/p/up/import").text)

        def upload(name: str, content: bytes):
            return ana.post(
                "/p/up/import", files={"file": (name, content)}, data={"csrf_token": token}
            )

        big = upload("big.ris", b"TY  - JOUR\nTI  - x\nER  - \n" * 200)
        assert big.status_code == 413 and "2,000 bytes" in big.text
        binary = upload("picture.ris", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
        assert binary.status_code == 400
        assert "picture.ris: this is a binary file" in binary.text
        unknown = upload("notes.txt", b"just some words\nand more words\n")
        assert unknown.status_code == 400
        assert "notes.txt: the format could not be recognised" in unknown.text
        ok = upload("one.ris", b"TY  - JOUR\nTI  - Adipose cells\nER  - \n")
        assert ok.status_code == 200 and "ris</strong>: read 1, imported 1, rejected 0" in ok.text
        again = upload("one.ris", b"TY  - JOUR\nTI  - Adipose cells\nER  - \n")
        assert again.status_code == 400 and "already imported" in again.text
        assert "/tmp" not in binary.text + unknown.text + again.text


def test_errors_show_no_traceback(tmp_path, caplog):
    root = make_project(tmp_path / "broken", "Broken", None, records=False)
    with start_server([root]) as server:
        ana = server.login("ana")
        with Project.open(root) as project, project.engine.begin() as conn:
            conn.execute(sa.text("DROP TRIGGER audit_log_no_update"))
            conn.execute(sa.text("DROP TRIGGER audit_log_no_delete"))
            conn.execute(sa.text("DROP TABLE audit_log"))
        with caplog.at_level(logging.ERROR, logger="metasift.web"):
            response = ana.get("/p/broken/log")
        assert response.status_code == 500
        assert "Something went wrong on the server (reference" in response.text
        for leak in ("Traceback", "audit_log", "sqlalchemy", 'File "', "OperationalError"):
            assert leak not in response.text
        assert any("OperationalError" in str(r.exc_info) for r in caplog.records)
        missing = ana.get("/p/broken/extract/99999")
        assert missing.status_code == 404 and "Traceback" not in missing.text


def test_session_cookie_flags(two_projects):
    server, _, _ = two_projects
    client = server.client()
    token = csrf_of(client.get("/login").text)
    wrong = client.post("/login", data={"name": "ana", "password": "nope", "csrf_token": token})
    assert wrong.status_code == 401 and "metasift_session" not in wrong.headers.get(
        "set-cookie", ""
    )
    response = client.post(
        "/login", data={"name": "ana", "password": PASSWORD, "csrf_token": token}
    )
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("metasift_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie
    # Behind an https proxy on this host the cookie is Secure.
    client = server.client()
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login",
        data={"name": "ana", "password": PASSWORD, "csrf_token": token},
        headers={"X-Forwarded-Proto": "https"},
    )
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("metasift_session=")
    )
    assert "Secure" in cookie and "HttpOnly" in cookie
    # Logging out ends the session in the store: the old cookie no longer opens anything.
    ana = server.login("ana")
    old = ana.cookies["metasift_session"]
    csrf = csrf_of(ana.get("/p/alpha/").text)
    assert ana.post("/logout", data={"csrf_token": csrf}).status_code == 303
    replay = server.client()
    replay.cookies.set("metasift_session", old)
    assert replay.get("/p/alpha/").status_code == 303
