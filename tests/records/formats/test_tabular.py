"""CSV/TSV: Scopus, Embase, PubMed, Web of Science and generic tables; writer; bad input."""

from __future__ import annotations

import codecs
import functools
import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metasift.errors import ImportFileError
from metasift.records.formats import (
    ReadOptions,
    Rejection,
    detect_format,
    read_file,
    read_records,
    write_records,
)
from metasift.records.formats.bibtex import CARRIED_FIELDS
from metasift.records.formats.tabular import split_authors
from metasift.records.model import RECORD_FIELDS, Record
from tests.conftest import FIXTURES, shared

FORMATS = FIXTURES / "formats"
SCOPUS = FORMATS / "scopus_csv" / "litstudy" / "scopus_v2.csv"
EMBASE = FORMATS / "csv" / "asreview" / "embase.csv"
PUBMED = FORMATS / "pubmed_csv" / "colrev" / "pubmed.csv"
WOS = FORMATS / "wos_tab" / "constructed" / "savedrecs.txt"
# Record counts: SOURCES.md (Scopus, Embase), tests/fixtures/README.md (PubMed, WoS).
COUNTS = {SCOPUS: 88, EMBASE: 6, PUBMED: 10, WOS: 2}


@functools.cache
def parsed(path: Path) -> tuple[Record | Rejection, ...]:
    """Each fixture parsed once per session (read-only use)."""
    return tuple(read_file(path))


def records_of(path: Path) -> list[Record]:
    return [i for i in parsed(path) if isinstance(i, Record)]


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("path", list(COUNTS), ids=lambda p: p.parent.parent.name)
def test_every_row_is_read_and_the_format_detected(path):
    assert detect_format(path) == "csv"
    items = parsed(path)
    assert len(items) == COUNTS[path]
    assert all(isinstance(i, Record) for i in items)


def test_scopus_csv():
    records = records_of(SCOPUS)
    first = records[0]
    assert first.title == (
        "Gender-specific visual perturbation effects on muscle activation during incline "
        "treadmill walking: a virtual reality study"
    )
    # 'Author full names' without the Scopus author ids, 'Authors' for nothing else.
    assert first.authors_raw == ["Hao, Jie", "High, Robin", "Siu, Ka-Chun"]
    assert first.authors == ["Hao, J.", "High, R.", "Siu, K.-C."]
    assert (first.year, first.journal, first.journal_abbrev) == (2023, "Ergonomics", "Ergonomics")
    assert (first.volume, first.issue, first.pages) == ("66", "5", "704-715")
    assert first.doi == "10.1080/00140139.2022.2113152"
    assert first.pmid == "35965444"
    assert first.issn == ["0014-0139"]
    # Author keywords, then the index keywords not already there (case-insensitive).
    assert len(first.keywords) == 29
    assert first.keywords[:7] == [
        "electromyography",
        "Gait",
        "simulation",
        "space medicine",
        "visual flow",
        "Female",
        "Humans",
    ]
    assert "Muscle, Skeletal" in first.keywords
    assert (first.language, first.publication_types) == ("English", ["Article"])
    assert first.source_id == "2-s2.0-85136453267"
    assert first.source_database == "Scopus"
    assert first.url.startswith("https://www.scopus.com/inward/record.uri?eid=2-s2.0-85136453267")
    assert first.raw["Author(s) ID"] == "57221302630; 6701683718; 57192938181"
    assert first.raw["CODEN"] == "ERGOA"

    review = records[2]
    assert review.pages == "105767"  # 'Art. No.' when there are no page numbers
    assert review.journal_abbrev == "Nurse Educ. Today"
    assert review.publication_types == ["Review"]
    assert review.title.startswith("Examining the impact of virtual reality on clinical decision")

    assert [i for i, r in enumerate(records) if r.abstract is None] == [19, 69]
    assert records[19].raw["Abstract"] == "[No abstract available]"
    assert sum(1 for r in records if r.doi) == 88
    assert sum(1 for r in records if r.pmid) == 88


