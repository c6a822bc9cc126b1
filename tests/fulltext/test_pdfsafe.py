"""Hostile PDFs built here (a script, a huge page tree, a decompression bomb, a broken xref)
are refused with a reason naming the file, in bounded time, and nothing in them runs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from metasift.errors import FileRefusedError
from metasift.fulltext import PdfLimits, check_file, pdf_pages
from metasift.fulltext.pdfsafe import inspect_pdf
from tests.fulltext import pdfs
from tests.fulltext.conftest import FIXTURES


def test_a_real_article_reads_page_by_page():
    pages = pdf_pages(FIXTURES / "pone.0000217.pdf")
    assert [n for n, _ in pages] == [1, 2, 3]
    assert "Quantifying Organismal Complexity using a Population Genetic Approach" in pages[0][1]


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (pdfs.with_javascript, "carries JavaScript"),
        (lambda p: pdfs.huge_page_tree(p, 10_000), "says it has 10,000 pages; at most 2,000"),
        (lambda p: pdfs.huge_page_tree(p, 10_000, count=1), "page tree cannot be read"),
        (pdfs.decompression_bomb, "decompression bomb"),
        (pdfs.broken_xref, "cross-reference table is broken"),
    ],
    ids=["javascript", "10k-pages", "10k-pages-count-lies", "bomb", "broken-xref"],
)
def test_hostile_pdfs_are_refused(tmp_path: Path, build, reason: str):
    path = build(tmp_path / "hostile.pdf")
    started = time.monotonic()
    with pytest.raises(FileRefusedError, match=reason) as caught:
        check_file(path)
    assert caught.value.path == str(path) and str(path) in str(caught.value)
    assert time.monotonic() - started < 20


def test_a_launch_action_is_refused(tmp_path: Path):
    path = pdfs.one_page(
        tmp_path / "launch.pdf",
        catalog_extra=b"/OpenAction << /S /Launch /F (/bin/sh) >> ",
    )
    with pytest.raises(FileRefusedError, match="a Launch action"):
        inspect_pdf(path)


def test_the_bomb_is_stopped_by_memory_when_the_stream_limit_is_lifted(tmp_path: Path):
    path = pdfs.decompression_bomb(tmp_path / "bomb.pdf", inflated=200_000_000)
    lifted = PdfLimits(max_stream_bytes=10**10, memory_bytes=150_000_000)
    with pytest.raises(FileRefusedError, match=r"more memory than allowed|resource limit"):
        inspect_pdf(path, lifted)


def test_a_reader_that_takes_too_long_is_stopped(tmp_path: Path):
    path = pdfs.one_page(tmp_path / "ok.pdf")
    with pytest.raises(FileRefusedError, match=r"longer than 0\.01 s and was stopped"):
        inspect_pdf(path, PdfLimits(timeout=0.01))


def test_the_reader_writes_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # The child may not create files: a PDF reader that tried would be killed (RLIMIT_FSIZE);
    # reading a good file leaves the folder as it was.
    path = pdfs.one_page(tmp_path / "ok.pdf")
    monkeypatch.chdir(tmp_path)
    assert inspect_pdf(path).pages == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.pdf"]


def test_encryption_with_an_empty_password_reads_and_a_password_is_refused(tmp_path: Path):
    from pypdf import PdfWriter

    def encrypted(name: str, password: str, algorithm: str = "RC4-128") -> Path:
        writer = PdfWriter(clone_from=FIXTURES / "pone.0000217.pdf")
        writer.encrypt(user_password=password, owner_password="owner", algorithm=algorithm)
        writer.write(tmp_path / name)
        return tmp_path / name

    # Publishers often encrypt with an empty user password (to restrict printing, say),
    # with AES too (read through pypdf's crypto extra, the cryptography package).
    assert inspect_pdf(encrypted("restricted.pdf", "")).pages == 3
    assert inspect_pdf(encrypted("aes.pdf", "", "AES-256")).pages == 3
    with pytest.raises(FileRefusedError, match="protected by a password"):
        inspect_pdf(encrypted("locked.pdf", "secret"))


def test_the_reader_imports_nothing_from_the_working_directory(tmp_path: Path, monkeypatch):
    # A project folder holding a module named like the PDF library is not imported.
    (tmp_path / "pypdf.py").write_text("raise SystemExit('imported from the project')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert inspect_pdf(FIXTURES / "pone.0000217.pdf").pages == 3
