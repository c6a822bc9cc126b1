"""PubMed efetch XML: real samples, pinned fields, broken input, constant memory."""

from __future__ import annotations

import io
import re
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metasift.errors import ImportFileError
from metasift.records.formats import Rejection, detect_format, read_file, read_records
from metasift.records.formats.pubmed_xml import iter_pubmed_xml, parse_efetch
from metasift.records.importing import import_file
from metasift.records.model import Record
from metasift.store import create_db_engine, migrate

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "formats" / "pubmed_xml"
ASREVIEW = FIXTURES / "asreview" / "pubmed.xml"
COMPACT = FIXTURES / "biopython" / "pubmed1.xml"

COUNTS = {
    "asreview/pubmed.xml": 10,
    "biopython/pubmed1.xml": 2,
    "biopython/pubmed4.xml": 1,
    "biopython/pubmed5.xml": 1,
    "biopython/pubmed6.xml": 1,
    "biopython/pubmed7.xml": 1,
}


def _one(name: str, index: int = 0) -> Record:
    return read_records(FIXTURES / name)[index]


@pytest.mark.parametrize(("name", "count"), sorted(COUNTS.items()))
def test_every_sample_imports_with_its_record_count(name, count):
    path = FIXTURES / name
    assert detect_format(path) == "pubmed-xml"
    items = list(read_file(path))
    assert len(items) == count
    assert all(isinstance(item, Record) for item in items)
    assert [item.source_position for item in items] == list(range(1, count + 1))


def test_asreview_first_article():
    record = _one("asreview/pubmed.xml")
    assert record.title == (
        "A new decompression device for treating odontogenic cysts using a silicone tube."
    )
    assert record.abstract is None
    assert record.authors_raw[0] == "Kimura, M" and record.authors[0] == "Kimura, M."
    assert record.authors_raw[-1] == "Umemura, M" and record.authors[-1] == "Umemura, M."
    assert len(record.authors) == 5
    assert record.year == 2019
    assert record.journal == "The British journal of oral & maxillofacial surgery"
    assert record.journal_abbrev == "Br J Oral Maxillofac Surg"
    assert record.doi == "10.1016/j.bjoms.2019.09.011"
    assert record.pmid == "31690499" and record.source_id == "31690499"
    assert record.issn == ["1532-1940", "0266-4356"]
    assert record.keywords == [
        "decompression",
        "marsupialization",
        "odontogenic cysts",
        "silicone tube",
    ]
    assert record.mesh_terms == []
    assert record.language == "eng"
    assert record.publication_types == ["Journal Article"]
    assert record.url == "https://pubmed.ncbi.nlm.nih.gov/31690499/"
    assert record.source_database == "PubMed"
    assert record.raw["Status"] == "Publisher"
    assert record.raw["ELocationID"] == {
        "pii": "S0266-4356(19)30379-1",
        "doi": "10.1016/j.bjoms.2019.09.011",
    }


def test_structured_abstract_keeps_labels_and_mesh_keeps_major_topics():
    record = _one("asreview/pubmed.xml", 2)
    assert record.pmid == "25371100"
    assert record.title.startswith("Keratocystic odontogenic tumor arising at the mandibular")
    assert record.abstract.startswith(
        "OBJECTIVES: To consider the biologic behaviors of keratocystic odontogenic tumor"
    )
    assert " METHODS: " in record.abstract and " RESULTS: " in record.abstract
    assert record.abstract.endswith("determine the optimal treatment strategy.")
    assert (record.volume, record.issue, record.pages, record.year) == ("34", "1", "58-63", 2016)
    assert record.doi == "10.1179/2151090314y.0000000035"
    assert record.authors_raw[0] == "Kimura, Takashi" and record.authors[0] == "Kimura, T."
    assert record.authors_raw[-1] == "Sano, Kazuo" and record.authors[-1] == "Sano, K."
    assert len(record.mesh_terms) == 21
    assert record.mesh_terms[:2] == ["Adipose Tissue", "Ameloblastoma"]
    assert record.raw["MeshHeadingList"][:2] == [
        "Adipose Tissue/diagnostic imaging/pathology",
        "Ameloblastoma/pathology",
    ]
    assert record.publication_types == ["Case Reports", "Journal Article"]


