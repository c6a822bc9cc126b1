"""The forms and the reader over plain HTTP: who may save, what the URL may name, where a form
sends the browser back to."""

from __future__ import annotations

import hashlib

from metasift.extraction import drafts, store
from metasift.project import Project
from metasift.workflow import decisions as wd
from metasift.workflow.decisions import FULL_TEXT
from metasift.workflow.fulltext import attach_report
from tests.fulltext.conftest import FIXTURES as TEXTS
from tests.web.conftest import csrf_of, make_project, start_server

PDF = TEXTS / "pone.0000217.pdf"


def test_only_writers_save_and_only_the_stored_checksum_is_served(tmp_path):
    root = make_project(tmp_path / "alpha", "Alpha review", None, reviewers=1)
    with Project.open(root) as p:
        for rid in (1, 2):
            wd.decide(p.engine, p.protocol, record_id=rid, reviewer="ana", decision="include")
        attach_report(p.engine, p.protocol, root, 1, PDF, "ana")
        wd.decide(
            p.engine, p.protocol, record_id=1, reviewer="ana", decision="include", stage=FULL_TEXT
        )
    sha = hashlib.sha256(PDF.read_bytes()).hexdigest()
    with start_server([root]) as server:
        engine = server.app.state.served.projects["alpha"].project.engine
        vic = server.login("vic")
        page = vic.get("/p/alpha/fulltext/1/read")
        assert page.status_code == 200 and "values-form" not in page.text
        token = csrf_of(page.text)
        for path, data in (
            ("/p/alpha/extract/1/form/values", {"field:country": "x"}),
            ("/p/alpha/extract/1/form/rob/rob2", {"D1:judgement": "Low"}),
            ("/p/alpha/extract/1/draft/values", {"field:country": "x"}),
            ("/p/alpha/fulltext/2/decide", {"decision": "include"}),
        ):
            refused = vic.post(path, data={**data, "csrf_token": token})
            assert refused.status_code == 403, path
        assert drafts.get_drafts(engine, 1, "vic") == {} and store.get_values(engine, [1]) == []
        # The PDF: a viewer may read it; a checksum not stored for that report is not served.
        assert vic.get(f"/p/alpha/fulltext/1/file/{sha}").status_code == 200
        assert vic.get(f"/p/alpha/fulltext/2/file/{sha}").status_code == 404
        assert vic.get(f"/p/alpha/fulltext/1/file/{'0' * 64}").status_code == 404
        assert vic.get("/p/alpha/fulltext/1/file/..%2F..%2Freview.toml").status_code == 404
        anonymous = server.client()
        location = anonymous.get(f"/p/alpha/fulltext/1/file/{sha}").headers["location"]
        assert location.startswith("/login?next=")

        ben = server.login("ben")
        token = csrf_of(ben.get("/p/alpha/extract/1").text)
        # Without the token nothing is kept; a study not included has no forms.
        assert ben.post("/p/alpha/extract/1/draft/values", data={}).status_code == 403
        assert (
            ben.post("/p/alpha/extract/2/form/values", data={"csrf_token": token}).status_code
            == 404
        )
        # After a save the browser goes back to a page of this project, never elsewhere.
        for back in (
            "https://evil.example/",
            "//evil.example/p/alpha/",
            "/p/beta/x",
            "/p/alpha/\\x",
        ):
            saved = ben.post(
                "/p/alpha/extract/1/form/values",
                data={"csrf_token": token, "field:country": "Peru", "back": back},
            )
            assert saved.headers["location"] == "/p/alpha/extract/1", back
        kept = ben.post(
            "/p/alpha/extract/1/form/values",
            data={"csrf_token": token, "field:country": "Peru", "back": "/p/alpha/fulltext/1/read"},
        )
        assert kept.headers["location"] == "/p/alpha/fulltext/1/read"
        assert {v.field: v.value for v in store.get_values(engine, [1], "ben")} == {
            "country": "Peru"
        }
