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


def test_upload_many_matches_them_and_a_reviewer_confirms_the_rest(tmp_path: Path):
    from tests.fulltext import pdfs

    root = make_project(tmp_path / "alpha", "Alpha review", None, reviewers=1)
    with Project.open(root) as project:
        wd.decide(project.engine, project.protocol, record_id=1, reviewer="ana", decision="include")
    titled = pdfs.one_page(
        tmp_path / "a.pdf", line=b"Adipose stem cell exosomes in atopic dermatitis mice"
    ).read_bytes()
    stray = pdfs.one_page(tmp_path / "b.pdf", line=b"Milk yields of dairy cows").read_bytes()
    with start_server([root]) as server:
        ben = server.login("ben")
        token = csrf_of(ben.get("/p/alpha/fulltext").text)
        answer = ben.post(
            "/p/alpha/fulltext/upload",
            files=[
                ("files", ("smith2020.pdf", titled, "application/pdf")),
                ("files", ("unknown.pdf", stray, "application/pdf")),
                ("files", ("landing.pdf", b"<!DOCTYPE html><html></html>", "application/pdf")),
            ],
            data={"csrf_token": token},
        )
        assert answer.status_code == 200, answer.text
        page = " ".join(answer.text.split())
        assert "smith2020.pdf</td><td> attached to record 1 (by title)" in page
        assert "unknown.pdf</td><td> waiting: no report matches" in page
        assert "landing.pdf</td><td> refused: not a full text" in page
        sha = hashlib.sha256(stray).hexdigest()
        looked = ben.get(f"/p/alpha/fulltext/held/{sha}")
        assert looked.content == stray and looked.headers["content-security-policy"] == "sandbox"
        assert ben.get("/p/alpha/fulltext/held/..%2F..%2Freview.toml").status_code >= 400
        assert ben.get(f"/p/alpha/fulltext/held/{'0' * 64}").status_code >= 400
        confirmed = ben.post(
            "/p/alpha/fulltext/confirm",
            data={"csrf_token": token, "sha256": sha, "record_id": "1"},
        )
        assert confirmed.status_code == 303
        assert "No upload is waiting" in ben.get("/p/alpha/fulltext/held").text
    with Project.open(root) as project:
        from metasift.fulltext import stored_texts

        assert len(stored_texts(project.engine)[1]) == 2
