"""RIS reader and writer on real exports (tests/fixtures/formats/ris, SOURCES.md there)."""

from __future__ import annotations

import codecs
import io
import random

import pytest
import rispy
from hypothesis import HealthCheck, given, settings

from metasift.errors import ImportFileError
from metasift.records.formats import detect_format, read_file, read_records, write_records
from metasift.records.formats.base import ReadOptions, Rejection
from metasift.records.formats.ris import read as ris_read
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

# Record counts from SOURCES.md (one per ER line).
COUNTS = {
    "ris/asreview/embase.ris": 6,
    "ris/asreview/ovid_psycinfo.ris": 6,
    "ris/asreview/ovid_zotero.ris": 6,
    "ris/asreview/proquest.ris": 6,
    "ris/asreview/scopus.ris": 6,
    "ris/asreview/pubmed_zotero.ris": 6,
    "ris/asreview/pubmed_endnote.txt": 6,
    "ris/asreview/web_of_science.txt": 10,
    "ris/asreview/ris_issue_992.txt": 19,
    "ris/ASySD/scopus.ris": 10,
    "ris/ASySD/wos_test.ris": 50,
    "ris/ASySD/ris_export.txt": 69,
    "ris/ASySD/zotero_export.ris": 1000,
    "ris/RefLib/blue-light.ris": 102,
}


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_every_sample_imports_with_its_record_count(name):
    path = FORMATS / name
    assert detect_format(path) == "ris"
    records, rejections = count_items(path)
    assert rejections == []
    assert len(records) == COUNTS[name]
    assert [r.source_position for r in records] == list(range(1, COUNTS[name] + 1))
    assert all(r.source_file == str(path) for r in records)


