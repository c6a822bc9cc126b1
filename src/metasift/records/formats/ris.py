"""RIS, as written by PubMed (via EndNote/Zotero), Scopus, Web of Science, Embase, Ovid,
ProQuest, Rayyan, EndNote and Zotero; tags are parsed by rispy.

rispy reads tags and continuation lines; this module does what rispy does not, before and
after it:

* Lines are split on CRLF, LF and bare CR (see :mod:`._tagged`): Zotero writes bare LF inside
  CRLF files and Web of Science RIS separates repeated ``AD`` tags with a bare CR, which rispy's
  single-separator split would glue onto the previous value.
* The file is cut into one block per record (``TY`` to ``ER``) before rispy sees it, and each
  block is parsed on its own. rispy silently drops a last record without ``ER`` and reports no
  line numbers; per-block parsing lets a damaged record become a rejection naming its line while
  the others import.
* Tagged lines after ``ER`` (Ovid writes ``NL  - journal abbreviation`` there) are moved into
  the record they follow; numbering lines (``1.``) and ``Link to the Ovid Full Text`` lines
  between records are skipped.
* rispy is run with every tag as a list tag and no tag renaming, so ``Record.raw`` keeps every
  tag exactly as read (``{"TY": ["JOUR"], "AU": [...], ...}``), repeated tags included.
  Continuation lines then arrive as extra items of their tag; text fields join them and list
  fields (``KW``, ``AU``, ``AD``) keep one item per line, which is what EndNote and Rayyan mean
  by their one-keyword-per-line exports.

Tag meanings differ between databases; the mapping below follows what each writes:
PMID in ``AN`` (EndNote from PubMed, ``DP  - NLM``), ``C2`` (Scopus), ``C5`` (Embase) or an
``N1`` note ``PMID: ...`` (CINAHL, Rayyan, metasift's own writer); PMCID in ``C2`` (EndNote) or
a ``PMCID:`` note; a DOI missing from ``DO`` is taken from ``M3`` (EndNote), a DOI link in
``UR``/``L1``/``L2``/``LK``, or a ``doi:`` citation in ``N1``.

Writing uses ``rispy.dump``. RIS has no tag for PMID, PMCID or MeSH, so the writer puts
``PMID: ...`` and ``PMCID: ...`` in ``N1`` notes (read back by this module, and the form
CINAHL and Zotero use) and MeSH headings in ``KW`` after the keywords, as EndNote does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

import rispy

from metasift.errors import ImportFileError
from metasift.records.formats._tagged import (
    EveryTag,
    LineReader,
    SameName,
    first,
    records_from_blocks,
    rispy_parse,
    scalar_of,
    split_lines,
    tagged_blocks,
    text_of,
    year_of,
)
from metasift.records.formats.base import ReadItem, ReadOptions
from metasift.records.model import Record
from metasift.records.normalize import (
    clean_text,
    normalize_doi,
    normalize_pages,
    normalize_pmcid,
    normalize_pmid,
    set_authors,
    split_issns,
)

NAME = "ris"
EXTENSIONS = (".ris",)

_NLM_SOURCES = {"nlm", "pubmed", "medline", "pubmed/medline"}
_PMID_NOTE = re.compile(r"\bPMID\s*:?\s*(?:NLM)?\s*(\d{1,9})\b", re.IGNORECASE)
_PMCID_NOTE = re.compile(r"\bPMCID\s*:?\s*(PMC\d+)\b", re.IGNORECASE)
_DOI_NOTE = re.compile(r"\bdoi\s*:\s*(10\.\d{4,9}/\S+)", re.IGNORECASE)
_PUBMED_URL = re.compile(r"(?:pubmed\.ncbi\.nlm\.nih\.gov|ncbi\.nlm\.nih\.gov/pubmed)/(\d+)")
_WEB_LINK = re.compile(r"(?:https?|ftp)://\S+", re.IGNORECASE)
_CLASSIFICATION = re.compile(r"\[\d+\]\s*$")  # Ovid subject codes in M3, e.g. "... [3300]"


def _parser() -> rispy.RisParser:
    return rispy.RisParser(
        mapping=SameName(),
        list_tags=EveryTag(),  # type: ignore[arg-type]
        delimiter_tags_mapping={},
        enforce_list_tags=True,
    )


def ris_tag(line: str) -> str | None:
    """The tag of an RIS line (``TI  - ...``), by rispy's own rule; None for other lines."""
    if line[2:5] == "  -" and line[:2].isupper() and line[:1].isalpha():
        return line[:2]
    return None


