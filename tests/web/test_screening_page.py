"""The screening page over HTTP: it answers before the model's features are built (in the
quick order, saying so), notes, labels and highlight terms are kept per record and per
reviewer under workflow's rule and audited, and the progress dashboard shows the figures."""

from __future__ import annotations

import re
import threading

import pytest
import sqlalchemy as sa

from metasift.project import Project
from metasift.screening import session as screening_session
from metasift.store.audit import iter_log
from metasift.store.schema import decisions
from metasift.workflow import handout
from tests.web.conftest import csrf_of, make_project, start_server

RECORD = re.compile(r'name="record_id" value="(\d+)"')
WARMING = "Ranking updates in the background"


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path / "alpha", "Alpha review", None)


def _htmx(page: str) -> dict[str, str]:
    return {"X-CSRF-Token": csrf_of(page), "HX-Request": "true"}


def test_the_first_page_answers_while_the_features_are_still_being_built(project, monkeypatch):
    release = threading.Event()
    calls = []

    def slow_build(engine, protocol):
        calls.append(1)
        assert release.wait(60), "the test never released the build"
        return screening_session.build_corpus(engine, protocol)

    monkeypatch.setattr(handout, "build_corpus", slow_build)
    with start_server([project]) as server:
        ana = server.login("ana")
        page = ana.get("/p/alpha/screen", timeout=10)
        assert page.status_code == 200
        assert WARMING in page.text
        first = int(RECORD.search(page.text).group(1))
        # Decided and the next record handed out while the build still waits.
        answer = ana.post(
            "/p/alpha/screen/decide",
            data={"record_id": first, "decision": "include"},
            headers=_htmx(page.text),
        )
        assert answer.status_code == 200 and WARMING in answer.text
        second = int(RECORD.search(answer.text).group(1))
        assert second != first
        # A second reviewer is handed a record too (dual screening: possibly the same one).
        ben_page = server.login("ben").get("/p/alpha/screen", timeout=10)
        assert RECORD.search(ben_page.text)
        assert calls == [1] and not release.is_set()

        release.set()
        team = server.app.state.served.projects["alpha"].screening()
        assert team.wait_ready(60)
        later = ana.get("/p/alpha/screen")
        assert WARMING not in later.text
        # The record ana was holding is still hers, and the learner knows her decision.
        assert int(RECORD.search(later.text).group(1)) == second
        learner = team.session("ana").learner
        assert learner.labels[team.session("ana").position(first)] == 1
    with Project.open(project) as opened, opened.engine.connect() as conn:
        rows = conn.execute(sa.select(decisions.c.record_id, decisions.c.model_run_id)).all()
    assert [r.record_id for r in rows] == [first]
    assert rows[0].model_run_id is not None  # the quick order is recorded as a model run


def test_undo_while_the_features_are_built(project, monkeypatch):
    release = threading.Event()
    monkeypatch.setattr(
        handout,
        "build_corpus",
        lambda e, p: release.wait(60) and screening_session.build_corpus(e, p),
    )
    with start_server([project]) as server:
        ana = server.login("ana")
        page = ana.get("/p/alpha/screen").text
        first = int(RECORD.search(page).group(1))
        ana.post(
            "/p/alpha/screen/decide",
            data={"record_id": first, "decision": "exclude"},
            headers=_htmx(page),
        )
        undone = ana.post("/p/alpha/screen/undo", headers=_htmx(page))
        assert f"Undid your decision on record {first}" in undone.text
        assert int(RECORD.search(undone.text).group(1)) == first
        release.set()


def test_notes_labels_and_highlight_terms(project):
    with start_server([project]) as server:
        ana, ben, vic = server.login("ana"), server.login("ben"), server.login("vic")
        page = ana.get("/p/alpha/screen").text
        record = int(RECORD.search(page).group(1))
        headers = _htmx(page)
        answer = ana.post(
            "/p/alpha/screen/note",
            data={"record_id": record, "text": "Check the dose <b>twice</b>"},
            headers=headers,
        )
        assert "Check the dose &lt;b&gt;twice&lt;/b&gt;" in answer.text
        ana.post(
            "/p/alpha/screen/label", data={"record_id": record, "label": "ask ben"}, headers=headers
        )
        answer = ana.post(
            "/p/alpha/screen/highlight", data={"term": "Stem", "kind": "include"}, headers=headers
        )
        assert '<mark class="include">stem</mark>' in answer.text.lower()
        ana.post(
            "/p/alpha/screen/highlight", data={"term": "mouse", "kind": "exclude"}, headers=headers
        )
        ana.post("/p/alpha/screen/unhighlight", data={"term": "mouse"}, headers=headers)
        # Terms are the reviewer's own: kept for ana's next page, not shown to ben.
        again = ana.get("/p/alpha/screen").text
        assert 'value="stem"' in again and 'value="mouse"' not in again
        assert 'value="stem"' not in ben.get("/p/alpha/screen").text
        # The label is on the record for everyone; a viewer may not write.
        vic_page = vic.get("/p/alpha/screen").text
        refused = vic.post(
            "/p/alpha/screen/label",
            data={"record_id": record, "label": "spam"},
            headers=_htmx(vic_page),
        )
        assert refused.status_code == 403
        ana.post(
            "/p/alpha/screen/unlabel",
            data={"record_id": record, "label": "ask ben"},
            headers=headers,
        )
        bad = ana.post(
            "/p/alpha/screen/note", data={"record_id": record, "text": " "}, headers=headers
        )
        assert bad.status_code == 400 and "empty" in bad.text
    with Project.open(project) as opened:
        actions = [e.action for e in iter_log(opened.engine, actor="ana")]
    for action in ("record.note", "record.label", "record.unlabel", "highlight.set"):
        assert action in actions
    assert "highlight.remove" in actions


def test_the_progress_dashboard(project):
    with start_server([project]) as server:
        for name, decision in (("ana", "include"), ("ben", "exclude")):
            client = server.login(name)
            page = client.get("/p/alpha/screen").text
            team = server.app.state.served.projects["alpha"].screening()
            assert team.wait_ready(60)
            page = client.get("/p/alpha/screen").text
            for _ in range(3):
                record = int(RECORD.search(page).group(1))
                page = client.post(
                    "/p/alpha/screen/decide",
                    data={"record_id": record, "decision": decision},
                    headers=_htmx(page),
                ).text
        dashboard = server.login("vic").get("/p/alpha/progress")
        assert dashboard.status_code == 200
        text = dashboard.text
        assert "<polyline" in text and "Decisions per reviewer" in text
        assert re.search(r"<th scope=\"row\">ana</th><td class=\"num\">3</td>", text)
        assert re.search(
            r"<th scope=\"row\">ben</th>(<td class=\"num\">\d+</td>){2}<td class=\"num\">3</td>",
            text,
        )
        assert "keep screening" in text or "you may stop" in text
        conflicts = re.search(r'id="conflicts-waiting">(.*?)</p>', text).group(1)
        team = server.app.state.served.projects["alpha"].screening()
        assert ("/p/alpha/conflicts" in conflicts) == ("No conflicts" not in conflicts)
        assert team.ready