EXPECTED = [
    Expected(
        "ris/asreview/embase.ris",
        0,
        "Duplication cysts: Diagnosis, management, and the role of endoscopic ultrasound",
        ("Liu R.", "Liu, R."),
        ("Adler D.G.", "Adler, D. G."),
        2014,
        "Endoscopic Ultrasound",
        ("3", "3", "152-160"),
        "10.4103/2303-9027.138783",
        None,
        ("Gastrointestinal tract duplication cysts", "with regards to these lesions."),
        22,
    ),
    Expected(
        "ris/asreview/embase.ris",
        3,
        "Congenital Neck Masses",
        ("Quintanilla-Dieck L.", "Quintanilla-Dieck, L."),
        ("Penn E.B.", "Penn, E. B."),
        2018,
        "Clinics in Perinatology",
        ("45", "4", "769-785"),
        "10.1016/j.clp.2018.07.012",
        "30396417",
        ("Congenital neck masses can be a developm", " lesions, such as hemangiomas."),
        39,
    ),
    Expected(
        "ris/asreview/ovid_psycinfo.ris",
        1,
        "Gender differences in inflammatory bowel disease: Explaining body image dissatisfaction.",
        ("Trindade, Ines A", "Trindade, I. A."),
        ("Pinto-Gouveia, Jose", "Pinto-Gouveia, J."),
        2019,
        "Journal of Health Psychology",
        ("24", "7", "847-856"),
        "10.1177/1359105317742958",
        None,
        ("The aim of this study was to examine the", "2019 APA, all rights reserved)"),
        6,
    ),
    Expected(
        "ris/asreview/ovid_zotero.ris",
        1,
        "Gender differences in inflammatory bowel disease: Explaining body image dissatisfaction.",
        ("Trindade, Ines A", "Trindade, I. A."),
        ("Pinto-Gouveia, Jose", "Pinto-Gouveia, J."),
        2019,
        "Journal of Health Psychology",
        ("24", "7", "847-856"),
        "10.1177/1359105317742958",
        None,
        ("The aim of this study was to examine the", "2019 APA, all rights reserved)"),
        6,
    ),
    Expected(
        "ris/asreview/proquest.ris",
        5,
        (
            "Bayesian PTSD-trajectory analysis with informed priors based on a systematic "
            "literature search and expert elicitation"
        ),
        ("van de Schoot, Rens", "van de Schoot, R."),
        ("van Loey, Nancy E", "van Loey, N. E."),
        2018,
        "Multivariate Behavioral Research",
        ("53", "2", "267-291"),
        "10.1080/00273171.2017.1412293",
        None,
        ("There is a recent increase in interest o", "ng; latent growth models; PTSD"),
        11,
    ),
    Expected(
        "ris/asreview/scopus.ris",
        5,
        "Role of brain imaging in disorders of brain-gut interaction: A Rome Working Team Report",
        ("Mayer, E.A.", "Mayer, E. A."),
        ("Borsook, D.", "Borsook, D."),
        2019,
        "Gut",
        ("68", "9", "1701-1715"),
        "10.1136/gutjnl-2019-318308",
        "31175206",
        ("Imaging of the living human brain is a p", "re required. © 2019 Author(s)."),
        45,
    ),
    Expected(
        "ris/asreview/pubmed_zotero.ris",
        0,
        (
            "The importance of cognitive flexibility and flexibility in coping with stress for the "
            "quality of life in inflammatory bowel disease patients during biological therapy. A "
            "preliminary report."
        ),
        ("Rudnik, Agata", "Rudnik, A."),
        ("Rashedi, Vahid", "Rashedi, V."),
        2019,
        "Przeglad gastroenterologiczny",
        ("14", "2", "121-128"),
        "10.5114/pg.2018.81081",
        None,
        ("Introduction: There are studies demonstr", " tailored therapeutic methods."),
        5,
    ),
    Expected(
        "ris/asreview/pubmed_endnote.txt",
        0,
        (
            "Boswellia serrata: an overall assessment of in vitro, preclinical, pharmacokinetic "
            "and clinical data"
        ),
        ("Abdel-Tawab, M.", "Abdel-Tawab, M."),
        ("Schubert-Zsilavecz, M.", "Schubert-Zsilavecz, M."),
        2011,
        "Clin Pharmacokinet",
        ("50", "6", "349-69"),
        "10.2165/11586800-000000000-00000",
        "21553931",
        ("Non-steroidal anti-inflammatory drug (NS", "l studies and clinical trials."),
        10,
    ),
    Expected(
        "ris/asreview/web_of_science.txt",
        0,
        "Holding Yourself Captive: Perceptions of Custody During Interviews and Interrogations",
        ("Alceste, F", "Alceste, F."),
        ("Kassin, SM", "Kassin, S. M."),
        2018,
        "JOURNAL OF APPLIED RESEARCH IN MEMORY AND COGNITION",
        ("7", "3", "387-397"),
        "10.1016/j.jarmac.2018.03.001",
        None,
        ("Police custody activates important legal", "gest lines of future research."),
        11,
    ),
    Expected(
        "ris/asreview/ris_issue_992.txt",
        18,
        "Behavioral health care quality among marketplace insurers in 2019",
        ("Abraham, J. M.", "Abraham, J. M."),
        ("Drake, C.", "Drake, C."),
        2021,
        "Psychiatric Services",
        ("72", "2", "200-203"),
        "10.1176/appi.ps.202000115",
        None,
        ("Objective: Using 2019 Centers for Medica", "ociation. All rights reserved."),
        22,
    ),
    Expected(
        "ris/ASySD/scopus.ris",
        9,
        "Exocrine pancreatic inflammation in canine diabetes mellitus – An active offender?",
        ("Johnson-Pitt, A.", "Johnson-Pitt, A."),
        ("Davison, L.J.", "Davison, L. J."),
        2024,
        "Veterinary Journal",
        ("308", None, "106241"),
        "10.1016/j.tvjl.2024.106241",
        "39243807",
        ("The purpose of this review is to examine", "e patients. © 2024 The Authors"),
        39,
    ),
    Expected(
        "ris/ASySD/wos_test.ris",
        0,
        "Microangiography of the humeral condyle in Cocker Spaniel and non-Cocker Spaniel dogs",
        ("Larsen, LJ", "Larsen, L. J."),
        ("Cash, WC", "Cash, W. C."),
        1999,
        "VETERINARY AND COMPARATIVE ORTHOPAEDICS AND TRAUMATOLOGY",
        ("12", "3", "134-137"),
        None,
        None,
        ("The purpose of this study was to evaluat", "ociation with these fractures."),
        5,
    ),
    Expected(
        "ris/ASySD/wos_test.ris",
        49,
        "Gallbladder mucocele in a 12-year-old cocker spaniel",
        ("Norwich, A", "Norwich, A."),
        ("Norwich, A", "Norwich, A."),
        2011,
        "CANADIAN VETERINARY JOURNAL-REVUE VETERINAIRE CANADIENNE",
        ("52", "3", "319-321"),
        None,
        None,
        ("A 12-year-old, spayed cocker spaniel was", "adder mucoceles are discussed."),
        2,
    ),
    Expected(
        "ris/ASySD/ris_export.txt",
        0,
        (
            "Altered metabolism of familial Alzheimer's disease-linked amyloid precursor protein "
            "variants in yeast artificial chromosome transgenic mice"
        ),
        ("Lamb B. T.", "Lamb, B. T."),
        ("Wagner", "Wagner"),
        1997,
        "Hum Mol Genet",
        ("6", "9", "1535-41"),
        "10.1093/hmg/6.9.1535",
        None,
        ("Missense mutations in the beta-amyloid p", "abolism and A beta production."),
        0,
    ),
    Expected(
        "ris/ASySD/ris_export.txt",
        68,
        "The amyloid precursor protein: beyond amyloid",
        ("Zheng, Hui", "Zheng, H."),
        ("Koo, Edward H.", "Koo, E. H."),
        2006,
        "Molecular Neurodegeneration",
        ("1", "1", "5"),
        "10.1186/1750-1326-1-5",
        None,
        ("The amyloid precursor protein (APP) take", "f APP physiological functions."),
        0,
    ),
    Expected(
        "ris/ASySD/zotero_export.ris",
        0,
        "Microangiography of the humeral condyle in Cocker Spaniel and non-Cocker Spaniel dogs",
        ("Larsen, LJ", "Larsen, L. J."),
        ("Cash, WC", "Cash, W. C."),
        1999,
        "VETERINARY AND COMPARATIVE ORTHOPAEDICS AND TRAUMATOLOGY",
        ("12", "3", "134-137"),
        None,
        None,
        ("The purpose of this study was to evaluat", "ociation with these fractures."),
        5,
    ),
    Expected(
        "ris/ASySD/zotero_export.ris",
        999,
        "Radiographic diagnosis-paraspinal abscess in a dog",
        ("Naughton, JF", "Naughton, J. F."),
        ("Bagley, RS", "Bagley, R. S."),
        2005,
        "VETERINARY RADIOLOGY & ULTRASOUND",
        ("46", "1", "23-26"),
        "10.1111/j.1740-8261.2005.00004.x",
        None,
        ("two-year-old intact male Brittany Spanie", "ical or surgical intervention."),
        1,
    ),
    Expected(
        "ris/RefLib/blue-light.ris",
        0,
        (
            "Formulation of Herbal Gel of Antirrhinum majus Extract and Evaluation of its "
            "Anti-Propionibacterium acne Effects"
        ),
        ("Shahtalebi, M. A.", "Shahtalebi, M. A."),
        ("Jahanian-Najafabadi, A.", "Jahanian-Najafabadi, A."),
        2018,
        "Adv Biomed Res",
        ("7", None, "53"),
        "10.4103/abr.abr_99_17",
        "29657938",
        ("BACKGROUND: Antirrhinum majus contains a", "cne lesions must be performed."),
        4,
    ),
    Expected(
        "ris/RefLib/blue-light.ris",
        101,
        "Proton magic angle spinning NMR reveals new features in photodynamically treated bacteria",
        ("Johansen, Y.", "Johansen, Y."),
        ("Johnsson, A.", "Johnsson, A."),
        2003,
        "Z Naturforsch C J Biosci",
        ("58", "5-6", "401-7"),
        "10.1515/znc-2003-5-619",
        "12872936",
        ("The bacterium Propionibacterium acnes is", "treatment of the acne disease."),
        6,
    ),
]


