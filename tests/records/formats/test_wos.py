"""Web of Science plain-text reader (tests/fixtures/formats/wos_plaintext)."""

from __future__ import annotations

import codecs
import random

import pytest
from hypothesis import HealthCheck, given, settings

from metasift.errors import ImportFileError
from metasift.records.formats import detect_format, read_file, read_records
from metasift.records.formats.base import Rejection
from metasift.records.model import Record
from tests.records.formats.tagged_cases import (
    FORMATS,
    Expected,
    carried_fields,
    check_expected,
    count_items,
    mutated,
    read_damaged,
    records_of,
    ris_round_trip,
    samples,
    with_line_endings,
)

SAMPLE = "wos_plaintext/rispy/example_wos.ris"

EXPECTED = [
    Expected(
        "wos_plaintext/rispy/example_wos.ris",
        0,
        (
            "Interactions stabilizing the structure of the core light-harvesting complex (LHl) of "
            "photosynthetic bacteria and its subunit (B820)"
        ),
        ("Parkes-Loach, PS", "Parkes-Loach, P. S."),
        ("Loach, PA", "Loach, P. A."),
        2004,
        "BIOCHEMISTRY",
        ("43", "22", "7003-7016"),
        "10.1021/bi049798f",
        "15170338",
        ("Reconstitution experiments with a chemic", "ly to stabilizing the complex."),
        10,
    ),
    Expected(
        "wos_plaintext/rispy/example_wos.ris",
        1,
        (
            "Proximal and distal influences on ligand binding kinetics in microperoxidase and heme "
            "model compounds"
        ),
        ("Cao, WX", "Cao, W. X."),
        ("Champion, PM", "Champion, P. M."),
        2004,
        "BIOCHEMISTRY",
        ("43", "22", "7017-7027"),
        "10.1021/bi0497291",
        "15170339",
        ("We use laser flash photolysis and time-r", " found in the cellular milieu."),
        10,
    ),
]


def test_sample_is_detected_as_web_of_science_despite_its_ris_extension():
    path = FORMATS / SAMPLE
    assert path.suffix == ".ris"
    assert detect_format(path) == "wos"
    records, rejections = count_items(path)
    assert rejections == []
    assert len(records) == 2  # SOURCES.md: 2 records


@pytest.mark.parametrize("case", EXPECTED, ids=lambda c: f"{c.file}#{c.index}")
def test_pinned_field_values(case):
    check_expected(case)


def test_continuation_lines_lists_and_identifiers():
    first, second = records_of(SAMPLE)
    # Name and reference tags: one value per line; text tags: wrapped lines joined.
    assert first.authors_raw == ["Parkes-Loach, PS", "Majeed, AP", "Law, CJ", "Loach, PA"]
    assert len(first.raw["CR"]) == 59 and len(second.raw["CR"]) == 86  # = their NR counts
    assert first.raw["NR"] == ["59"]
    assert first.raw["TI"] == [
        "Interactions stabilizing the structure of the core light-harvesting",
        "complex (LHl) of photosynthetic bacteria and its subunit (B820)",
    ]
    assert first.keywords[:2] == ["CHEMICALLY SYNTHESIZED POLYPEPTIDES", "IN-VITRO RECONSTITUTION"]
    assert first.keywords[-1] == "ANTENNA COMPLEX"
    assert (first.source_id, first.pmid) == ("WOS:000221807500019", "15170338")
    assert (first.journal_abbrev, first.issn) == ("Biochemistry", ["0006-2960"])
    assert (first.language, first.publication_types, first.record_type) == (
        "English",
        ["Article"],
        "JOUR",
    )
    assert first.source_database == "Web of Science"
    assert "FN" not in first.raw and "EF" not in second.raw  # file header and footer


def test_ris_round_trip_keeps_every_field_ris_can_carry(tmp_path):
    records = list(records_of(SAMPLE))
    back = ris_round_trip(records, tmp_path)
    assert [carried_fields(r) for r in back] == [carried_fields(r) for r in records]


