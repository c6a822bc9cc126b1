"""The flagship review end to end, offline, and its reproducibility."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from metasift.project import Project
from metasift.run import run_review
from metasift.search.log import search_log
from metasift.workflow.counts import prisma_counts

FLAGSHIP = Path(__file__).resolve().parents[1] / "examples" / "admsc-skin"
# Timestamps are the only thing allowed to differ between two runs of the same review.
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2}( UTC)?)?")


def copy_flagship(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(FLAGSHIP, target, ignore=shutil.ignore_patterns("report", "*.sqlite*"))
    return target


@pytest.fixture(scope="module")
def flagship_run(tmp_path_factory):
    root = copy_flagship(tmp_path_factory.mktemp("run"), "admsc-skin")
    with Project.open(root) as project:
        result = run_review(project, offline=True)
        counts = prisma_counts(project.engine, project.protocol)
    return root, result, counts


def test_flagship_prisma_counts(flagship_run):
    _, result, counts = flagship_run
    counts.check()
    data = counts.as_json()
    assert data["identification"]["databases"] == {"Bundled corpus": 143}
    assert data["removed_before_screening"] == {
        "duplicates": 0,
        "automation_ineligible": 16,
        "other": 0,
    }
    assert (data["screened"], data["excluded_screening"], data["sought"]) == (127, 104, 23)
    assert (data["not_retrieved"], data["assessed"]) == (0, 23)
    assert data["excluded_full_text"] == {"wrong condition": 1, "wrong intervention": 2}
    assert (data["included_studies"], data["included_reports"]) == (20, 20)
    assert data["automation_note"].startswith("stopping rule: hypergeometric")
    stages = [(s.stage, s.status) for s in result.stages]
    assert ("import", "done") in stages and ("report", "done") in stages
    assert stages.count(("search", "skipped")) == 3


def test_report_says_decisions_were_simulated(flagship_run):
    root, result, _ = flagship_run
    html = result.report.read_text(encoding="utf-8")
    assert "were simulated to demonstrate metasift offline" in html
    assert "Records screened (n = 127)" in html
    markdown = (root / "report" / "report.md").read_text(encoding="utf-8")
    # The stopping rule's verdict in words, and what its guarantee rests on.
    assert (
        "| Stopping rule | about 100% of the relevant records found so far (at least 9" in markdown
    )
    assert "| How the stopping rule decides | stop is recommended when the records" in markdown
    assert "the guarantee rests on this ranking, not on a random draw |" in markdown
    assert (root / "report" / "included.ris").read_text(encoding="utf-8").count("ER  -") == 20


def test_flagship_report_shows_extraction_and_plainly_no_risk_of_bias(flagship_run):
    root, result, _ = flagship_run
    markdown = (root / "report" / "report.md").read_text(encoding="utf-8")
    assert ("extraction", "done") in [(s.stage, s.status) for s in result.stages]
    assert "extracted data are copied from extraction_simulated.csv" in markdown
    # the simulated reviewer's values (from the corpus notes), not marked as suggestions
    shin = "| Shin 2020 | animal in vivo | atopic dermatitis | exosomes/EVs | mouse | oxazolone |"
    assert shin in markdown
    assert "| Yao 2021 | non-randomised clinical | psoriasis | ADMSC | human |  |" in markdown
    rob = markdown.split("**Risk of bias of each included study**", 1)[1].split("\n\n", 2)[1]
    rows = [line for line in rob.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 1 + 20
    assert all(line.endswith("| — | none | not assessed |") for line in rows[1:])


def test_a_finished_review_cannot_be_changed_from_the_side(tmp_path):
    """After 'run' closed screening: no decision from a stranger, none on the closed stage from
    any member or door, and reopening is an owner's audited act with a reason."""
    from typer.testing import CliRunner

    from metasift.cli import app
    from metasift.store.audit import iter_log

    root = copy_flagship(tmp_path, "closed")
    with Project.open(root) as project:
        run_review(project, offline=True)

    def ms(*args: str):
        result = CliRunner().invoke(app, [*args, "--project", str(root)], input="i\nq\n")
        return result.exit_code, f"{result.output}{result.exception or ''}"

    owner = "simulated reviewer"
    code, said = ms("decide", "5", "include", "--reviewer", "intruder")
    assert code == 1 and "'intruder' is not a member of this review" in said
    assert "metasift reviewer add intruder --role reviewer" in said
    code, said = ms("decide", "5", "include", "--reviewer", owner)
    assert code == 1 and "title/abstract screening was closed on" in said
    assert "metasift reopen title_abstract --reason" in said
    code, said = ms("screen", "--reviewer", owner)
    assert code == 0 and "Title/abstract screening is closed." in said
    assert "0 decision(s) stored" in said
    code, said = ms("reopen", "title_abstract", "--reason", " ", "--reviewer", owner)
    assert code == 1 and "say why the stage is reopened" in said
    ms("reviewer", "add", "ben", "--reviewer", owner)
    code, said = ms("reopen", "title_abstract", "--reason", "a record was missed", "-r", "ben")
    assert code == 1 and "only owners may manage the review" in said
    with Project.open(root) as project:
        counts = prisma_counts(project.engine, project.protocol)
        assert not counts.pending and counts.automation_ineligible == 16
    assert ms("reopen", "title_abstract", "--reason", "a record was missed", "-r", owner)[0] == 0
    assert ms("decide", "5", "include", "--reviewer", "ben")[0] == 0
    with Project.open(root) as project:
        (reopened,) = iter_log(project.engine, action="stage.reopen")
        assert (reopened.actor, reopened.note) == (owner, "a record was missed")
        # Reopened: the unscreened records are pending again, not 'ineligible by automation'.
        counts = prisma_counts(project.engine, project.protocol)
        assert counts.automation_ineligible == 0
        assert counts.pending["records awaiting title/abstract screening"] == 16


