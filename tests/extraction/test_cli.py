"""The extract and rob commands. One runs as a user runs it (a subprocess, so errors are
checked to be messages, not tracebacks); the rest run in-process through typer's runner."""

import csv
import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from metasift.cli import app
from metasift.extraction.store import get_values
from metasift.store import create_db_engine, sqlite_url

RECORD = {
    "title": "Adipose-derived stem cells in imiquimod-induced psoriasis in mice",
    "abstract": "Thirty BALB/c mice received ADSCs intravenously.",
    "authors": ["Lee, A."],
    "year": 2021,
}


def run(*args: str, input: str | None = None):
    result = CliRunner().invoke(app, list(args), input=input)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_extract_and_rob_commands(tmp_path, monkeypatch):
    monkeypatch.delenv("METASIFT_DATABASE_URL", raising=False)
    project = tmp_path / "p"
    run("init", str(project), "--reviewer", "ann")
    monkeypatch.chdir(project)
    Path("records.jsonl").write_text(json.dumps(RECORD) + "\n", encoding="utf-8")
    run("import", "records.jsonl")
    # Extraction takes the studies included at full text.
    refused = CliRunner().invoke(app, ["extract", "template", "--out", "t.csv"])
    assert "no study is included at full text yet" in str(refused.exception)
    run("decide", "1", "include", "-r", "ann")
    run("fulltext", "locate", "1", "lee2021.pdf", "-r", "ann")
    run("decide", "1", "include", "--stage", "full_text", "-r", "ann")

    assert "Wrote t.csv (1 rows)" in run("extract", "template", "--out", "t.csv")
    rows = list(csv.DictReader(Path("t.csv").open(encoding="utf-8")))
    rows[0].update(design="animal study", sample_size="30")
    with Path("t.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = subprocess.run(
        [sys.executable, "-m", "metasift.cli", "extract", "import", "t.csv", "-r", "ann"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "sheet 't.csv', row 2, column 'design': 'animal study'; expected one of: RCT" in (
        result.stderr
    )
    assert "1 invalid cell(s); nothing imported" in result.stderr

    assert "new suggestions for 1 studies" in run("extract", "suggest")
    # Interactive review: accept the first suggestion (the design), then quit.
    out = run("extract", "review", "--reviewer", "ann", input="a\nq\n")
    assert "design = animal in vivo" in out and "accepted" in out
    engine = create_db_engine(sqlite_url(project / "metasift.sqlite"))
    [value] = get_values(engine)
    engine.dispose()
    assert (value.field, value.value, value.reviewer, value.source) == (
        "design",
        "animal in vivo",
        "ann",
        "suggestion",
    )

    out = run(
        "rob",
        "record",
        "--study",
        "1",
        "--tool",
        "syrcle",
        "--domain",
        "1",
        "--answer",
        "1=Unclear",
        "--support",
        "Randomisation not described.",
        "--reviewer",
        "ann",
    )
    assert "study 1 syrcle 1: Unclear" in out
    stranger = CliRunner().invoke(
        app, ["rob", "record", "--study", "1", "--tool", "syrcle", "--domain", "2", "-r", "eve"]
    )
    assert "'eve' is not a member of this review" in str(stranger.exception)
    run("rob", "plot", "--tool", "syrcle", "--out", "rob.svg")
    assert "Lee 2021" in Path("rob.svg").read_text(encoding="utf-8")
    run("extract", "map", "--out", "map.svg", "--csv", "map.csv")
    assert Path("map.csv").read_text(encoding="utf-8").splitlines() == [
        '"population","intervention","design","studies","study_ids"',
        '"not reported","not reported","animal in vivo",1,"1"',
    ]
