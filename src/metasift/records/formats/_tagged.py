"""Line handling shared by the tagged-text readers (RIS, MEDLINE, Web of Science plain text).

These formats are line-oriented, so a reader streams the file as physical lines
(:class:`LineReader`, constant memory whatever the file size) and cuts them into one block of
lines per record, remembering where each block starts so that a rejection can name the line.
The per-line grammar (tags, continuation lines) is left to rispy (RIS, Web of Science) or to
:mod:`metasift.records.formats.medline`.

Real exports end their lines with CRLF, LF or bare CR, sometimes mixed in one file (Zotero
writes bare LF inside CRLF files, Web of Science RIS separates repeated tags with bare CR), so
lines are split on all three; Unicode line separators (U+2028, U+0085 ...) inside values are
text, not line ends, which is why :meth:`str.splitlines` is not used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metasift.records.formats.base import ReadItem, Rejection, iter_text
from metasift.records.model import Record
from metasift.records.normalize import EMPTY_RECORD, clean_text, parse_year, record_has_content

_EOL = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """Physical lines of ``text``; a byte-order mark left at a line start is dropped."""
    lines = _EOL.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return [line.lstrip("\ufeff") for line in lines]


class LineReader:
    """The physical lines of a file, streamed: :meth:`batches` yields them a chunk at a time.

    The lines are those :func:`split_lines` gives for the whole text. ``ends_mid_line`` tells,
    once the lines are all read, whether the text stopped without a final line end (a file cut
    short, or written without a trailing newline).
    """

    def __init__(self, path: Path, encoding: str | None = None) -> None:
        self.path = path
        self.encoding = encoding
        self.ends_mid_line = False

    def batches(self) -> Iterator[list[str]]:
        carry = ""
        for chunk in iter_text(self.path, self.encoding):
            text = carry + chunk if carry else chunk
            # A final CR may be the first half of a CRLF split between two chunks.
            end = len(text) - 1 if text.endswith("\r") else len(text)
            cut = max(text.rfind("\n", 0, end), text.rfind("\r", 0, end)) + 1
            if not cut:
                carry = text
                continue
            carry = text[cut:]
            yield _lines(text[:cut])
        if carry:
            self.ends_mid_line = not carry.endswith("\r")
            yield _lines(carry)

    def __iter__(self) -> Iterator[str]:
        for batch in self.batches():
            yield from batch


def _lines(text: str) -> list[str]:
    lines = text.split("\n") if "\r" not in text else _EOL.split(text)
    if lines[-1] == "":
        lines.pop()
    if "\ufeff" in text:
        return [line.lstrip("\ufeff") for line in lines]
    return lines


@dataclass(slots=True)
class Block:
    """The lines of one record as found in the file.

    ``start`` is the 1-based line number of the first line. ``problem`` is set when the block
    is not a whole record (no end tag, no start tag); the reader turns it into a rejection.
    """

    start: int
    lines: list[str] = field(default_factory=list)
    problem: str | None = None


def tagged_blocks(
    lines: Iterable[str],
    *,
    tag_of: Callable[[str], str | None],
    start_tag: str,
    end_tag: str,
    ignore_outside: frozenset[str] = frozenset(),
) -> Iterator[Block]:
    """Cut ``lines`` into records that open with ``start_tag`` and close with ``end_tag``.

    ``tag_of(line)`` returns the tag of a tagged line, or None for an untagged one.

    * A block holds its start line up to and including its end line.
    * A record with no end tag before the next start tag or the end of the file is yielded with
      a ``problem``: it may have been cut short, and importing a partial record silently is
      worse than rejecting it.
    * Tagged lines after an end tag and before the next start tag belong to the previous
      record when no end tag follows them (Ovid writes ``NL  - journal`` after ``ER``), or
      when they follow the end line directly and a blank or untagged line ends them (the next
      record, whatever became of its start line, begins after that break); otherwise, when an
      end tag follows, they are a record that lost its start line, yielded with a problem.
    * Untagged lines between records (Ovid's ``1.`` numbering and ``Link to the Ovid Full
      Text`` lines, blank lines) and tags in ``ignore_outside`` (file headers) are skipped.
    """
    current: Block | None = None
    closed: Block | None = None  # the last whole record, not yet yielded (trailing tags)
    orphan: Block | None = None  # tagged lines found outside any record
    orphan_open = False  # an untagged line continues the orphan's last tag until a blank line
    closed_at = 0  # the line number of the last end line
    trailing = False  # whether the orphan began on the line right after an end line

    def flush_orphan_to_previous() -> Iterator[Block]:
        nonlocal orphan, closed
        if orphan is None:
            return
        if closed is not None:
            closed.lines[-1:-1] = orphan.lines
        else:
            orphan.problem = (
                f"tagged lines outside any record (no '{start_tag}' line before them); "
                "the file may have lost its first lines"
            )
            yield orphan
        orphan = None

    for number, line in enumerate(lines, start=1):
        tag = tag_of(line)
        if current is not None:
            if tag == start_tag:
                current.problem = (
                    f"the record has no '{end_tag}' end line before the next record at line "
                    f"{number}; it may be damaged, check it in the source file"
                )
                yield current
                current = Block(number, [line])
            elif tag == end_tag:
                current.lines.append(line)
                closed, current, closed_at = current, None, number
            else:
                current.lines.append(line)
            continue
        # Between records.
        if tag == start_tag:
            yield from flush_orphan_to_previous()
            if closed is not None:
                yield closed
                closed = None
            current = Block(number, [line])
        elif tag == end_tag:
            if orphan is not None:
                orphan.lines.append(line)
                orphan.problem = (
                    f"the record has no '{start_tag}' start line; add it in the source file "
                    "or export the record again"
                )
                if closed is not None:
                    yield closed
                    closed = None
                yield orphan
                orphan = None
        elif tag is not None and tag not in ignore_outside:
            if orphan is None:
                orphan = Block(number)
                trailing = number == closed_at + 1
            orphan.lines.append(line)
            orphan_open = True
        elif tag is None and orphan is not None and orphan_open and line.strip():
            orphan.lines.append(line)
        else:
            orphan_open = False
            if orphan is not None and trailing and closed is not None:
                # Ovid's trailing tags, ended: a damaged start line further on cannot take them.
                yield from flush_orphan_to_previous()
    if current is not None:
        current.problem = (
            f"the file ends inside this record (no '{end_tag}' end line): the file looks "
            "truncated; export it again"
        )
    yield from flush_orphan_to_previous()
    if closed is not None:
        yield closed
    if current is not None:
        yield current


def first(values: list[str] | None) -> str | None:
    """The first non-empty value of a tag, stripped."""
    for value in values or ():
        text = value.strip()
        if text:
            return text
    return None


def joined(values: list[str] | None) -> str | None:
    """The lines of a text tag joined with spaces.

    Continuation lines and repeated tags come out of rispy alike. A long line that repeats an
    earlier one word for word is an exporter writing the same tag twice, not text to keep
    twice; short lines (a wrapped fragment, a "Methods" heading) may repeat and are kept.
    """
    kept: list[str] = []
    for value in values or ():
        text = value.strip()
        if text and not (len(text) >= _REPEAT_MIN and text in kept):
            kept.append(text)
    return " ".join(kept) or None


_REPEAT_MIN = 40


# --- rispy set-up and tag look-ups shared by the RIS and Web of Science readers -------------


class SameName(dict):
    """rispy tag mapping that keeps every tag as its own key (``TI`` stays ``TI``)."""

    def __missing__(self, tag: str) -> str:
        return tag


class EveryTag:
    """rispy list-tag set that holds every tag, so that repeated tags are all kept."""

    def __contains__(self, tag: object) -> bool:
        return True


def as_tags(entry: dict[Any, Any]) -> dict[str, list[str]]:
    """A rispy entry as ``{tag: [values...]}``, empty lines dropped.

    Text before any tag of a record (rispy files it under ``None``) is kept under ``UK``,
    rispy's name for an unknown tag.
    """
    tags: dict[str, list[str]] = {}
    for key, value in entry.items():
        tag = "UK" if key is None else str(key)
        values = value if isinstance(value, list) else [value]
        kept = [str(v).strip() for v in values if v is not None and str(v).strip()]
        if kept:
            tags.setdefault(tag, []).extend(kept)
    return tags


def text_of(tags: dict[str, list[str]], *names: str, strip_tags: bool = False) -> str | None:
    """The first of ``names`` holding text, its lines joined and cleaned."""
    for name in names:
        if value := clean_text(joined(tags.get(name)), strip_tags=strip_tags):
            return value
    return None


def scalar_of(tags: dict[str, list[str]], *names: str) -> str | None:
    """The first value of the first of ``names`` that has one, cleaned."""
    for name in names:
        if value := clean_text(first(tags.get(name))):
            return value
    return None


def year_of(tags: dict[str, list[str]], *names: str) -> int | None:
    """The first year found in the values of ``names``, in that order."""
    for name in names:
        for value in tags.get(name, []):
            if year := parse_year(value):
                return year
    return None


def records_from_blocks(
    blocks: Iterator[Block],
    parse: Callable[[list[str]], dict[str, list[str]]],
    build: Callable[[dict[str, list[str]]], Record],
    *,
    no_title: str,
) -> Iterator[ReadItem]:
    """Parse each block, build its Record, and turn every problem into a rejection.

    ``no_title`` names the tags the format's title would come from, for an empty record's
    rejection (a record without a title but with an abstract or an identifier is kept).

    ``parse`` is rispy on one record's lines; it has no error type of its own, so whatever it
    raises on a damaged record becomes that record's rejection and the others still import.
    """
    for block in blocks:
        if block.problem:
            yield Rejection(0, block.problem, line=block.start)
            continue
        try:
            tags = parse(block.lines)
        except Exception as exc:
            yield Rejection(
                0,
                f"the record cannot be parsed ({type(exc).__name__}: {exc}); "
                "check it in the source file",
                line=block.start,
            )
            continue
        record = build(tags)
        if not record_has_content(record):
            yield Rejection(0, f"{EMPTY_RECORD} ({no_title})", line=block.start)
            continue
        yield record


def rispy_parse(parser: Any) -> Callable[[list[str]], dict[str, list[str]]]:
    """A block parser running ``parser`` (a rispy parser) on one record's lines."""

    def parse(lines: list[str]) -> dict[str, list[str]]:
        entries = parser.parse_lines(iter(lines))
        if not entries:
            raise ValueError("rispy found no record in these lines")
        return as_tags(entries[0])

    return parse
