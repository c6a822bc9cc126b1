"""BibTeX: real Zotero, Better BibTeX and Google-Scholar-style files, round trips, bad input."""

from __future__ import annotations

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
from metasift.records.formats.bibtex import CARRIED_FIELDS, decode_latex, escape_latex
from metasift.records.model import RECORD_FIELDS, Record
from tests.conftest import FIXTURES

BIB = FIXTURES / "formats" / "bibtex"
ZOTERO = BIB / "ASySD" / "zotero_export.bib"
ROBVIS = BIB / "robvis" / "references.bib"
PYMARE = BIB / "PyMARE" / "references.bib"
# Record counts from tests/fixtures/formats/SOURCES.md.
COUNTS = {ZOTERO: 1000, ROBVIS: 32, PYMARE: 47}


@functools.cache
def parsed(path: Path) -> tuple[Record | Rejection, ...]:
    """Each fixture parsed once per session (read-only use)."""
    return tuple(read_file(path))


def records_of(path: Path) -> list[Record]:
    return [i for i in parsed(path) if isinstance(i, Record)]


@pytest.fixture(scope="module")
def zotero() -> dict[str, Record]:
    return {r.source_id: r for r in records_of(ZOTERO)}


@pytest.mark.parametrize("path", list(COUNTS), ids=lambda p: p.parent.name)
def test_every_entry_is_read_and_the_format_detected(path):
    assert detect_format(path) == "bibtex"
    items = parsed(path)
    assert len(items) == COUNTS[path]
    assert not [i for i in items if isinstance(i, Rejection)]
    assert [i.source_position for i in items] == list(range(1, COUNTS[path] + 1))


def test_zotero_export_fields(zotero):
    first = zotero["larsen_microangiography_1999"]
    assert first.source_position == 1
    # Case-protecting braces ('{Cocker} {Spaniel}') are gone.
    assert first.title == (
        "Microangiography of the humeral condyle in Cocker Spaniel and non-Cocker Spaniel dogs"
    )
    assert first.authors_raw == ["Larsen, LJ", "Roush, JK", "McLaughlin, RM", "Cash, WC"]
    assert first.authors == ["Larsen, L. J.", "Roush, J. K.", "McLaughlin, R. M.", "Cash, W. C."]
    assert (first.year, first.volume, first.issue, first.pages) == (1999, "12", "3", "134-137")
    assert first.journal == "VETERINARY AND COMPARATIVE ORTHOPAEDICS AND TRAUMATOLOGY"
    assert first.doi is None
    assert first.issn == ["0932-0814"]
    assert first.keywords == [
        "blood supply",
        "Cocker Spaniels",
        "FRACTURES",
        "humeral condylar fractures",
        "microangiography",
    ]
    assert (first.language, first.record_type) == ("English", "article")
    # Raw keeps every field as written: the bare month macro, NO-BREAK SPACEs, the raw newline.
    assert first.raw["month"] == "aug"
    assert first.raw["annote"] == (
        "Times Cited in Web of Science Core Collection:\xa0\xa012Total Times Cited:\xa0\xa012"
        "Cited Reference Count:\xa0\xa011"
    )
    assert "healing.\nMicroangiography" in first.raw["abstract"]
    assert "healing. Microangiography was performed" in first.abstract

    survey = zotero["kaimio_survey_2017"]
    assert survey.source_position == 4
    assert survey.doi == "10.1186/s13028-017-0282-3"
    assert survey.issn == ["0044-605X"]
    assert len(survey.keywords) == 12
    assert survey.pages is None
    # \% and {\textless} decoded.
    assert "(149 out of 468, 31.8%, [95% confidence interval 27.6-36.0])" in survey.abstract
    assert "early onset (< 1 year) of OE" in survey.abstract

    undated = zotero["van_poucke_c126c_nodate"]
    assert undated.year is None
    assert undated.title == (
        "The c.126C > A(p.(Cys42Ter)) SLC7A10 nonsense variant is a candidate causative variant "
        "for paradoxical pseudomyotonia in English Cocker and Springer Spaniels"
    )
    assert undated.authors == ["Van Poucke, M.", "Stee, K.", "Lowrie, M.", "Peelman, L."]

    joyce = zotero["joyce_identification_2021"]
    assert "(c.653_654insC, p.Met114Hisfs*16)" in joyce.abstract
    assert joyce.authors[-2:] == ["Oliver, J. A. C.", "Mellersh, C."]

    records = list(zotero.values())
    assert sum(1 for r in records if r.abstract is None) == 224
    assert sum(1 for r in records if r.doi) == 718