RECORD = (
    "PT J\nAU Müller, J\n   Smith, AB\nAF Müller, Jürgen\n   Smith, Anna B.\n"
    "TI Blue light for acne: a trial with a title that\n   wraps\n"
    "SO JOURNAL OF DERMATOLOGY\nDE acne; blue light;\n   phototherapy\nID PROPIONIBACTERIUM\n"
    "AB Café patients – “quoted” – were treated.\nPY 2020\nBP 12\nEP 19\n"
    "DI 10.1000/ABC.1\nUT WOS:000000000000001\nER\n\n"
)
FILE = "FN Clarivate Analytics Web of Science\nVR 1.0\n" + RECORD + RECORD + "EF\n"


def test_author_full_names_and_author_keywords(tmp_path):
    path = tmp_path / "savedrecs.txt"
    path.write_text(FILE, encoding="utf-8")
    record = read_records(path)[0]
    assert record.authors_raw == ["Müller, Jürgen", "Smith, Anna B."]  # AF over AU
    assert record.authors == ["Müller, J.", "Smith, A. B."]
    assert record.keywords == ["acne", "blue light", "phototherapy", "PROPIONIBACTERIUM"]
    assert record.title == "Blue light for acne: a trial with a title that wraps"
    assert (record.pages, record.doi, record.year) == ("12-19", "10.1000/abc.1", 2020)


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-8", codecs.BOM_UTF8),
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", b""),
        ("cp1252", b""),
    ],
)
def test_encodings(encoding, bom, tmp_path):
    path = tmp_path / "savedrecs.txt"
    path.write_bytes(bom + FILE.encode(encoding))
    assert detect_format(path) == "wos"
    records = read_records(path)
    assert len(records) == 2
    assert records[0].abstract == "Café patients – “quoted” – were treated."
    assert records[0].authors_raw[0] == "Müller, Jürgen"


def test_mixed_line_endings_give_the_same_records(tmp_path):
    text = (FORMATS / SAMPLE).read_text(encoding="utf-8")
    path = tmp_path / "mixed.txt"
    path.write_bytes(with_line_endings(text, ["\r\n", "\r", "\n"]).encode())
    assert [carried_fields(r) for r in read_records(path)] == [
        carried_fields(r) for r in records_of(SAMPLE)
    ]


def test_truncated_file_rejects_the_cut_record(tmp_path):
    data = (FORMATS / SAMPLE).read_bytes()
    second = data.rindex(b"\nPT J") + 1
    path = tmp_path / "cut.txt"
    path.write_bytes(data[: second + 2000])
    items = list(read_file(path))
    assert [type(i) for i in items] == [Record, Rejection]
    assert items[1].line == data[:second].count(b"\n") + 1
    assert "truncated" in items[1].reason and "'ER'" in items[1].reason


def test_record_without_title_and_record_cut_midway(tmp_path):
    untitled = RECORD.replace("TI Blue light for acne: a trial with a title that\n   wraps\n", "")
    cut = RECORD[: RECORD.index("AB ")]
    path = tmp_path / "damaged.txt"
    path.write_text("FN Clarivate Analytics Web of Science\nVR 1.0\n" + untitled + cut + RECORD)
    items = list(read_file(path))
    # The untitled record keeps its abstract and DOI: it is imported, to be screened untitled.
    assert [type(i) for i in items] == [Record, Rejection, Record]
    assert items[0].title is None and items[0].doi == "10.1000/abc.1"
    assert items[1].line == 20 and "next record at line 31" in items[1].reason


def test_binary_junk_and_empty_files_are_clear_errors(tmp_path):
    junk = tmp_path / "junk.txt"
    junk.write_bytes(bytes(random.Random(11).randrange(256) for _ in range(5000)))
    with pytest.raises(ImportFileError, match="binary"):
        list(read_file(junk, "wos"))
    empty = tmp_path / "empty.txt"
    empty.write_text("FN Clarivate Analytics Web of Science\nVR 1.0\nEF\n")
    with pytest.raises(ImportFileError, match="no Web of Science records"):
        list(read_file(empty))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=mutated(samples(SAMPLE, limit=20000)))
def test_mutated_samples_raise_nothing_but_import_file_error(data, tmp_path):
    path = tmp_path / "mutated.txt"
    path.write_bytes(data)
    read_damaged(path, None)
    read_damaged(path, "wos")