@pytest.mark.parametrize("case", EXPECTED, ids=lambda c: f"{c.file}#{c.index}")
def test_pinned_field_values(case):
    check_expected(case)


def test_ovid_numbering_link_lines_and_trailing_nl_tag():
    records = records_of("ris/asreview/ovid_psycinfo.ris")
    first = records[0]
    # "NL  - ..." follows "ER" in Ovid exports; it belongs to the record before it.
    assert first.journal_abbrev == "Clin Psychol Psychother"
    assert first.raw["NL"] == ["Clin Psychol Psychother"]
    # "No Pagination Specified" is split over SP and EP: no pages, raw kept.
    assert first.pages is None
    assert (first.raw["SP"], first.raw["EP"]) == (["No"], ["Specified"])
    assert first.source_id == "2019-65183-001"
    assert first.raw["DO"] == ["http://dx.doi.org/10.1002/cpp.2398"] * 2
    assert all(
        not any("Link to the Ovid" in v for vs in r.raw.values() for v in vs) for r in records
    )
    # M3 holds Ovid subject codes here, not publication types.
    assert first.publication_types == []


def test_embase_bom_n2_abstract_c5_pmid_and_repeated_sn():
    records = records_of("ris/asreview/embase.ris")
    assert records[0].raw["TY"] == ["JOUR"]  # the BOM before the first TY is not part of it
    assert records[0].raw["SN"] == ["2226-7190", "2226-7190"]
    assert records[0].issn == ["2226-7190"]
    assert records[0].abstract.startswith("Gastrointestinal tract duplication cysts")
    assert records[0].source_database == "Embase"
    assert [r.pmid for r in records] == [None, "15368318", None, "30396417", "21218094", None]
    assert records[3].journal_abbrev == "Clin. Perinatol."  # JO next to JF


