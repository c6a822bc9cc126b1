"""Attaching a full text by hand: checked by content, stored under its hash, within limits."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from metasift.errors import FileRefusedError, FullTextError, PermissionDeniedError
from metasift.fulltext import Limits
from metasift.workflow.counts import prisma_counts
from metasift.workflow.fulltext import attach_report, list_reports, mark_not_retrieved
from metasift.workflow.reviewers import add_reviewer
from tests.fulltext.conftest import FIXTURES


def _attach(project, record_id, path, actor="ana", limits=None):
    return attach_report(
        project.engine, project.protocol, project.root, record_id, path, actor, limits
    )


def test_an_attached_pdf_is_stored_under_its_hash_and_counts_as_retrieved(project, tmp_path):
    mark_not_retrieved(project.engine, project.protocol, 5, "no access", "ana")
    assert prisma_counts(project.engine, project.protocol).not_retrieved == 1
    # A name that tries to reach outside the project is only ever read, never reused.
    named = tmp_path / "..evil name; rm -rf ~.pdf"
    named.write_bytes((FIXTURES / "pone.0000217.pdf").read_bytes())
    text = _attach(project, 5, named)
    digest = hashlib.sha256(named.read_bytes()).hexdigest()
    assert (text.sha256, text.pages, text.source, text.url) == (digest, 3, "upload", None)
    assert sorted(os.listdir(project.root / "fulltexts")) == [".partial", f"{digest}.pdf"]
    assert not os.listdir(project.root / "fulltexts" / ".partial")
    report = {r.record_id: r for r in list_reports(project.engine, project.protocol)}[5]
    assert (report.retrieval, report.location) == ("retrieved", f"fulltexts/{digest}.pdf")
    assert prisma_counts(project.engine, project.protocol).not_retrieved == 0
    # The same file again is the same full text (one file, one row).
    _attach(project, 5, FIXTURES / "pone.0000217.pdf")
    assert len(list_reports(project.engine, project.protocol)[4].texts) == 1


def test_jats_xml_is_accepted(project):
    text = _attach(project, 1, FIXTURES / "1472-6831-8-11.nxml")
    assert text.media_type == "application/jats+xml" and text.path.endswith(".xml")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"<!DOCTYPE html><html><body>Article page</body></html>", "an HTML page"),
        (b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF", "not a readable PDF"),
        (b'<?xml version="1.0"?><OA><error code="x"/></OA>', "root is <OA>, not a JATS <article>"),
        (b'<?xml version="1.0"?><article><unclosed></article>', "not well-formed XML"),
        (b"PK\x03\x04 a zip", "a ZIP archive"),
        (b"", "empty"),
    ],
)
def test_what_is_not_a_full_text_is_refused_naming_the_file(project, tmp_path, content, reason):
    path = tmp_path / "report.pdf"
    path.write_bytes(content)
    with pytest.raises(FileRefusedError, match=reason) as caught:
        _attach(project, 1, path)
    assert caught.value.path == str(path)
    assert [p.name for p in (project.root / "fulltexts").iterdir()] == [".partial"]
    assert not list((project.root / "fulltexts" / ".partial").iterdir())
    assert list_reports(project.engine, project.protocol)[0].retrieval == "pending"


def test_an_xml_entity_is_not_resolved(project, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    path = tmp_path / "xxe.xml"
    path.write_text(
        f'<?xml version="1.0"?><!DOCTYPE article [<!ENTITY x SYSTEM "file://{secret}">]>'
        "<article><body><p>&x;</p></body></article>"
    )
    text = _attach(project, 1, path)
    stored = (project.root / text.path).read_bytes()
    assert b"TOP SECRET" not in stored
    from metasift.fulltext import jats_sections

    assert "TOP SECRET" not in str(jats_sections(project.root / text.path))


def test_size_limit(project):
    with pytest.raises(FileRefusedError, match="is 49 kB; at most 10 kB is accepted"):
        _attach(project, 1, FIXTURES / "pone.0000217.pdf", limits=Limits(max_pdf_bytes=10_000))


def test_only_a_member_who_may_decide_attaches_to_a_sought_report(project, tmp_path):
    add_reviewer(project.engine, "vic", "viewer", actor="ana")
    with pytest.raises(PermissionDeniedError):
        _attach(project, 1, FIXTURES / "pone.0000217.pdf", actor="vic")
    with pytest.raises(FullTextError, match="record 99 is not sought"):
        _attach(project, 99, FIXTURES / "pone.0000217.pdf")
    with pytest.raises(FileRefusedError, match="no such file"):
        _attach(project, 1, tmp_path / "missing.pdf")


def test_cli_attach_and_list(project):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}

    def ms(*args):
        return subprocess.run(
            [sys.executable, "-m", "metasift.cli", "fulltext", *args, "-p", str(project.root)],
            capture_output=True,
            text=True,
            env=env,
        )

    done = ms("attach", "2", str(FIXTURES / "pone.0000217.pdf"), "-r", "ana")
    assert done.returncode == 0, done.stderr
    assert "stored as fulltexts/" in done.stdout and "3 page(s)" in done.stdout
    refused = ms("attach", "3", str(Path(__file__)), "-r", "ana")
    assert refused.returncode == 1 and "not a full text" in refused.stderr
    assert "Traceback" not in refused.stderr
    listed = ms("list")
    assert "retrieved" in listed.stdout and "upload" in listed.stdout


def test_a_closed_stage_takes_texts_only_for_assessed_reports(project):
    from datetime import UTC, datetime

    from metasift.errors import StageClosedError
    from metasift.store.schema import stage_closures
    from metasift.workflow import decisions as wd

    wd.decide(
        project.engine,
        project.protocol,
        record_id=2,
        reviewer="ana",
        decision="include",
        stage=wd.FULL_TEXT,
    )
    with project.engine.begin() as conn:  # closed as 'metasift close full_text' would
        conn.execute(
            stage_closures.insert().values(
                stage=wd.FULL_TEXT,
                closed_at=datetime.now(UTC),
                closed_by="ana",
                rule="all assessed",
                n_screened=1,
                n_unscreened=0,
            )
        )
    with pytest.raises(StageClosedError):
        _attach(project, 1, FIXTURES / "pone.0000217.pdf")
    # The included report gets its text for extraction: no count changes.
    assert _attach(project, 2, FIXTURES / "pone.0000217.pdf").pages == 3
