"""The full-text page: attach a file to a report, download the stored text safely."""

from __future__ import annotations

import hashlib
from pathlib import Path

from metasift.project import Project
from metasift.workflow import decisions as wd
from tests.fulltext.conftest import FIXTURES
from tests.web.conftest import csrf_of, make_project, start_server


def test_attach_on_the_page_and_download_the_text(tmp_path: Path):
    root = make_project(tmp_path / "alpha", "Alpha review", None, reviewers=1)
    with Project.open(root) as project:
        wd.decide(project.engine, project.protocol, record_id=1, reviewer="ana", decision="include")
    pdf = (FIXTURES / "pone.0000217.pdf").read_bytes()
    with start_server([root]) as server:
        ben = server.login("ben")
        token = csrf_of(ben.get("/p/alpha/fulltext").text)
        sent = ben.post(
            "/p/alpha/fulltext/attach",
            files={"file": ("../../../etc/cron.d/x.pdf", pdf, "application/pdf")},
            data={"csrf_token": token, "record_id": "1"},
        )
        assert sent.status_code == 303, sent.text
        page = ben.get("/p/alpha/fulltext").text
        assert 'href="/p/alpha/fulltext/1/text">PDF</a> (upload)' in page
        got = ben.get("/p/alpha/fulltext/1/text")
        assert got.status_code == 200 and got.content == pdf
        assert got.headers["content-security-policy"] == "sandbox"
        assert got.headers["content-disposition"].startswith("attachment")
        digest = hashlib.sha256(pdf).hexdigest()
        assert (root / "fulltexts" / f"{digest}.pdf").is_file()
        assert not list(root.rglob("x.pdf"))

        # An HTML page is refused, named as the user named it; a viewer may not attach.
        refused = ben.post(
            "/p/alpha/fulltext/attach",
            files={"file": ("paper.pdf", b"<!DOCTYPE html><html></html>", "application/pdf")},
            data={"csrf_token": token, "record_id": "1"},
        )
        assert refused.status_code >= 400 and "paper.pdf: not a full text" in refused.text
        vic = server.login("vic")
        vic_token = csrf_of(vic.get("/p/alpha/fulltext").text)
        denied = vic.post(
            "/p/alpha/fulltext/attach",
            files={"file": ("paper.pdf", pdf, "application/pdf")},
            data={"csrf_token": vic_token, "record_id": "1"},
        )
        assert denied.status_code == 403
        assert ben.get("/p/alpha/fulltext/2/text").status_code == 404