def test_embase_csv_unpacks_the_source_column():
    records = records_of(EMBASE)
    first = records[0]
    assert first.raw["Source"] == (
        "Endoscopic Ultrasound (2014) 3:3 (152-160). Date of Publication: 2014"
    )
    assert (first.journal, first.year, first.volume, first.issue, first.pages) == (
        "Endoscopic Ultrasound",
        2014,
        "3",
        "3",
        "152-160",
    )
    assert first.authors_raw == ["Liu R.", "Adler D.G."]
    assert first.authors == ["Liu, R.", "Adler, D. G."]
    # DOI and ISSN only exist inside the 'Open URL Link'.
    assert first.doi == "10.4103/2303-9027.138783"
    assert first.issn == ["2226-7190"]
    assert len(first.keywords) == 22
    assert "bronchogenic duplication cyst (diagnosis, surgery)" in first.keywords
    assert first.source_database == "Embase"

    case = records[2]  # 'International Journal of Surgery Case Reports (2019) 54 (83-86)'
    assert (case.volume, case.issue, case.pages) == ("54", None, "83-86")
    assert case.journal_abbrev == "Int. J. Surg. Case Rep."
    assert [len(r.keywords) for r in records] == [22, 27, 44, 39, 19, 38]


def test_pubmed_csv_unpacks_the_citation_column():
    records = records_of(PUBMED)
    ahead = records[0]  # 'Eur J Sport Sci. 2022 Jan 31:1-13. ... Online ahead of print.'
    assert (ahead.pmid, ahead.source_id, ahead.year) == ("34957939", "34957939", 2022)
    assert (ahead.volume, ahead.issue, ahead.pages) == (None, None, "1-13")
    assert ahead.authors_raw == [
        "Hajj-Boutros G",
        "Landry-Duval MA",
        "Comtois AS",
        "Gouspillou G",
        "Karelis AD",
    ]
    assert ahead.authors[:2] == ["Hajj-Boutros, G.", "Landry-Duval, M. A."]
    second = records[1]
    assert (second.volume, second.issue, second.pages) == ("25", "3", "181-188")
    assert second.pmcid == "PMC8971973"
    assert second.journal == second.journal_abbrev == "Cyberpsychol Behav Soc Netw"
    lancet = records[9]
    assert (lancet.volume, lancet.issue, lancet.pages) == ("399", "10324", "555-604")
    assert lancet.doi == "10.1016/s0140-6736(21)02252-2"
    assert len(lancet.authors) == 17
    assert lancet.authors[3] == "Bohnert, A. S. B."
    assert lancet.authors_raw[7] == "Cuéllar MF"
    assert records[5].title.startswith("Comparison of the Fitbit® charge")
    assert {r.source_database for r in records} == {"PubMed"}


def test_web_of_science_tab_delimited():
    first, second = records_of(WOS)
    assert first.title == (
        "Interactions stabilizing the structure of the core light-harvesting complex (LHl) of "
        "photosynthetic bacteria and its subunit (B820)"
    )
    assert first.authors_raw == ["Parkes-Loach, PS", "Majeed, AP", "Law, CJ", "Loach, PA"]
    assert first.authors == ["Parkes-Loach, P. S.", "Majeed, A. P.", "Law, C. J.", "Loach, P. A."]
    assert (first.year, first.volume, first.issue, first.pages) == (2004, "43", "22", "7003-7016")
    assert (first.journal, first.journal_abbrev) == ("BIOCHEMISTRY", "Biochemistry")
    assert (first.doi, first.pmid) == ("10.1021/bi049798f", "15170338")
    assert first.issn == ["0006-2960"]
    assert len(first.keywords) == 10 and first.keywords[0] == "CHEMICALLY SYNTHESIZED POLYPEPTIDES"
    assert (first.record_type, first.publication_types) == ("J", ["Article"])
    assert first.source_id == "WOS:000221807500019"
    assert first.source_database == "Web of Science"
    assert first.raw["TC"] == "23" and first.raw["GA"] == "826CV"
    assert second.authors[-1] == "Champion, P. M."
    assert second.raw["FU"] == "NIGMS NIH HHS [GM-52002]; NIDDK NIH HHS [DK035090]"


# --- generic tables: real files, automatic mapping --------------------------------------------


