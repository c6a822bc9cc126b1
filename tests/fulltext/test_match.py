"""Matching an uploaded full text to its report: identifiers in its first pages, or title."""

from __future__ import annotations

from pathlib import Path

from metasift.fulltext.match import identifiers, match_text
from metasift.records.model import Record
from metasift.workflow.fulltext import (
    attach_held,
    discard_held,
    held_uploads,
    list_reports,
    upload_report,
)
from tests.fulltext import pdfs
from tests.fulltext.conftest import FIXTURES

RECORDS = {
    1: Record(title="Adipose-derived stem cells in psoriasis: a randomised trial", doi="10.1000/a"),
    2: Record(title="Exosomes from adipose stem cells ease atopic dermatitis in mice", pmid="42"),
    3: Record(title="Umbilical cord stem cells for localized scleroderma", doi="10.1000/c"),
}


def test_identifiers_in_text():
    dois, pmids = identifiers("doi: 10.1371/journal.pone.0000217. PMID: 17299597; PMID 1")
    assert dois == {"10.1371/journal.pone.0000217"} and pmids == {"17299597", "1"}


def test_a_doi_of_one_report_is_certain():
    found = match_text("Trials 2020. https://doi.org/10.1000/C. Methods ...", RECORDS)
    assert (found.record_id, found.how, found.certain) == (3, "DOI", True)
    assert match_text("PMID: 42 Exosomes", RECORDS).how == "PMID"


def test_a_doi_shared_by_two_reports_needs_a_reviewer():
    records = {
        **RECORDS,
        4: Record(title="Adipose-derived stem cells in psoriasis", doi="10.1000/a"),
    }
    found = match_text(
        "doi:10.1000/a Adipose-derived stem cells in psoriasis: a randomised trial", records
    )
    assert (found.record_id, found.certain) == (1, False)


def test_titles():
    exact = match_text(
        "ORIGINAL ARTICLE Umbilical cord stem cells for localized scleroderma ...", RECORDS
    )
    assert (exact.record_id, exact.how, exact.certain) == (3, "title", True)
    near = match_text("Umbilical cord stromal cells for localised scleroderma", RECORDS)
    assert near.record_id == 3 and not near.certain
    assert match_text("A study of something else entirely, at length", RECORDS).record_id is None


def test_upload_attaches_certain_matches_and_holds_the_rest(project, tmp_path: Path):
    root = project.root

    def upload(path):
        return upload_report(project.engine, project.protocol, root, path, "ana")

    by_pmid = upload(FIXTURES / "1472-6831-8-11.nxml")  # its PMID is record 1's
    assert (by_pmid.outcome, by_pmid.match.record_id, by_pmid.match.how) == ("attached", 1, "PMID")
    by_title = upload(FIXTURES / "pone.0000217.pdf")  # record 2 has its title, not its ids
    assert (by_title.outcome, by_title.match.record_id, by_title.match.how) == (
        "attached",
        2,
        "title",
    )
    stray = upload(pdfs.one_page(tmp_path / "stray.pdf"))
    assert (stray.outcome, stray.match.record_id) == ("held", None)
    assert [u.sha256 for u in held_uploads(project.engine, project.protocol, root)] == [
        stray.sha256
    ]
    attach_held(project.engine, project.protocol, root, stray.sha256, 5, "ana")
    assert held_uploads(project.engine, project.protocol, root) == []
    retrieved = {r.record_id for r in list_reports(project.engine, project.protocol) if r.texts}
    assert retrieved == {1, 2, 5}

    again = upload(pdfs.one_page(tmp_path / "again.pdf", catalog_extra=b"/Lang (en) "))
    discard_held(project.engine, root, again.sha256, "ana")
    assert held_uploads(project.engine, project.protocol, root) == []