def test_medline_date_gives_the_year():
    record = _one("asreview/pubmed.xml", 3)
    assert record.raw["PubDate"] == "2014 Jan-Apr"
    assert record.year == 2014
    assert record.raw["MeshHeadingList"][0] == (
        "Dentigerous Cyst/*diagnosis/diagnostic imaging/surgery"
    )


def test_old_untranslated_article():
    record = _one("asreview/pubmed.xml", 9)
    assert record.title == "[Abrasion of blind cysts]."
    assert (record.pmid, record.year, record.language) == ("5249350", 1968, "jpn")
    assert record.doi is None
    assert record.raw["MeshHeadingList"] == ["Humans", "Methods", "Periodontal Cyst/*surgery"]


def test_inline_markup_labels_and_copyright():
    record = _one("biopython/pubmed4.xml")
    assert record.title == (
        "Leucocyte telomere length, genetic variants at the TERT gene region and risk of "
        "pancreatic cancer."
    )
    sections = re.findall(r"\b(OBJECTIVE|DESIGN|RESULTS|CONCLUSIONS): ", record.abstract)
    assert sections == ["OBJECTIVE", "DESIGN", "RESULTS", "CONCLUSIONS"]
    assert "95% CI 1.07 to 2.78; ptrend=0.048" in record.abstract
    assert "BMJ" not in record.abstract
    assert record.raw["CopyrightInformation"].startswith("Published by the BMJ Publishing Group")
    assert [s["Label"] for s in record.raw["AbstractText"]] == [
        "OBJECTIVE",
        "DESIGN",
        "RESULTS",
        "CONCLUSIONS",
    ]
    # Its 49 comments/corrections name other articles: their ids are not this one's.
    assert (record.pmid, record.pmcid) == ("27797938", "PMC5442267")
    assert record.doi == "10.1136/gutjnl-2016-312510"
    assert len(record.authors) == 22
    assert (record.authors_raw[0], record.authors[0]) == ("Bao, Ying", "Bao, Y.")
    assert (record.authors_raw[-1], record.authors[-1]) == ("Wolpin, Brian M", "Wolpin, B. M.")
    assert record.raw["AuthorList"][0]["Affiliation"][0].startswith("Channing Division")
    assert len(record.mesh_terms) == 21
    assert record.raw["MeshHeadingList"][0] == "Adenocarcinoma/*epidemiology/*genetics"


def test_mathml_is_flattened_to_its_symbols():
    record = _one("biopython/pubmed6.xml")
    assert record.title.startswith('A "Blood Relationship" Between the Overlooked Minimum')
    assert "maximal oxygen uptake ( V.O2max ) 67.6 ± 4.1 ml·kg-1·min-1]" in record.abstract
    assert "(LEmin)" in record.abstract and "<" not in record.abstract.replace("P < 0.001", "")
    assert record.doi == "10.3389/fphys.2018.01034"
    assert record.year == 2018


def test_underline_and_subscripts_in_a_structured_abstract():
    record = _one("biopython/pubmed5.xml")
    assert record.title == (
        "Occupational pesticide exposure and subclinical hypothyroidism among male pesticide "
        "applicators."
    )
    assert record.abstract.startswith("OBJECTIVES: Animal studies suggest")
    assert "(ORQ3=4.15, 95% CI 1.56 to 11.01" in record.abstract
    assert record.raw["CopyrightInformation"].startswith("© Article author(s)")


def test_group_author_is_kept_as_written():
    record = _one("biopython/pubmed7.xml")
    assert record.authors[-2:] == ["Parraga, G.", "Canadian Respiratory Research Network"]
    assert record.authors_raw[-1] == "Canadian Respiratory Research Network"
    assert record.pmcid == "PMC6022861"