@pytest.mark.shared_data
def test_diabetes_cp1252_with_crlf_inside_cells_and_na():
    path = shared("dedup", "diabetes", "labelled_test_set.csv")
    assert detect_format(path) == "csv"
    items = list(read_file(path))
    assert len(items) == 1845
    assert all(isinstance(i, Record) for i in items)
    first, copy = items[0], items[1]
    assert first.authors_raw == ["Adeli K.", "Lewis G. F."]  # written 'Adeli K.Lewis G. F.'
    assert first.authors == ["Adeli, K.", "Lewis, G. F."]
    assert (first.year, first.journal) == (2008, "Curr Opin Lipidol")
    assert (first.volume, first.issue, first.pages) == ("19", "3", "221-8")
    assert first.doi == "10.1097/mol.0b013e3282ffaf82"
    assert first.source_id == "1"
    assert first.raw["isbn"] == "0957-9672 (Print)\r\n0957-9672"
    # 'label' here is an EndNote state, not an include decision: kept in raw only.
    assert first.label is None and first.raw["label"] == "In_database"
    assert copy.source_id == "699"
    assert copy.doi == first.doi  # written 'http://dx.doi.org/10.1097/MOL...'
    assert "© 2008 Lippincott Williams & Wilkins" in copy.abstract  # cp1252 0xA9
    missing = items[4]
    assert (missing.source_id, missing.raw["doi"], missing.doi) == ("1630", "NA", None)
    assert sum(1 for r in items if r.doi) == 1351


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("name", "count", "row", "expected"),
    [
        (
            "cytology_screening",
            1856,
            10,
            {
                "source_id": "id_0000011",
                "authors_raw": [
                    "Zielinski, G D",
                    "Rozendaal, L",
                    "Voorhorst, F J",
                    "Berkhof, J",
                    "Snijders, P J",
                    "Risse, E J",
                    "Runsink, A P",
                    "de Schipper, F A",
                    "Meijer, C J",
                ],
                "issue": None,
                "year": 2003,
                "journal": "Gynecologic Oncology",
                "pages": "67-73",
                "volume": "91",
                "record_type": "article",
            },
        ),
        (
            "respiratory",
            1988,
            10,
            {
                "source_id": "id_0000011",
                "authors": ["Zhao, W. Z.", "Wang, J. K.", "Li, W.", "Zhang, X. L."],
                "journal": "Ai zheng = Aizheng = Chinese journal of cancer",
                "issue": "210",
                "pages": "1324-1327",
            },
        ),
        (
            "digital_work",
            7159,
            0,
            {
                "source_id": "id_0000000",
                "volume": None,  # 'UNKNOWN'
                "pages": "376-383",  # '376 -- 383'
                "authors": ["АЗЬМУК, Н. А."],
                "year": 2017,
            },
        ),
    ],
)
def test_generic_shared_tables(name, count, row, expected):
    path = shared("dedup", name, "records_pre_merged.csv")
    assert detect_format(path) == "csv"
    items = list(read_file(path))
    assert len(items) == count
    assert all(isinstance(i, Record) for i in items)
    record = items[row]
    for field, value in expected.items():
        assert getattr(record, field) == value, field


def test_column_synonyms_label_and_semicolon_delimiter(tmp_path):
    path = write(
        tmp_path,
        "export.txt",
        "Article Title;AB;Author;Publication_Year;Secondary Title;PubMed ID;Link;label_included\n"
        "Trial of X;An abstract;Smith, John and Doe, Ann;2019;Lancet;31234567;https://x.org;1\n"
        "Trial of Y;;;2020;BMJ;;;0\n",
    )
    assert detect_format(path) == "csv"
    first, second = read_records(path)
    assert (first.title, first.abstract, first.year, first.journal) == (
        "Trial of X",
        "An abstract",
        2019,
        "Lancet",
    )
    assert first.authors == ["Smith, J.", "Doe, A."]
    assert (first.pmid, first.url, first.label) == ("31234567", "https://x.org", 1)
    assert (second.label, second.authors, second.abstract) == (0, [], None)


def test_column_map_overrides_and_names_missing_columns(tmp_path):
    path = write(tmp_path, "t.csv", "Name,Heading,Yr,Decision\nA paper,Other,2001,yes\n")
    options = ReadOptions(
        column_map={"title": "heading", "journal": "Name"}, label_column="Decision"
    )
    (record,) = read_records(path, "csv", options)
    assert (record.title, record.journal) == ("Other", "A paper")
    assert (record.year, record.label) == (2001, 1)
    with pytest.raises(ImportFileError, match=r"no column 'Titel'.*Name, Heading, Yr, Decision"):
        read_records(path, "csv", ReadOptions(column_map={"title": "Titel"}))
    with pytest.raises(ImportFileError, match="'colour' is not a record field"):
        read_records(path, "csv", ReadOptions(column_map={"colour": "Name"}))
    with pytest.raises(ImportFileError, match="label column: there is no column 'Included'"):
        read_records(path, "csv", ReadOptions(label_column="Included"))


