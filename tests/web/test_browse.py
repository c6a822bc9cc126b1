"""The record browser, titles in every list, the audit log's table, login's return to the page
asked for, and pages that say what to do in the web app: against a real server."""

from __future__ import annotations

import csv
import io
import re

import pytest
import rispy

from metasift.project import Project
from metasift.web.nextpage import login_url, safe_next
from metasift.workflow.decisions import decide
from tests.conftest import FIXTURES
from tests.web.conftest import csrf_of, make_project, start_server

# Record titles of tests/fixtures/workflow/records.jsonl, by id.
ADIPOSE_EXOSOMES = "Adipose stem cell exosomes in atopic dermatitis mice"
PSORIASIS = "ADSC conditioned medium for psoriasis-like inflammation"


def _decide(root, votes: dict[str, dict[int, str]]) -> None:
    with Project.open(root) as project:
        for reviewer, mine in votes.items():
            for record_id, decision in mine.items():
                decide(
                    project.engine,
                    project.protocol,
                    record_id=record_id,
                    reviewer=reviewer,
                    decision=decision,
                    reason="wrong condition" if decision == "exclude" else None,
                )


@pytest.fixture
def served(tmp_path):
    root = make_project(tmp_path / "rev", "Browse review", None)
    _decide(
        root,
        {
            "ana": {1: "include", 2: "include", 3: "exclude"},
            "ben": {1: "include", 2: "exclude"},
        },
    )
    with start_server([root]) as server:
        yield server, root


def _ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr id="record-(\d+)"', html)]