def test_author_identifiers_affiliations_and_names_printed_in_error():
    page = b"""<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>7</PMID><Article>
    <ArticleTitle>T</ArticleTitle><AuthorList>
    <Author><LastName>Roe</LastName><ForeName>Ann</ForeName><Initials>A</Initials>
      <Identifier Source="ORCID">0000-0002-1825-0097</Identifier>
      <AffiliationInfo><Affiliation>Dept <i>A</i>, Oslo.</Affiliation>
        <Identifier Source="ROR">https://ror.org/01xtthb56</Identifier></AffiliationInfo>
      <AffiliationInfo><Affiliation>Dept B, Bergen.</Affiliation></AffiliationInfo></Author>
    <Author ValidYN="N"><LastName>Wrong</LastName><Initials>W</Initials></Author>
    <Author><CollectiveName>The <i>X</i> Group</CollectiveName></Author>
    </AuthorList></Article></MedlineCitation></PubmedArticle></PubmedArticleSet>"""
    (record,) = parse_efetch(page)
    assert record.authors_raw == ["Roe, Ann", "The X Group"]
    assert record.authors == ["Roe, A.", "The X Group"]
    assert record.raw["AuthorList"] == [
        {
            "LastName": "Roe",
            "ForeName": "Ann",
            "Initials": "A",
            "Identifier": ["ORCID: 0000-0002-1825-0097"],
            "Affiliation": ["Dept A, Oslo.", "Dept B, Bergen."],
        },
        {"LastName": "Wrong", "Initials": "W", "ValidYN": "N"},
        {"CollectiveName": "The X Group"},
    ]


def test_compact_file_and_second_article():
    first, second = read_records(COMPACT)
    assert first.title == "The treatment of AIDS behind the walls of correctional facilities."
    assert (first.authors_raw, first.authors) == (["Olivero, J Michael"], ["Olivero, J. M."])
    assert (first.year, first.pages, first.volume, first.issue) == (1990, "113-25", "17", "1")
    assert len(first.mesh_terms) == 19
    assert "*Acquired Immunodeficiency Syndrome" in first.raw["MeshHeadingList"]
    assert second.pmid == "9997" and second.doi == "10.1016/0005-2795(76)90109-4"
    assert second.authors == ["Strekas, T. C."]


BOOK = b"""<?xml version="1.0"?>
<PubmedArticleSet>
<PubmedBookArticle>
  <BookDocument>
    <PMID Version="1">20301295</PMID>
    <ArticleIdList><ArticleId IdType="bookaccession">NBK1116</ArticleId></ArticleIdList>
    <Book>
      <Publisher><PublisherName>University of Washington, Seattle</PublisherName>
        <PublisherLocation>Seattle (WA)</PublisherLocation></Publisher>
      <BookTitle book="gene">GeneReviews<sup>&#xae;</sup></BookTitle>
      <PubDate><Year>1993</Year></PubDate>
      <AuthorList Type="editors">
        <Author><LastName>Adam</LastName><ForeName>Margaret P</ForeName><Initials>MP</Initials>
        </Author>
      </AuthorList>
    </Book>
    <LocationLabel Type="chapter">Alpha-Thalassemia</LocationLabel>
    <ArticleTitle book="gene" part="a-thal">Alpha-Thalassemia</ArticleTitle>
    <Language>eng</Language>
    <AuthorList Type="authors">
      <Author><LastName>Tamary</LastName><ForeName>Hannah</ForeName><Initials>H</Initials>
      </Author>
    </AuthorList>
    <PublicationType UI="D016454">Review</PublicationType>
    <Abstract><AbstractText Label="CLINICAL CHARACTERISTICS">Alpha-thalassemia has two
      clinically significant forms.</AbstractText></Abstract>
  </BookDocument>
  <PubmedBookData>
    <PublicationStatus>ppublish</PublicationStatus>
    <ArticleIdList><ArticleId IdType="pubmed">20301295</ArticleId></ArticleIdList>
  </PubmedBookData>
</PubmedBookArticle>
</PubmedArticleSet>
"""