def test_pubmed_via_endnote_keywords_on_untagged_lines_and_pmid_in_an():
    records = records_of("ris/asreview/pubmed_endnote.txt")
    first = records[0]
    assert first.keywords[:3] == [
        "Animals",
        "Anti-Inflammatory Agents/adverse effects/pharmacokinetics/*pharmacology",
        "Boswellia/*chemistry",
    ]
    assert first.pmid == "21553931" == first.source_id
    assert first.source_database == "NLM"
    assert [len(r.keywords) for r in records] == [10, 23, 19, 35, 20, 22]


def test_scopus_pmid_in_c2_article_number_in_c7_and_issn_without_hyphen():
    records = records_of("ris/asreview/scopus.ris")
    assert records[0].pages == "104501" and records[0].raw["C7"] == ["104501"]
    assert records[5].pmid == "31175206" and records[5].raw["C2"] == ["31175206"]
    assert records[5].issn == ["0017-5749"] and records[5].raw["SN"] == ["00175749 (ISSN)"]
    # The N1 reference list (hundreds of untagged lines) stays in raw only.
    assert len(records[0].raw["N1"]) > 100
    assert records[0].doi == "10.1016/j.psyneuen.2019.104501"


def test_web_of_science_ris_with_bare_cr_separators():
    records = records_of("ris/ASySD/wos_test.ris")
    assert records[0].raw["AD"] == [
        "Kansas State Univ, Coll Vet Med, Dept Clin Sci, Manhattan, KS 66506 USA",
        "Kansas State Univ, Coll Vet Med, Dept Anat & Physiol, Manhattan, KS 66506 USA",
    ]
    assert not any("AD  -" in v for r in records for v in r.raw.get("AD", []))
    assert sum(1 for r in records if r.doi) == 37  # 13 of 50 have no DOI
    assert sum(1 for r in records if r.abstract) == 49


