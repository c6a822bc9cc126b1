"""PubMed XML (efetch ``PubmedArticleSet``): journal articles and Bookshelf documents.

Streams with lxml iterparse (see :mod:`.xmlstream`), so a 2 GB file imports in constant
memory, and a broken or truncated article costs only that article. The same parser reads an
efetch page held in memory (:func:`parse_efetch`), which the live PubMed search client reuses.

Field choices:

* titles and abstracts flatten inline markup (``<i>``, ``<sub>``, ``<sup>``, ``<u>``) and
  MathML to plain text; structured abstracts keep their labels ("BACKGROUND: ... METHODS:
  ..."); CopyrightInformation stays out of the abstract (it is in ``raw``);
* ``authors_raw`` holds "LastName, ForeName" (as MEDLINE's FAU), ``authors`` its normal form;
  group authors (CollectiveName) are kept as written;
* identifiers come from the article's own MedlineCitation and PubmedData only, never from
  its reference list or comments/corrections, which name other articles;
* ``raw`` keeps the bibliographic fields under PubMed's element names, with MeSH headings in
  MEDLINE notation (``*Descriptor/qualifier/*major qualifier``).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from lxml import etree

from metasift.errors import ImportFileError
from metasift.records.formats.base import ReadItem, ReadOptions, Rejection
from metasift.records.formats.xmlstream import Broken, XmlLayout, iter_record_elements
from metasift.records.model import Record
from metasift.records.normalize import (
    clean_text,
    normalize_author,
    normalize_doi,
    normalize_pmcid,
    normalize_pmid,
    parse_year,
    record_has_content,
)

NAME = "pubmed-xml"
EXTENSIONS = (".xml",)
SOURCE_DATABASE = "PubMed"

LAYOUT = XmlLayout(
    container="PubmedArticleSet",
    records=("PubmedArticle", "PubmedBookArticle"),
    resume_prefix=b"<PubmedArticleSet>",
    ignore=frozenset({"DeleteCitation", "DeleteDocument"}),
    record_starts=(b"<PubmedArticle", b"<PubmedBookArticle"),
)

_MATHML = "{http://www.w3.org/1998/Math/MathML}"


def sniff(head: str, path: Path) -> int:
    if "<PubmedArticleSet" in head:
        return 95
    if "<PubmedArticle>" in head or "<PubmedArticle " in head or "<PubmedBookArticle" in head:
        return 85
    return 0


# -- text ----------------------------------------------------------------------------------
def _flat(element: etree._Element) -> str:
    """Text of ``element`` with inline markup dropped and MathML squeezed to its symbols."""
    parts = [element.text or ""]
    for child in element:
        tag = child.tag
        if isinstance(tag, str):
            if tag.startswith(_MATHML) or tag.startswith("mml:") or tag == "math":
                # Pretty-printed MathML puts every symbol on its own indented line.
                parts.append("".join(t.strip() for t in child.itertext()))
            else:
                parts.append(_flat(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _text(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    if len(element):
        return clean_text(_flat(element))
    return clean_text(element.text)


def _texts(elements: Any) -> list[str]:
    return [t for t in (_text(e) for e in elements) if t]


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


# -- parts of an article ----------------------------------------------------------------------
def _abstract(abstract: etree._Element | None, raw: dict[str, Any]) -> str | None:
    if abstract is None:
        return None
    sections: list[str] = []
    raw_sections: list[dict[str, str]] = []
    for part in abstract.iterfind("AbstractText"):
        text = _text(part)
        label = part.get("Label")
        if text is None and not label:
            continue
        section = {"text": text or ""}
        if label:
            section["Label"] = label
            if part.get("NlmCategory"):
                section["NlmCategory"] = part.get("NlmCategory")
            sections.append(f"{label}: {text}" if text else f"{label}:")
        else:
            sections.append(text or "")
        raw_sections.append(section)
    if raw_sections:
        raw["AbstractText"] = raw_sections
    copyright_text = _text(abstract.find("CopyrightInformation"))
    if copyright_text:
        raw["CopyrightInformation"] = copyright_text
    return " ".join(s for s in sections if s) or None


def _people(
    author_list: etree._Element | None,
) -> tuple[list[str], list[str], list[dict[str, Any]]]:
    """Names as read ("Last, ForeName"), their normal forms, and every author's details."""
    names: list[str] = []
    normal: list[str] = []
    details: list[dict[str, Any]] = []
    if author_list is None:
        return names, normal, details
    for author in author_list.iterfind("Author"):
        info: dict[str, Any] = {}
        for child in author:
            tag = child.tag
            if tag in ("LastName", "ForeName", "Initials", "Suffix", "CollectiveName"):
                value = _text(child)
                if value:
                    info[tag] = value
            elif tag == "AffiliationInfo":
                affiliation = _text(child.find("Affiliation"))
                if affiliation:
                    info.setdefault("Affiliation", []).append(affiliation)
            elif tag == "Identifier":
                value = _text(child)
                if value:
                    info.setdefault("Identifier", []).append(f"{child.get('Source')}: {value}")
        details.append(info)
        if author.get("ValidYN") == "N":
            # NLM marks names printed in error; PubMed does not list them either.
            info["ValidYN"] = "N"
            continue
        last = info.get("LastName")
        if last:
            given = info.get("ForeName") or info.get("Initials")
            name = f"{last}, {given}" if given else last
            if info.get("Suffix"):
                name += f", {info['Suffix']}"
            names.append(name)
            normal.append(normalize_author(name) or name)
        elif info.get("CollectiveName"):
            names.append(info["CollectiveName"])
            normal.append(info["CollectiveName"])
    return names, normal, details