def test_browser_searches_filters_and_pages(served):
    server, _ = served
    ana = server.login("ana")  # an owner sees every vote
    everything = ana.get("/p/rev/records")
    assert everything.status_code == 200
    assert _ids(everything.text) == list(range(1, 10))
    assert ADIPOSE_EXOSOMES in everything.text and "Author0" in everything.text
    assert _ids(ana.get("/p/rev/records", params={"q": "psoriasis"}).text) == [2, 3]
    assert _ids(ana.get("/p/rev/records", params={"q": '"stem cell exosomes"'}).text) == [1, 9]
    agreed = ana.get("/p/rev/records", params={"decision": "include"}).text
    assert _ids(agreed) == [1]
    assert _ids(ana.get("/p/rev/records", params={"decision": "conflict"}).text) == [2]
    assert _ids(ana.get("/p/rev/records", params={"decision": "pending"}).text) == [3]
    undecided = ana.get("/p/rev/records", params={"decision": "none"}).text
    assert _ids(undecided) == list(range(4, 10))
    assert _ids(ana.get("/p/rev/records", params={"reviewer": "ben"}).text) == [1, 2]
    both = {"q": "psoriasis", "reviewer": "ana", "decision": "exclude"}
    assert _ids(ana.get("/p/rev/records", params=both).text) == [3]
    assert _ids(ana.get("/p/rev/records", params={"source": "TestDB"}).text) == list(range(1, 10))
    assert _ids(ana.get("/p/rev/records", params={"source": "Elsewhere"}).text) == []
    full_text = ana.get("/p/rev/records", params={"stage": "full_text", "decision": "none"})
    assert _ids(full_text.text) == [1]  # only record 1 is sought for full text
    # Paging keeps the filters in its links.
    first = ana.get("/p/rev/records", params={"q": "abstract", "per_page": 4}).text
    assert _ids(first) == [1, 2, 3, 4] and "page 1 of 3" in first
    nxt = re.search(r'href="\?([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "q=abstract" in nxt and "page=2" in nxt
    second = ana.get(f"/p/rev/records?{nxt}&per_page=4").text
    assert _ids(second) == [5, 6, 7, 8]
    assert _ids(ana.get("/p/rev/records", params={"page": 99, "per_page": 4}).text) == [9]
    bad = ana.get("/p/rev/records", params={"decision": "sideways"})
    assert bad.status_code == 400 and "<nav" in bad.text


def test_a_blind_reviewer_finds_records_by_their_own_votes_only(served):
    server, _ = served
    ben = server.login("ben")
    # ana's votes stay hidden: filtering by her finds nothing, and the conflict on record 2
    # shows as ben's own vote.
    assert _ids(ben.get("/p/rev/records", params={"reviewer": "ana"}).text) == []
    assert _ids(ben.get("/p/rev/records", params={"decision": "conflict"}).text) == []
    mine = ben.get("/p/rev/records", params={"reviewer": "ben"}).text
    assert _ids(mine) == [1, 2] and "you: exclude" in mine
    page = ben.get("/p/rev/records/2").text
    assert "ben: exclude" in page and "ana:" not in page
    exported = ben.get("/p/rev/records/export.csv").text
    assert "ana:" not in exported


def test_exports_of_a_filtered_view(served, tmp_path):
    server, _ = served
    evil = tmp_path / "evil.jsonl"
    evil.write_text(
        '{"title": "=HYPERLINK(\\"http://x\\")", "authors": ["@Evil, E."], '
        '"abstract": "psoriasis", "doi": "10.1/evil"}\n',
        encoding="utf-8",
    )
    ana = server.login("ana")
    token = csrf_of(ana.get("/p/rev/import").text)
    imported = ana.post(
        "/p/rev/import",
        files={"file": ("evil.jsonl", evil.read_bytes())},
        data={"csrf_token": token, "source": "Evil DB"},
    )
    assert imported.status_code == 200
    exported = ana.get("/p/rev/records/export.csv", params={"q": "psoriasis"})
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [int(r["record_id"]) for r in rows] == [2, 3, 10]
    assert rows[0]["title"] == PSORIASIS and rows[0]["verdict"] == "conflict"
    assert rows[2]["title"].startswith("'=HYPERLINK") and rows[2]["authors"] == "'@Evil, E."
    ris = ana.get("/p/rev/records/export.ris", params={"source": "Evil DB"})
    assert ris.status_code == 200
    entries = rispy.loads(ris.text)
    assert [e["title"] for e in entries] == ['=HYPERLINK("http://x")']
    assert ana.get("/p/rev/records/export.xlsx").status_code == 404


def test_lists_show_titles(served):
    server, _ = served
    ana = server.login("ana")
    decisions = ana.get("/p/rev/decisions").text
    assert ADIPOSE_EXOSOMES in decisions and "Author0, A." in decisions and "2018" in decisions
    conflicts = ana.get("/p/rev/conflicts").text
    assert PSORIASIS in conflicts
    assert 'href="/p/rev/records/2"' in conflicts


def test_duplicate_clusters_side_by_side(tmp_path):
    root = make_project(tmp_path / "dup", "Duplicates", None, records=False)
    twin = tmp_path / "twins.jsonl"
    twin.write_text(
        '{"title": "Adipose stem cells in psoriasis", "year": 2020, "doi": "10.1000/twin.2020", '
        '"authors": ["Kim, A."], "journal": "J Test", "source_database": "A"}\n'
        '{"title": "Adipose stem cells in psoriasis.", "year": 2020, "doi": "10.1000/twin.2020", '
        '"authors": ["Kim, A."], "journal": "J Test Dermatol", "source_database": "B"}\n',
        encoding="utf-8",
    )
    with start_server([root]) as server:
        ana = server.login("ana")
        token = csrf_of(ana.get("/p/dup/import").text)
        ana.post(
            "/p/dup/import",
            files={"file": ("twins.jsonl", twin.read_bytes())},
            data={"csrf_token": token},
        )
        assert ana.post("/p/dup/dedup/run", data={"csrf_token": token}).status_code == 303
        page = ana.get("/p/dup/dedup").text
        cluster = page[page.index('id="cluster-1"') :]
        assert "Adipose stem cells in psoriasis" in cluster and "Kim, A." in cluster
        found = re.findall(r'<tr class="(\w+)"><th scope="row">(\w+)</th>', cluster)
        rows = {field: status for status, field in found}
        assert rows["doi"] == "agree" and rows["year"] == "agree"
        assert rows["journal"] in ("differ", "close")
        assert "J Test Dermatol" in cluster


def test_audit_log_is_a_filtered_paged_table(served):
    server, _ = served
    ana = server.login("ana")
    page = ana.get("/p/rev/log").text
    assert "{&#34;" not in _said(page) and '{"' not in _said(page)  # no raw JSON
    assert "decision.create" in page and "<ins>include</ins>" in page
    bens = ana.get("/p/rev/log", params={"actor": "ben"}).text
    rows = re.findall(r"<tr><td><time", bens)
    assert len(rows) == 2 and "<td>ana</td>" not in bens
    one = ana.get("/p/rev/log", params={"record": "2"}).text
    assert len(re.findall(r"<tr><td><time", one)) == 2
    assert 'href="/p/rev/records/2"' in one
    creates = ana.get("/p/rev/log", params={"action": "decision.create", "actor": "ana"}).text
    assert len(re.findall(r"<tr><td><time", creates)) == 3
    later = ana.get("/p/rev/log", params={"since": "2999-01-01"}).text
    assert "No entries." in later
    today = ana.get("/p/rev/log", params={"until": "2999-01-01", "since": "2000-01-01"}).text
    assert len(re.findall(r"<tr><td><time", today)) >= 5
    assert ana.get("/p/rev/log", params={"since": "yesterday"}).status_code == 400
    # A change shows before -> after.
    cy = server.login("cy")  # a third reviewer resolves the conflict
    token = csrf_of(cy.get("/p/rev/conflicts").text)
    cy.post(
        "/p/rev/conflicts/resolve",
        data={
            "csrf_token": token,
            "record_id": "2",
            "decision": "include",
            "stage": "title_abstract",
        },
    )
    resolved = ana.get("/p/rev/log", params={"action": "conflict.resolve"}).text
    assert "ana: include; ben: exclude <small>(before)</small>" in resolved
    assert "<ins>include</ins>" in resolved


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/p",
        "/\\evil.example",
        "\\\\evil.example",
        "/%5cevil.example",
        "javascript:alert(1)",
        "http:/p/rev/",
        " /p/rev/",
        "/p/rev/\nSet-Cookie: x",
        "p/rev/",
        "/login",
        "",
    ],
)
def test_login_refuses_to_return_off_site(target):
    assert safe_next(target) == "/"