def test_zotero_export_with_bare_lf_inside_values():
    records = records_of("ris/ASySD/zotero_export.ris")
    assert sum(1 for r in records if r.abstract) == 776
    assert sum(1 for r in records if r.doi) == 718
    assert not any("\n" in r.abstract or "\r" in r.abstract for r in records if r.abstract)
    # An abstract whose paragraphs are separated by bare LF is one abstract.
    assert len(records[3].raw["AB"]) == 3  # three lines, split by bare LF
    assert records[3].abstract.startswith("Background: American Cocker Spaniels")
    assert "Finland to determine the prevalence of OE in American Cocker Spaniels compared" in (
        records[3].abstract
    )
    assert "end-stage OE. Results: From the medical records of 98,736 dogs" in records[3].abstract
    assert records[0].raw["DA"] == ["1999/08//undefined"] and records[0].year == 1999


def test_endnote_library_glued_issns_glued_authors_and_doi_in_m3():
    records = records_of("ris/ASySD/ris_export.txt")
    assert records[0].raw["SN"] == ["0964-6906 (Print)0964-6906"]
    assert records[0].issn == ["0964-6906"]
    # One AU value holding the whole list: kept in raw, split into authors.
    assert records[0].raw["AU"] == [
        "Wagner, Lamb B. T. Call L. M. Slunt H. H. Bardel K. A. Lawler A. M. Eckman C. B. "
        "Younkin S. G. Holtz G."
    ]
    assert records[0].authors[:2] == ["Lamb, B. T.", "Call, L. M."]
    assert len(records[0].authors) == 9
    assert records[30].raw["M3"] == ["10.1126/science.1074069"]
    assert records[30].doi == "10.1126/science.1074069"
    assert sum(1 for r in records if r.doi) == 64
    assert sum(1 for r in records if r.source_database == "Scopus") == 31
    assert sum(1 for r in records if r.abstract) == 58
    assert [r.record_type for r in records].count("CHAP") == 2
    # One UR value holding a web link and a local PDF link: the web link is the URL.
    assert records[2].raw["UR"] == [
        "https://onlinelibrary.wiley.com/doi/abs/10.1002/ebm2.15, internal-pdf://3779373774/"
        "K.J-2016-From a mouse_ systematic analysis rev.pdf"
    ]
    assert records[2].url == "https://onlinelibrary.wiley.com/doi/abs/10.1002/ebm2.15"


def test_endnote_blue_light_pmcid_in_c2():
    records = records_of("ris/RefLib/blue-light.ris")
    assert records[0].pmcid == "PMC5887696" and records[0].raw["C2"] == ["PMC5887696"]
    assert sum(1 for r in records if r.pmcid) == 18
    assert sum(1 for r in records if r.abstract) == 98
    assert sum(1 for r in records if r.doi) == 72
    assert all(r.pmid == r.source_id for r in records)


def test_rayyan_pmid_in_notes_and_pubmed_urls():
    records = records_of("ris/asreview/ris_issue_992.txt")
    assert records[4].pmid == "23803397"  # N1 "... PMID: NLM23803397."
    assert records[6].pmid == "23162881"  # UR https://www.ncbi.nlm.nih.gov/pubmed/23162881
    assert [r.record_type for r in records].count("CASE") == 1
    assert sum(1 for r in records if r.abstract) == 8
    assert sum(1 for r in records if r.doi) == 3


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_ris_round_trip_keeps_every_field(name, tmp_path):
    records = list(records_of(name))
    back = ris_round_trip(records, tmp_path)
    assert len(back) == len(records)
    for before, after in zip(records, back, strict=True):
        assert carried_fields(after) == carried_fields(before)


