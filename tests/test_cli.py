"""The command line, run as users run it (a subprocess of the installed console script)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "examples" / "admsc-skin" / "records.jsonl"


def metasift(*args: str, cwd: Path | None = None, input: str | None = None):
    return subprocess.run(
        [sys.executable, "-m", "metasift.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        input=input,
    )


def test_init_import_records(tmp_path):
    project = tmp_path / "p"
    assert metasift("init", str(project)).returncode == 0
    assert (project / "review.toml").exists()
    result = metasift("import", "--project", str(project), str(CORPUS), "--source", "Corpus")
    assert result.returncode == 0, result.stderr
    assert "read 143, imported 143, rejected 0" in result.stdout
    out = metasift("records", "--project", str(project), "--format", "jsonl")
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(lines) == 143
    assert lines[1]["pmid"] == "29996938"
    assert lines[1]["source_database"] == "Corpus"
    assert {"title", "abstract", "authors", "year", "journal", "doi", "pmid"} <= set(lines[0])


def test_errors_are_messages_not_tracebacks(tmp_path):
    result = metasift("records", "--project", str(tmp_path / "missing"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "metasift init" in result.stderr
    metasift("init", str(tmp_path / "p"))
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 10)
    result = metasift("import", "-p", str(tmp_path / "p"), str(junk))
    assert result.returncode == 1
    assert "binary file" in result.stderr and "Traceback" not in result.stderr


def test_init_refuses_to_overwrite(tmp_path):
    metasift("init", str(tmp_path))
    result = metasift("init", str(tmp_path))
    assert result.returncode == 1 and "already exists" in result.stderr