def test_login_returns_to_the_page_asked_for(served):
    server, _ = served
    assert safe_next("/p/rev/records?q=psoriasis") == "/p/rev/records?q=psoriasis"
    client = server.client()
    asked = client.get("/p/rev/records?q=psoriasis&decision=include")
    assert asked.status_code == 303
    assert asked.headers["location"] == login_url("/p/rev/records", "q=psoriasis&decision=include")
    form = client.get(asked.headers["location"]).text
    kept = re.search(r'name="next" value="([^"]+)"', form).group(1).replace("&amp;", "&")
    assert kept == "/p/rev/records?q=psoriasis&decision=include"
    logged_in = client.post(
        "/login",
        data={
            "name": "ana",
            "password": "correct horse battery",
            "csrf_token": csrf_of(form),
            "next": kept,
        },
    )
    assert logged_in.status_code == 303 and logged_in.headers["location"] == kept
    for evil in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        other = server.client()
        form = other.get("/login", params={"next": evil}).text
        assert 'name="next"' not in form
        sent = other.post(
            "/login",
            data={
                "name": "ana",
                "password": "correct horse battery",
                "csrf_token": csrf_of(form),
                "next": evil,
            },
        )
        assert sent.headers["location"] == "/"


def test_error_pages_keep_the_navigation(served):
    server, _ = served
    ana = server.login("ana")
    missing = ana.get("/p/rev/records/999")
    assert missing.status_code == 404
    assert 'aria-label="Project"' in missing.text and 'href="/p/rev/screen"' in missing.text
    assert "Log out" in missing.text
    nowhere = ana.get("/p/rev/no-such-page")
    assert nowhere.status_code == 404 and 'href="/p/rev/records"' in nowhere.text
    # Another project's pages name nothing of it, but keep the user's way out.
    other = ana.get("/p/other/records")
    assert other.status_code == 404 and "Log out" in other.text and "/p/other/" not in other.text
    report = ana.get("/p/rev/report")
    assert 'aria-label="Project"' in report.text and "/p/rev/report/document" in report.text