def test_writer_carries_every_field_ris_can_hold(tmp_path):
    record = Record(
        title="A trial of blue light in acne",
        abstract="BACKGROUND: something. RESULTS: more.",
        authors=["Smith, J. A.", "van der Berg, K."],
        authors_raw=["Smith, John A", "van der Berg, Karin"],
        year=2021,
        journal="Journal of Dermatology",
        journal_abbrev="J Dermatol",
        volume="12",
        issue="3",
        pages="101-109",
        doi="10.1000/xyz.1",
        pmid="31234567",
        pmcid="PMC7654321",
        issn=["1234-5678", "8765-432X"],
        keywords=["acne", "phototherapy"],
        language="eng",
        publication_types=["Randomized Controlled Trial", "Journal Article"],
        record_type="JOUR",
        url="https://example.org/article/1",
        source_database="PubMed",
        source_id="31234567",
    )
    (back,) = ris_round_trip([record], tmp_path)
    assert carried_fields(back) == carried_fields(record)


def test_written_ris_is_plain_rispy_ris():
    records = list(records_of("ris/asreview/embase.ris"))
    stream = io.StringIO()
    write_records(records, stream, "ris")
    entries = rispy.loads(stream.getvalue())
    assert [e["title"] for e in entries] == [r.title for r in records]
    assert entries[0]["authors"] == ["Liu R.", "Adler D.G."]
    assert entries[0]["doi"] == "10.4103/2303-9027.138783"
    assert not stream.getvalue().startswith("1.")


def test_large_exports_are_written_in_batches_without_losing_a_record(tmp_path):
    records = [Record(title=f"Title {i}", year=2000 + i % 20) for i in range(2345)]
    stream = io.StringIO()
    write_records(records, stream, "ris")
    assert len(rispy.loads(stream.getvalue())) == 2345
    back = ris_round_trip(records, tmp_path)
    assert [r.title for r in back] == [r.title for r in records]
    assert "ER  - \n\nTY  - " in stream.getvalue()
    assert "\n\n\n" not in stream.getvalue()


def test_mesh_terms_are_written_as_keywords(tmp_path):
    record = Record(title="T", keywords=["acne"], mesh_terms=["Acne Vulgaris/*therapy"])
    (back,) = ris_round_trip([record], tmp_path)
    assert back.keywords == ["acne", "Acne Vulgaris/*therapy"]


@pytest.mark.parametrize(
    ("record_type", "written"),
    [(None, "JOUR"), ("CHAP", "CHAP"), ("Journal Article", "JOUR"), ("book", "BOOK"), ("x", "GEN")],
)
def test_record_types_become_ris_types(record_type, written):
    stream = io.StringIO()
    write_records([Record(title="T", record_type=record_type)], stream, "ris")
    assert stream.getvalue().splitlines()[0] == f"TY  - {written}"


# --- content decides the format, not the extension -------------------------------------------


@pytest.mark.parametrize("suffix", [".nbib", ".txt", ".csv", ""])
def test_ris_is_detected_whatever_the_extension(suffix, tmp_path):
    path = tmp_path / f"export{suffix}"
    path.write_bytes((FORMATS / "ris/asreview/pubmed_zotero.ris").read_bytes())
    assert detect_format(path) == "ris"
    assert len(read_records(path)) == 6


# --- bad input ----------------------------------------------------------------------------


RECORD = (
    "TY  - JOUR\nTI  - Blue light for acne: a trial\nAU  - Müller, Jürgen\n"
    "AB  - Café patients – “quoted” – were treated.\nPY  - 2020\nER  - \n\n"
)


def test_truncated_file_rejects_the_cut_record_and_keeps_the_others(tmp_path):
    data = (FORMATS / "ris/asreview/ovid_zotero.ris").read_bytes()
    last_start = data.rindex(b"TY  - JOUR")
    path = tmp_path / "cut.ris"
    path.write_bytes(data[: last_start + 200])
    records, rejections = count_items(path)
    assert len(records) == 5
    (rejection,) = rejections
    assert rejection.position == 6
    assert rejection.line == data[:last_start].count(b"\n") + 1
    assert "truncated" in rejection.reason and "'ER'" in rejection.reason