def test_better_bibtex_accents_braces_and_corporate_authors():
    records = records_of(ROBVIS)
    by_key = {}
    for r in records:
        by_key.setdefault(r.source_id, r)
    revman = by_key["cochrane2014review"]
    assert revman.title == "Review Manager (RevMan) [Computer Program]"
    assert revman.authors == revman.authors_raw == ["Cochrane Collaboration"]
    assert revman.record_type == "misc"

    chapter = by_key["cochranechpt7"]
    assert chapter.authors_raw[-1] == "Hróbjartsson, Asbjørn"  # Hr{\'o}bjartsson, Asbj{\o}rn
    assert chapter.authors[-1] == "Hróbjartsson, A."
    assert chapter.journal == (
        "Cochrane Handbook for Systematic Reviews of Interventions Version 6.0 "
        "(Updated August 2019)"
    )
    assert chapter.url == "Available from www.training.cochrane.org/handbook."
    assert chapter.raw["publisher"] == "{Cochrane}"

    rob = by_key["higgins2011"]
    assert rob.title == (
        "The Cochrane Collaboration's Tool for Assessing Risk of Bias in Randomised Trials"
    )
    assert rob.authors[2:4] == ["Gøtzsche, P. C.", "Jüni, P."]
    assert rob.authors_raw[6] == "Savović, Jelena"
    assert rob.issn == ["0959-8138", "1468-5833"]
    assert (rob.year, rob.volume, rob.pages, rob.doi) == (2011, "343", "d5928", "10.1136/bmj.d5928")
    # '{$<$}p{$>$}Flaws ...': math decoded, then the HTML tag dropped.
    assert rob.abstract.startswith("Flaws in the design, conduct, analysis")
    assert rob.raw["copyright"].startswith("\\textcopyright{} Higgins et al 2011.")

    # The file repeats the key 'whiting2016robis': both entries are records.
    assert [r.source_id for r in records].count("whiting2016robis") == 2


def test_google_scholar_style_pages_and_accents():
    by_key = {r.source_id: r for r in records_of(PYMARE)}
    fdr = by_key["benjamini2001control"]
    assert fdr.pages == "1165-1188"  # written '1165 -- 1188'
    assert fdr.authors_raw == ["Yoav Benjamini", "Daniel Yekutieli"]
    assert fdr.authors == ["Benjamini, Y.", "Yekutieli, D."]
    assert (fdr.year, fdr.volume, fdr.issue) == (2001, "29", "4")
    assert fdr.journal == "The Annals of Statistics"
    assert fdr.doi == "10.1214/aos/1013699998"
    assert by_key["liptak1958combination"].journal == (
        "A Magyar Tudományos Akadémia Matematikai Kutató Intézetének Közleményei"
    )
    assert by_key["viechtbauer2015comparison"].authors == [
        "Viechtbauer, W.",
        "López-López, J. A.",
        "Sánchez-Meca, J.",
        "Marín-Martínez, F.",
    ]


@pytest.mark.parametrize(
    ("latex", "text"),
    [
        ("Hr{\\'o}bjartsson", "Hróbjartsson"),
        ("Asbj{\\o}rn", "Asbjørn"),
        ("\\textcopyright{} 2020", "© 2020"),
        ("50\\% of {\\textless} 5 \\& {\\textgreater} 2", "50% of < 5 & > 2"),
        ("{{RevMan}} 1--2", "RevMan 1–2"),
        ("$\\alpha$-cells", "α-cells"),
        ('J{\\"u}ni', "Jüni"),
        ("100% sure", "100% sure"),
    ],
)
def test_latex_decoding(latex, text):
    assert decode_latex(latex) == text


def test_escaping_is_undone_by_decoding():
    text = 'a\\b {c} 100% & $5 #1 x_1 ~ ^ <p> "q" é ‐ ©'
    assert decode_latex(escape_latex(text)) == text


def test_entry_fields_from_other_tools(tmp_path):
    path = tmp_path / "x.bib"
    path.write_text(
        "@string{jama = {JAMA}}\n"
        "@article{a, title = {One}, journal = jama, author = {{World Health Organization}},\n"
        "  eprinttype = {pubmed}, eprint = {12345}, date = {2019-05-02}, pmcid = {PMC99},\n"
        "  keywords = {Muscle, Skeletal; Humans}, url = {https://x.org/a%20b_c}}\n"
        "@article{b, title = {Two}, note = {PMID: 777}, author = {Smith, J and others}}\n",
        encoding="utf-8",
    )
    first, second = read_records(path)
    assert first.journal == "JAMA"
    assert first.authors == ["World Health Organization"]
    assert (first.pmid, first.pmcid, first.year) == ("12345", "PMC99", 2019)
    assert first.keywords == ["Muscle, Skeletal", "Humans"]
    assert first.url == "https://x.org/a%20b_c"
    assert second.pmid == "777"
    assert second.authors == ["Smith, J."]


# --- round trips ------------------------------------------------------------------------------

LOCATION = {"source_file", "source_position"}


def _roundtrip(records: list[Record], fmt: str, tmp_path: Path) -> list[Record]:
    out = tmp_path / f"out.{fmt}"
    with out.open("w", encoding="utf-8", newline="") as fh:
        write_records(records, fh, fmt)
    assert detect_format(out) == fmt
    return read_records(out)