def sniff(head: str, path: Path) -> int:
    lines = split_lines(head)[:3000]
    tags = [t for t in (ris_tag(line) for line in lines) if t]
    if "TY" not in tags:
        return 0
    # MEDLINE shares "TI  - " style lines but never has TY, and always has PMID-.
    if any(line.startswith("PMID- ") for line in lines):
        return 10
    score = 70
    if "ER" in tags:
        score += 20
    if len(tags) >= 4:
        score += 5
    return score


def read(path: Path, options: ReadOptions) -> Iterator[ReadItem]:
    lines = LineReader(path, options.encoding)
    blocks = tagged_blocks(lines, tag_of=ris_tag, start_tag="TY", end_tag="ER")
    found = False
    for item in records_from_blocks(
        blocks,
        rispy_parse(_parser()),
        record_from_tags,
        no_title="no TI, T1, ST, BT, AB, N2 or DO tag",
    ):
        found = True
        yield item
    if not found:
        raise ImportFileError(
            str(path), "no RIS records found (no line starting with 'TY  - '); is this RIS?"
        )


def _all(tags: dict[str, list[str]], *names: str) -> list[str]:
    return [v for name in names for v in tags.get(name, [])]


def _pages(tags: dict[str, list[str]]) -> str | None:
    # C7 is the article number (Scopus, Web of Science, EndNote) of page-less articles.
    return normalize_pages(scalar_of(tags, "SP"), scalar_of(tags, "EP")) or normalize_pages(
        scalar_of(tags, "C7")
    )


def _doi(tags: dict[str, list[str]]) -> str | None:
    for value in _all(tags, "DO", "DI"):
        if doi := normalize_doi(value):
            return doi
    for value in tags.get("M3", []):
        if value.lower().startswith(("10.", "doi", "http")) and (doi := normalize_doi(value)):
            return doi
    for value in _all(tags, "UR", "L1", "L2", "L3", "LK"):
        lowered = value.lower()
        position = lowered.find("10.")
        if position > 0 and "doi" in lowered[:position] and (doi := normalize_doi(value)):
            return doi
    found = {normalize_doi(m.group(1)) for m in _DOI_NOTE.finditer(" ".join(tags.get("N1", [])))}
    found.discard(None)
    # A note citing several DOIs is a reference list, not the record's own citation.
    return found.pop() if len(found) == 1 else None


def _is_nlm(tags: dict[str, list[str]]) -> bool:
    return any(v.strip().lower() in _NLM_SOURCES for v in _all(tags, "DP", "DB"))


def _digits(value: str | None) -> str | None:
    if value and value.strip().isdigit() and len(value.strip()) <= 9:
        return normalize_pmid(value)
    return None


def _pmid(tags: dict[str, list[str]]) -> str | None:
    notes = " ".join(tags.get("N1", []))
    if match := _PMID_NOTE.search(notes):
        return normalize_pmid(match.group(1))
    if _is_nlm(tags) and (pmid := _digits(first(tags.get("AN")))):
        return pmid
    if pmid := _digits(first(tags.get("C2"))):
        return pmid
    if any("embase" in v.lower() for v in tags.get("DB", [])) and (
        pmid := _digits(first(tags.get("C5")))
    ):
        return pmid
    for value in _all(tags, "UR", "L2", "L1"):
        if match := _PUBMED_URL.search(value):
            return normalize_pmid(match.group(1))
    return None