def test_record_cut_midway_before_the_next_record(tmp_path):
    text = (FORMATS / "ris/asreview/proquest.ris").read_text(encoding="utf-8")
    lines = text.splitlines()
    # Drop the second half of record 2, including its ER line.
    starts = [i for i, line in enumerate(lines) if line.startswith("TY  - ")]
    del lines[starts[1] + 10 : starts[2]]
    path = tmp_path / "damaged.ris"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    items = list(read_file(path))
    assert len(items) == 6
    rejection = items[1]
    assert isinstance(rejection, Rejection)
    assert rejection.position == 2 and rejection.line == starts[1] + 1
    assert f"next record at line {starts[1] + 11}" in rejection.reason
    assert all(isinstance(i, Record) for i in items[:1] + items[2:])


def test_untitled_record_is_kept_and_an_empty_one_rejected_naming_its_line(tmp_path):
    path = tmp_path / "no-title.ris"
    untitled = RECORD.replace("TI  - Blue light for acne: a trial\n", "")
    empty = "TY  - JOUR\nAU  - Müller, Jürgen\nPY  - 2020\nER  - \n\n"
    path.write_text(RECORD + untitled + empty)
    items = list(read_file(path))
    assert isinstance(items[0], Record)
    assert isinstance(items[1], Record) and items[1].title is None and items[1].abstract
    assert isinstance(items[2], Rejection)
    assert (items[2].position, items[2].line) == (3, 14)
    assert "no title, abstract" in items[2].reason
    assert "record 3 (line 14)" in items[2].describe()


def test_record_without_start_tag_is_rejected(tmp_path):
    path = tmp_path / "no-ty.ris"
    path.write_text(RECORD + RECORD.replace("TY  - JOUR\n", ""))
    items = list(read_file(path))
    assert isinstance(items[1], Rejection)
    assert items[1].line == 8 and "no 'TY' start line" in items[1].reason


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
    path = tmp_path / "enc.ris"
    path.write_bytes(bom + (RECORD * 2).encode(encoding))
    assert detect_format(path) == "ris"
    records = read_records(path)
    assert len(records) == 2
    assert records[0].title == "Blue light for acne: a trial"
    assert records[0].authors_raw == ["Müller, Jürgen"]
    assert records[0].abstract == "Café patients – “quoted” – were treated."


def test_mixed_line_endings_give_the_same_records(tmp_path):
    original = records_of("ris/asreview/web_of_science.txt")
    text = (FORMATS / "ris/asreview/web_of_science.txt").read_text(encoding="utf-8")
    path = tmp_path / "mixed.txt"
    path.write_bytes(with_line_endings(text, ["\r\n", "\n", "\r", "\n"]).encode())
    assert [carried_fields(r) for r in read_records(path)] == [carried_fields(r) for r in original]


def test_binary_junk_and_empty_files_are_clear_errors(tmp_path):
    junk = tmp_path / "junk.ris"
    junk.write_bytes(bytes(random.Random(4).randrange(256) for _ in range(5000)))
    with pytest.raises(ImportFileError, match="binary"):
        list(read_file(junk))
    with pytest.raises(ImportFileError, match="binary"):
        list(read_file(junk, "ris"))
    empty = tmp_path / "empty.ris"
    empty.write_bytes(b"")
    with pytest.raises(ImportFileError, match="empty"):
        list(read_file(empty))
    with pytest.raises(ImportFileError, match="no RIS records"):
        list(read_file(empty, "ris"))
    not_ris = tmp_path / "notes.ris"
    not_ris.write_text("just some notes\nabout papers\n")
    with pytest.raises(ImportFileError, match="no RIS records"):
        list(ris_read(not_ris, ReadOptions()))


SAMPLES = samples(*sorted(COUNTS))


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=mutated(SAMPLES))
def test_mutated_samples_raise_nothing_but_import_file_error(data, tmp_path):
    path = tmp_path / "mutated.ris"
    path.write_bytes(data)
    read_damaged(path, None)
    read_damaged(path, "ris")
