"""MEDLINE (.nbib) reader on real PubMed exports (tests/fixtures/formats/medline)."""

from __future__ import annotations

import codecs
import random
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings

from metasift.errors import ImportFileError
from metasift.records.formats import base, detect_format, read_file, read_records
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

# Record counts from SOURCES.md (one per PMID- line).
COUNTS = {
    "medline/RefLib/blue-light.nbib": 80,
    "medline/rispy/example_pubmed.txt": 10,
    "medline/biopython/pubmed_result1.txt": 1,
    "medline/biopython/pubmed_result2.txt": 4,
    "medline/biopython/pubmed_result3.txt": 1,
    "medline/biopython/pubmed_result4.txt": 1,
}


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_every_sample_imports_with_its_record_count(name):
    path = FORMATS / name
    assert detect_format(path) == "medline"
    records, rejections = count_items(path)
    assert rejections == []
    assert len(records) == COUNTS[name]
    assert all(r.source_database == "PubMed" and r.source_id == r.pmid for r in records)


EXPECTED = [
    Expected(
        "medline/RefLib/blue-light.nbib",
        0,
        (
            "Formulation of Herbal Gel of Antirrhinum majus Extract and Evaluation of its "
            "Anti-Propionibacterium acne Effects."
        ),
        ("Shahtalebi, Mohammad Ali", "Shahtalebi, M. A."),
        ("Jahanian-Najafabadi, Ali", "Jahanian-Najafabadi, A."),
        2018,
        "Advanced biomedical research",
        ("7", None, "53"),
        "10.4103/abr.abr_99_17",
        "29657938",
        ("BACKGROUND: Antirrhinum majus contains a", "cne lesions must be performed."),
        4,
    ),
    Expected(
        "medline/RefLib/blue-light.nbib",
        41,
        "Photopneumatic technology for the treatment of acne vulgaris.",
        ("Shamban, Ava T", "Shamban, A. T."),
        ("Wilson, Donna", "Wilson, D."),
        2008,
        "Journal of drugs in dermatology : JDD",
        ("7", "2", "139-45"),
        None,
        "18335650",
        ("OBJECTIVE: Treatment of acne vulgaris wi", " mild to severe acne vulgaris."),
        0,
    ),
    Expected(
        "medline/RefLib/blue-light.nbib",
        79,
        (
            "[Therapy of acne with visible light. Decreased irradiation time by using a blue-light "
            "high-energy lamp]."
        ),
        ("Meffert, H", "Meffert, H."),
        ("Amlong, U J", "Amlong, U. J."),
        1990,
        "Dermatologische Monatschrift",
        ("176", "10", "597-603"),
        None,
        "2150382",
        ("Lipophilic propionibacterium acnes store", "light-poor season of the year."),
        0,
    ),
    Expected(
        "medline/rispy/example_pubmed.txt",
        0,
        "Time lapse: A glimpse into prehistoric genomics.",
        ("Griffin, Darren K", "Griffin, D. K."),
        ("O'Connor, Rebecca E", "O'Connor, R. E."),
        2020,
        "European journal of medical genetics",
        ("63", "2", "103640"),
        "10.1016/j.ejmg.2019.03.004",
        "30922926",
        ("For the purpose of this review, 'time-la", " time as speciose and diverse."),
        5,
    ),
    Expected(
        "medline/rispy/example_pubmed.txt",
        9,
        (
            "Low dinosaur biodiversity in central China 2 million years prior to the "
            "end-Cretaceous mass extinction."
        ),
        ("Han, Fei", "Han, F."),
        ("Deng, Chenglong", "Deng, C."),
        2022,
        "Proceedings of the National Academy of Sciences of the United States of America",
        ("119", "39", "e2211234119"),
        "10.1073/pnas.2211234119",
        "36122246",
        ("Whether or not nonavian dinosaur biodive", "vian dinosaur mass extinction."),
        4,
    ),
    Expected(
        "medline/biopython/pubmed_result1.txt",
        0,
        "The Bio* toolkits--a brief overview.",
        ("Mangalam, Harry", "Mangalam, H."),
        ("Mangalam, Harry", "Mangalam, H."),
        2002,
        "Briefings in bioinformatics",
        ("3", "3", "296-302"),
        None,
        "12230038",
        ("Bioinformatics research is often difficu", "eginning biologist programmer."),
        0,
    ),
    Expected(
        "medline/biopython/pubmed_result2.txt",
        0,
        "A high level interface to SCOP and ASTRAL implemented in python.",
        ("Casbon, James A", "Casbon, J. A."),
        ("Saqi, Mansoor A S", "Saqi, M. A. S."),
        2006,
        "BMC bioinformatics",
        ("7", None, "10"),
        "10.1186/1471-2105-7-10",
        "16403221",
        ("BACKGROUND: Benchmarking algorithms in s", "cs easier and more principled."),
        0,
    ),
    Expected(
        "medline/biopython/pubmed_result2.txt",
        3,
        "PDB file parser and structure class implemented in Python.",
        ("Hamelryck, Thomas", "Hamelryck, T."),
        ("Manderick, Bernard", "Manderick, B."),
        2003,
        "Bioinformatics (Oxford, England)",
        ("19", "17", "2308-10"),
        None,
        "14630660",
        ("The biopython project provides a set of ", " from http://www.biopython.org"),
        0,
    ),
    Expected(
        "medline/biopython/pubmed_result3.txt",
        0,
        "Effects of different parameters in the fast scanning method for HIFU treatment.",
        ("Qiao, Shan", "Qiao, S."),
        ("Chen, Yazhu", "Chen, Y."),
        2012,
        "Medical physics",
        ("39", "10", "5795-813"),
        "10.1118/1.4748329",
        "23039619",
        ("PURPOSE: High-intensity focused ultrasou", " safety of ablation treatment."),
        0,
    ),
    Expected(
        "medline/biopython/pubmed_result4.txt",
        0,
        (
            "High extracellular glucose promotes cell motility by modulating cell deformability "
            "and contractility via cAMP-RhoA-ROCK axis in human breast cancer cells."
        ),
        ("Oh, Mijung", "Oh, M."),
        ("Kim, Tae-Hyung", "Kim, T.-H."),
        2023,
        "Molecular biology of the cell",
        (None, None, "mbcE22120560"),
        "10.1091/mbc.e22-12-0560",
        "37195739",
        ("The mechanical properties, or mechanotyp", "relevant in cancer metastasis."),
        0,
    ),
]