def _pmcid(tags: dict[str, list[str]]) -> str | None:
    if match := _PMCID_NOTE.search(" ".join(tags.get("N1", []))):
        return normalize_pmcid(match.group(1))
    for value in _all(tags, "C2", "C1", "C3", "C4", "C5", "C6", "C7", "C8"):
        if value.strip().upper().startswith("PMC") and (pmcid := normalize_pmcid(value)):
            return pmcid
    for value in _all(tags, "UR", "L2", "L1"):
        if "/pmc/" in value.lower() and (pmcid := normalize_pmcid(value)):
            return pmcid
    return None


def _url(tags: dict[str, list[str]]) -> str | None:
    # EndNote packs several links into one value: "https://..., internal-pdf://...".
    for value in _all(tags, "UR", "L2", "L1"):
        if match := _WEB_LINK.search(value):
            return match.group(0).rstrip(",;.")
    return None


def _authors(tags: dict[str, list[str]]) -> list[str]:
    names: list[str] = []
    for value in _all(tags, "AU", "A1"):
        # Some tools pack several authors into one tag, separated by semicolons.
        names.extend(part for part in value.split(";") if part.strip())
    return names


def _journal(tags: dict[str, list[str]]) -> tuple[str | None, str | None]:
    journal = text_of(tags, "JF", "T2", "JO", "JA", "J2")
    abbrev = text_of(tags, "J2", "JA", "JI", "J9", "NL")
    if abbrev is None:
        # Embase and others write the full name in JF and the abbreviation in JO.
        other = text_of(tags, "JO")
        if other and other != journal:
            abbrev = other
    return journal, abbrev


def record_from_tags(tags: dict[str, list[str]]) -> Record:
    """A Record from RIS tags (``{tag: [values]}``); ``raw`` keeps the tags as given."""
    record = Record(raw={tag: list(values) for tag, values in tags.items()})
    record.title = text_of(tags, "TI", "T1", "ST", "BT", "CT", strip_tags=True)
    record.abstract = text_of(tags, "AB", "N2", strip_tags=True)
    set_authors(record, _authors(tags))
    record.year = year_of(tags, "PY", "Y1", "DA")
    record.journal, record.journal_abbrev = _journal(tags)
    record.volume = scalar_of(tags, "VL")
    record.issue = scalar_of(tags, "IS")
    record.pages = _pages(tags)
    record.doi = _doi(tags)
    record.pmid = _pmid(tags)
    record.pmcid = _pmcid(tags)
    record.issn = split_issns(_all(tags, "SN"))
    record.keywords = [k for k in (clean_text(v) for v in tags.get("KW", [])) if k]
    record.language = scalar_of(tags, "LA")
    record.publication_types = [
        t
        for t in (clean_text(v) for v in tags.get("M3", []))
        if t and not normalize_doi(t) and not _CLASSIFICATION.search(t)
    ]
    record.record_type = scalar_of(tags, "TY")
    record.url = _url(tags)
    record.source_database = scalar_of(tags, "DB", "DP")
    record.source_id = scalar_of(tags, "AN", "ID")
    return record


# --- writing -------------------------------------------------------------------------------

_TYPE_NAMES = {
    "journal article": "JOUR",
    "article": "JOUR",
    "j": "JOUR",
    "review": "JOUR",
    "book": "BOOK",
    "b": "BOOK",
    "book chapter": "CHAP",
    "chapter": "CHAP",
    "book section": "CHAP",
    "conference paper": "CPAPER",
    "conference proceedings": "CONF",
    "proceedings paper": "CPAPER",
    "thesis": "THES",
    "dissertation": "THES",
    "report": "RPRT",
    "preprint": "UNPB",
    "dataset": "DATA",
    "patent": "PAT",
    "p": "PAT",
    "s": "SER",
}
_PAGE_RANGE = re.compile(r"^([^\s-]+)-([^\s-]+)$")