def test_bookshelf_documents_are_records():
    (record,) = parse_efetch(BOOK)
    assert record.record_type == "Book Section"
    assert record.title == "Alpha-Thalassemia"
    assert record.raw["BookTitle"] == "GeneReviews®"
    assert record.pmid == "20301295" and record.year == 1993
    assert record.authors == ["Tamary, H."] and record.raw["EditorList"][0]["LastName"] == "Adam"
    assert record.abstract == (
        "CLINICAL CHARACTERISTICS: Alpha-thalassemia has two clinically significant forms."
    )
    assert record.publication_types == ["Review"]
    assert record.raw["ArticleIdList"]["bookaccession"] == "NBK1116"


def test_in_memory_efetch_page_matches_the_file():
    from_bytes = parse_efetch(ASREVIEW.read_bytes())
    from_file = read_records(ASREVIEW)
    assert [r.pmid for r in from_bytes] == [r.pmid for r in from_file]
    assert [r.abstract for r in from_bytes] == [r.abstract for r in from_file]
    assert [i.source_position for i in from_bytes if isinstance(i, Record)] == [None] * 10


# -- broken input -----------------------------------------------------------------------------
ALL_PMIDS = [r.pmid for r in read_records(ASREVIEW)]
ARTICLE_LINES = [
    i + 1 for i, line in enumerate(ASREVIEW.read_bytes().split(b"\n")) if b"<PubmedArticle>" in line
]


def _items(data: bytes) -> list[Record | Rejection]:
    return list(iter_pubmed_xml(io.BytesIO(data)))


