"""Reports an earlier round left to classify, in a living review's next round: the previous
version keeps the reports it had settled, the round takes over the others ("Reports awaiting
classification in previous version of review", joining "Reports sought for retrieval"), each
report is counted once, the boxes add up, and every door shows the same numbers."""

from __future__ import annotations

import html
import json
import re
from contextlib import ExitStack
from pathlib import Path

from typer.testing import CliRunner

from metasift.cli import app
from metasift.dedup import run_dedup
from metasift.project import Project
from metasift.records.formats import ReadOptions
from metasift.records.importing import import_file
from metasift.report.build import build_report
from metasift.report.prisma_diagram import prisma_svg
from metasift.store.rounds import settled_at_start
from metasift.workflow import decisions as wd
from metasift.workflow.closure import close_full_text, close_screening
from metasift.workflow.counts import ImportCount, Snapshot, prisma_counts, tally
from metasift.workflow.decisions import Verdict
from metasift.workflow.fulltext import Report, mark_not_retrieved, set_location
from metasift.workflow.prisma import AWAITING_FULL_TEXT, CARRIED_LABEL, FT_CONFLICTS
from metasift.workflow.state import review_state
from metasift.workflow.update import run_update
from tests.conftest import FIXTURES
from tests.web.conftest import make_project, start_server
from tests.web.test_one_truth import table_of

NEW_RECORDS = [
    {"title": f"Adipose stem cells in psoriasis, cohort {i}", "year": 2024, "doi": f"10.2/n{i}"}
    for i in range(1, 6)
]
# The update's search finds record 1 again: a duplicate of an earlier record.
RECORDS = FIXTURES / "workflow" / "records.jsonl"
DUPLICATE = json.loads(RECORDS.read_text(encoding="utf-8").splitlines()[0])


def final(rid: int, decision: str, reason: str | None = None) -> Verdict:
    return Verdict(rid, "final", decision, reason, "reviewer", {"ana": decision}, {})


def report(rid: int, verdict: Verdict | None, retrieval: str = "retrieved") -> Report:
    return Report(rid, rid, retrieval, None, None, verdict)


def two_rounds(settled: frozenset[int] | None) -> Snapshot:
    """Round 1: records 1-8 from a database, 20 by citation searching; round 2: records 9-13,
    13 a duplicate of 1. Reports 1 (included) and 2 (excluded) were settled when round 2
    started; 3, 4, 6 and 20 awaited assessment, 5 was not retrieved. During round 2, 3 and 20
    were included and 4 excluded; 5 is still not retrieved and 6 still awaits assessment. Of
    round 2's records 9 and 10 went to full text: 9 included, 10 awaiting assessment."""
    ta = {r: final(r, "include") for r in (1, 2, 3, 4, 5, 6, 20, 9, 10)}
    ta |= {r: final(r, "exclude") for r in (7, 8, 11, 12)}
    return Snapshot(
        imports=[
            ImportCount(1, "OpenAlex", "database", 8, 0, 0, round=1),
            ImportCount(2, "Citation searching", "other", 1, 0, 0, round=1),
            ImportCount(3, "OpenAlex", "database", 5, 0, 0, round=2),
        ],
        import_of={**{r: 1 for r in range(1, 9)}, 20: 2, **{r: 3 for r in range(9, 14)}},
        cluster_of={1: 1, 13: 1},
        screenable=[*range(1, 13), 20],
        title_abstract=ta,
        title_abstract_closed=False,
        reports=[
            report(1, final(1, "include")),
            report(2, final(2, "exclude", "wrong population")),
            report(3, final(3, "include")),
            report(4, final(4, "exclude", "wrong population")),
            report(5, None, "not_retrieved"),
            report(6, None),
            report(20, final(20, "include")),
            report(9, final(9, "include")),
            report(10, None),
        ],
        current_round=2,
        settled_at_start=settled,
    )


