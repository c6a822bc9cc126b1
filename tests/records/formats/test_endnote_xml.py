"""EndNote XML: real libraries (EndNote 17.2 to 21.3), pinned fields, broken input."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metasift.errors import ImportFileError
from metasift.records.formats import Rejection, detect_format, read_file, read_records
from metasift.records.formats.endnote_xml import iter_endnote_xml, parse_endnote_xml
from metasift.records.importing import import_file
from metasift.records.model import Record
from metasift.store import create_db_engine, migrate
from tests.conftest import shared

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "formats" / "endnote_xml"
BLUE_LIGHT = FIXTURES / "RefLib" / "blue-light.xml"
SPIDERCITE = FIXTURES / "RefLib" / "SpiderCite demo.xml"
CADTH = FIXTURES / "RefLib" / "Dump-Converted test.xml"
TAFENOQUINE = FIXTURES / "dedupe-sweep" / "tafenoquine.xml"

COUNTS = {BLUE_LIGHT: 102, SPIDERCITE: 10, CADTH: 25, TAFENOQUINE: 179}


@pytest.mark.parametrize(("path", "count"), COUNTS.items(), ids=lambda v: getattr(v, "name", v))
def test_every_sample_imports_with_its_record_count(path, count):
    assert detect_format(path) == "endnote-xml"
    items = list(read_file(path))
    assert len(items) == count
    assert all(isinstance(item, Record) and item.title for item in items)


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("parts", "count"),
    [
        (("dedup", "respiratory", "Respiratory.xml"), 1988),
        (("dedup", "deduplicator_forbes2024", "copper.xml"), 505),
    ],
)
def test_big_libraries_import_with_their_record_count(parts, count):
    path = shared(*parts)
    assert detect_format(path) == "endnote-xml"
    records = read_records(path)
    assert len(records) == count
    if parts[-1] == "Respiratory.xml":
        # Record order is library order: the dedup labels refer to it.
        first = records[0]
        assert first.title == (
            "Perioperative nutritional support in patients undergoing hepatectomy for "
            "hepatocellular carcinoma"
        )
        assert (first.authors_raw, first.authors) == (["Ziegler, T. R."], ["Ziegler, T. R."])
        assert first.journal == "Jpen: Journal of Parenteral & Enteral Nutrition"
        assert (first.year, first.volume, first.issue, first.pages) == (1996, "20", "1112", "91-92")
        assert first.source_id == "2" and first.raw["caption"] == "Duplicate"
        assert sum(r.raw.get("caption") == "Duplicate" for r in records) == 799
    else:
        first = records[0]
        assert first.title.startswith("Zinc, copper, CD4 T-cell count")
        assert first.authors[0] == "Asemota, E. A." and first.authors[-1] == "Udomah, F."
        assert first.doi == "10.1016/j.imr.2018.01.008" and first.pmid is None
        assert first.issn == ["2213-4239", "2213-4220"]


def test_pubmed_sourced_record():
    record = read_records(BLUE_LIGHT)[0]
    assert record.title == (
        "Formulation of Herbal Gel of Antirrhinum majus Extract and Evaluation of its "
        "Anti-Propionibacterium acne Effects"
    )
    assert record.abstract.startswith("BACKGROUND: Antirrhinum majus contains aurone")
    assert record.abstract.endswith("on acne lesions must be performed.")
    assert len(record.abstract) == 1761
    assert record.authors_raw[0] == "Shahtalebi, M. A." == record.authors[0]
    assert record.authors[-1] == "Jahanian-Najafabadi, A." and len(record.authors) == 5
    assert (record.year, record.volume, record.pages) == (2018, "7", "53")
    assert record.journal == "Adv Biomed Res" and record.journal_abbrev is None
    assert record.doi == "10.4103/abr.abr_99_17"
    assert (record.pmid, record.pmcid) == ("29657938", "PMC5887696")
    assert record.issn == ["2277-9175"]
    assert record.keywords == ["Acne", "Antirrhinum majus", "Propionibacterium acnes", "blue light"]
    assert record.language == "eng" and record.record_type == "Journal Article"
    assert (record.source_id, record.source_database) == ("895", "RefLib test library.enl")
    # Raw keeps values as read: style spans gone, EndNote's carriage returns kept.
    assert record.raw["isbn"] == "2277-9175 (Print)\r2277-9175"
    assert record.raw["notes"].split("\r")[1] == "Shahtalebi, Mohammad Ali"
    assert record.raw["source-app"] == "EndNote 20.2"


def test_swapped_journal_name_and_abbreviation():
    record = read_records(BLUE_LIGHT)[1]
    assert record.raw["periodical/full-title"] == "Am J Clin Dermatol"
    assert record.raw["periodical/abbr-1"] == "American journal of clinical dermatology"
    assert record.journal == "American journal of clinical dermatology"
    assert record.journal_abbrev == "Am J Clin Dermatol"


def test_library_of_database_exports():
    records = read_records(CADTH)
    first, last = records[0], records[-1]
    assert first.title.startswith("AAN's First 21st-Century Position Statement")
    assert first.authors == [] and first.pmid is None
    assert first.doi == "10.1212/wnl.0000000000012606"
    assert first.url.startswith("https://search.ebscohost.com/login.aspx?direct=true&db=cin20")
    assert first.raw["label"] == "Anti-Amyloid"
    assert (first.year, first.volume, first.issue, first.pages) == (2021, "97", "14", "704-704")
    # Ovid MEDLINE: the accession number is the PMID.
    assert last.pmid == "36625928" and last.raw["remote-database-name"] == "MEDLINE"
    assert (
        last.journal == "Science & Engineering Ethics" and last.journal_abbrev == "Sci Eng Ethics"
    )
    assert last.publication_types == ["Review"]
    assert (last.authors_raw[0], last.authors[-1]) == ("Yeo-Teh, N. S. L.", "Tang, B. L.")
    assert sum(not r.authors for r in records) == 2
    assert sum(not r.abstract for r in records) == 6


def test_embase_and_generic_records():
    records = read_records(TAFENOQUINE)
    generic = records[2]
    assert generic.record_type == "Generic"
    assert generic.title == "8-aminoquinolines: Primaquine and tafenoquine"
    assert generic.journal == "Milestones Drug Ther." and generic.journal_abbrev is None
    assert generic.pmid is None
    embase = records[3]
    assert embase.raw["remote-database-name"].startswith("Embase")
    assert sum(r.raw.get("caption") == "Duplicate" for r in records) == 114
    assert sum(bool(r.pmid) for r in records) == 99
    assert records[0].pmid == "31366609" and records[0].pmcid == "PMC6750137"


def test_in_memory_document():
    items = parse_endnote_xml(SPIDERCITE.read_bytes())
    assert [i.source_id for i in items][:3] == [r.source_id for r in read_records(SPIDERCITE)][:3]
    assert items[1].authors == ["Ash, C.", "Harrison, A.", "Drew, S.", "Whittall, R."]


# -- broken input -----------------------------------------------------------------------------
SMALL = SPIDERCITE.read_bytes()
IDS = [r.source_id for r in read_records(SPIDERCITE)]


def _items(data: bytes) -> list[Record | Rejection]:
    return list(iter_endnote_xml(io.BytesIO(data)))


def test_truncated_single_line_file():
    cut = SMALL.index(b"<record>", 20_000) + 500
    *records, broken = _items(SMALL[:cut])
    assert [r.source_id for r in records] == IDS[: len(records)] and len(records) == 4
    assert isinstance(broken, Rejection) and broken.line == 1
    assert "the file ends inside this record" in broken.reason


def test_malformed_record_in_a_single_line_file():
    at = SMALL.index(b"<record>", 20_000) + 500
    items = _items(SMALL[:at] + b"<<" + SMALL[at:])
    assert len(items) == 10
    assert isinstance(items[4], Rejection)
    assert [getattr(i, "source_id", None) for i in items] == [*IDS[:4], None, *IDS[5:]]


RECORD_SPANS = [m.span() for m in re.finditer(rb"<record>.*?</record>", SMALL, re.DOTALL)]
RECORDS = [r.to_dict() for r in _items(SMALL)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 9), st.integers(0, 10**6), st.integers(1, 255))
def test_a_changed_byte_in_one_record_leaves_the_others_intact(index, at, value):
    start, end = RECORD_SPANS[index]
    where = start + at % (end - start)
    items = _items(SMALL[:where] + bytes([value]) + SMALL[where + 1 :])
    before, after = RECORDS[:index], RECORDS[index + 1 :]
    assert [i.to_dict() for i in items[: len(before)]] == before
    assert [i.to_dict() for i in items[len(items) - len(after) :]] == after
    assert 1 <= len(items) - len(before) - len(after) <= 2


def test_damaged_end_tag_costs_only_its_record():
    end = RECORD_SPANS[4][1]
    items = _items(SMALL[: end - 2] + b"x>" + SMALL[end:])
    assert [getattr(i, "source_id", None) for i in items] == [*IDS[:4], None, *IDS[5:]]
    assert "no </record> end tag before the next record" in items[4].reason


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_bom_and_utf16(tmp_path, encoding):
    path = tmp_path / "library.xml"
    path.write_bytes(SPIDERCITE.read_text(encoding="utf-8").encode(encoding))
    assert detect_format(path) == "endnote-xml"
    assert [r.source_id for r in read_records(path)] == IDS


def test_records_without_title_or_anything(tmp_path):
    data = (
        b"<?xml version='1.0' encoding='UTF-8' ?><xml><records>"
        b"<record><rec-number>1</rec-number><titles><title>Kept</title></titles></record>"
        b"<record><rec-number>2</rec-number><electronic-resource-num>10.1000/x"
        b"</electronic-resource-num></record>"
        b"<record><rec-number>3</rec-number><volume>4</volume></record>"
        b"</records></xml>"
    )
    path = tmp_path / "three.xml"
    path.write_bytes(data)
    kept, untitled, empty = read_file(path)
    assert kept.title == "Kept" and untitled.doi == "10.1000/x" and untitled.title is None
    assert isinstance(empty, Rejection) and "rec-number 3" in empty.reason
    engine = create_db_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
    migrate(engine)
    summary = import_file(engine, path)
    # The untitled record with a DOI is kept and counted; only the empty one is rejected.
    assert (summary.read, summary.imported, summary.rejected) == (3, 2, 1)
    assert [r.position for r in summary.rejections] == [3]
    assert summary.untitled == 1 and "imported 2 (1 without a title)" in summary.line()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (bytes(range(256)) * 8, "binary"),
        (b"<html><body>not a library</body></html>", "no <record> records"),
        (b"\x00\x00<<<", "not readable as XML|binary"),
    ],
)
def test_unreadable_files_raise_import_file_error(tmp_path, data, message):
    path = tmp_path / "bad.xml"
    path.write_bytes(data)
    with pytest.raises(ImportFileError, match=message):
        list(read_file(path, "endnote-xml"))


def _mutations() -> st.SearchStrategy[bytes]:
    source = SMALL[: SMALL.index(b"<record>", 12_000)] + b"</records></xml>"

    def flip(at: int, value: int) -> bytes:
        at %= len(source)
        return source[:at] + bytes([value]) + source[at + 1 :]

    def cut(a: int, b: int) -> bytes:
        return source[: a % len(source)] + source[b % len(source) :]

    def duplicate(a: int, n: int) -> bytes:
        a %= len(source)
        return source[: a + n] + source[a:]

    return st.one_of(
        st.builds(flip, st.integers(0, 10**6), st.integers(0, 255)),
        st.builds(cut, st.integers(0, 10**6), st.integers(0, 10**6)),
        st.builds(duplicate, st.integers(0, 10**6), st.integers(1, 2000)),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutations())
def test_mutated_input_raises_nothing_but_import_file_error(data):
    try:
        items = _items(data)
    except ImportFileError:
        return
    assert all(isinstance(item, Record | Rejection) for item in items)
