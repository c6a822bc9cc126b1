"""A small review from import to PRISMA counts, on SQLite and PostgreSQL."""

from pathlib import Path

import pytest

from metasift.dedup.store import run_dedup
from metasift.errors import MetasiftError
from metasift.protocol import parse_protocol
from metasift.records.formats import ReadOptions
from metasift.records.importing import import_file
from metasift.store import create_db_engine, migrate
from metasift.store.audit import iter_log
from metasift.workflow import decisions as wd
from metasift.workflow.closure import close_screening, stop_state
from metasift.workflow.counts import prisma_counts
from metasift.workflow.fulltext import group_reports, list_reports, mark_not_retrieved, set_location
from metasift.workflow.prisma import PrismaError
from metasift.workflow.reviewers import add_reviewer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "workflow"
PROTOCOL = """
[review]
title = "Test review"
[criteria]
exclusion_reasons = ["wrong study type", "wrong condition", "wrong intervention"]
[screening]
reviewers_per_record = 2
stopping_rule = "consecutive"
consecutive_irrelevant = 3
[[sources]]
name = "TestDB"
[[sources]]
name = "Citation searching"
category = "other"
"""


@pytest.fixture
def review(db_url):
    engine = create_db_engine(db_url)
    migrate(engine)
    protocol = parse_protocol(PROTOCOL)
    import_file(engine, FIXTURES / "records.jsonl", options=ReadOptions(source_database="TestDB"))
    import_file(
        engine,
        FIXTURES / "citations.jsonl",
        options=ReadOptions(source_database="Citation searching"),
    )
    run_dedup(engine)
    add_reviewer(engine, "ana", "owner")
    add_reviewer(engine, "ben", "reviewer", actor="ana")
    add_reviewer(engine, "cy", "reviewer", actor="ana")
    yield engine, protocol
    engine.dispose()


def both(engine, protocol, record_id, a, b, reason_a=None, reason_b=None, stage=wd.TITLE_ABSTRACT):
    wd.decide(
        engine,
        protocol,
        record_id=record_id,
        reviewer="ana",
        decision=a,
        reason=reason_a,
        stage=stage,
    )
    wd.decide(
        engine,
        protocol,
        record_id=record_id,
        reviewer="ben",
        decision=b,
        reason=reason_b,
        stage=stage,
    )


def test_dual_screening_to_prisma(review):
    engine, protocol = review
    # Records 1-8 from TestDB (9 duplicates 1; the 10th, with no title and no usable DOI, was
    # rejected as empty), 10 by citation.
    both(engine, protocol, 1, "include", "include")
    both(engine, protocol, 2, "include", "maybe")  # include and maybe agree at this stage
    both(engine, protocol, 3, "exclude", "include")  # conflict
    both(engine, protocol, 4, "include", "include")
    both(engine, protocol, 5, "exclude", "exclude")
    both(engine, protocol, 7, "include", "include")
    wd.decide(engine, protocol, record_id=6, reviewer="ana", decision="exclude")  # one vote
    wd.decide(engine, protocol, record_id=10, reviewer="ana", decision="include")
    wd.decide(engine, protocol, record_id=10, reviewer="ben", decision="include")

    verdicts = wd.verdicts(engine, protocol)
    assert verdicts[1].status == "final" and verdicts[1].source == "consensus"
    assert verdicts[2].decision == "include"
    assert verdicts[3].status == "conflict"
    assert verdicts[6].status == "pending"
    assert [v.record_id for v in wd.conflicts(engine, protocol)] == [3]

    # Blind: ben sees only his own votes.
    seen = wd.visible_decisions(engine, protocol, "ben")
    assert seen[3].votes == {"ben": "include"} and 6 not in seen

    with pytest.raises(MetasiftError, match="cannot resolve"):
        wd.resolve(engine, protocol, record_id=3, resolver="ana", decision="exclude")
    wd.resolve(
        engine,
        protocol,
        record_id=3,
        resolver="cy",
        decision="exclude",
        reason="wrong intervention",
    )
    assert wd.verdicts(engine, protocol)[3].source == "resolution"

    counts = prisma_counts(engine, protocol)
    assert counts.pending == {
        "records awaiting title/abstract screening": 1,
        "records awaiting a second reviewer's title/abstract decision": 1,
        "reports awaiting full-text assessment": 5,
    }
    with pytest.raises(PrismaError, match="not finished"):
        counts.check()

    # Record 8 is never screened: the stage is closed by the stopping rule.
    wd.decide(engine, protocol, record_id=6, reviewer="ben", decision="exclude")
    state = stop_state(engine, protocol)
    assert (state.n_records, state.n_screened) == (9, 8)
    close_screening(engine, protocol, "ana", force=True)

    reports = {r.record_id: r for r in list_reports(engine, protocol)}
    assert sorted(reports) == [1, 2, 4, 7, 10]
    mark_not_retrieved(engine, protocol, 7, "no access", "ana")
    set_location(engine, protocol, 1, "pdfs/cho2018.pdf", "ana")
    group_reports(engine, protocol, [1, 2], "ana", "Cho 2018 and its follow-up")
    with pytest.raises(MetasiftError, match="needs a reason"):
        wd.decide(
            engine, protocol, record_id=4, reviewer="ana", decision="exclude", stage=wd.FULL_TEXT
        )
    with pytest.raises(MetasiftError, match="not in the protocol"):
        wd.decide(
            engine,
            protocol,
            record_id=4,
            reviewer="ana",
            decision="exclude",
            reason="too old",
            stage=wd.FULL_TEXT,
        )
    both(engine, protocol, 1, "include", "include", stage=wd.FULL_TEXT)
    both(engine, protocol, 2, "include", "include", stage=wd.FULL_TEXT)
    both(
        engine,
        protocol,
        4,
        "exclude",
        "exclude",
        "wrong condition",
        "wrong study type",
        stage=wd.FULL_TEXT,
    )
    assert wd.verdicts(engine, protocol, wd.FULL_TEXT)[4].status == "conflict"
    wd.resolve(
        engine,
        protocol,
        record_id=4,
        resolver="cy",
        decision="exclude",
        reason="wrong condition",
        stage=wd.FULL_TEXT,
    )
    both(engine, protocol, 10, "include", "include", stage=wd.FULL_TEXT)

    counts = prisma_counts(engine, protocol)
    counts.check()
    data = counts.as_json()
    assert data["identification"] == {
        "databases": {"TestDB": 10},
        "registers": {},
        "other_methods": {"Citation searching": 1},
    }
    assert data["removed_before_screening"] == {
        "duplicates": 1,
        "automation_ineligible": 1,
        "other": 1,
    }
    assert (data["screened"], data["excluded_screening"], data["sought"]) == (7, 3, 4)
    assert (data["not_retrieved"], data["assessed"]) == (1, 3)
    assert data["excluded_full_text"] == {"wrong condition": 1}
    assert data["other_methods_flow"]["sought"] == 1
    assert data["other_methods_flow"]["included_reports"] == 1
    assert (data["included_reports"], data["included_studies"]) == (3, 2)
    assert "consecutive" in data["automation_note"]

    agreement = wd.agreement(engine, protocol)
    assert agreement.method == "cohen" and agreement.n_subjects == 8
    actions = [e.action for e in iter_log(engine)]
    assert actions.count("conflict.resolve") == 2
    assert "stage.close" in actions and "report.group" in actions
