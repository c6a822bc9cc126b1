"""EndNote XML (``<xml><records><record>…``), as written by EndNote, Zotero and Mendeley.

Streamed and split into records by :mod:`.xmlstream`, each parsed by lxml; a broken record
costs only itself. EndNote's quirks handled here:

* every value may sit in one or more ``<style face=… font=… size=…>`` spans (or none, in
  older versions): the text of the spans is joined;
* multi-valued fields (ISBN/ISSN lists, addresses, notes, custom fields) are packed into one
  value separated by carriage returns (``&#xD;``); single-valued text (title, abstract)
  turns them into spaces;
* the journal may be in ``titles/secondary-title`` or ``periodical/full-title``, its
  abbreviation in ``titles/alt-title`` or ``periodical/abbr-1``; EndNote's journal term lists
  often swap full name and abbreviation (``full-title`` "J Drugs Dermatol", ``abbr-1``
  "Journal of drugs in dermatology : JDD"), so the longer of the two is the journal.
  ``short-title`` is the article's short title, not the journal's, and stays in ``raw``;
* ``accession-num`` is a PMID only when the record came from PubMed/MEDLINE (provider NLM, or
  database MEDLINE/PubMed); Embase, CENTRAL (CN-…) and Web of Science (WOS:…) accession
  numbers stay in ``raw``. EndNote's PubMed filter puts the PMCID in ``custom2``;
* ``rec-number`` is the record's id in the library (``source_id``) and the library name
  (``<database name=…>``) the ``source_database``.

``raw`` keeps every field as read (style spans removed, carriage returns kept), keyed by
EndNote's element names, nested ones as ``parent/child`` (``titles/secondary-title``).
"""

from __future__ import annotations

import io
import re
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
    split_issns,
)

NAME = "endnote-xml"
EXTENSIONS = (".xml",)

LAYOUT = XmlLayout(
    container="records",
    records=("record",),
    outer=("xml",),
)

_SNIFF = re.compile(r"<xml>\s*<records>\s*<record>")
_GROUPS = ("contributors", "titles", "periodical", "alt-periodical", "dates", "urls")
_LIST_GROUPS = {
    "authors",
    "secondary-authors",
    "tertiary-authors",
    "subsidiary-authors",
    "translated-authors",
    "pub-dates",
    "web-urls",
    "pdf-urls",
    "text-urls",
    "related-urls",
    "image-urls",
}
_URL_KEYS = ("urls/related-urls", "urls/web-urls", "urls/text-urls", "urls/pdf-urls")
_PUBMED_IN_CUSTOM = re.compile(r"\bPUBMED\s+(\d{1,9})\b", re.IGNORECASE)
_PUBMED_SOURCES = {"nlm", "medline", "pubmed", "pubmed central", "ovid medline"}


def sniff(head: str, path: Path) -> int:
    if _SNIFF.search(head):
        return 95
    if "<records>" in head and "<record>" in head and "<ref-type" in head:
        return 85
    return 0


def _value(element: etree._Element) -> str | None:
    """Text of an EndNote field, its ``<style>`` spans joined; None when empty."""
    text = element.text if not len(element) else "".join(element.itertext())
    return text if text and text.strip() else None


def _items(value: str | None) -> list[str]:
    """The values packed into one field, split at EndNote's carriage returns."""
    if not value:
        return []
    return [item for part in re.split(r"[\r\n]+", value) if (item := clean_text(part))]


def _first(value: str | None) -> str | None:
    items = _items(value)
    return items[0] if items else None


def _raw_fields(element: etree._Element) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for child in element:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        if tag in ("ref-type", "database"):
            value = child.get("name") or _value(child)
        elif tag == "source-app":
            value = " ".join(
                p for p in (child.get("name") or _value(child), child.get("version")) if p
            )
        elif tag in _GROUPS:
            for sub in child:
                if not isinstance(sub.tag, str):
                    continue
                if sub.tag in _LIST_GROUPS:
                    values = [v for v in (_value(x) for x in sub) if v]
                    if values:
                        raw[f"{tag}/{sub.tag}"] = values
                elif (text := _value(sub)) is not None:
                    raw[f"{tag}/{sub.tag}"] = text
            continue
        elif tag == "keywords":
            value = [v for v in (_value(k) for k in child) if v] or None
        elif tag == "foreign-keys":
            value = _value(child)
        else:
            value = _value(child)
        if value:
            raw[tag] = value
    return raw


