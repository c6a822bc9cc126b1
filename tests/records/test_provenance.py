"""PRISMA-S details of an import: the database and platform real exports state, and how the
reviewer's details, the export's statements and the file name combine."""

from pathlib import Path

import pytest
import sqlalchemy as sa

from metasift.errors import ImportFileError
from metasift.records.formats import detect_format, read_file
from metasift.records.importing import import_file
from metasift.records.model import Record
from metasift.records.provenance import (
    FROM_EXPORT,
    FROM_FILE_NAME,
    FROM_USER,
    NOT_STATED,
    ExportTally,
    SearchDetails,
    resolve,
)
from metasift.store import create_db_engine, migrate
from metasift.store.schema import imports

FORMATS = Path(__file__).resolve().parents[1] / "fixtures" / "formats"

# export -> (database stated, platform stated, date searched stated); None: not stated.
EXPECTED = {
    "ris/RefLib/blue-light.ris": ("PubMed", "PubMed", None),  # DP - NLM
    "ris/asreview/pubmed_endnote.txt": ("PubMed", "PubMed", None),
    "ris/asreview/embase.ris": ("Embase", "Embase.com", None),  # DB - Embase, embase.com links
    "ris/asreview/ovid_psycinfo.ris": ("APA PsycInfo", "Ovid", None),  # ovidsp link, D=psyc16
    "ris/asreview/proquest.ris": ("PTSDpubs", "ProQuest", None),
    "ris/asreview/scopus.ris": ("Scopus", "Scopus", "2019-11-18"),  # N1 Export Date
    "ris/ASySD/scopus.ris": ("Scopus", "Scopus", "2025-01-28"),
    "ris/ASySD/wos_test.ris": ("Web of Science Core Collection", "Web of Science", None),
    "ris/asreview/web_of_science.txt": ("Web of Science Core Collection", "Web of Science", None),
    "ris/ASySD/ris_export.txt": ("Scopus + PubMed", "Scopus + PubMed", "2023-11-24"),
    "medline/RefLib/blue-light.nbib": ("PubMed", "PubMed", None),
    "pubmed_xml/asreview/pubmed.xml": ("PubMed", "PubMed", None),
    "wos_plaintext/rispy/example_wos.ris": (
        "Web of Science Core Collection",
        "Web of Science",
        None,
    ),  # FN Clarivate
    "scopus_csv/litstudy/scopus_v2.csv": ("Scopus", "Scopus", None),  # Source column
    "csv/asreview/embase.csv": ("Embase", None, None),  # Emtree columns
    "endnote_xml/RefLib/blue-light.xml": ("PubMed", "PubMed", None),  # provider NLM
    "endnote_xml/RefLib/Dump-Converted test.xml": ("MEDLINE + CINAHL + PHIL", None, None),
    # Zotero's RIS and a screening tool's library say nothing (a few WoS links in 19 records).
    "ris/asreview/pubmed_zotero.ris": (None, None, None),
    "ris/asreview/ovid_zotero.ris": (None, None, None),
    "ris/asreview/ris_issue_992.txt": (None, None, None),
    "bibtex/robvis/references.bib": (None, None, None),
}


def tally_of(path: Path) -> ExportTally:
    fmt = detect_format(path)
    tally = ExportTally(fmt)
    for item in read_file(path, fmt):
        if isinstance(item, Record):
            tally.add(item)
    return tally


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_exports_state_their_database_platform_and_date(name):
    database, platform, searched = EXPECTED[name]
    tally = tally_of(FORMATS / name)
    assert tally.database == database
    if platform is not None or database is None:
        assert tally.platform == platform
    assert tally.export_date == searched


def test_a_library_of_several_databases_is_noted():
    tally = tally_of(FORMATS / "ris/ASySD/ris_export.txt")
    assert tally.mixed_note() == (
        "records from several databases: Scopus 31, PubMed 13, not stated 25"
    )
    assert tally_of(FORMATS / "ris/asreview/scopus.ris").mixed_note() is None


def test_the_reviewer_names_the_source_the_export_fills_the_gaps_the_file_name_is_flagged():
    tally = tally_of(FORMATS / "ris/asreview/embase.ris")
    stated = resolve(SearchDetails(searched="2025-03-01"), tally)
    assert (stated.source, stated.origin, stated.platform) == ("Embase", FROM_EXPORT, "Embase.com")
    assert stated.flags == ["search string not stated"]
    given = resolve(SearchDetails(source="Embase (Ovid)", platform="Ovid"), tally)
    assert (given.source, given.origin, given.platform) == ("Embase (Ovid)", FROM_USER, "Ovid")
    assert given.database == "Embase"  # what the export said is kept
    renamed = resolve(
        SearchDetails(source="MEDLINE"), tally_of(FORMATS / "medline/RefLib/blue-light.nbib")
    )
    assert renamed.notes == ("the export says its records come from PubMed",)
    unknown = resolve(SearchDetails(), tally_of(FORMATS / "ris/asreview/pubmed_zotero.ris"))
    assert (unknown.source, unknown.origin) == (None, FROM_FILE_NAME)
    assert unknown.flags[0] == NOT_STATED


def test_dates_and_source_types_are_checked():
    assert SearchDetails(searched=" 2025-03-01 ").searched == "2025-03-01"
    with pytest.raises(ImportFileError, match="YYYY-MM-DD"):
        SearchDetails(searched="1 March 2025")
    with pytest.raises(ImportFileError, match="unknown source type 'website'"):
        SearchDetails(source_type="website")


def test_an_import_stores_its_details(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
    migrate(engine)
    details = SearchDetails(
        platform="Embase.com",
        searched="2025-03-01",
        query="'adipose'/exp AND 'psoriasis'/exp",
        limits="English",
    )
    summary = import_file(engine, FORMATS / "ris/asreview/embase.ris", details=details)
    import_file(engine, FORMATS / "ris/asreview/pubmed_zotero.ris")
    with engine.connect() as conn:
        first, second = conn.execute(sa.select(imports).order_by(imports.c.id)).all()
    assert summary.provenance is not None
    assert (first.source, first.source_origin, first.database, first.platform) == (
        "Embase",
        FROM_EXPORT,
        "Embase",
        "Embase.com",
    )
    assert (first.searched, first.query, first.limits) == (
        "2025-03-01",
        "'adipose'/exp AND 'psoriasis'/exp",
        "English",
    )
    assert (second.source, second.source_origin) == (None, FROM_FILE_NAME)