def test_truncated_file_keeps_complete_articles_and_names_the_broken_one():
    data = ASREVIEW.read_bytes()
    items = _items(data[: len(data) // 2])
    *records, broken = items
    assert [r.pmid for r in records] == ALL_PMIDS[:4]
    assert isinstance(broken, Rejection)
    assert broken.line == ARTICLE_LINES[4] == 647
    assert "cut short" in broken.reason and "line 779" in broken.reason


def test_malformed_article_is_rejected_and_the_rest_read():
    data = ASREVIEW.read_bytes().replace(b"Journal of oral", b"Journal & oral", 1)
    items = _items(data)
    assert [getattr(i, "pmid", None) for i in items] == [ALL_PMIDS[0], None, *ALL_PMIDS[2:]]
    assert items[1].line == ARTICLE_LINES[1] and "EntityRef" in items[1].reason


def test_damaged_start_tag_is_reported_in_place():
    lines = ASREVIEW.read_bytes().split(b"\n")
    del lines[ARTICLE_LINES[3] - 1]
    items = _items(b"\n".join(lines))
    assert len(items) == 10
    assert isinstance(items[3], Rejection) and items[3].line == ARTICLE_LINES[3]
    assert [getattr(i, "pmid", None) for i in items[4:]] == ALL_PMIDS[4:]


def test_broken_article_in_one_line_compact_output():
    data = COMPACT.read_bytes().replace(b"<AuthorList", b"<Author<List", 1)
    broken, record = _items(data)
    assert isinstance(broken, Rejection) and broken.line == 4
    assert record.pmid == "9997"


def test_concatenated_efetch_pages_are_all_read():
    assert [r.pmid for r in _items(ASREVIEW.read_bytes() * 2)] == ALL_PMIDS * 2


# -- damage confined to one article of ten: it alone is rejected, in place ---------------------
TEN = ASREVIEW.read_bytes()
TEN_ARTICLES = [
    m.span() for m in re.finditer(rb"<PubmedArticle>.*?</PubmedArticle>", TEN, re.DOTALL)
]
TEN_RECORDS = [r.to_dict() for r in _items(TEN)]


def _damage_article(number: int, damage) -> bytes:  # type: ignore[no-untyped-def]
    start, end = TEN_ARTICLES[number - 1]
    return TEN[:start] + damage(TEN[start:end]) + TEN[end:]


def _title_text(article: bytes, new: bytes) -> bytes:
    """``article`` with ``new`` put at the start of its title's text."""
    at = article.index(b"<ArticleTitle>") + len(b"<ArticleTitle>")
    return article[:at] + new + article[at:]


DAMAGES = {
    "unclosed title": lambda a: a.replace(b"</ArticleTitle>", b"", 1),
    "Latin-1 byte": lambda a: _title_text(a, b"Caf\xe9 "),
    "stray <": lambda a: _title_text(a, b"a < b "),
    "undeclared entity": lambda a: _title_text(a, b"&nbsp;"),
    "damaged start tag": lambda a: a.replace(b"<PubmedArticle>", b"<PubmedArticl>", 1),
    "damaged end tag": lambda a: a.replace(b"</PubmedArticle>", b"</PubmedArticlx>", 1),
    "lost end tag": lambda a: a.replace(b"</PubmedArticle>", b"", 1),
    "unclosed MedlineCitation": lambda a: a.replace(b"</MedlineCitation>", b"", 1),
}


@pytest.mark.parametrize("number", [1, 5, 10])
@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_one_damaged_article_costs_only_itself(damage, number):
    items = _items(_damage_article(number, DAMAGES[damage]))
    assert len(items) == 10
    broken = items[number - 1]
    assert isinstance(broken, Rejection)
    assert broken.line == ARTICLE_LINES[number - 1]
    assert broken.reason.startswith(("the XML of this record is broken", "<PubmedArticl>"))
    if damage == "Latin-1 byte":
        assert "byte 0xE9" in broken.reason and "not UTF-8" in broken.reason
    others = [i.to_dict() for n, i in enumerate(items, start=1) if n != number]
    assert others == [r for n, r in enumerate(TEN_RECORDS, start=1) if n != number]


def test_import_of_ten_articles_with_the_fifth_damaged_names_the_fifth(tmp_path):
    path = tmp_path / "ten.xml"
    path.write_bytes(_damage_article(5, DAMAGES["unclosed title"]))
    engine = create_db_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
    migrate(engine)
    summary = import_file(engine, path)
    assert (summary.read, summary.imported, summary.rejected) == (10, 9, 1)
    (rejection,) = summary.rejections
    assert (rejection.position, rejection.line) == (5, ARTICLE_LINES[4])
    assert "ArticleTitle" in rejection.reason


@pytest.mark.parametrize(
    ("container", "kept"),
    [
        ('<PubmedArticleSet xmlns:mml="http://www.w3.org/1998/Math/MathML">', 2),
        # A damaged container start tag: the records are read without it.
        ("<PubmedArticleSet xmlns:mml>", 1),
    ],
)
def test_records_are_read_inside_the_container_start_tag(container, kept):
    math = "<ArticleTitle>Mass <mml:math><mml:mi>m</mml:mi></mml:math></ArticleTitle>"
    data = (
        container
        + "\n"
        + ARTICLE.format(pmid="1", title=math)
        + "\n"
        + ARTICLE.format(pmid="2", title="<ArticleTitle>Plain</ArticleTitle>")
        + "\n</PubmedArticleSet>\n"
    ).encode()
    items = _items(data)
    assert len(items) == 2 and items[1].title == "Plain"
    assert sum(isinstance(i, Record) for i in items) == kept
    if kept == 2:
        assert items[0].title == "Mass m"
    else:
        assert "mml" in items[0].reason and items[0].line == 2


def test_entities_declared_in_the_doctype_are_never_expanded(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-CONTENT", encoding="utf-8")
    laughs = "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' if i else '<!ENTITY lol0 "lol">'
        for i in range(10)
    )
    data = (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE PubmedArticleSet [<!ENTITY xxe SYSTEM "{secret.as_uri()}">{laughs}]>\n'
        "<PubmedArticleSet>\n"
        + ARTICLE.format(pmid="1", title="<ArticleTitle>&xxe;</ArticleTitle>")
        + "\n"
        + ARTICLE.format(pmid="2", title="<ArticleTitle>&lol9;</ArticleTitle>")
        + "\n"
        + ARTICLE.format(pmid="3", title="<ArticleTitle>Kept</ArticleTitle>")
        + "\n</PubmedArticleSet>\n"
    ).encode()
    xxe, bomb, kept = _items(data)
    assert isinstance(xxe, Rejection) and "Entity 'xxe' not defined" in xxe.reason
    assert isinstance(bomb, Rejection) and "Entity 'lol9' not defined" in bomb.reason
    assert kept.title == "Kept"
    assert "SECRET" not in repr([xxe, bomb, kept.to_dict()])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 10), st.integers(0, 10**6), st.integers(1, 255))