def test_unknown_columns_are_an_error_that_lists_them(tmp_path):
    path = write(tmp_path, "u.csv", "foo,bar,baz\n1,2,3\n")
    with pytest.raises(ImportFileError, match="no column holds the titles; the columns are: foo"):
        read_records(path, "csv")


def test_excel_sep_hint_and_tsv(tmp_path):
    hinted = write(tmp_path, "h.csv", "sep=|\nTitle|Year\nA, B and C|1999\n")
    assert [(r.title, r.year) for r in read_records(hinted, "csv")] == [("A, B and C", 1999)]
    tsv = write(tmp_path, "t.tsv", 'Title\tYear\n"Quoted\ttab"\t2001\n')
    assert detect_format(tsv) == "csv"
    assert [r.title for r in read_records(tsv)] == ["Quoted tab"]


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("Hao J.; High R.; Siu K.-C.", ["Hao J.", "High R.", "Siu K.-C."]),
        ("Zuna, R E and Wang, S S", ["Zuna, R E", "Wang, S S"]),
        ("Liu R., Adler D.G.", ["Liu R.", "Adler D.G."]),
        ("Wang C, Lizardo O, Hachen DS", ["Wang C", "Lizardo O", "Hachen DS"]),
        ("Adeli K.Lewis G. F.", ["Adeli K.", "Lewis G. F."]),
        ("Ziegler, T. R.", ["Ziegler, T. R."]),
        ("World Health Organization", ["World Health Organization"]),
    ],
)
def test_split_authors(value, names):
    assert split_authors(value) == names


# --- round trips and the writer ---------------------------------------------------------------

LOCATION = {"source_file", "source_position"}


@pytest.mark.parametrize("fmt", ["csv", "bibtex", "jsonl"])
@pytest.mark.parametrize("path", list(COUNTS), ids=lambda p: p.parent.parent.name)
def test_round_trip_keeps_every_field_the_format_carries(path, fmt, tmp_path):
    records = records_of(path)
    out = tmp_path / f"out.{fmt}"
    with out.open("w", encoding="utf-8", newline="") as fh:
        write_records(records, fh, fmt)
    assert detect_format(out) == fmt
    back = read_records(out)
    assert len(back) == len(records)
    if fmt == "bibtex":
        # Entry types are BibTeX's own; records without an id get a generated key.
        fields = [f for f in CARRIED_FIELDS if f not in {"record_type", "source_id"}]
    else:
        fields = [f for f in RECORD_FIELDS if f not in LOCATION]
    for before, after in zip(records, back, strict=True):
        for name in fields:
            assert getattr(after, name) == getattr(before, name), (before.source_id, name)
        if fmt == "bibtex" and before.source_id:
            assert after.source_id == before.source_id


def test_csv_writer_keeps_awkward_values(tmp_path):
    record = Record(
        title='Line\nbreak, "quotes"; semicolon',
        authors=["Doe, J."],
        authors_raw=["Doe; Jane"],
        keywords=["a; b", "c"],
        mesh_terms=['["looks like json"]'],
        year=1999,
        label=0,
        raw={"TI": "x", "nested": {"a": [1, 2]}},
    )
    buffer = io.StringIO()
    write_records([record], buffer, "csv")
    path = write(tmp_path, "w.csv", buffer.getvalue())
    (back,) = read_records(path)
    for name in RECORD_FIELDS:
        if name not in LOCATION:
            assert getattr(back, name) == getattr(record, name), name


# --- bad input --------------------------------------------------------------------------------


def test_rows_without_title_and_ragged_rows_are_rejected_with_their_line(tmp_path):
    path = write(
        tmp_path,
        "r.csv",
        'title,year,journal\r\n"A\r\nmulti-line title",2001,J\r\n,2002,J\r\n'
        "B,2003,J,extra\r\nC,2004\r\nD,2005,J,\r\n\r\nE,2006,J\r\n",
    )
    items = list(read_file(path))
    kinds = [(type(i).__name__, getattr(i, "line", None)) for i in items]
    assert kinds == [
        ("Record", None),
        ("Rejection", 4),
        ("Rejection", 5),
        ("Rejection", 6),
        ("Record", None),
        ("Record", None),
    ]
    assert items[0].title == "A multi-line title"
    assert "no title" in items[1].reason
    assert "4 cells but the header has 3" in items[2].reason
    assert "2 cells" in items[3].reason and "cut short" in items[3].reason
    assert [items[4].title, items[5].title] == ["D", "E"]


