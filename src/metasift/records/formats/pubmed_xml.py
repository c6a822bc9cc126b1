"""PubMed XML (efetch ``PubmedArticleSet``): journal articles and Bookshelf documents.

Streamed and split into articles by :mod:`.xmlstream`, each parsed by lxml, so a 2 GB file
imports in constant memory, and a broken or truncated article costs only that article. The
same reader takes an efetch page held in memory (:func:`parse_efetch`), which the live PubMed
search client reuses.

Field choices:

* titles and abstracts flatten inline markup (``<i>``, ``<sub>``, ``<sup>``, ``<u>``) and
  MathML to plain text; structured abstracts keep their labels ("BACKGROUND: ... METHODS:
  ..."); CopyrightInformation stays out of the abstract (it is in ``raw``);
* ``authors_raw`` holds "LastName, ForeName" (as MEDLINE's FAU), ``authors`` its normal form;
  group authors (CollectiveName) are kept as written;
* identifiers come from the article's own MedlineCitation and PubmedData only, never from
  its reference list or comments/corrections, which name other articles (those, the history
  dates and the grant list are not read at all, see ``LAYOUT.unread``);
* ``raw`` keeps the bibliographic fields under PubMed's element names, with MeSH headings in
  MEDLINE notation (``*Descriptor/qualifier/*major qualifier``).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from lxml import etree

from metasift.records.formats.base import ReadItem, ReadOptions, Rejection, open_binary
from metasift.records.formats.xmlstream import Broken, XmlLayout, iter_record_elements
from metasift.records.model import Record
from metasift.records.normalize import (
    EMPTY_RECORD,
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
    ignore=frozenset({"DeleteCitation", "DeleteDocument"}),
    unread=(
        "CommentsCorrectionsList",
        "ReferenceList",
        "History",
        "GrantList",
    ),
)

_MATHML = "{http://www.w3.org/1998/Math/MathML}"
_MATH_TAGS = frozenset({_MATHML + "math", "mml:math", "math"})
# Every text node under an element, as plain strings (what itertext() gives, in one C call).
_TEXT_NODES = etree.XPath("descendant::text()", smart_strings=False)


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
                parts.append("".join([t.strip() for t in _TEXT_NODES(child)]))
            elif len(child):
                parts.append(_flat(child))
            else:
                parts.append(child.text or "")
        parts.append(child.tail or "")
    return "".join(parts)


def _text(element: etree._Element | None) -> str | None:
    """Clean text of a field; inline markup (<i>, <sub>, MathML...) flattened."""
    if element is None:
        return None
    if not len(element):
        return clean_text(element.text)
    for child in element:
        if child.tag in _MATH_TAGS:
            return clean_text(_flat(element))
    # No MathML: libxml2 concatenates the text of the inline markup in C.
    return clean_text(etree.tostring(element, method="text", encoding="unicode", with_tail=False))


def _texts(elements: Any) -> list[str]:
    return [t for t in (_text(e) for e in elements) if t]


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _put(raw: dict[str, Any], key: str, value: Any) -> None:
    if value:
        raw[key] = value


# -- parts of an article ----------------------------------------------------------------------
# A PubMed article has some 200 elements and every element touched from Python costs a
# proxy object, so the walkers below visit each child once and dispatch on its tag (lxml's
# find() matches paths in Python, which is slower), and leave alone what no field needs
# (reference lists, comments and corrections, history dates).
def _abstract(abstract: etree._Element, raw: dict[str, Any]) -> str | None:
    sections: list[str] = []
    raw_sections: list[dict[str, str]] = []
    for part in abstract:
        tag = part.tag
        if tag == "CopyrightInformation":
            _put(raw, "CopyrightInformation", _text(part))
            continue
        if tag != "AbstractText":
            continue
        text = _text(part)
        label = part.get("Label")
        if label:
            section = {"Label": label, "text": text or ""}
            category = part.get("NlmCategory")
            if category:
                section["NlmCategory"] = category
            sections.append(f"{label}: {text}" if text else f"{label}:")
        elif text:
            section = {"text": text}
            sections.append(text)
        else:
            continue
        raw_sections.append(section)
    if raw_sections:
        raw["AbstractText"] = raw_sections
    return " ".join(sections) or None


# What _people reads of an AuthorList; lxml's tag filter skips the rest in C.
_PEOPLE_TAGS = (
    "Author",
    "LastName",
    "ForeName",
    "Initials",
    "Suffix",
    "CollectiveName",
    "Identifier",
    "AffiliationInfo",
    "Affiliation",
)


def _people(
    author_list: etree._Element | None,
) -> tuple[list[str], list[str], list[dict[str, Any]]]:
    """Names as read ("Last, ForeName"), their normal forms, and every author's details.

    The details (``raw``) keep each part exactly as read; only the names that become Record
    fields are cleaned, once each. The list is read in one walk over the elements named in
    ``_PEOPLE_TAGS`` (a nested loop over every author's children costs twice as much); in
    NLM's order an Identifier after an AffiliationInfo is the affiliation's, not the author's.
    """
    names: list[str] = []
    normal: list[str] = []
    details: list[dict[str, Any]] = []
    if author_list is None:
        return names, normal, details
    info: dict[str, Any] | None = None
    valid = affiliated = False
    for node in author_list.iter(_PEOPLE_TAGS):
        tag = node.tag
        if tag == "Author":
            if info is not None:
                _author_name(info, valid, names, normal)
            info = {}
            details.append(info)
            # NLM marks names printed in error; PubMed does not list them either.
            valid = node.get("ValidYN") != "N"
            affiliated = False
        elif info is None:
            continue
        elif tag == "Affiliation":
            text = _text(node) if len(node) else node.text
            if text:
                info.setdefault("Affiliation", []).append(text)
        elif tag == "AffiliationInfo":
            affiliated = True
        elif tag == "Identifier":
            if not affiliated:
                info.setdefault("Identifier", []).append(f"{node.get('Source')}: {node.text}")
        elif tag == "CollectiveName":
            info[tag] = _text(node)
        elif text := node.text:  # LastName, ForeName, Initials, Suffix: kept as written
            info[tag] = text
    if info is not None:
        _author_name(info, valid, names, normal)
    return names, normal, details


def _author_name(info: dict[str, Any], valid: bool, names: list[str], normal: list[str]) -> None:
    """Adds the author of ``info`` to ``names`` as read and to ``normal`` in normal form."""
    if not valid:
        info["ValidYN"] = "N"
        return
    last = clean_text(info.get("LastName"))
    if last:
        initials = info.get("Initials")
        given = clean_text(info.get("ForeName") or initials)
        name = f"{last}, {given}" if given else last
        if "Suffix" in info:
            name += f", {clean_text(info['Suffix'])}"
        names.append(name)
        if initials and initials.isalpha() and initials.isupper():
            # NLM's Initials ("JM") are the canonical initials: "Last, J. M.".
            normal.append(f"{last}, {'. '.join(initials)}.")
        else:
            normal.append(normalize_author(name) or name)
    elif info.get("CollectiveName"):
        names.append(info["CollectiveName"])
        normal.append(info["CollectiveName"])


def _mesh(mesh_list: etree._Element, record: Record, raw: dict[str, Any]) -> None:
    terms: list[str] = []
    marked: list[str] = []
    entry = None
    # One walk over the headings and their names (a DescriptorName, then its QualifierNames)
    # instead of a loop in a loop.
    for part in mesh_list.iter("MeshHeading", "DescriptorName", "QualifierName"):
        tag = part.tag
        if tag == "MeshHeading":
            if entry:
                marked.append(entry)
            entry = None
        elif tag == "DescriptorName":
            if name := part.text:
                terms.append(name)
                entry = "*" + name if part.get("MajorTopicYN") == "Y" else name
        elif entry and (name := part.text):
            entry += "/*" + name if part.get("MajorTopicYN") == "Y" else "/" + name
    if entry:
        marked.append(entry)
    # NLM's headings are clean text: check them all at once, clean one by one if not.
    if clean_text(" | ".join(marked)) != " | ".join(marked):
        terms = [t for t in map(clean_text, terms) if t]
        marked = [m for m in map(clean_text, marked) if m]
    record.mesh_terms = terms
    if marked:
        raw["MeshHeadingList"] = marked


def _date(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    parts = {child.tag: (child.text or "").strip() for child in element}
    if parts.get("MedlineDate"):
        return parts["MedlineDate"]
    ordered = (parts.get(t) for t in ("Year", "Season", "Month", "Day"))
    return " ".join(p for p in ordered if p) or None


def _ids(id_list: etree._Element | None) -> dict[str, str]:
    if id_list is None:
        return {}
    ids: dict[str, str] = {}
    for article_id in id_list:
        kind = article_id.get("IdType") or "unknown"
        value = (article_id.text or "").strip()
        if value and kind not in ids:
            ids[kind] = value
    return ids


def _keywords(keyword_list: etree._Element, record: Record, raw: dict[str, Any]) -> None:
    keywords = _texts(keyword_list)
    if keywords:
        record.keywords = _unique([*record.keywords, *keywords])
        raw.setdefault("KeywordList", []).extend(keywords)


def _pmid(text: str | None) -> str | None:
    if text and text.isdigit():
        return text.lstrip("0") or None
    return normalize_pmid(text)


def _finish(record: Record, raw: dict[str, Any], ids: dict[str, str]) -> None:
    """Identifiers from the article's own id list, the URL, and ``raw``."""
    if ids:
        raw["ArticleIdList"] = ids
        record.pmid = record.pmid or _pmid(ids.get("pubmed"))
        record.doi = record.doi or normalize_doi(ids.get("doi"))
        record.pmcid = normalize_pmcid(ids.get("pmc"))
    if record.pmid:
        record.url = f"https://pubmed.ncbi.nlm.nih.gov/{record.pmid}/"
        record.source_id = record.pmid
    record.source_database = SOURCE_DATABASE
    record.raw = raw


def _journal(journal: etree._Element, record: Record, raw: dict[str, Any]) -> None:
    issns: dict[str, str] = {}
    for child in journal:
        tag = child.tag
        if tag == "Title":
            record.journal = raw["Title"] = _text(child)
        elif tag == "ISOAbbreviation":
            record.journal_abbrev = raw["ISOAbbreviation"] = _text(child)
        elif tag == "ISSN":
            value = _text(child)
            if value:
                record.issn.append(value)
                issns[child.get("IssnType") or "ISSN"] = value
        elif tag == "JournalIssue":
            for part in child:
                tag = part.tag
                if tag == "Volume":
                    record.volume = raw["Volume"] = _text(part)
                elif tag == "Issue":
                    record.issue = raw["Issue"] = _text(part)
                elif tag == "PubDate":
                    pub_date = _date(part)
                    if pub_date:
                        raw["PubDate"] = pub_date
                        record.year = parse_year(pub_date)
    if issns:
        raw["ISSN"] = issns


def _article(article: etree._Element, record: Record, raw: dict[str, Any]) -> None:
    vernacular = article_date = None
    locations: dict[str, str] = {}
    for child in article:
        tag = child.tag
        if tag == "Journal":
            _journal(child, record, raw)
        elif tag == "ArticleTitle":
            record.title = _text(child)
        elif tag == "VernacularTitle":
            vernacular = _text(child)
        elif tag == "Pagination":
            pages = {part.tag: part.text for part in child}
            record.pages = clean_text(pages.get("MedlinePgn")) or clean_text(
                "-".join(p for p in (pages.get("StartPage"), pages.get("EndPage")) if p)
            )
        elif tag == "ELocationID":
            kind = child.get("EIdType") or "unknown"
            value = (child.text or "").strip()
            if value and kind not in locations:
                locations[kind] = value
                if kind == "doi" and child.get("ValidYN") != "N":
                    record.doi = normalize_doi(value)
        elif tag == "Abstract":
            record.abstract = _abstract(child, raw)
        elif tag == "AuthorList":
            record.authors_raw, record.authors, details = _people(child)
            _put(raw, "AuthorList", details)
        elif tag == "Language":
            language = _text(child)
            if language:
                raw.setdefault("Language", []).append(language)
                record.language = record.language or language
        elif tag == "PublicationTypeList":
            record.publication_types = _texts(child)
        elif tag == "ArticleDate":
            article_date = _date(child)
    _put(raw, "ArticleTitle", record.title)
    if vernacular:
        raw["VernacularTitle"] = vernacular
        record.title = record.title or vernacular
    if article_date:
        raw["ArticleDate"] = article_date
        record.year = record.year or parse_year(article_date)
    _put(raw, "MedlinePgn", record.pages)
    _put(raw, "ELocationID", locations)
    _put(raw, "PublicationTypeList", record.publication_types)


def article_record(element: etree._Element) -> Record:
    """The Record of one ``<PubmedArticle>`` element."""
    record = Record(record_type="Journal Article")
    raw: dict[str, Any] = {}
    ids: dict[str, str] = {}
    for part in element:
        if part.tag == "MedlineCitation":
            _put(raw, "Status", part.get("Status"))
            for child in part:
                tag = child.tag
                if tag == "PMID":
                    _put(raw, "PMID", child.text)
                    record.pmid = _pmid(child.text)
                elif tag == "Article":
                    _article(child, record, raw)
                elif tag == "MedlineJournalInfo":
                    for info in child:
                        if info.tag == "MedlineTA":
                            _put(raw, "MedlineTA", _text(info))
                        elif info.tag == "ISSNLinking":
                            _put(raw, "ISSNLinking", _text(info))
                elif tag == "MeshHeadingList":
                    _mesh(child, record, raw)
                elif tag == "KeywordList":
                    _keywords(child, record, raw)
                elif tag == "ChemicalList":
                    # Chemical: RegistryNumber, then NameOfSubstance.
                    chemicals = [_text(c[-1]) for c in child if len(c)]
                    _put(raw, "ChemicalList", [c for c in chemicals if c])
        elif part.tag == "PubmedData":
            for child in part:
                if child.tag == "ArticleIdList":
                    ids = _ids(child)
                elif child.tag == "PublicationStatus":
                    _put(raw, "PublicationStatus", _text(child))
    record.journal_abbrev = record.journal_abbrev or raw.get("MedlineTA")
    if "ISSNLinking" in raw:
        record.issn.append(raw["ISSNLinking"])
    if len(record.issn) > 1:
        record.issn = _unique(record.issn)
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
    record.pmid = _pmid(pmid_text)
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
    abstract = document.find("Abstract")
    record.abstract = _abstract(abstract, raw) if abstract is not None else None
    record.authors_raw, record.authors, details = _people(document.find("AuthorList"))
    _put(raw, "AuthorList", details)
    editors, editors_normal, editor_details = _people(book.find("AuthorList"))
    _put(raw, "EditorList", editor_details)
    if not record.authors:
        # A whole book may list only its editors: they are its authors then.
        record.authors_raw, record.authors = editors, editors_normal
    _put(raw, "Isbn", _texts(book.iterfind("Isbn")))
    languages = _texts(document.iterfind("Language"))
    record.language = languages[0] if languages else None
    _put(raw, "Language", languages)
    record.publication_types = _texts(document.iterfind("PublicationType"))
    _put(raw, "PublicationType", record.publication_types)
    for location in document.iterfind("ELocationID"):
        if location.get("EIdType") == "doi":
            record.doi = normalize_doi(location.text)
    for keyword_list in document.iterfind("KeywordList"):
        _keywords(keyword_list, record, raw)
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
        element = item.element
        if element.tag == "PubmedBookArticle":
            record = book_record(element)
        else:
            record = article_record(element)
        if not record_has_content(record):
            yield Rejection(
                position,
                f"the article: {EMPTY_RECORD}",
                line=item.line,
            )
            continue
        yield record


def parse_efetch(data: bytes) -> list[ReadItem]:
    """The articles of one efetch page (``retmode=xml``) held in memory."""
    return list(iter_pubmed_xml(io.BytesIO(data), "efetch response"))


def read(path: Path, options: ReadOptions) -> Iterator[ReadItem]:
    with open_binary(path) as stream:
        yield from iter_pubmed_xml(stream, str(path), encoding=options.encoding)