def test_a_changed_byte_in_one_article_leaves_the_others_intact(number, at, value):
    def flip(article: bytes) -> bytes:
        where = at % len(article)
        return article[:where] + bytes([value]) + article[where + 1 :]

    # (A NUL byte in the first 4 KiB makes the file binary: not a record's damage.)
    items = _items(_damage_article(number, flip))
    before, after = TEN_RECORDS[: number - 1], TEN_RECORDS[number:]
    head, tail = items[: len(before)], items[len(items) - len(after) :]
    assert [i.to_dict() for i in head] == before
    assert [i.to_dict() for i in tail] == after
    # The changed article: itself (read or rejected), or two rejections when the change made
    # a record start tag of its end tag ("<</PubmedArticle>" -> "<<PubmedArticle>").
    assert 1 <= len(items) - len(before) - len(after) <= 2


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le"])
def test_bom_and_utf16_files(tmp_path, encoding):
    path = tmp_path / "pubmed.xml"
    text = ASREVIEW.read_text(encoding="utf-8")
    if encoding == "utf-16-le":
        text = text.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>')
    path.write_bytes(text.encode(encoding))
    assert detect_format(path) == "pubmed-xml"
    records = read_records(path)
    assert [r.pmid for r in records] == ALL_PMIDS
    assert records[1].journal_abbrev == "J. Oral Maxillofac. Surg."


def test_latin1_declared_file(tmp_path):
    path = tmp_path / "latin1.xml"
    text = COMPACT.read_text(encoding="utf-8").replace(
        '<?xml version="1.0" ?>', '<?xml version="1.0" encoding="ISO-8859-1"?>'
    )
    text = text.replace("Olivero", "Olivéro")
    path.write_bytes(text.encode("latin-1"))
    assert read_records(path)[0].authors == ["Olivéro, J. M."]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"  \n", "empty"),
        (bytes(range(256)) * 8, "binary"),
        (b"this is not xml at all", "not readable as XML"),
        (b"<xml><records><record/></records></xml>", "no <PubmedArticle> records"),
    ],
)
def test_unreadable_files_raise_import_file_error(tmp_path, data, message):
    path = tmp_path / "bad.xml"
    path.write_bytes(data)
    with pytest.raises(ImportFileError, match=message) as error:
        list(read_file(path, "pubmed-xml"))
    assert str(path) in str(error.value)


ARTICLE = (
    '<PubmedArticle><MedlineCitation Status="MEDLINE"><PMID Version="1">{pmid}</PMID>'
    "<Article><Journal><Title>Journal</Title></Journal>{title}</Article></MedlineCitation>"
    "</PubmedArticle>"
)


def test_article_without_title_or_identifier(tmp_path):
    data = (
        "<PubmedArticleSet>\n"
        + ARTICLE.format(pmid="11", title="<ArticleTitle>Kept</ArticleTitle>")
        + "\n"
        + ARTICLE.format(pmid="12", title="")
        + "\n"
        + ARTICLE.format(pmid="", title="")
        + "\n</PubmedArticleSet>\n"
    )
    path = tmp_path / "three.xml"
    path.write_text(data, encoding="utf-8")
    kept, untitled, empty = read_file(path)
    assert kept.title == "Kept"
    assert untitled.pmid == "12" and untitled.title is None
    assert isinstance(empty, Rejection) and empty.line == 4 and "no title, abstract" in empty.reason
    engine = create_db_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
    migrate(engine)
    summary = import_file(engine, path)
    # The untitled article with a PMID is kept and counted; only the empty one is rejected.
    assert (summary.read, summary.imported, summary.rejected) == (3, 2, 1)
    assert [(r.position, r.line) for r in summary.rejections] == [(3, 4)]
    assert summary.untitled == 1