@pytest.mark.parametrize("case", EXPECTED, ids=lambda c: f"{c.file}#{c.index}")
def test_pinned_field_values(case):
    check_expected(case)


def test_blue_light_nbib_crlf_repeated_tags_and_group_author():
    records = records_of("medline/RefLib/blue-light.nbib")
    assert sum(1 for r in records if r.abstract) == 77
    assert sum(1 for r in records if r.mesh_terms) == 71  # the MEDLINE-indexed ones
    assert sum(1 for r in records if r.pmcid) == 11
    first = records[0]
    assert first.raw["IS"] == ["2277-9175 (Print)", "2277-9175 (Electronic)", "2277-9175 (Linking)"]
    assert first.issn == ["2277-9175"]
    assert first.raw["LID"] == ["10.4103/abr.abr_99_17 [doi]", "53"]
    assert first.keywords == ["Acne", "Antirrhinum majus", "Propionibacterium acnes", "blue light"]
    # Continuation lines are joined with a space, CRLF dropped.
    assert first.title.endswith("Evaluation of its Anti-Propionibacterium acne Effects.")
    assert not any("\r" in v for r in records for vs in r.raw.values() for v in vs)
    # CN is a group author, in its place after the personal authors.
    assert records[39].authors_raw == ["Khunger, Niti", "IADVL Task Force"]
    assert records[39].authors == ["Khunger, N.", "IADVL Task Force"]
    assert records[39].raw["FIR"][:2] == ["Mysore, Venkataram", "Savant, Satish"]
    # Two languages: the first is the record's, both are kept.
    assert (records[33].language, records[33].raw["LA"]) == ("eng", ["eng", "ger"])


