"""PubMed's MEDLINE text format (``.nbib``, "Save > PubMed format"), read by hand.

Why not rispy: its parsers take a tag as the first two characters followed by ``"  -"``
(RIS) or a space (Web of Science), and a record as running from a start tag to an end tag.
MEDLINE has four-character tags (``PMID-``, ``FAU -``, ``AUID-``), continuation lines
indented by six spaces, and no end tag at all: records are separated by blank lines. Bending
rispy to that would mean overriding both its line parser and its record loop, which is the
whole of it. Biopython's ``Bio.Medline`` reads the format but would add a large dependency for
forty lines of code and gives no line numbers for rejections, so the grammar is written here:

* a tag line is ``TAG`` padded to four characters, ``-``, a space and the value;
* an indented line continues the value of the tag above it (joined with a space, as PubMed
  wraps at spaces);
* a blank line, or a ``PMID-`` line, starts the next record.

Files are read with every line ending (CRLF from the Windows "citation manager" download, LF,
bare CR), with or without a blank first line or a final newline.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from metasift.errors import ImportFileError
from metasift.records.formats._tagged import split_lines
from metasift.records.formats.base import ReadItem, ReadOptions, Rejection, read_text
from metasift.records.model import Record
from metasift.records.normalize import (
    clean_text,
    normalize_doi,
    normalize_pages,
    normalize_pmcid,
    normalize_pmid,
    parse_year,
    set_authors,
    split_issns,
)

NAME = "medline"
EXTENSIONS = (".nbib", ".medline")

_TAG_LINE = re.compile(r"^([A-Z][A-Z0-9]{1,3}) {0,2}-(?: (.*)|\s*)$")
_DOI_IN_SO = re.compile(r"\bdoi:\s*(10\.\S+)", re.IGNORECASE)


def medline_tag(line: str) -> tuple[str, str] | None:
    """``(tag, value)`` for a MEDLINE tag line (``FAU - Smith, John``); None otherwise."""
    if len(line) < 5 or line[4] != "-":
        return None
    match = _TAG_LINE.match(line)
    if not match:
        return None
    return match.group(1), (match.group(2) or "").strip()


@dataclass(slots=True)
class _Entry:
    """One record as read: its (tag, value) pairs in file order and where it starts."""

    start: int
    fields: list[tuple[str, str]] = field(default_factory=list)
    junk: int | None = None  # line number of a leading line that is not a tag

    def tags(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for tag, value in self.fields:
            out.setdefault(tag, []).append(value)
        return out


def sniff(head: str, path: Path) -> int:
    lines = split_lines(head)[:3000]
    tags = [t[0] for t in (medline_tag(line) for line in lines) if t]
    if not tags or any(line.startswith("TY  - ") for line in lines):
        return 0
    if "PMID" in tags:
        return 95
    # A MEDLINE-style file from another tool: four-character tags only MEDLINE uses.
    if {"FAU", "TI"} <= set(tags) or {"JT", "TI"} <= set(tags):
        return 60
    return 0


def _entries(lines: list[str]) -> Iterator[_Entry]:
    entry: _Entry | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            if entry is not None:
                yield entry
                entry = None
            continue
        parsed = medline_tag(line)
        if parsed is not None:
            tag, value = parsed
            if tag == "PMID" and entry is not None and entry.fields:
                yield entry
                entry = None
            if entry is None:
                entry = _Entry(number)
            entry.fields.append((tag, value))
            continue
        if entry is None:
            entry = _Entry(number, junk=number)
        if entry.fields:
            # Indented (or, in a damaged file, unindented) text continues the last tag.
            tag, value = entry.fields[-1]
            entry.fields[-1] = (tag, f"{value} {line.strip()}".strip())
        elif entry.junk is None:
            entry.junk = number
    if entry is not None:
        yield entry


def read(path: Path, options: ReadOptions) -> Iterator[ReadItem]:
    text = read_text(path, options.encoding)
    entries = list(_entries(split_lines(text)))
    if not any(e.fields for e in entries):
        raise ImportFileError(
            str(path), "no MEDLINE records found (no 'PMID- ' or other 'TAG - ' lines)."
        )
    # PubMed ends every record with SO (the citation); a last record without it, after
    # records that have it or in a file cut mid-line, is the tail of a truncated file.
    complete_elsewhere = any("SO" in e.tags() for e in entries[:-1])
    cut_mid_line = not text.endswith(("\n", "\r"))
    for index, entry in enumerate(entries):
        if not entry.fields:
            yield Rejection(
                0,
                f"text that is not a MEDLINE tag line (line {entry.junk}); "
                "a record starts with 'PMID- '",
                line=entry.start,
            )
            continue
        tags = entry.tags()
        last = index == len(entries) - 1
        if last and "SO" not in tags and (complete_elsewhere or cut_mid_line):
            yield Rejection(
                0,
                "the file ends inside this record (no 'SO' line, which PubMed writes last): "
                "the file looks truncated; export it again",
                line=entry.start,
            )
            continue
        record = record_from_fields(entry.fields)
        if not record.title:
            yield Rejection(
                0,
                "no title (no TI or BTI line): a record needs a title to be screened; "
                "add it in the source file",
                line=entry.start,
            )
            continue
        yield record


def _first(tags: dict[str, list[str]], *names: str, strip_tags: bool = False) -> str | None:
    for name in names:
        for value in tags.get(name, []):
            if text := clean_text(value, strip_tags=strip_tags):
                return text
    return None


def _authors(fields: list[tuple[str, str]]) -> list[str]:
    """Names in order: FAU (full) with its AU (short) as one author, CN as a group author."""
    names: list[str] = []
    open_fau = False  # the last name came from FAU and its AU has not been seen yet
    for tag, value in fields:
        if tag == "FAU":
            names.append(value)
            open_fau = True
        elif tag == "AU":
            if not open_fau:
                names.append(value)
            open_fau = False
        elif tag == "CN":
            names.append(value)
            open_fau = False
    return names


def _doi(tags: dict[str, list[str]]) -> str | None:
    for value in tags.get("LID", []) + tags.get("AID", []):
        if value.rstrip().lower().endswith("[doi]") and (doi := normalize_doi(value)):
            return doi
    for value in tags.get("SO", []):
        if (match := _DOI_IN_SO.search(value)) and (doi := normalize_doi(match.group(1))):
            return doi
    return None


def record_from_fields(fields: list[tuple[str, str]]) -> Record:
    """A Record from MEDLINE ``(tag, value)`` pairs; ``raw`` keeps every tag's values."""
    tags: dict[str, list[str]] = {}
    for tag, value in fields:
        tags.setdefault(tag, []).append(value)
    record = Record(raw={tag: list(values) for tag, values in tags.items()})
    record.title = _first(tags, "TI", "BTI", strip_tags=True)
    record.abstract = _first(tags, "AB", strip_tags=True)
    set_authors(record, _authors(fields))
    record.year = next(
        (y for name in ("DP", "DEP", "EDAT") for v in tags.get(name, []) if (y := parse_year(v))),
        None,
    )
    record.journal = _first(tags, "JT")
    record.journal_abbrev = _first(tags, "TA")
    record.volume = _first(tags, "VI")
    record.issue = _first(tags, "IP")
    record.pages = normalize_pages(_first(tags, "PG"))
    record.doi = _doi(tags)
    record.pmid = normalize_pmid(_first(tags, "PMID"))
    record.pmcid = normalize_pmcid(_first(tags, "PMC"))
    record.issn = split_issns(tags.get("IS", []))
    record.keywords = [k for k in (clean_text(v) for v in tags.get("OT", [])) if k]
    record.mesh_terms = [m for m in (clean_text(v) for v in tags.get("MH", [])) if m]
    record.language = _first(tags, "LA")
    record.publication_types = [p for p in (clean_text(v) for v in tags.get("PT", [])) if p]
    # PubMed is a journal database; its book records (NCBI Bookshelf) carry BTI.
    record.record_type = ("CHAP" if "TI" in tags else "BOOK") if "BTI" in tags else "JOUR"
    record.source_database = "PubMed"
    record.source_id = record.pmid
    return record