def test_unread_parts_are_skipped_without_moving_positions():
    # Reference lists, comments/corrections, history are blanked before parsing: an error
    # after them is still reported at its true line.
    lines = (FIXTURES / "biopython" / "pubmed4.xml").read_bytes().split(b"\n")
    assert b"<History>" in lines[787] and b"PublicationStatus" in lines[830]
    lines[830] = lines[830].replace(b"</PublicationStatus>", b"</PublicationStatux>")
    (broken,) = _items(b"\n".join(lines))
    assert isinstance(broken, Rejection) and broken.line == 4
    assert "line 831" in broken.reason


def test_damaged_reference_list_end_costs_only_its_article():
    one = (FIXTURES / "biopython" / "pubmed7.xml").read_bytes()
    body = re.search(rb"<PubmedArticle>.*</PubmedArticle>", one, re.DOTALL).group(0)
    damaged = body.replace(b"</ReferenceList>", b"</ReferenceLisx>")
    nested = body.replace(
        b"<ReferenceList>", b"<ReferenceList><ReferenceList><Title>Part</Title></ReferenceList>"
    )
    data = (
        b"<PubmedArticleSet>\n" + damaged + b"\n" + body + b"\n" + nested + b"\n</PubmedArticleSet>"
    )
    broken, record, with_nested = _items(data)
    assert isinstance(broken, Rejection) and broken.line == 2
    assert record.pmid == with_nested.pmid == "29963580"
    assert record.to_dict() == with_nested.to_dict()


# -- property tests: mutated samples -----------------------------------------------------------
SMALL = COMPACT.read_bytes()
PRETTY = ASREVIEW.read_bytes()[:20_000] + b"</PubmedArticle></PubmedArticleSet>"


def _mutations() -> st.SearchStrategy[bytes]:
    def flip(data: bytes, at: int, value: int) -> bytes:
        at %= len(data)
        return data[:at] + bytes([value]) + data[at + 1 :]

    def lines_op(data: bytes, at: int, dup: bool) -> bytes:
        lines = data.split(b"\n")
        at %= len(lines)
        lines[at : at + 1] = [lines[at]] * 2 if dup else []
        return b"\n".join(lines)

    source = st.sampled_from([SMALL, PRETTY])
    return st.one_of(
        st.builds(flip, source, st.integers(0, 10**6), st.integers(0, 255)),
        st.builds(lambda d, n: d[: n % len(d)], source, st.integers(0, 10**6)),
        st.builds(lines_op, source, st.integers(0, 10**4), st.booleans()),
        st.builds(
            lambda d, a, b: d[: a % len(d)] + d[b % len(d) :],
            source,
            st.integers(0, 10**6),
            st.integers(0, 10**6),
        ),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutations())
def test_mutated_input_raises_nothing_but_import_file_error(data):
    try:
        items = _items(data)
    except ImportFileError:
        return
    assert all(isinstance(item, Record | Rejection) for item in items)
    assert all(item.line is None or item.line >= 1 for item in items if isinstance(item, Rejection))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, len(PRETTY) - 1))
def test_truncation_keeps_exactly_the_complete_articles_before_the_cut(cut):
    data = ASREVIEW.read_bytes()[:cut]
    try:
        items = _items(data)
    except ImportFileError:
        return
    pmids = [i.pmid for i in items if isinstance(i, Record)]
    assert pmids == ALL_PMIDS[: len(pmids)]
    assert sum(isinstance(i, Rejection) for i in items) <= 1