def test_mesh_terms_publication_types_and_wrapped_headings():
    (record,) = records_of("medline/biopython/pubmed_result3.txt")
    assert record.mesh_terms[1] == (
        "High-Intensity Focused Ultrasound Ablation/adverse effects/instrumentation/*methods"
    )
    assert len(record.mesh_terms) == 8
    assert record.publication_types == ["Journal Article", "Research Support, Non-U.S. Gov't"]
    assert record.journal_abbrev == "Med Phys"
    assert record.record_type == "JOUR"


def test_doi_only_in_aid_and_file_starting_with_a_blank_line():
    records = records_of("medline/biopython/pubmed_result2.txt")
    assert [r.doi for r in records] == [
        "10.1186/1471-2105-7-10",
        "10.1093/bioinformatics/btk021",
        "10.1093/bioinformatics/bth078",
        None,
    ]
    assert records[0].pmcid == "PMC1373603"
    (only,) = records_of("medline/biopython/pubmed_result1.txt")
    assert only.doi is None and only.pmid == "12230038"


def test_last_record_without_final_newline_and_several_addresses():
    (record,) = records_of("medline/biopython/pubmed_result4.txt")
    assert record.raw["AD"][1] == (
        "Undergraduate Pipeline Network Summer Research Program, University of New Mexico "
        "Health Sciences Center."
    )
    assert len(record.raw["AD"]) == 6
    assert record.raw["PST"] == ["aheadofprint"]
    assert record.mesh_terms == []


def test_full_names_with_accents_and_orcids_in_raw():
    records = records_of("medline/rispy/example_pubmed.txt")
    assert sum(len(r.raw.get("AUID", [])) for r in records) == 33
    names = [a for r in records for a in r.authors_raw]
    assert "Álvarez-Parra, Sergio" in names and "Hummel, Jürgen" in names
    normal = [a for r in records for a in r.authors]
    assert "Álvarez-Parra, S." in normal and "Pérez-de la Fuente, R." in normal


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_ris_round_trip_keeps_every_field_ris_can_carry(name, tmp_path):
    records = list(records_of(name))
    back = ris_round_trip(records, tmp_path)
    assert len(back) == len(records)
    for before, after in zip(records, back, strict=True):
        # RIS has no MeSH tag: headings travel as keywords, after the author keywords.
        assert after.keywords == before.keywords + before.mesh_terms
        assert after.mesh_terms == []
        skip = frozenset({"keywords", "mesh_terms"})
        assert carried_fields(after, skip) == carried_fields(before, skip)


@pytest.mark.parametrize("suffix", [".ris", ".txt", ""])
def test_medline_is_detected_whatever_the_extension(suffix, tmp_path):
    path = tmp_path / f"pubmed{suffix}"
    path.write_bytes((FORMATS / "medline/biopython/pubmed_result2.txt").read_bytes())
    assert detect_format(path) == "medline"
    assert len(read_records(path)) == 4


# --- bad input ----------------------------------------------------------------------------

RECORD = (
    "PMID- 12345678\nOWN - NLM\nTI  - Blue light for acne: a trial with a title that\n"
    "      wraps.\nAB  - Café patients – “quoted” – were treated.\nFAU - Müller, Jürgen\n"
    "AU  - Müller J\nDP  - 2020 Jan\nSO  - Dermatology. 2020 Jan;1(1):1-2.\n\n"
)


def test_truncated_file_rejects_the_cut_record(tmp_path):
    data = (FORMATS / "medline/RefLib/blue-light.nbib").read_bytes()
    last_start = data.rindex(b"PMID- ")
    path = tmp_path / "cut.nbib"
    path.write_bytes(data[: last_start + 300])
    records, rejections = count_items(path)
    assert len(records) == 79
    (rejection,) = rejections
    assert rejection.position == 80
    assert rejection.line == data[:last_start].count(b"\n") + 1
    assert "truncated" in rejection.reason