def _journal(raw: dict[str, Any]) -> tuple[str | None, str | None]:
    name = clean_text(raw.get("titles/secondary-title") or raw.get("periodical/full-title"))
    abbrev = clean_text(raw.get("titles/alt-title") or raw.get("periodical/abbr-1"))
    if name and abbrev and len(abbrev) > len(name):
        name, abbrev = abbrev, name  # an abbreviation is never longer than the name
    name = name or abbrev  # a journal known only by its abbreviation
    if abbrev == name:
        abbrev = None
    return name, abbrev


def _pmid(raw: dict[str, Any]) -> str | None:
    provider = (_first(raw.get("remote-database-provider")) or "").lower()
    database = (_first(raw.get("remote-database-name")) or "").lower()
    accession = _first(raw.get("accession-num"))
    if (
        accession
        and accession.isdigit()
        and (provider in _PUBMED_SOURCES or database in _PUBMED_SOURCES)
    ):
        return normalize_pmid(accession)
    for key in ("custom3", "custom5"):
        match = _PUBMED_IN_CUSTOM.search(raw.get(key) or "")
        if match:
            return normalize_pmid(match.group(1))
    return None


def record_from_element(element: etree._Element) -> Record:
    """The Record of one ``<record>`` element."""
    raw = _raw_fields(element)
    record = Record(raw=raw)
    record.title = clean_text(raw.get("titles/title"))
    record.journal, record.journal_abbrev = _journal(raw)
    names = [n for value in raw.get("contributors/authors", []) for n in _items(value)]
    record.authors_raw = names
    record.authors = [normalize_author(n) or n for n in names]
    record.year = parse_year(raw.get("dates/year")) or parse_year(
        " ".join(raw.get("dates/pub-dates", []))
    )
    record.volume = clean_text(raw.get("volume"))
    record.issue = clean_text(raw.get("number"))
    record.pages = clean_text(raw.get("pages"))
    record.abstract = clean_text(raw.get("abstract"))
    record.doi = normalize_doi(raw.get("electronic-resource-num"))
    urls = [u for key in _URL_KEYS for value in raw.get(key, []) for u in _items(value)]
    if not record.doi:
        record.doi = next((d for u in urls if "doi.org/" in u and (d := normalize_doi(u))), None)
    record.url = next((u for u in urls if u.lower().startswith(("http://", "https://"))), None)
    record.pmid = _pmid(raw)
    custom2 = _first(raw.get("custom2"))
    if custom2 and custom2.upper().startswith("PMC"):
        record.pmcid = normalize_pmcid(custom2)
    record.issn = split_issns(raw.get("isbn"))
    record.keywords = list(
        dict.fromkeys(k for value in raw.get("keywords", []) for k in _items(value))
    )
    record.language = _first(raw.get("language"))
    record.publication_types = [
        t
        for item in _items(raw.get("work-type"))
        for t in (clean_text(x) for x in item.split(";"))
        if t
    ]
    record.record_type = clean_text(raw.get("ref-type"))
    record.source_id = clean_text(raw.get("rec-number"))
    record.source_database = clean_text(raw.get("database"))
    return record


def iter_endnote_xml(
    stream: BinaryIO, name: str = "<stream>", *, encoding: str | None = None
) -> Iterator[ReadItem]:
    """Every record of an EndNote XML byte stream, in order: a Record or a Rejection."""
    position = 0
    for item in iter_record_elements(stream, LAYOUT, name, encoding=encoding):
        position += 1
        if isinstance(item, Broken):
            yield Rejection(position, item.message, line=item.line)
            continue
        element = item.element
        record = record_from_element(element)
        if not record_has_content(record):
            number = f" (rec-number {record.source_id})" if record.source_id else ""
            yield Rejection(
                position,
                f"record{number}: {EMPTY_RECORD}",
                line=item.line,
            )
            continue
        yield record


def parse_endnote_xml(data: bytes) -> list[ReadItem]:
    """The records of an EndNote XML document held in memory."""
    return list(iter_endnote_xml(io.BytesIO(data), "EndNote XML"))


def read(path: Path, options: ReadOptions) -> Iterator[ReadItem]:
    with open_binary(path) as stream:
        yield from iter_endnote_xml(stream, str(path), encoding=options.encoding)