def test_truncated_file_rejects_the_cut_row(tmp_path):
    data = EMBASE.read_bytes()
    cut = data.index(b"International Journal of Surgery Case Reports (2019)")
    items = list(read_file(write(tmp_path, "t.csv", data[:cut]), "csv"))
    assert [type(i).__name__ for i in items] == ["Record", "Record", "Rejection"]
    assert "cut short" in items[2].reason and items[2].line == 4


@pytest.mark.parametrize("kept", [1, 3, 10])
def test_a_row_cut_just_after_its_opening_quote_costs_only_itself(tmp_path, kept):
    """'"Foregut duplication cysts: A r' and a line break: read leniently, its quote closes
    where the next row's title opens and the two rows read as one of the right width. Read
    strictly the joined row fails, so the next row is found where it starts."""
    text = (
        'title,year,journal\r\n"First row",2001,J\r\n'
        '"Foregut duplication cysts: A review of the literature",2002,J\r\n'
        '"Completely isolated retroperitoneal duplication cyst",2003,"J, Case Rep"\r\n'
    )
    start = text.index('"Foregut')
    cut = text[: start + kept] + "\r\n" + text[text.index('"Completely') :]
    items = list(read_file(write(tmp_path, "c.csv", cut), "csv"))
    assert [type(i).__name__ for i in items] == ["Record", "Rejection", "Record"]
    assert items[1].line == 3
    assert items[2].title == "Completely isolated retroperitoneal duplication cyst"
    assert items[2].journal == "J, Case Rep"


@pytest.mark.parametrize("codec", ["utf-8", "utf-8-sig", "utf-16", "cp1252"])
def test_encodings(tmp_path, codec):
    text = "Title\tAuthors\r\nÉtude naïve\tMüller, K.\r\n"
    path = write(tmp_path, "e.tsv", text.encode(codec))
    assert detect_format(path) == "csv"
    (record,) = read_records(path)
    assert (record.title, record.authors) == ("Étude naïve", ["Müller, K."])


def test_utf16_web_of_science_export(tmp_path):
    data = WOS.read_bytes().decode("utf-8-sig")
    path = write(tmp_path, "savedrecs.txt", codecs.BOM_UTF16_LE + data.encode("utf-16-le"))
    assert detect_format(path) == "csv"
    assert [r.source_id for r in read_records(path)] == [r.source_id for r in records_of(WOS)]


def test_mixed_line_endings_are_read(tmp_path):
    # The PubMed fixture itself ends its header with LF and its rows with CRLF.
    assert b"DOI\n" in PUBMED.read_bytes() and PUBMED.read_bytes().count(b"\r\n") == 10
    path = write(tmp_path, "m.csv", "title,year\rA,2001\nB,2002\r\nC,2003")
    assert [r.title for r in read_records(path)] == ["A", "B", "C"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\r\n\r\n", "empty"),
        (b"title,year\n", "no records"),
        (b"title,year\n,\n\n", "no records"),
        (b"just one line of words\n", "columns"),
        (bytes(range(256)) * 8, "binary"),
    ],
)
def test_unreadable_files_raise_import_errors(tmp_path, data, message):
    with pytest.raises(ImportFileError, match=message):
        list(read_file(write(tmp_path, "x.csv", data), "csv"))


# --- property: mutated real files never crash the reader ----------------------------------------


def _head(path: Path, rows: int) -> bytes:
    lines = path.read_bytes().split(b"\n")
    return b"\n".join(lines[: rows + 1]) + b"\n"


SAMPLES = [EMBASE.read_bytes(), PUBMED.read_bytes(), WOS.read_bytes(), _head(SCOPUS, 4)]


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "truncate", "delete", "duplicate", "insert"]))
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[at] = draw(st.integers(0, 255))
        elif op == "truncate":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.sampled_from([b'"', b",", b"\t", b";", b"\r", b"\n", b"\x00"]))
        else:
            lines = bytes(data).split(b"\n")
            index = at % len(lines)
            if op == "delete":
                del lines[index]
            else:
                lines.insert(index, lines[index])
            data = bytearray(b"\n".join(lines))
    return bytes(data)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_files_only_raise_import_errors(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.csv"
        path.write_bytes(data)
        try:
            items = list(read_file(path, "csv", ReadOptions()))
        except ImportFileError:
            return
        for item in items:
            assert isinstance(item, Record | Rejection)
            if isinstance(item, Rejection):
                assert item.line and item.line >= 1
