"""One review, one truth: random sequences of actions through the CLI and the web app (a real
uvicorn server on 127.0.0.1) on the same project; after every step, every count shown anywhere
(the Python API, ``metasift status`` and ``prisma``, the web overview, PRISMA and extraction
pages, the report) is identical, the PRISMA boxes add up, and the review's rules held: a
refused action changed nothing, non-members and viewers never decide, a closed stage takes no
decision from any door.
"""

from __future__ import annotations

import html
import json
import re
from contextlib import ExitStack

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from metasift.cli import app
from metasift.errors import MetasiftError
from metasift.project import Project
from metasift.report.build import build_report
from metasift.store.audit import iter_log
from metasift.workflow.state import review_state
from tests.web.conftest import csrf_of, make_project, start_server

SLUG = "truth"
USERS = ("ana", "ben", "cy", "vic")  # owner, reviewer, reviewer, viewer (tests/web/conftest.py)
PEOPLE = (*USERS, "intruder")
DECISIONS = ("include", "exclude", "maybe")
REASONS = ("wrong study type", "wrong condition")
STAGES = ("title_abstract", "full_text")

# Where each deciding action names who acts.
DECIDER = {"decide": 3, "screen": 1, "resolve": 3, "full_text": 4}

record = st.integers(1, 9)
door = st.sampled_from(("cli", "web"))
decide = st.tuples(
    st.just("decide"), door, record, st.sampled_from(PEOPLE), st.sampled_from(DECISIONS)
)
full_text = st.tuples(
    st.just("full_text"),
    door,
    st.integers(0, 8),
    st.sampled_from(("include", "exclude", "not_retrieved")),
    st.sampled_from(PEOPLE),
)
# Deciding actions are drawn more often than the review's management.
action = st.one_of(
    decide,
    decide,
    full_text,
    full_text,
    st.tuples(st.just("screen"), st.sampled_from(USERS), st.sampled_from(DECISIONS)),
    st.tuples(st.just("resolve"), door, record, st.sampled_from(USERS), st.sampled_from(DECISIONS)),
    st.tuples(st.just("close"), door, st.sampled_from(STAGES), st.sampled_from(("ana", "ben"))),
    st.tuples(st.just("reopen"), st.sampled_from(STAGES), st.sampled_from(("ana", "ben"))),
    st.tuples(st.just("dedup")),
    st.tuples(st.just("import_citations")),
)


