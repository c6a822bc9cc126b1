"""A project whose records reached full text, and fake full-text services on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from metasift.fulltext import Limits, Services
from metasift.project import Project
from metasift.records.formats import ReadOptions
from metasift.records.importing import import_file
from metasift.search.config import SearchSettings
from metasift.workflow import decisions as wd
from metasift.workflow.reviewers import add_reviewer
from tests.fulltext.server import FullTextServices

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fulltext"
EMAIL = "private.reviewer@example.org"
PROTOCOL = """
[review]
title = "Full-text retrieval test"
[criteria]
exclusion_reasons = ["wrong population"]
[screening]
reviewers_per_record = 1
[[sources]]
name = "TestDB"
"""

# One record per case, in this order (record ids 1..n).
RECORDS = [
    {"title": "OHIP-NL: Dutch Oral Health Impact Profile", "pmid": "18405359"},
    {"title": "Quantifying organismal complexity", "doi": "10.1371/journal.pone.0000217"},
    {"title": "A landing page where a PDF was promised", "doi": "10.5555/landing"},
    {"title": "A download always cut short", "doi": "10.5555/cut"},
    {"title": "A record with no identifier at all"},
    {"title": "A closed-access article", "doi": "10.5555/closed", "pmcid": "PMC9999999"},
    {"title": "A PDF larger than the limit", "doi": "10.5555/large"},
    {"title": "A PDF that carries JavaScript", "doi": "10.5555/script"},
]


@pytest.fixture
def project(tmp_path: Path, isolated_env: Path) -> Iterator[Project]:
    root = tmp_path / "review"
    root.mkdir()
    (root / "review.toml").write_text(PROTOCOL, encoding="utf-8")
    records = tmp_path / "records.jsonl"
    records.write_text("".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")
    with Project.open(root) as proj:
        import_file(proj.engine, records, options=ReadOptions(source_database="TestDB"))
        add_reviewer(proj.engine, "ana", "owner")
        for record_id in range(1, len(RECORDS) + 1):
            wd.decide(
                proj.engine, proj.protocol, record_id=record_id, reviewer="ana", decision="include"
            )
        yield proj


def _html(title: str) -> bytes:
    return (
        f"<!DOCTYPE html>\n<html><head><title>{title}</title></head><body><h1>{title}</h1>"
        "<p>Download the PDF from the article page.</p></body></html>"
    ).encode()


@pytest.fixture
def services() -> Iterator[FullTextServices]:
    """The fake services, loaded with the articles of :data:`RECORDS`."""
    from tests.fulltext import pdfs
    from tests.fulltext.server import Article

    server = FullTextServices()
    pdf = (FIXTURES / "pone.0000217.pdf").read_bytes()
    server.articles = [
        Article(
            pmid="18405359",
            pmcid="PMC2329613",
            doi="10.1186/1472-6831-8-11",
            in_epmc=True,
            licence="cc by",
            title="The Dutch version of the Oral Health Impact Profile (OHIP-NL)",
        ),
        Article(
            pmid="17299597",
            pmcid="PMC1790863",
            doi="10.1371/journal.pone.0000217",
            licence="CC BY",
            oa_pdf="/pmc/articles/PMC1790863/pdf",
        ),
        Article(doi="10.5555/landing", unpaywall=["/promised.pdf"]),
        Article(doi="10.5555/cut", unpaywall=["/cut.pdf"]),
        Article(pmcid="PMC9999999", doi="10.5555/closed", oa_error="idIsNotOpenAccess"),
        Article(doi="10.5555/large", unpaywall=["/large.pdf"]),
        Article(doi="10.5555/script", unpaywall=["/script.pdf"]),
    ]
    nxml = (FIXTURES / "1472-6831-8-11.nxml").read_bytes()
    server.files["/jats/PMC2329613"] = (nxml, "application/xml")
    server.files["/files/pone.0000217.pdf"] = (pdf, "application/pdf")
    server.redirects["/pmc/articles/PMC1790863/pdf"] = "/files/pone.0000217.pdf"
    server.files["/promised.pdf"] = (_html("Article page"), "text/html; charset=utf-8")
    server.files["/cut.pdf"] = (pdf, "application/pdf")
    server.files["/large.pdf"] = (pdf + b"\n%" + b"0" * 300_000, "application/pdf")
    script = pdfs.with_javascript(Path(server.tmp.name) / "script.pdf").read_bytes()
    server.files["/script.pdf"] = (script, "application/pdf")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fast() -> SearchSettings:
    """Short retry waits and a high rate, so that fault tests take milliseconds."""
    return SearchSettings(backoff_base=0.01, timeout=5.0, rate=500.0, attempts=4)


@pytest.fixture
def limits() -> Limits:
    """The default limits, but PDFs of at most 200 kB (the 'large' article is 350 kB)."""
    return Limits(max_pdf_bytes=200_000)


@pytest.fixture
def clients(
    project: Project, services: FullTextServices, fast: SearchSettings
) -> Iterator[Services]:
    environ = {**services.env, "METASIFT_EMAIL": EMAIL, "HOME": str(project.root.parent / "home")}
    made = Services.from_config(project.root, settings=fast, environ=environ)
    try:
        yield made
    finally:
        made.close()
