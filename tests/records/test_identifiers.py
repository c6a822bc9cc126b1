"""Identifiers and titles are stored as the source gives them, through every reader.

tests/fixtures/identifiers/identifiers.json holds real DOIs, PMIDs and titles with unusual
characters (SICI DOIs with ``<``, ``>``, ``;`` and brackets, parentheses, percent-encoded
resolver URLs), each with the file of ../shared/data it was taken from. Each is written into a
minimal record of every format a reader exists for and read back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from html import escape
from pathlib import Path

import pytest

from metasift.records.formats import read_file, read_records
from metasift.records.formats.base import Rejection
from metasift.records.normalize import normalize_doi, normalize_pmid
from tests.conftest import shared

CORPUS = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "identifiers" / "identifiers.json").read_text("utf-8")
)
DOIS = [(d["as_written"], d["stored"]) for d in CORPUS["dois"]]
TITLES = [t["as_written"] for t in CORPUS["titles"]]
PMIDS = [(p["as_written"], p["stored"]) for p in CORPUS["pmids"]]


def _csv_cell(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


# Format -> (file name, writer of one record from title, doi, pmid).
WRITERS: dict[str, tuple[str, Callable[[str, str, str], str]]] = {
    "ris": (
        "r.ris",
        lambda t, d, p: f"TY  - JOUR\nTI  - {t}\nDO  - {d}\nAN  - {p}\nPY  - 2000\nER  - \n",
    ),
    "medline": (
        "r.nbib",
        lambda t, d, p: f"PMID- {p}\nOWN - NLM\nTI  - {t}\nLID - {d} [doi]\nDP  - 2000\n\n",
    ),
    "wos": (
        "savedrecs.txt",
        lambda t, d, p: (
            "FN Clarivate Analytics Web of Science\nVR 1.0\n"
            f"PT J\nTI {t}\nDI {d}\nPM {p}\nPY 2000\nER\n\nEF\n"
        ),
    ),
    "bibtex": (
        "r.bib",
        lambda t, d, p: (
            f"@article{{k,\n  title = {{{t}}},\n  doi = {{{d}}},\n  pmid = {{{p}}}\n}}\n"
        ),
    ),
    "csv": (
        "r.csv",
        lambda t, d, p: f"Title,DOI,PMID\n{_csv_cell(t)},{_csv_cell(d)},{_csv_cell(p)}\n",
    ),
    "pubmed-xml": (
        "r.xml",
        lambda t, d, p: (
            '<?xml version="1.0"?>\n<PubmedArticleSet><PubmedArticle><MedlineCitation>'
            f"<PMID>{escape(p)}</PMID><Article><ArticleTitle>{escape(t)}</ArticleTitle>"
            f'<ELocationID EIdType="doi">{escape(d)}</ELocationID></Article>'
            "</MedlineCitation></PubmedArticle></PubmedArticleSet>\n"
        ),
    ),
    "endnote-xml": (
        "r.xml",
        lambda t, d, p: (
            '<?xml version="1.0" encoding="UTF-8" ?><xml><records><record>'
            "<rec-number>1</rec-number><titles><title><style>"
            f"{escape(t)}</style></title></titles><electronic-resource-num><style>"
            f"{escape(d)}</style></electronic-resource-num><accession-num><style>{escape(p)}"
            "</style></accession-num><remote-database-provider><style>NLM</style>"
            "</remote-database-provider></record></records></xml>"
        ),
    ),
    "jsonl": (
        "r.jsonl",
        lambda t, d, p: json.dumps({"title": t, "doi": d, "pmid": p}) + "\n",
    ),
    "openalex": (
        "works.json",
        lambda t, d, p: json.dumps(
            [
                {
                    "id": "https://openalex.org/W1",
                    "title": t,
                    "doi": d,
                    "ids": {"doi": d, "pmid": p},
                    "abstract_inverted_index": None,
                }
            ]
        ),
    ),
}


@pytest.mark.parametrize(("written", "stored"), DOIS)
def test_normalize_doi_keeps_every_character_of_real_dois(written, stored):
    assert normalize_doi(written) == stored
    assert normalize_doi(f"doi:{written}") == stored
    assert normalize_doi(f"{written} [doi]") == stored  # PubMed's LID/AID lines
    assert normalize_doi(f"{written}.") == stored  # the end of a sentence in a note
    assert normalize_doi(f"({written})") == stored  # a DOI given in parentheses


def test_dois_that_differ_only_after_their_angle_bracket_stay_different():
    # Before, both were cut at '<' to 10.1002/(sici)...: different articles shared a DOI.
    a = normalize_doi("10.1002/(SICI)1097-0274(200001)37:1<94::AID-AJIM8>3.0.CO;2-X")
    b = normalize_doi("10.1002/(SICI)1097-0274(200001)37:1<1::AID-AJIM1>3.0.CO;2-Y")
    assert a != b


def test_percent_signs_of_a_bare_doi_are_characters_of_the_name():
    # Percent-encoding is URL syntax: decoded in a resolver URL only.
    assert normalize_doi("10.1000/a%28b") == "10.1000/a%28b"
    assert normalize_doi("https://doi.org/10.1000/a%28b") == "10.1000/a(b"


@pytest.mark.parametrize(("written", "stored"), PMIDS)
def test_normalize_pmid_of_real_values(written, stored):
    assert normalize_pmid(written) == stored


@pytest.mark.parametrize("fmt", sorted(WRITERS))
@pytest.mark.parametrize(("written", "stored"), DOIS)
def test_every_reader_stores_real_dois_whole(tmp_path, fmt, written, stored):
    name, write = WRITERS[fmt]
    path = tmp_path / name
    path.write_text(write(TITLES[0], written, "8707404"), encoding="utf-8")
    (item,) = read_file(path, fmt)
    assert not isinstance(item, Rejection), item.describe()
    assert item.doi == stored
    assert item.title == TITLES[0]


@pytest.mark.parametrize("fmt", sorted(WRITERS))
@pytest.mark.parametrize("title", TITLES)
def test_every_reader_stores_real_titles_as_written(tmp_path, fmt, title):
    name, write = WRITERS[fmt]
    path = tmp_path / name
    path.write_text(write(title, DOIS[0][0], "29657938"), encoding="utf-8")
    (record,) = read_records(path, fmt)
    assert record.title == title
    if fmt not in {"ris", "csv"}:  # no PMID field of their own in these minimal records
        assert record.pmid == "29657938"


@pytest.mark.parametrize(
    ("file", "fmt"),
    [
        ("formats/ris/ASySD/zotero_export.ris", "ris"),
        ("formats/bibtex/ASySD/zotero_export.bib", "bibtex"),
        ("formats/ris/ASySD/wos_test.ris", "ris"),
    ],
)
def test_real_exports_keep_their_sici_dois_whole(file, fmt):
    dois = {r.doi for r in read_records(shared(*file.split("/")), fmt)}
    expected = {d["stored"] for d in CORPUS["dois"] if file in d["source"]}
    assert expected and expected <= dois
    # No DOI was cut at an opening bracket it did not close.
    assert not {d for d in dois if d and d.count("<") != d.count(">")}