@pytest.mark.parametrize("fmt", ["bibtex", "csv", "jsonl"])
@pytest.mark.parametrize("path", list(COUNTS), ids=lambda p: p.parent.name)
def test_round_trip_keeps_every_field_the_format_carries(path, fmt, tmp_path):
    records = records_of(path)
    back = _roundtrip(records, fmt, tmp_path)
    assert len(back) == len(records)
    fields = CARRIED_FIELDS if fmt == "bibtex" else [f for f in RECORD_FIELDS if f not in LOCATION]
    keys_seen: set[str] = set()
    for before, after in zip(records, back, strict=True):
        for name in fields:
            expected = getattr(before, name)
            if fmt == "bibtex" and name == "source_id" and expected in keys_seen:
                # A key the file repeats is made unique, as BibTeX requires.
                assert after.source_id == f"{expected}a"
                continue
            assert getattr(after, name) == expected, (before.source_id, name)
        keys_seen.add(before.source_id)


def test_writer_generates_unique_keys_and_escapes(tmp_path):
    records = [
        Record(title="Effect of A & B on 50% of <cells>", authors=["Doe, J."], year=2020),
        Record(title="Effect of X", authors_raw=["Doe, Jane"], authors=["Doe, J."], year=2020),
        Record(title="Untitled group work", authors_raw=["WHO"], authors=["WHO"]),
        Record(title="A"),
    ]
    buffer = io.StringIO()
    write_records(records, buffer, "bibtex")
    text = buffer.getvalue()
    assert "@misc{doe2020effect," in text and "@misc{doe2020effecta," in text
    assert "{Effect of A \\& B on 50\\% of \\textless{}cells\\textgreater{}}" in text
    path = tmp_path / "w.bib"
    path.write_text(text, encoding="utf-8")
    back = read_records(path)
    assert [r.title for r in back] == [r.title for r in records]
    assert [r.source_id for r in back] == [
        "doe2020effect",
        "doe2020effecta",
        "whountitled",
        "record",
    ]
    assert back[2].authors == ["WHO"]


# --- bad input --------------------------------------------------------------------------------


def _items(path: Path) -> list:
    return list(read_file(path, "bibtex"))


def test_entry_without_title_is_rejected_with_its_line(tmp_path):
    path = tmp_path / "t.bib"
    path.write_text("\n@article{ok, title = {Fine}}\n\n@article{bad,\n author = {X, Y}}\n")
    items = _items(path)
    assert isinstance(items[0], Record)
    assert isinstance(items[1], Rejection)
    assert items[1].line == 4 and "no title" in items[1].reason and "'bad'" in items[1].reason


def test_truncated_file_rejects_the_cut_entry(tmp_path):
    data = PYMARE.read_bytes()
    path = tmp_path / "t.bib"
    path.write_bytes(data[: data.index(b"@article{bonferroni1936teoria") + 80])
    items = _items(path)
    assert [type(i).__name__ for i in items] == ["Record", "Record", "Rejection"]
    assert items[2].line == 27 and "end of file" in items[2].reason


@pytest.mark.parametrize(
    "encoding", ["utf-8-sig", "utf-16", "cp1252"], ids=["bom", "utf16", "cp1252"]
)
def test_encodings(tmp_path, encoding):
    path = tmp_path / "e.bib"
    path.write_bytes("@article{k, title = {Böhning {\\'e}té}}\n".encode(encoding))
    assert detect_format(path) == "bibtex"
    assert [r.title for r in read_records(path)] == ["Böhning été"]


def test_mixed_line_endings(tmp_path):
    path = tmp_path / "m.bib"
    path.write_bytes(b"@article{a,\r\n title={One}}\n@article{b,\r title={Two}}\r\n@article{c,\n}")
    items = _items(path)
    assert [getattr(i, "title", None) for i in items] == ["One", "Two", None]
    assert items[2].line == 5


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "no BibTeX entries"),
        (b"\n\n  \n", "no BibTeX entries"),
        (b"just some text, not a bibliography\n", "no BibTeX entries"),
        (bytes(range(256)) * 8, "binary"),
    ],
)
def test_unreadable_files_raise_import_errors(tmp_path, data, message):
    path = tmp_path / "x.bib"
    path.write_bytes(data)
    with pytest.raises(ImportFileError, match=message):
        _items(path)


# --- property: mutated real files never crash the reader ----------------------------------------

SAMPLES = [PYMARE.read_bytes(), ROBVIS.read_bytes()]


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
            data[at:at] = draw(st.sampled_from([b"{", b"}", b'"', b"@", b",", b"=", b"\\", b"%"]))
        else:
            lines = bytes(data).split(b"\n")
            index = at % len(lines)
            if op == "delete":
                del lines[index]
            else:
                lines.insert(index, lines[index])
            data = bytearray(b"\n".join(lines))
    return bytes(data)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_files_only_raise_import_errors(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.bib"
        path.write_bytes(data)
        try:
            items = list(read_file(path, "bibtex", ReadOptions()))
        except ImportFileError:
            return
        for item in items:
            assert isinstance(item, Record | Rejection)
            if isinstance(item, Rejection):
                assert item.line and item.line >= 1


def test_label_field(tmp_path):
    path = tmp_path / "l.bib"
    path.write_text("@article{a, title={A}, included={yes}}\n@article{b, title={B}}\n")
    options = ReadOptions(label_column="included")
    assert [r.label for r in read_records(path, "bibtex", options)] == [1, None]