def _authors(author_list: etree._Element | None, record: Record, raw: dict[str, Any]) -> None:
    record.authors_raw, record.authors, details = _people(author_list)
    _put(raw, "AuthorList", details)


def _mesh(mesh_list: etree._Element | None, record: Record, raw: dict[str, Any]) -> None:
    if mesh_list is None:
        return
    terms: list[str] = []
    marked: list[str] = []
    for heading in mesh_list.iterfind("MeshHeading"):
        descriptor = heading.find("DescriptorName")
        name = _text(descriptor)
        if not name:
            continue
        terms.append(name)
        star = "*" if descriptor.get("MajorTopicYN") == "Y" else ""
        entry = star + name
        for qualifier in heading.iterfind("QualifierName"):
            q = _text(qualifier)
            if q:
                entry += "/" + ("*" if qualifier.get("MajorTopicYN") == "Y" else "") + q
        marked.append(entry)
    record.mesh_terms = terms
    if marked:
        raw["MeshHeadingList"] = marked


def _date(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    medline = element.findtext("MedlineDate")
    if medline:
        return medline.strip()
    parts = [element.findtext(t) for t in ("Year", "Season", "Month", "Day")]
    return " ".join(p.strip() for p in parts if p and p.strip()) or None


def _ids(id_list: etree._Element | None) -> dict[str, str]:
    if id_list is None:
        return {}
    ids: dict[str, str] = {}
    for article_id in id_list.iterfind("ArticleId"):
        kind = article_id.get("IdType") or "unknown"
        value = (article_id.text or "").strip()
        if value and kind not in ids:
            ids[kind] = value
    return ids


def _keywords(parent: etree._Element, record: Record, raw: dict[str, Any]) -> None:
    keywords = _texts(parent.iterfind("KeywordList/Keyword"))
    if keywords:
        record.keywords = _unique(keywords)
        raw["KeywordList"] = keywords


def _finish(record: Record, raw: dict[str, Any], ids: dict[str, str]) -> None:
    """Identifiers from the article's own id list, the URL, and ``raw``."""
    if ids:
        raw["ArticleIdList"] = ids
    record.pmid = record.pmid or normalize_pmid(ids.get("pubmed"))
    record.doi = record.doi or normalize_doi(ids.get("doi"))
    record.pmcid = normalize_pmcid(ids.get("pmc"))
    if record.pmid:
        record.url = f"https://pubmed.ncbi.nlm.nih.gov/{record.pmid}/"
        record.source_id = record.pmid
    record.source_database = SOURCE_DATABASE
    record.raw = raw


def _put(raw: dict[str, Any], key: str, value: Any) -> None:
    if value:
        raw[key] = value


def article_record(element: etree._Element) -> Record:
    """The Record of one ``<PubmedArticle>`` element."""
    record = Record(record_type="Journal Article")
    raw: dict[str, Any] = {}
    citation = element.find("MedlineCitation")
    if citation is None:
        citation = etree.Element("MedlineCitation")
    pmid_text = citation.findtext("PMID")
    record.pmid = normalize_pmid(pmid_text)
    _put(raw, "PMID", pmid_text and pmid_text.strip())
    _put(raw, "Status", citation.get("Status"))
    article = citation.find("Article")
    if article is None:
        article = etree.Element("Article")
    record.title = _text(article.find("ArticleTitle"))
    _put(raw, "ArticleTitle", record.title)
    vernacular = _text(article.find("VernacularTitle"))
    _put(raw, "VernacularTitle", vernacular)
    record.title = record.title or vernacular
    journal = article.find("Journal")
    if journal is not None:
        record.journal = _text(journal.find("Title"))
        record.journal_abbrev = _text(journal.find("ISOAbbreviation"))
        _put(raw, "Title", record.journal)
        _put(raw, "ISOAbbreviation", record.journal_abbrev)
        issns = {}
        for issn in journal.iterfind("ISSN"):
            value = _text(issn)
            if value:
                record.issn.append(value)
                issns[issn.get("IssnType") or "ISSN"] = value
        _put(raw, "ISSN", issns)
        issue = journal.find("JournalIssue")
        if issue is not None:
            record.volume = _text(issue.find("Volume"))
            record.issue = _text(issue.find("Issue"))
            _put(raw, "Volume", record.volume)
            _put(raw, "Issue", record.issue)
            pub_date = issue.find("PubDate")
            if pub_date is not None:
                record.year = parse_year(pub_date.findtext("Year")) or parse_year(
                    pub_date.findtext("MedlineDate")
                )
                _put(raw, "PubDate", _date(pub_date))
    article_date = _date(article.find("ArticleDate"))
    _put(raw, "ArticleDate", article_date)
    record.year = record.year or parse_year(article_date)
    info = citation.find("MedlineJournalInfo")
    if info is not None:
        medline_ta = _text(info.find("MedlineTA"))
        _put(raw, "MedlineTA", medline_ta)
        record.journal_abbrev = record.journal_abbrev or medline_ta
        linking = _text(info.find("ISSNLinking"))
        _put(raw, "ISSNLinking", linking)
        if linking:
            record.issn.append(linking)
    record.issn = _unique(record.issn)
    pagination = article.find("Pagination")
    if pagination is not None:
        record.pages = _text(pagination.find("MedlinePgn"))
        if not record.pages:
            start, end = pagination.findtext("StartPage"), pagination.findtext("EndPage")
            record.pages = clean_text("-".join(p for p in (start, end) if p))
        _put(raw, "MedlinePgn", record.pages)
    locations = {}
    for location in article.iterfind("ELocationID"):
        kind = location.get("EIdType") or "unknown"
        value = (location.text or "").strip()
        if value and kind not in locations:
            locations[kind] = value
            if kind == "doi" and location.get("ValidYN") != "N":
                record.doi = normalize_doi(value)
    _put(raw, "ELocationID", locations)
    record.abstract = _abstract(article.find("Abstract"), raw)
    _authors(article.find("AuthorList"), record, raw)
    languages = _texts(article.iterfind("Language"))
    record.language = languages[0] if languages else None
    _put(raw, "Language", languages)
    record.publication_types = _texts(article.iterfind("PublicationTypeList/PublicationType"))
    _put(raw, "PublicationTypeList", record.publication_types)
    _mesh(citation.find("MeshHeadingList"), record, raw)
    _put(raw, "ChemicalList", _texts(citation.iterfind("ChemicalList/Chemical/NameOfSubstance")))
    _keywords(citation, record, raw)
    data = element.find("PubmedData")
    ids: dict[str, str] = {}
    if data is not None:
        ids = _ids(data.find("ArticleIdList"))
        _put(raw, "PublicationStatus", _text(data.find("PublicationStatus")))
    _finish(record, raw, ids)
    return record


def book_record(element: etree._Element) -> Record:
    """The Record of one ``<PubmedBookArticle>`` (a Bookshelf book or chapter)."""
    record = Record()
    raw: dict[str, Any] = {}
    document = element.find("BookDocument")
    if document is None:
        document = etree.Element("BookDocument")
    pmid_text = document.findtext("PMID")
    record.pmid = normalize_pmid(pmid_text)
    _put(raw, "PMID", pmid_text and pmid_text.strip())
    book = document.find("Book")
    if book is None:
        book = etree.Element("Book")
    book_title = _text(book.find("BookTitle"))
    chapter = _text(document.find("ArticleTitle"))
    _put(raw, "BookTitle", book_title)
    _put(raw, "ArticleTitle", chapter)
    _put(raw, "CollectionTitle", _text(book.find("CollectionTitle")))
    record.title = chapter or book_title
    record.record_type = "Book Section" if chapter else "Book"
    _put(raw, "PublisherName", _text(book.find("Publisher/PublisherName")))
    _put(raw, "PublisherLocation", _text(book.find("Publisher/PublisherLocation")))
    pub_date = _date(book.find("PubDate"))
    _put(raw, "PubDate", pub_date)
    record.year = parse_year(pub_date) or parse_year(_date(document.find("ContributionDate")))
    record.volume = _text(book.find("Volume"))
    record.abstract = _abstract(document.find("Abstract"), raw)
    _authors(document.find("AuthorList"), record, raw)
    editors, editors_normal, editor_details = _people(book.find("AuthorList"))
    _put(raw, "EditorList", editor_details)
    if not record.authors:
        # A whole book may list only its editors: they are its authors then.
        record.authors_raw, record.authors = editors, editors_normal
    for isbn in book.iterfind("Isbn"):
        _put(raw, "Isbn", _text(isbn))
    languages = _texts(document.iterfind("Language"))
    record.language = languages[0] if languages else None
    _put(raw, "Language", languages)
    record.publication_types = _texts(document.iterfind("PublicationType"))
    _put(raw, "PublicationType", record.publication_types)
    for location in document.iterfind("ELocationID"):
        if location.get("EIdType") == "doi":
            record.doi = normalize_doi(location.text)
    _keywords(document, record, raw)
    ids = _ids(document.find("ArticleIdList"))
    data = element.find("PubmedBookData")
    if data is not None:
        ids = {**ids, **_ids(data.find("ArticleIdList"))}
        _put(raw, "PublicationStatus", _text(data.find("PublicationStatus")))
    _finish(record, raw, ids)
    return record


# -- reading ---------------------------------------------------------------------------------
def iter_pubmed_xml(
    stream: BinaryIO, name: str = "<stream>", *, encoding: str | None = None
) -> Iterator[ReadItem]:
    """Every article of a PubMed XML byte stream, in order: a Record or a Rejection.

    Raises ImportFileError only when the stream as a whole is not PubMed XML.
    """
    position = 0
    for item in iter_record_elements(stream, LAYOUT, name, encoding=encoding):
        position += 1
        if isinstance(item, Broken):
            yield Rejection(position, item.message, line=item.line)
            continue
        element, line = item
        if element.tag == "PubmedBookArticle":
            record = book_record(element)
        else:
            record = article_record(element)
        if not record_has_content(record):
            yield Rejection(
                position,
                "the article has no title, PMID or DOI; nothing identifies it",
                line=line,
            )
            continue
        yield record


def parse_efetch(data: bytes) -> list[ReadItem]:
    """The articles of one efetch page (``retmode=xml``) held in memory."""
    return list(iter_pubmed_xml(io.BytesIO(data), "efetch response"))


def read(path: Path, options: ReadOptions) -> Iterator[ReadItem]:
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise ImportFileError(str(path), f"cannot read the file ({exc.strerror}).") from exc
    with stream:
        yield from iter_pubmed_xml(stream, str(path), encoding=options.encoding)
