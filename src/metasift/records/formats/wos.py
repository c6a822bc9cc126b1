"""Web of Science plain-text ("tagged") export: ``FN``/``VR`` header, ``PT`` ... ``ER`` records.

Tags are parsed by rispy's ``WokParser``, run with every tag kept under its own name and as a
list, so ``Record.raw`` holds every line as read. As for RIS (see :mod:`.ris`), the file is
cut into one block per record first, so that a damaged or truncated record is a rejection
naming its line rather than a silent drop (rispy drops a last record without ``ER``).

Continuation lines (three spaces) mean "next value" for the name and address tags (``AU``,
``AF``, ``C1``, ``CR`` ...) and "same value, wrapped" for the text tags (``TI``, ``AB``,
``SO``); keyword tags (``DE``, ``ID``) are wrapped lists separated by semicolons.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import rispy

from metasift.errors import ImportFileError
from metasift.records.formats._tagged import (
    EveryTag,
    LineReader,
    SameName,
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
    normalize_doi,
    normalize_pages,
    normalize_pmid,
    set_authors,
    split_issns,
    split_list,
)

NAME = "wos"
EXTENSIONS = ()  # Web of Science names these files savedrecs.txt; .txt says nothing

_HEADER_TAGS = frozenset({"FN", "VR", "EF"})
_TAG = re.compile(r"^[A-Z][A-Z0-9](?: |$)")
# Web of Science document kinds (PT) as RIS reference types.
_PT_TYPES = {"J": "JOUR", "B": "BOOK", "S": "SER", "P": "PAT", "C": "CONF"}


def wos_tag(line: str) -> str | None:
    """The tag of a Web of Science line (``TI Title``, ``ER``); None for continuations."""
    return line[:2] if _TAG.match(line) else None


def sniff(head: str, path: Path) -> int:
    lines = split_lines(head)[:3000]
    start = next((line for line in lines if line.strip()), "")
    if start.startswith("FN ") and ("Web of Science" in start or "ISI Export" in start):
        return 95
    tags = {t for t in (wos_tag(line) for line in lines) if t}
    if {"PT", "ER", "UT"} <= tags or {"PT", "ER", "SO", "AU"} <= tags:
        return 70
    return 0


def read(path: Path, options: ReadOptions) -> Iterator[ReadItem]:
    parser = rispy.WokParser(
        mapping=SameName(),
        list_tags=EveryTag(),  # type: ignore[arg-type]
        delimiter_tags_mapping={},
        enforce_list_tags=True,
    )
    lines = LineReader(path, options.encoding)
    blocks = tagged_blocks(
        lines, tag_of=wos_tag, start_tag="PT", end_tag="ER", ignore_outside=_HEADER_TAGS
    )
    found = False
    for item in records_from_blocks(
        blocks, rispy_parse(parser), record_from_tags, no_title="no TI, AB or DI line"
    ):
        found = True
        yield item
    if not found:
        raise ImportFileError(
            str(path),
            "no Web of Science records found (no 'PT' line); is this a Web of Science "
            "plain-text export?",
        )


def _semicolon_list(tags: dict[str, list[str]], *names: str) -> list[str]:
    items: list[str] = []
    for name in names:
        items.extend(split_list(" ".join(tags.get(name, []))))
    return items


def _pages(tags: dict[str, list[str]]) -> str | None:
    return normalize_pages(scalar_of(tags, "BP"), scalar_of(tags, "EP")) or normalize_pages(
        scalar_of(tags, "AR")
    )


def record_from_tags(tags: dict[str, list[str]]) -> Record:
    """A Record from Web of Science tags (``{tag: [lines]}``); ``raw`` keeps them as given."""
    record = Record(raw={tag: list(values) for tag, values in tags.items()})
    record.title = text_of(tags, "TI")
    record.abstract = text_of(tags, "AB")
    # AF has the full names; CA the group authors, after the persons as Web of Science lists them.
    set_authors(record, (tags.get("AF") or tags.get("AU") or []) + tags.get("CA", []))
    record.year = year_of(tags, "PY", "PD", "EY", "EA")
    record.journal = text_of(tags, "SO", "SE")
    record.journal_abbrev = text_of(tags, "JI", "J9")
    record.volume = scalar_of(tags, "VL")
    record.issue = scalar_of(tags, "IS")
    record.pages = _pages(tags)
    record.doi = normalize_doi(scalar_of(tags, "DI"))
    record.pmid = normalize_pmid(scalar_of(tags, "PM"))
    record.issn = split_issns(tags.get("SN", []) + tags.get("EI", []))
    record.keywords = _semicolon_list(tags, "DE", "ID")
    record.language = scalar_of(tags, "LA")
    record.publication_types = _semicolon_list(tags, "DT")
    pt = scalar_of(tags, "PT")
    record.record_type = _PT_TYPES.get(pt.upper(), pt) if pt else None
    record.source_database = "Web of Science"
    record.source_id = scalar_of(tags, "UT")
    return record
