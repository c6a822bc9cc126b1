"""Hostile text from records, file names and servers prints as text: no rich markup error, no
terminal escape sequence reaching the terminal (run as users run it, in a subprocess)."""

import json

from metasift.cli import _safe
from tests.test_cli import metasift

TITLE = "[/x] \x1b]0;pwned\x07 =cmd [bold]"


def test_safe_escapes_controls_and_markup():
    assert _safe(TITLE, markup=False) == "[/x] \\x1b]0;pwned\\x07 =cmd [bold]"
    assert _safe(TITLE) == "\\[/x] \\x1b]0;pwned\\x07 =cmd \\[bold]"
    assert _safe("a\tb\r\nc\x9b2J\x7f") == "a\tb\nc\\x9b2J\\x7f"


def test_hostile_title_and_path_print_as_text(tmp_path):
    project = tmp_path / "p"
    assert metasift("init", str(project)).returncode == 0
    folder = tmp_path / "["
    folder.mkdir()
    path = folder / "x] \x1b[2J.jsonl"  # the path holds '[/x]' and an escape sequence
    record = {"title": TITLE, "authors": ["[red]Evil, A"], "year": 2020, "journal": "J"}
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")

    imported = metasift("import", "-p", str(project), str(path))
    assert imported.returncode == 0, imported.stderr
    assert "Traceback" not in imported.stderr
    assert "\x1b" not in imported.stdout + imported.stderr
    assert "[/x] \\x1b[2J.jsonl" in imported.stdout and "imported 1" in imported.stdout

    listed = metasift("records", "-p", str(project))
    assert listed.returncode == 0, listed.stderr
    assert "Traceback" not in listed.stderr
    assert "\x1b" not in listed.stdout and "\x07" not in listed.stdout
    assert "[/x] \\x1b]0;pwned\\x07 =cmd [bold]" in listed.stdout
    assert "[red]Evil, A" in listed.stdout

    missing = metasift("import", "-p", str(project), str(folder / "x] \x1b]0;pwned\x07.ris"))
    assert missing.returncode == 1
    assert "Traceback" not in missing.stderr and "\x1b" not in missing.stderr
    assert "[/x] \\x1b]0;pwned\\x07.ris" in missing.stderr

    gone = metasift("records", "-p", str(folder / "x] \x1b]0;pwned\x07"))
    assert gone.returncode == 1
    assert "Traceback" not in gone.stderr and "\x1b" not in gone.stderr


def test_screening_view_shows_a_hostile_record_as_text(monkeypatch):
    import io
    from types import SimpleNamespace

    from metasift import cli
    from metasift.records.model import Record

    out = io.StringIO()
    monkeypatch.setattr(cli, "console", cli._LazyConsole(file=out, force_terminal=True))
    record = Record(title=TITLE, abstract="\x1b[2J[/x] cleared", authors=["\x9b31mRed, A"])
    shown = SimpleNamespace(record=record, rank=1, record_id=7)
    status = SimpleNamespace(
        n_screened=1,
        n_records=2,
        n_included=0,
        estimated_recall=None,
        recall_lower_bound=None,
        stop=False,
        rule="[/rule]",
    )
    criteria = SimpleNamespace(include_terms=["cmd"], exclude_terms=[])
    cli._screen_view(shown, status, criteria)
    text = out.getvalue()
    # rich's own styling is there (a terminal), the record's escape sequences are not
    assert "\x1b[" in text
    assert "\x1b]" not in text and "\x07" not in text and "\x9b" not in text
    assert "\x1b[2J" not in text
    assert "\\x1b]0;pwned\\x07" in text and "\\x1b[2J[/x] cleared" in text


def test_export_to_a_terminal_is_shown_not_obeyed(tmp_path):
    import os
    import pty
    import subprocess
    import sys

    project = tmp_path / "p"
    assert metasift("init", str(project)).returncode == 0
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"title": TITLE, "year": 2020}) + "\n", encoding="utf-8")
    assert metasift("import", "-p", str(project), str(path)).returncode == 0
    # to a file or a pipe the export is exact
    piped = metasift("records", "-p", str(project), "--format", "csv")
    assert TITLE in piped.stdout
    # to a terminal its control characters are shown as text
    leader, follower = pty.openpty()
    done = subprocess.run(
        [sys.executable, "-m", "metasift.cli", "records", "-p", str(project), "--format", "csv"],
        stdout=follower,
        stderr=subprocess.PIPE,
        env={**os.environ, "TERM": "dumb"},
    )
    os.close(follower)
    shown = b""
    try:
        while chunk := os.read(leader, 65536):
            shown += chunk
    except OSError:  # the terminal's other end is closed: everything was read
        pass
    os.close(leader)
    assert done.returncode == 0, done.stderr
    assert b"\x1b" not in shown and b"\x07" not in shown
    assert b"\\x1b]0;pwned\\x07 =cmd" in shown