COMMAND = re.compile(r"metasift [a-z]+ |--[a-z][a-z-]+|'metasift")


def _said(html: str) -> str:
    """The text a user reads (markup, styles and scripts taken out)."""
    html = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_pages_say_what_to_do_in_the_web_app(tmp_path):
    root = make_project(tmp_path / "w", "Wording", None)
    empty = make_project(tmp_path / "e", "Empty", None, records=False)
    with start_server([root, empty]) as server:
        ana = server.login("ana")
        token = csrf_of(ana.get("/p/w/screen").text)
        said = {}
        for path in ("/p/w/", "/p/w/screen", "/p/w/prisma", "/p/w/records", "/p/e/screen"):
            said[path] = ana.get(path).text
        refused = {
            "close early": ("/p/w/screen/close", {}),
            "not sought": ("/p/w/fulltext/locate", {"record_id": "1", "location": "x"}),
            "no cluster": ("/p/w/dedup/undo", {"cluster": "77"}),
            "bad pair": ("/p/w/dedup/decide", {"pair": "x", "verdict": "same"}),
            "no record": ("/p/w/extract/999/value", {"field": "x", "value": "y"}),
            "reopen, no reason": ("/p/w/screen/close", {"reopen": "1"}),
        }
        for what, (path, data) in refused.items():
            response = ana.post(path, data={"csrf_token": token, **data})
            assert response.status_code in (400, 404), what
            said[what] = response.text
        assert "tick" in _said(said["close early"]) and "although the rule" in said["close early"]
        assert "Conflicts and Decisions pages" in said["not sought"]
        assert "Import page" in said["/p/e/screen"]
        # A closed stage says where to reopen it.
        ana.post("/p/w/screen/close", data={"csrf_token": token, "force": "1"})
        closed = ana.post(
            "/p/w/screen/decide",
            data={"csrf_token": token, "record_id": "1", "decision": "include"},
        )
        said["closed"] = closed.text
        assert "on the Screening page" in closed.text
        again = ana.post(
            "/p/w/import",
            files={"file": ("again.jsonl", (FIXTURES / "workflow" / "records.jsonl").read_bytes())},
            data={"csrf_token": token},
        )
        assert again.status_code == 400 and "tick 'import again'" in _said(again.text).replace(
            "&#39;", "'"
        )
        said["import"] = again.text
        unknown = ana.post(
            "/p/w/import",
            files={"file": ("notes.txt", b"just some words\nand more words\n")},
            data={"csrf_token": token},
        )
        assert unknown.status_code == 400 and "Format list" in unknown.text
        said["format"] = unknown.text
        unnamed = ana.post(
            "/p/w/import",
            files={
                "file": ("more.jsonl", b'{"title": "Acne and adipose cells", "doi": "10.9/m"}\n')
            },
            data={"csrf_token": token},
        )
        assert unnamed.status_code == 200
        said["overview, source not stated"] = ana.get("/p/w/").text
        assert "Source not stated" in said["overview, source not stated"]
        assert "naming the database" in said["overview, source not stated"]
        for what, html in said.items():
            assert not COMMAND.search(_said(html)), (what, COMMAND.search(_said(html)))