class _Writer(rispy.RisWriter):
    """rispy's RIS writer without the ``1.``/``2.`` lines it puts before each record."""

    REFERENCE_TYPE_KEY = "ty"

    def set_header(self, count: int) -> str:
        return ""


def _one_line(value: object) -> str:
    return re.sub(r"\s+", " ", str(value)).strip()


def _ris_type(record_type: str | None) -> str:
    if not record_type:
        return "JOUR"
    code = record_type.strip().upper()
    if code in rispy.TYPE_OF_REFERENCE_MAPPING:
        return code
    return _TYPE_NAMES.get(record_type.strip().lower(), "GEN")


def record_to_tags(record: Record) -> dict[str, list[str]]:
    """The RIS tags for ``record``: every field that RIS can carry, in the usual tag order."""
    tags: dict[str, list[str]] = {"TY": [_ris_type(record.record_type)]}

    def put(tag: str, *values: object) -> None:
        kept = [_one_line(v) for v in values if v is not None and _one_line(v)]
        if kept:
            tags.setdefault(tag, []).extend(kept)

    put("TI", record.title)
    authors = (
        record.authors_raw
        if record.authors_raw and len(record.authors_raw) == len(record.authors)
        else record.authors
    )
    put("AU", *authors)
    put("PY", record.year)
    put("T2", record.journal)
    put("J2", record.journal_abbrev)
    put("VL", record.volume)
    put("IS", record.issue)
    if record.pages:
        pages = _one_line(record.pages)
        match = _PAGE_RANGE.match(pages)
        if match:
            put("SP", match.group(1))
            put("EP", match.group(2))
        else:
            put("SP", pages)
    put("AB", record.abstract)
    put("KW", *record.keywords, *record.mesh_terms)
    put("DO", record.doi)
    put("SN", *record.issn)
    put("LA", record.language)
    put("UR", record.url)
    put("DB", record.source_database)
    put("AN", record.source_id)
    put("M3", *record.publication_types)
    if record.pmid:
        put("N1", f"PMID: {record.pmid}")
    if record.pmcid:
        put("N1", f"PMCID: {record.pmcid}")
    return tags


def write(records: Iterable[Record], stream: TextIO) -> None:
    """Write ``records`` as RIS with ``rispy.dump``, one ``TY``...``ER`` block per record.

    Records go to rispy a thousand at a time, so that a large export does not sit in memory.
    """
    batch: list[dict[str, Any]] = []
    written = False
    for record in records:
        # rispy looks tags up by lower-case field name; our field names are the tags.
        batch.append(
            {
                tag.lower(): values[0] if tag == "TY" else values
                for tag, values in record_to_tags(record).items()
            }
        )
        if len(batch) == _BATCH:
            written = _dump(batch, stream, written)
            batch = []
    _dump(batch, stream, written)


_BATCH = 1000
_WRITTEN_TAGS = (
    "TY",
    "TI",
    "AU",
    "PY",
    "T2",
    "J2",
    "VL",
    "IS",
    "SP",
    "EP",
    "AB",
    "KW",
    "DO",
    "SN",
    "LA",
    "UR",
    "DB",
    "AN",
    "M3",
    "N1",
)


def _dump(entries: list[dict[str, Any]], stream: TextIO, after_records: bool) -> bool:
    if not entries:
        return after_records
    if after_records:
        stream.write("\n")  # the blank line rispy puts between the records of one call
    rispy.dump(
        entries,
        stream,
        implementation=_Writer,
        mapping={tag: tag.lower() for tag in _WRITTEN_TAGS},
        list_tags=[],
        delimiter_tags_mapping={},
        enforce_list_tags=False,
    )
    return True
