"""The extract and rob commands, run as users run them."""

import csv
import json
import subprocess
import sys
from pathlib import Path

from metasift.extraction.store import get_values
from metasift.store import create_db_engine, sqlite_url

RECORDS = [
    {
        "title": "Adipose-derived stem cells in imiquimod-induced psoriasis in mice",
        "abstract": "Thirty BALB/c mice received ADSCs intravenously.",
        "authors": ["Lee, A."],
        "year": 2021,
    },
]


def metasift(*args, cwd: Path, input: str | None = None):
    return subprocess.run(
        [sys.executable, "-m", "metasift.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        input=input,
    )


def test_extract_and_rob_commands(tmp_path):
    project = tmp_path / "p"
    assert metasift("init", str(project), cwd=tmp_path).returncode == 0
    (project / "records.jsonl").write_text(json.dumps(RECORDS[0]) + "\n", encoding="utf-8")
    assert metasift("import", "records.jsonl", cwd=project).returncode == 0

    result = metasift("extract", "template", "--out", "t.csv", cwd=project)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader((project / "t.csv").open(encoding="utf-8")))
    rows[0].update(design="animal study", sample_size="30")
    with (project / "t.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = metasift("extract", "import", "t.csv", "--reviewer", "ann", cwd=project)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "sheet 't.csv', row 2, column 'design': 'animal study'; expected one of: RCT" in (
        result.stderr
    )
    assert "1 invalid cell(s); nothing imported" in result.stderr

    result = metasift("extract", "suggest", cwd=project)
    assert result.returncode == 0, result.stderr
    # Interactive review: accept the first suggestion (the design), then quit.
    result = metasift("extract", "review", "--reviewer", "ann", cwd=project, input="a\nq\n")
    assert result.returncode == 0, result.stderr
    assert "design = animal in vivo" in result.stdout and "accepted" in result.stdout
    engine = create_db_engine(sqlite_url(project / "metasift.sqlite"))
    [value] = get_values(engine)
    engine.dispose()
    assert (value.field, value.value, value.reviewer, value.source) == (
        "design",
        "animal in vivo",
        "ann",
        "suggestion",
    )

    result = metasift(
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
        cwd=project,
    )
    assert result.returncode == 0, result.stderr
    assert "study 1 syrcle 1: Unclear" in result.stdout
    result = metasift("rob", "plot", "--tool", "syrcle", "--out", "rob.svg", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "Lee 2021" in (project / "rob.svg").read_text(encoding="utf-8")