def test_audit_changes_read_as_before_and_after():
    from metasift.web.audit_page import Change, changes

    assert changes({"decision": "include", "reason": None}, {"decision": "exclude"}) == [
        Change("decision", "include", "exclude")
    ]
    assert changes(None, {"role": "owner", "x": ""}) == [Change("role", "", "owner")]
    assert changes({"stage": "full_text"}, None) == [Change("stage", "full_text", "", True)]
    assert changes({"votes": {"a": "include"}}, {"decision": "exclude"}) == [
        Change("votes", "a: include", ""),
        Change("decision", "", "exclude"),
    ]
    assert changes(["1", "2"], None) == [Change("", "1, 2", "", True)]
    assert changes(None, None) == []


def test_browser_search_on_both_databases(tmp_path, db_url):
    root = make_project(tmp_path / "both", "Both databases", db_url)
    with start_server([root]) as server:
        ana = server.login("ana")
        assert _ids(ana.get("/p/both/records", params={"q": "atopic derm"}).text) == [1, 8, 9]
        exported = ana.get("/p/both/records/export.csv", params={"q": '"bone marrow"'}).text
        assert [r["record_id"] for r in csv.DictReader(io.StringIO(exported))] == ["8"]


def _label(root, labels: dict[str, list[int]]) -> None:
    from metasift.workflow.annotations import add_label, add_note

    with Project.open(root) as project:
        for label, ids in labels.items():
            for record_id in ids:
                add_label(project.engine, record_id, label, "ana")
        add_note(project.engine, 2, "ana", "Mice only; ask ben about the model.")


def test_browser_filters_by_label_on_both_databases(tmp_path, db_url):
    root = make_project(tmp_path / "lab", "Labelled review", db_url)
    _label(root, {"animal study": [1, 2, 8], "ask the team": [8, 2, 9]})
    with start_server([root]) as server:
        ana = server.login("ana")
        page = ana.get("/p/lab/records").text
        # The project's labels are offered, and each record's labels are listed with it.
        assert "<option>animal study</option><option>ask the team</option>" in page
        row = re.search(r'<tr id="record-2">.*?</tr>', page, re.S).group(0)
        assert "<td>animal study; ask the team</td>" in row
        one = ana.get("/p/lab/records", params={"label": "animal study"}).text
        assert _ids(one) == [1, 2, 8]
        assert "<option selected>animal study</option>" in one
        both = {"label": ["animal study", "ask the team"]}
        assert _ids(ana.get("/p/lab/records", params=both).text) == [2, 8]
        searched = {"q": "atopic derm", "label": "ask the team"}
        assert _ids(ana.get("/p/lab/records", params=searched).text) == [8, 9]
        assert _ids(ana.get("/p/lab/records", params={"label": "nobody's"}).text) == []
        # Paging and the export links keep every label chosen.
        paged = ana.get("/p/lab/records", params={**both, "per_page": 1}).text
        nxt = re.search(r'href="\?([^"]+)" rel="next"', paged).group(1).replace("&amp;", "&")
        assert "label=animal+study&label=ask+the+team" in nxt
        assert "export.csv?label=animal+study&amp;label=ask+the+team" in paged
        # The exports hold the same records as the page.
        exported = ana.get("/p/lab/records/export.csv", params=both).text
        rows = list(csv.DictReader(io.StringIO(exported)))
        assert [int(r["record_id"]) for r in rows] == [2, 8]
        assert rows[0]["labels"] == "animal study; ask the team"
        ris = rispy.loads(ana.get("/p/lab/records/export.ris", params=both).text)
        assert [e["title"] for e in ris] == [PSORIASIS, rows[1]["title"]]
        # A record's page shows its labels and notes.
        record = ana.get("/p/lab/records/2").text
        assert "animal study; ask the team" in record
        assert "Mice only; ask ben about the model." in record
        assert "No labels." in ana.get("/p/lab/records/3").text