def test_reports_pending_when_the_round_started_are_counted_once_in_the_round():
    counts = tally(two_rounds(frozenset({1, 2})))
    counts.check(final=False)
    assert counts.updated
    assert (counts.previous_studies, counts.previous_reports) == (1, 1)
    assert counts.databases == {"OpenAlex": 5} and counts.duplicates == 1
    assert (counts.screened, counts.excluded_screening) == (4, 2)
    # 3, 4, 5 and 6 were left to classify: sought again, with round 2's own two.
    assert (counts.carried_over, counts.sought) == (4, 6)
    assert (counts.not_retrieved, counts.assessed) == (1, 3)
    assert counts.excluded_full_text == {"wrong population": 1}
    assert counts.pending == {AWAITING_FULL_TEXT: 2}
    flow = counts.other_flow
    assert (flow.carried_over, flow.sought, flow.assessed, flow.included_reports) == (1, 1, 1, 1)
    # New: 3 and 9 from databases, 20 by citation searching; 1 is the previous version's.
    assert (counts.included_studies, counts.included_reports) == (3, 3)
    assert (counts.total_studies, counts.total_reports) == (4, 4)
    rows = counts.rows()
    labels = [label for label, _ in rows]
    at = labels.index(CARRIED_LABEL)
    assert rows[at - 1 : at + 2] == [
        ("Records excluded", 2),
        (CARRIED_LABEL, 4),
        ("Reports sought for retrieval", 6),
    ]
    assert dict(rows)[f"{CARRIED_LABEL} (other methods)"] == 1
    assert counts.as_json()["previous_version"] == {
        "studies": 1,
        "reports": 1,
        "reports_carried_over": 4,
    }


def test_a_report_assessed_again_after_the_round_started_is_the_rounds_again():
    snap = two_rounds(frozenset({1, 2}))
    # Report 2, excluded in the previous version, is in conflict after a second look.
    conflict = Verdict(2, "conflict", None, None, None, {"ana": "include", "ben": "exclude"}, {})
    snap.reports[1] = report(2, conflict)
    counts = tally(snap)
    counts.check(final=False)
    assert (counts.carried_over, counts.sought) == (5, 7)
    assert counts.pending == {AWAITING_FULL_TEXT: 2, FT_CONFLICTS: 1}
    assert (counts.previous_studies, counts.total_studies) == (1, 4)


def test_a_round_that_did_not_keep_its_settled_reports_takes_those_settled_now():
    counts = tally(two_rounds(None))
    counts.check(final=False)
    # 3, 4 and 20 were settled during round 2, but nothing says so: the previous version's.
    assert (counts.previous_studies, counts.previous_reports) == (3, 3)
    assert (counts.carried_over, counts.other_flow.carried_over, counts.sought) == (2, 0, 4)
    assert (counts.assessed, counts.not_retrieved, counts.included_studies) == (1, 1, 1)
    assert counts.total_studies == 4


def screen(project: Project, decisions: dict[int, str]) -> None:
    for rid, decision in decisions.items():
        wd.decide(
            project.engine, project.protocol, record_id=rid, reviewer="ana", decision=decision
        )


def assess(project: Project, rid: int, decision: str, reason: str | None = None) -> None:
    engine, protocol = project.engine, project.protocol
    set_location(engine, protocol, rid, f"pdfs/{rid}.pdf", "ana")
    wd.decide(
        engine,
        protocol,
        record_id=rid,
        reviewer="ana",
        decision=decision,
        stage=wd.FULL_TEXT,
        reason=reason,
    )


def shown_at_every_door(root: Path, server) -> dict[str, int]:
    """The counts every door shows, checked equal; returns the PRISMA rows."""
    with Project.open(root) as project:
        state = review_state(project.engine, project.protocol)
        built = build_report(project)
    rows = {label: n for label, n in state.counts.rows()}
    lines = dict(state.lines())
    runner = CliRunner()
    status = runner.invoke(app, ["status", "--json", "--project", str(root)])
    assert status.exit_code == 0, status.output
    assert json.loads(status.stdout)["lines"] == lines
    prisma = runner.invoke(app, ["prisma", "--json", "--draft", "--project", str(root)])
    assert prisma.exit_code == 0, prisma.output
    assert json.loads(prisma.stdout) == state.counts.as_json()
    assert built.prisma.as_json() == state.counts.as_json()
    table = {row[0]: row[1] for row in built.screening.rows}
    assert {k: v for k, v in lines.items() if k != "Records stored"}.items() <= table.items()
    client = server.login("ana")
    page = client.get("/p/rounds/prisma")
    assert page.status_code == 200, page.text
    assert table_of(page.text, "prisma-counts") == {k: str(n) for k, n in rows.items()}
    overview = client.get("/p/rounds/")
    assert table_of(overview.text, "review-state") == lines
    # The diagram's boxes, in the report and on the web page alike.
    svg = prisma_svg(state.counts, draft=bool(state.counts.pending))
    assert built.prisma_svg == svg
    for shown in (diagram_text(svg), diagram_text(page.text)):
        for box in (
            CARRIED_LABEL,
            "Reports sought for retrieval",
            "Reports not retrieved",
            "Reports assessed for eligibility",
            "New studies included in review",
            "Total studies included in review",
        ):
            assert f"{box} (n = {rows[box]})" in shown, box
    return rows