def test_rerun_resumes_and_reproduces_the_report(flagship_run, tmp_path):
    root, first, _ = flagship_run
    before = TIMESTAMP.sub("T", first.report.read_text(encoding="utf-8"))
    with Project.open(root) as project:
        again = run_review(project, offline=True)
    assert ("import", "skipped") in [(s.stage, s.status) for s in again.stages]
    assert ("screening", "skipped") in [(s.stage, s.status) for s in again.stages]
    assert TIMESTAMP.sub("T", again.report.read_text(encoding="utf-8")) == before
    # A second project from the same protocol and data gives the same report.
    other = copy_flagship(tmp_path, "again")
    with Project.open(other) as project:
        fresh = run_review(project, offline=True)
    assert TIMESTAMP.sub("T", fresh.report.read_text(encoding="utf-8")) == before


def test_make_run_command_prints_where_the_report_is(tmp_path):
    root = copy_flagship(tmp_path, "cli")
    result = subprocess.run(
        [sys.executable, "-m", "metasift.cli", "run", "--project", str(root), "--offline"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert f"Report written to {root / 'report' / 'report.html'}" in result.stdout
    prisma = subprocess.run(
        [sys.executable, "-m", "metasift.cli", "prisma", "--project", str(root), "--json"],
        capture_output=True,
        text=True,
    )
    assert json.loads(prisma.stdout)["included_studies"] == 20


def test_second_example_protocol_and_data(tmp_path):
    """examples/msc-knee-oa: valid protocol, and its SYNERGY folder imports in full."""
    from metasift.run import RunResult, identify

    root = tmp_path / "knee"
    shutil.copytree(FLAGSHIP.parent / "msc-knee-oa", root)
    result = RunResult()
    with Project.open(root) as project:
        identify(project, True, lambda *a: None, result.add)
    assert [(s.stage, s.status) for s in result.stages] == [
        ("search", "skipped"),
        ("import", "done"),
    ]
    # Two works have no title but a DOI: kept for screening, counted in the summary line.
    assert result.stages[1].detail.endswith(
        "read 1175, imported 1175 (2 without a title), rejected 0"
    )


def test_run_without_network_says_what_was_not_searched_and_suggests_offline(tmp_path):
    """The live sources' hosts do not resolve: each is tried once, the run goes on with the
    bundled file, and the summary tells searches that did not run from work left to people."""
    root = copy_flagship(tmp_path, "no-network")
    toml = root / "review.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace("enabled = true", "enabled = false"),
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("METASIFT_", "NCBI_"))}
    env.pop("OPENALEX_API_KEY", None)
    env |= {
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / ".config"),
        "METASIFT_PUBMED_URL": "https://eutils.metasift-test.invalid/entrez/eutils/",
        "METASIFT_EUROPEPMC_URL": "https://www.metasift-test.invalid/europepmc/",
        "METASIFT_OPENALEX_URL": "https://api.metasift-test.invalid/",
        "COLUMNS": "400",
    }
    result = subprocess.run(
        [sys.executable, "-m", "metasift.cli", "run", "--project", str(root)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    said = result.stdout + result.stderr
    assert "PubMed: not searched: cannot resolve eutils.metasift-test.invalid (no network?)" in said
    assert "OpenAlex: not searched: cannot resolve api.metasift-test.invalid" in said
    assert (
        "Not searched: PubMed, Europe PMC, OpenAlex; run again when online, or with --offline "
        "to go on with the files already imported." in said
    )
    assert "retrying" not in said  # no request was tried twice
    waiting = [line for line in said.splitlines() if line.startswith("Waiting for reviewers")]
    assert waiting == ["Waiting for reviewers: 143 records await title/abstract screening"]
    with Project.open(root) as project:
        runs = [e for e in search_log(project.engine) if e.kind == "search"]
    assert [(r.source, r.status) for r in runs] == [
        ("PubMed", "failed"),
        ("Europe PMC", "failed"),
        ("OpenAlex", "failed"),
    ]