def cli(*args: str) -> tuple[bool, str]:
    """Run a command in-process; (succeeded, output or error)."""
    result = CliRunner().invoke(app, list(args))
    if result.exit_code == 0:
        return True, result.output
    # Refusals are the review's errors (or a command's own exit status), never crashes.
    assert isinstance(result.exception, MetasiftError | SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return False, str(result.exception)


def table_of(page: str, table_id: str) -> dict[str, str]:
    body = page.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<th scope="row">(.*?)</th><td class="num">(.*?)</td>', body)
    return {html.unescape(k): html.unescape(v) for k, v in rows}


class Review:
    """The project and a logged-in browser client per member."""

    def __init__(self, root, server) -> None:
        self.root = root
        self.project = ["--project", str(root)]
        self.server = server
        self.clients = {name: server.login(name) for name in USERS}
        self.csrf = {name: csrf_of(c.get(f"/p/{SLUG}/").text) for name, c in self.clients.items()}

    def post(self, who: str, path: str, **data) -> bool:
        if who not in self.clients:  # not a member: cannot even log in
            return False
        response = self.clients[who].post(
            f"/p/{SLUG}{path}", data={"csrf_token": self.csrf[who], **data}
        )
        assert response.status_code in (204, 303, 400, 403), (response.status_code, path)
        return response.status_code in (204, 303)

    def get(self, path: str) -> str:
        response = self.clients["ana"].get(f"/p/{SLUG}{path}")
        assert response.status_code == 200, response.text
        return response.text

    # -- actions: each returns whether the door accepted it --------------------------------
    def decide(self, via, rid, who, decision) -> bool:
        if via == "cli":
            return cli("decide", str(rid), decision, "-r", who, *self.project)[0]
        return self.post(who, "/screen/decide", record_id=rid, decision=decision)

    def screen(self, who, decision) -> bool:
        page = self.clients[who].get(f"/p/{SLUG}/screen").text
        shown = re.search(r'data-record="(\d+)"', page)
        if shown is None:
            return False
        return self.post(who, "/screen/decide", record_id=shown.group(1), decision=decision)

    def resolve(self, via, rid, who, decision) -> bool:
        reason = ["--reason", REASONS[0]] if decision == "exclude" else []
        if via == "cli":
            return cli("resolve", str(rid), decision, "-r", who, *reason, *self.project)[0]
        data = {"record_id": rid, "decision": decision, "stage": "title_abstract"}
        if decision == "exclude":
            data["reason"] = REASONS[0]
        return self.post(who, "/conflicts/resolve", **data)

    def close(self, via, stage, who) -> bool:
        if via == "cli" or stage == "full_text":
            return cli("close", stage, "--force", "-r", who, *self.project)[0]
        return self.post(who, "/screen/close", force="1")

    def reopen(self, stage, who) -> bool:
        if stage == "title_abstract":
            return self.post(who, "/screen/close", reopen="1", reason="a missed record")
        return cli("reopen", stage, "--reason", "a report came in", "-r", who, *self.project)[0]

    def full_text(self, via, index, what, who) -> bool:
        with Project.open(self.root) as proj:
            sought = sorted(r.record_id for r in _reports(proj))
        if not sought:
            return False
        rid = sought[index % len(sought)]
        if what == "not_retrieved":
            if via == "cli":
                args = ("fulltext", "not-retrieved", str(rid), "no access", "-r", who)
                return cli(*args, *self.project)[0]
            return self.post(who, "/fulltext/not-retrieved", record_id=rid, reason="no access")
        reason = REASONS[index % 2] if what == "exclude" else None
        if via == "cli":
            extra = ["--reason", reason] if reason else []
            return cli(
                "decide", str(rid), what, "--stage", "full_text", "-r", who, *extra, *self.project
            )[0]
        data = {"record_id": rid, "decision": what}
        if reason:
            data["reason"] = reason
        return self.post(who, "/fulltext/decide", **data)

    def dedup(self) -> bool:
        return cli("dedup", *self.project)[0]

    def import_citations(self) -> bool:
        from tests.conftest import FIXTURES

        path = FIXTURES / "workflow" / "citations.jsonl"
        return cli("import", str(path), "--source", "Citation searching", *self.project)[0]


def _reports(proj):
    from metasift.workflow.fulltext import list_reports

    return list_reports(proj.engine, proj.protocol)


def decisions_in_store(root) -> int:
    with Project.open(root) as proj:
        return sum(1 for e in iter_log(proj.engine) if e.action.startswith("decision."))


def shown_everywhere(review: Review) -> None:
    """Every door shows the same numbers, and they add up."""
    with Project.open(review.root) as proj:
        state = review_state(proj.engine, proj.protocol)
        report = build_report(proj)
    lines = dict(state.lines())
    state.counts.check(final=False)
    if not state.counts.pending:
        state.counts.check()

    ok, out = cli("status", "--json", *review.project)
    assert ok and json.loads(out)["lines"] == lines
    ok, out = cli("prisma", "--json", "--draft", *review.project)
    assert ok and json.loads(out) == state.counts.as_json()

    assert table_of(review.get("/"), "review-state") == lines
    prisma_page = table_of(review.get("/prisma"), "prisma-counts")
    assert prisma_page == {label: str(n) for label, n in state.counts.rows()}
    studies = sorted(
        int(s) for s in re.findall(rf"/p/{SLUG}/extract/(\d+)", review.get("/extract"))
    )
    assert studies == state.included_studies

    assert report.prisma.as_json() == state.counts.as_json()
    shown = {row[0]: row[1] for row in report.screening.rows}
    assert {k: v for k, v in lines.items() if k != "Records stored"}.items() <= shown.items()


@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(action, min_size=4, max_size=12))
def test_every_door_shows_the_same_review(tmp_path_factory, steps):
    root = make_project(tmp_path_factory.mktemp("truth") / SLUG, "One truth", None, reviewers=2)
    with ExitStack() as stack:
        server = stack.enter_context(start_server([root], lease_seconds=0.5))
        review = Review(root, server)
        # A review under way: records 1-3 sent to full text, 4 in conflict, 5 excluded.
        for rid, ana, ben in (
            (1, "include", "include"),
            (2, "include", "maybe"),
            (3, "maybe", "include"),
            (4, "include", "exclude"),
            (5, "exclude", "exclude"),
        ):
            assert review.decide("cli", rid, "ana", ana) and review.decide("web", rid, "ben", ben)
        shown_everywhere(review)
        for step in steps:
            with Project.open(root) as proj:
                before = review_state(proj.engine, proj.protocol)
            n_decisions = decisions_in_store(root)
            accepted = getattr(review, step[0])(*step[1:])
            with Project.open(root) as proj:
                after = review_state(proj.engine, proj.protocol)
            if not accepted:
                # A refusal changes nothing anywhere.
                assert after.as_json() == before.as_json(), step
                assert decisions_in_store(root) == n_decisions, step
            if DECIDER.get(step[0]) is not None and step[DECIDER[step[0]]] in ("vic", "intruder"):
                assert not accepted, step
            if step[0] in ("decide", "screen") and before.stages["title_abstract"].closed:
                assert not accepted, step
            if step[0] == "full_text" and before.stages["full_text"].closed:
                assert not accepted, step
            shown_everywhere(review)