def diagram_text(svg: str) -> str:
    """The diagram's text, its boxes' wrapped lines joined."""
    lines = re.findall(r"<text[^>]*>(.*?)</text>", svg, re.S)
    return " ".join(" ".join(html.unescape(line).split()) for line in lines)


def test_two_rounds_with_reports_left_to_classify(tmp_path, isolated_env):
    root = make_project(tmp_path / "rounds", "Rounds", None, reviewers=1)
    with ExitStack() as stack:
        project = stack.enter_context(Project.open(root))
        engine, protocol = project.engine, project.protocol
        # Round 1: the fixture's eight records after de-duplication (9 repeats 1, 10 has no
        # title); six to full text.
        run_dedup(engine)
        screen(project, {r: "include" if r <= 6 else "exclude" for r in range(1, 9)})
        close_screening(engine, protocol, "ana")
        assess(project, 1, "include")
        assess(project, 2, "exclude", "wrong study type")
        set_location(engine, protocol, 3, "pdfs/3.pdf", "ana")  # retrieved, not assessed yet
        mark_not_retrieved(engine, protocol, 5, "no access", "ana")
        # 4 and 6: sought, nothing yet.

        # Round 2: an update from exports, five new records and one seen in round 1.
        started = run_update(project, "ana", offline=True)
        assert started.round == 2
        with engine.connect() as conn:
            assert settled_at_start(conn) == frozenset({1, 2})
        export = tmp_path / "update.jsonl"
        lines = [json.dumps(r) for r in [*NEW_RECORDS, DUPLICATE]]
        export.write_text("\n".join(lines) + "\n", encoding="utf-8")
        import_file(engine, export, options=ReadOptions(source_database="TestDB"))
        update = run_update(project, "ana", offline=True)
        assert (update.round_records, update.duplicates, update.new_ids) == (
            6,
            1,
            [10, 11, 12, 13, 14],
        )
        screen(project, {10: "include", 11: "include", 12: "exclude", 13: "exclude"})
        screen(project, {14: "exclude"})
        # During round 2: 3 included and 4 excluded; 5 stays not retrieved, 6 unassessed.
        wd.decide(
            engine, protocol, record_id=3, reviewer="ana", decision="include", stage=wd.FULL_TEXT
        )
        assess(project, 4, "exclude", "wrong condition")
        assess(project, 10, "include")  # 11 unassessed

        counts = prisma_counts(engine, protocol)
        counts.check(final=False)
        assert (counts.previous_studies, counts.previous_reports) == (1, 1)
        assert counts.databases == {"TestDB": 6} and counts.duplicates == 1
        assert (counts.screened, counts.excluded_screening) == (5, 3)
        assert (counts.carried_over, counts.sought, counts.not_retrieved) == (4, 6, 1)
        assert counts.assessed == 3 and counts.excluded_full_text == {"wrong condition": 1}
        assert counts.pending == {AWAITING_FULL_TEXT: 2}
        assert (counts.included_studies, counts.total_studies) == (2, 3)

        server = stack.enter_context(start_server([root]))
        rows = shown_at_every_door(root, server)
        assert rows[CARRIED_LABEL] == 4
        assert rows["Reports assessed for eligibility"] == 3

        # The round's work finished: 6 included, 11 excluded, full text closed.
        assess(project, 6, "include")
        assess(project, 11, "exclude", "wrong study type")
        close_full_text(engine, protocol, "ana")
        counts = prisma_counts(engine, protocol)
        counts.check()
        assert (counts.carried_over, counts.sought, counts.not_retrieved) == (4, 6, 1)
        assert counts.assessed == 5
        assert counts.excluded_full_text == {"wrong study type": 1, "wrong condition": 1}
        assert (counts.included_studies, counts.included_reports) == (3, 3)
        assert (counts.previous_studies, counts.total_studies, counts.total_reports) == (1, 4, 4)
        rows = shown_at_every_door(root, server)
        assert rows["Total studies included in review"] == 4
