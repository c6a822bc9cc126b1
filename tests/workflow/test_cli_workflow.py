"""The review-workflow commands as users run them (subprocesses of the real CLI)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "workflow"


def ms(*args: str, project: Path, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "metasift.cli", *args, "--project", str(project)],
        capture_output=True,
        text=True,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "p"
    subprocess.run([sys.executable, "-m", "metasift.cli", "init", str(root)], check=True)
    text = (root / "review.toml").read_text()
    text += "\n[screening]\nreviewers_per_record = 2\n"
    (root / "review.toml").write_text(text)
    ms("import", str(FIXTURES / "records.jsonl"), "--source", "TestDB", project=root)
    return root


def test_dual_screening_commands(project):
    # 'init' made the login name the owner; the owner adds the team.
    ms("reviewer", "add", "ana", "--role", "owner", project=project)
    ms("reviewer", "add", "ben", "-r", "ana", project=project)
    ms("reviewer", "add", "cy", "-r", "ana", project=project)
    refused = ms("reviewer", "add", "dan", "-r", "ben", project=project, check=False)
    assert refused.returncode == 1 and "only owners may manage the review" in refused.stderr
    listing = ms("reviewer", "list", project=project).stdout
    rows = [[c.strip() for c in line.split("│") if c.strip()] for line in listing.splitlines()]
    assert ["ben", "reviewer", "0", "0"] in rows
    for record, a, b in [
        (1, "include", "include"),
        (2, "exclude", "include"),
        (3, "exclude", "exclude"),
    ]:
        ms("decide", str(record), a, "--reviewer", "ana", project=project)
        ms("decide", str(record), b, "--reviewer", "ben", project=project)

    # Blind: ben sees his own decisions only; the owner sees everyone's.
    ben = json.loads(
        ms("decisions", "--reviewer", "ben", "--format", "json", project=project).stdout
    )
    assert {d["record_id"]: d["votes"] for d in ben}[2] == {"ben": "include"}
    lead = json.loads(
        ms("decisions", "--reviewer", "ana", "--format", "json", project=project).stdout
    )
    assert {d["record_id"]: d["status"] for d in lead}[2] == "conflict"

    listing = ms("conflicts", project=project).stdout
    assert "ana: exclude" in listing and "ben: include" in listing and "1 conflict(s)" in listing
    refused = ms("resolve", "2", "include", "--reviewer", "ben", project=project, check=False)
    assert refused.returncode == 1 and "a third reviewer resolves it" in refused.stderr
    ms("resolve", "2", "include", "--reviewer", "cy", "--note", "population fits", project=project)
    assert "No conflicts" in ms("conflicts", project=project).stdout

    agreement = ms("agreement", project=project).stdout
    assert "3 records, 2 reviewers per record: 66.7% agreement, Cohen's kappa" in agreement

    bad = ms(
        "decide",
        "4",
        "exclude",
        "--reason",
        "too old",
        "--reviewer",
        "ana",
        project=project,
        check=False,
    )
    assert bad.returncode == 1 and "not in the protocol's exclusion_reasons" in bad.stderr

    log = [
        json.loads(line)
        for line in ms("log", "--format", "jsonl", project=project).stdout.splitlines()
    ]
    resolution = [e for e in log if e["action"] == "conflict.resolve"]
    assert resolution[0]["actor"] == "cy"
    assert resolution[0]["previous"] == {"votes": {"ana": "exclude", "ben": "include"}}
    assert sum(e["action"] == "decision.create" for e in log) == 6

    # Full text for the two included records.
    listing = ms("fulltext", "list", project=project).stdout
    assert "pending" in listing
    ms("fulltext", "locate", "1", "pdfs/1.pdf", "--reviewer", "ana", project=project)
    ms(
        "fulltext",
        "not-retrieved",
        "2",
        "no institutional access",
        "--reviewer",
        "ana",
        project=project,
    )
    missing = ms("fulltext", "locate", "3", "x.pdf", project=project, check=False)
    assert missing.returncode == 1 and "not sought for full text" in missing.stderr

    unfinished = ms("prisma", "--json", project=project, check=False)
    assert unfinished.returncode == 1 and "the review is not finished" in unfinished.stderr
    draft = ms("prisma", "--json", "--draft", project=project)
    assert json.loads(draft.stdout)["not_retrieved"] == 1