def test_single_record_cut_mid_line_is_rejected(tmp_path):
    path = tmp_path / "cut.txt"
    path.write_text(RECORD[:120])
    (item,) = read_file(path)
    assert isinstance(item, Rejection) and "truncated" in item.reason and item.line == 1


def test_untitled_record_is_kept_and_an_empty_one_rejected_naming_its_line(tmp_path):
    untitled = RECORD.replace("PMID- 12345678", "PMID- 2").split("TI  - ")[0] + "AB  - x\n\n"
    empty = "OWN - NLM\nDP  - 2020 Jan\n\n"
    path = tmp_path / "no-title.nbib"
    path.write_text(RECORD + untitled + empty + RECORD)
    items = list(read_file(path))
    assert [type(i) for i in items] == [Record, Record, Rejection, Record]
    assert items[1].pmid == "2" and items[1].title is None and items[1].abstract == "x"
    assert items[2].line == 15 and "no title, abstract" in items[2].reason


def test_text_that_is_not_medline_is_rejected(tmp_path):
    path = tmp_path / "junk-line.nbib"
    path.write_text(RECORD + "this line is not part of any record\n\n" + RECORD)
    items = list(read_file(path))
    assert [type(i) for i in items] == [Record, Rejection, Record]
    assert items[1].line == 11 and "not a MEDLINE tag line" in items[1].reason


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
    path = tmp_path / "enc.txt"
    path.write_bytes(bom + (RECORD * 2).encode(encoding))
    assert detect_format(path) == "medline"
    records = read_records(path)
    assert len(records) == 2
    assert records[0].title == "Blue light for acne: a trial with a title that wraps."
    assert (records[0].authors_raw, records[0].authors) == (["Müller, Jürgen"], ["Müller, J."])
    assert records[0].abstract == "Café patients – “quoted” – were treated."


def test_mixed_line_endings_give_the_same_records(tmp_path):
    original = records_of("medline/rispy/example_pubmed.txt")
    text = (FORMATS / "medline/rispy/example_pubmed.txt").read_text(encoding="utf-8")
    path = tmp_path / "mixed.txt"
    path.write_bytes(with_line_endings(text, ["\r\n", "\n", "\r"]).encode())
    assert [carried_fields(r) for r in read_records(path)] == [carried_fields(r) for r in original]


def test_binary_junk_and_empty_files_are_clear_errors(tmp_path):
    junk = tmp_path / "junk.nbib"
    junk.write_bytes(bytes(random.Random(7).randrange(256) for _ in range(5000)))
    with pytest.raises(ImportFileError, match="binary"):
        list(read_file(junk, "medline"))
    empty = tmp_path / "empty.nbib"
    empty.write_bytes(b"\n\n")
    with pytest.raises(ImportFileError, match="empty"):
        list(read_file(empty))
    with pytest.raises(ImportFileError, match="no MEDLINE records"):
        list(read_file(empty, "medline"))


SAMPLES = samples(*sorted(COUNTS))


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=mutated(SAMPLES))
def test_mutated_samples_raise_nothing_but_import_file_error(data, tmp_path):
    path = tmp_path / "mutated.nbib"
    path.write_bytes(data)
    read_damaged(path, None)
    read_damaged(path, "medline")


def peak_memory_reading(path) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = sum(1 for item in read_file(path) if isinstance(item, Record))
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_as_the_file_grows(tmp_path, monkeypatch):
    monkeypatch.setattr(base, "CHUNK_BYTES", 32 * 1024)
    one = (FORMATS / "medline/biopython/pubmed_result2.txt").read_bytes().strip() + b"\n\n"
    small, big = tmp_path / "small.nbib", tmp_path / "big.nbib"
    small.write_bytes(one * 30)  # 280 KB
    big.write_bytes(one * 240)  # 2.2 MB
    assert peak_memory_reading(small)[0] == 120
    count, peak = peak_memory_reading(big)
    assert count == 960
    # A chunk of text, its lines and a record at a time: the peak does not follow the size.
    assert peak < 1.5 * peak_memory_reading(small)[1]
    assert peak < 1024**2
