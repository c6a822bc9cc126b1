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
bare CR), with or without a blank first line or a final newline. They are streamed (see
:class:`._tagged.LineReader`): memory stays flat whatever the file size. Reading is one loop
over the lines that fills each record's ``{tag: [values]}`` directly, since at some 75 lines a
record the per-line cost is the reader's speed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from metasift.errors import ImportFileError
from metasift.records.formats._tagged import LineReader, split_lines
from metasift.records.formats.base import ReadItem, ReadOptions, Rejection
from metasift.records.model import Record
from metasift.records.normalize import (
    EMPTY_RECORD,
    clean_list,
    clean_text,
    normalize_doi,
    normalize_pages,
    normalize_pmcid,
    normalize_pmid,
    parse_year,
    record_has_content,
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


# One record as read: its first line, its {tag: [values]} in file order, its FAU/AU/CN tags
# in file order, and the line of a leading line that is not a tag (or None).
_Entry = tuple[int, dict[str, list[str]], list[str], int | None]
_PEOPLE = frozenset({"FAU", "AU", "CN"})
_HEAD = re.compile(r"[A-Z][A-Z0-9]{1,3} {0,2}-")
_HEADS_KEPT = 10_000


def _entries(batches: Iterator[list[str]]) -> Iterator[_Entry]:
    """The records of a stream of line batches, by the grammar of the module docstring.

    The first five characters of a tag line (``"FAU -"``) make it one; their verdict is
    remembered in ``heads``, so the regex runs once per distinct tag rather than once a line.
    """
    heads: dict[str, str] = {}  # line[:5] -> its tag, or "" when it is no tag line's start
    tags: dict[str, list[str]] | None = None  # the open record's; None between records
    people: list[str] = []
    last: list[str] | None = None  # the values of the last tag line, which continuations extend
    start = 0
    junk: int | None = None
    number = 0
    for lines in batches:
        for number, line in enumerate(lines, number + 1):  # noqa: B020 (numbering goes on)
            tag = heads.get(line[:5])
            if tag is None:
                head = line[:5]
                tag = head[:4].rstrip(" ") if len(head) == 5 and _HEAD.fullmatch(head) else ""
                if len(heads) < _HEADS_KEPT:
                    heads[head] = tag
            if tag and line[5:6] == " ":
                value = line[6:].strip()
            elif tag and not line[5:].strip():
                value = ""
            elif line[4:5] == "-" and (parsed := medline_tag(line)) is not None:
                tag, value = parsed  # a tag shorter than its padding ("AB- -"): rare
            else:
                text = line.strip()
                if not text:
                    if tags is not None:
                        yield start, tags, people, junk
                        tags = None
                elif tags is None:
                    tags, people, last, start, junk = {}, [], None, number, number
                elif last is not None:
                    # Indented (or, in a damaged file, unindented) text continues the last tag.
                    last[-1] = f"{last[-1]} {text}" if last[-1] else text
                elif junk is None:
                    junk = number
                continue
            if tags is None:
                tags, people, start, junk = {}, [], number, None
            elif tag == "PMID" and tags:
                yield start, tags, people, junk
                tags, people, start, junk = {}, [], number, None
            last = tags.get(tag)
            if last is None:
                tags[tag] = last = [value]
            else:
                last.append(value)
            if tag in _PEOPLE:
                people.append(tag)
    if tags is not None:
        yield start, tags, people, junk


def read(path: Path, options: ReadOptions) -> Iterator[ReadItem]:
    lines = LineReader(path, options.encoding)
    entries = _entries(lines.batches())
    # Text before the first record is held back: a file with no record at all is an error,
    # not a list of rejections.
    waiting: list[Rejection] = []
    for entry in entries:
        if entry[1]:
            break
        waiting.append(_junk(entry))
    else:
        raise ImportFileError(
            str(path), "no MEDLINE records found (no 'PMID- ' or other 'TAG - ' lines)."
        )
    yield from waiting
    # PubMed ends every record with SO (the citation); a last record without it, after
    # records that have it or in a file cut mid-line, is the tail of a truncated file.
    complete_elsewhere = False
    for following in entries:
        yield _item(entry)
        complete_elsewhere = complete_elsewhere or "SO" in entry[1]
        entry = following
    tags = entry[1]
    if tags and "SO" not in tags and (complete_elsewhere or lines.ends_mid_line):
        yield Rejection(
            0,
            "the file ends inside this record (no 'SO' line, which PubMed writes last): "
            "the file looks truncated; export it again",
            line=entry[0],
        )
    else:
        yield _item(entry)


def _junk(entry: _Entry) -> Rejection:
    return Rejection(
        0,
        f"text that is not a MEDLINE tag line (line {entry[3]}); a record starts with 'PMID- '",
        line=entry[0],
    )


def _item(entry: _Entry) -> ReadItem:
    start, tags, people, _ = entry
    if not tags:
        return _junk(entry)
    record = record_from_tags(tags, people)
    if not record_has_content(record):
        return Rejection(0, f"{EMPTY_RECORD} (no TI, BTI, AB, AID or PMID line)", line=start)
    return record


def _first(tags: dict[str, list[str]], name: str, *, strip_tags: bool = False) -> str | None:
    for value in tags.get(name, ()):
        if text := clean_text(value, strip_tags=strip_tags):
            return text
    return None


def _authors(tags: dict[str, list[str]], people: list[str]) -> list[str]:
    """Names in order: FAU (full) with its AU (short) as one author, CN as a group author.

    ``people`` holds the FAU/AU/CN tags in file order; the n-th FAU is ``tags["FAU"][n]``.
    """
    full = tags.get("FAU")
    if full and "CN" not in tags and people == ["FAU", "AU"] * len(full):
        return full  # PubMed's own layout: every FAU followed by its AU
    names: list[str] = []
    seen = dict.fromkeys(_PEOPLE, 0)
    open_fau = False  # the last name came from FAU and its AU has not been seen yet
    for tag in people:
        value = tags[tag][seen[tag]]
        seen[tag] += 1
        if tag == "FAU":
            names.append(value)
            open_fau = True
        elif tag == "AU":
            if not open_fau:
                names.append(value)
            open_fau = False
        else:
            names.append(value)
            open_fau = False
    return names


def _doi(tags: dict[str, list[str]]) -> str | None:
    for name in ("LID", "AID"):
        for value in tags.get(name, ()):
            if value.rstrip().lower().endswith("[doi]") and (doi := normalize_doi(value)):
                return doi
    for value in tags.get("SO", ()):
        if (match := _DOI_IN_SO.search(value)) and (doi := normalize_doi(match.group(1))):
            return doi
    return None


def _year(tags: dict[str, list[str]]) -> int | None:
    for name in ("DP", "DEP", "EDAT"):
        for value in tags.get(name, ()):
            if year := parse_year(value):
                return year
    return None


def record_from_tags(tags: dict[str, list[str]], people: list[str]) -> Record:
    """A Record from one record's ``{tag: [values]}``; ``raw`` is that dict.

    ``people`` lists the record's FAU, AU and CN tags in file order (see :func:`_authors`).
    """
    pmid = normalize_pmid(_first(tags, "PMID"))
    record = Record(
        title=_first(tags, "TI", strip_tags=True) or _first(tags, "BTI", strip_tags=True),
        abstract=_first(tags, "AB", strip_tags=True),
        year=_year(tags),
        journal=_first(tags, "JT"),
        journal_abbrev=_first(tags, "TA"),
        volume=_first(tags, "VI"),
        issue=_first(tags, "IP"),
        pages=normalize_pages(_first(tags, "PG")),
        doi=_doi(tags),
        pmid=pmid,
        pmcid=normalize_pmcid(_first(tags, "PMC")),
        issn=split_issns(tags.get("IS", [])),
        keywords=clean_list(tags.get("OT", ())),
        mesh_terms=clean_list(tags.get("MH", ())),
        language=_first(tags, "LA"),
        publication_types=clean_list(tags.get("PT", ())),
        # PubMed is a journal database; its book records (NCBI Bookshelf) carry BTI.
        record_type=("CHAP" if "TI" in tags else "BOOK") if "BTI" in tags else "JOUR",
        source_database="PubMed",
        source_id=pmid,
        raw=tags,
    )
    set_authors(record, _authors(tags, people))
    return record