class _OneWay(io.RawIOBase):
    """A stream that cannot be read twice (a pipe): its lines are counted as it is read."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _summary(items: list[Record | Rejection]) -> list:
    return [
        (i.position, i.line, i.reason) if isinstance(i, Rejection) else i.to_dict() for i in items
    ]


def _read_as(data: bytes, pipe: bool, read: int, block: int) -> list | str:
    """What ``data`` gives as a file or a pipe, read and parsed in pieces of the sizes given."""
    from metasift.records.formats import xmlstream

    sizes = xmlstream._READ, xmlstream._BLOCK
    xmlstream._READ, xmlstream._BLOCK = read, block
    stream = io.BufferedReader(_OneWay(data)) if pipe else io.BytesIO(data)
    try:
        return _summary(list(iter_pubmed_xml(stream)))
    except ImportFileError as exc:
        return str(exc)
    finally:
        xmlstream._READ, xmlstream._BLOCK = sizes


def _every_way(data: bytes) -> list[list | str]:
    """What a file and a pipe give, read a megabyte at a time and a few bytes at a time."""
    return [
        _read_as(data, pipe, read, block)
        for pipe in (False, True)
        for read, block in ((1 << 20, 128 << 10), (61, 700))
    ]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutations())
def test_damaged_input_reads_the_same_from_a_file_or_a_pipe_in_any_pieces(data):
    first, *others = _every_way(data)
    assert all(other == first for other in others)


def test_long_file_with_deletions_at_the_end_read_in_small_pieces():
    articles = re.findall(rb"<PubmedArticle>.*?</PubmedArticle>", ASREVIEW.read_bytes(), re.DOTALL)
    untitled = ARTICLE.format(pmid="", title="").encode()
    # Past line 65535, where libxml2 stops counting lines in a parse of its own.
    body = b"\n".join([*articles * 110, untitled, articles[0]])
    deletion = b"<DeleteCitation><PMID Version='1'>123</PMID></DeleteCitation>"
    data = b'<?xml version="1.0"?>\n<PubmedArticleSet>\n' + body + b"\n" + deletion
    data += b"\n</PubmedArticleSet>\n"
    from_file = _read_as(data, False, 8 * 1024, 4 * 1024)
    *records, rejection, last = from_file
    assert [r["pmid"] for r in [*records, last]] == [*ALL_PMIDS * 110, ALL_PMIDS[0]]
    assert rejection[1] == data.count(b"\n", 0, data.index(untitled)) + 1 > 70_000
    assert _read_as(data, True, 8 * 1024, 4 * 1024) == from_file


# -- constant memory ---------------------------------------------------------------------------
def _write_articles(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("<?xml version='1.0'?>\n<PubmedArticleSet>\n")
        for i in range(n):
            title = f"<ArticleTitle>Article {i} on <i>telomere</i> length</ArticleTitle>"
            out.write(ARTICLE.format(pmid=30_000_000 + i, title=title) + "\n")
        out.write("</PubmedArticleSet>\n")


def _peak_while_streaming(path: Path) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = sum(1 for _ in read_file(path, "pubmed-xml"))
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_as_the_file_grows(tmp_path, monkeypatch):
    from metasift.records.formats import xmlstream

    # Small reads, so that both files are many reads long.
    monkeypatch.setattr(xmlstream, "_READ", 64 * 1024)
    small, large = tmp_path / "small.xml", tmp_path / "large.xml"
    _write_articles(small, 2_000)
    _write_articles(large, 20_000)
    assert large.stat().st_size > 10 * small.stat().st_size > 20 * 192 * 1024
    n_small, peak_small = _peak_while_streaming(small)
    n_large, peak_large = _peak_while_streaming(large)
    assert (n_small, n_large) == (2_000, 20_000)
    # Ten times the articles, the same peak: only the records not parsed yet are held.
    assert peak_large < peak_small * 1.2
    assert peak_large < 2 * 1024 * 1024
