"""Streaming record elements out of big XML exports, surviving broken records.

Both XML readers (PubMed efetch XML, EndNote XML) hold thousands of sibling record elements
under one container. :func:`iter_record_elements` streams them with ``lxml.etree.iterparse``
and clears each finished record together with whatever preceded it, so memory stays flat for
a multi-gigabyte file.

What lxml does not give is recovery: libxml2 stops at the first well-formedness error, and its
``recover`` mode silently glues neighbouring records together. A truncated download or one
corrupted record must cost exactly that record, so this module keeps a window of the bytes it
handed to the parser (:class:`_Window`); after a syntax error it reports the broken record,
finds the next record start tag after the error position and starts a fresh parser there,
keeping line numbers absolute. That recovery loop is the hand-written part; parsing itself is
lxml's.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from lxml import etree

from metasift.errors import ImportFileError
from metasift.records.formats.base import detect_encoding, looks_binary

_READ = 1 << 20
# Bytes kept behind the parser's read position: libxml2 reads ahead 32 KiB at a time, so the
# position of any error it reports lies well inside this window.
_KEEP = 8 << 20
_DECLARED = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_UTF8_NAMES = {"utf-8", "utf8", "us-ascii", "ascii"}
_LINE_IN_MESSAGE = re.compile(r"\bline (\d+)")
_POSITION_SUFFIX = re.compile(r", line \d+, column \d+$")


@dataclass(slots=True)
class Broken:
    """A record (or stretch of the file) that could not be parsed."""

    line: int | None
    message: str


@dataclass(frozen=True, slots=True)
class XmlLayout:
    """Where records sit in one XML export format."""

    container: str  # element whose children are the records
    records: tuple[str, ...]  # record element names
    resume_prefix: bytes  # opening tags put before a record start to resume parsing there
    ignore: frozenset[str] = frozenset()  # container children that are not records, by design
    # Start-tag prefixes searched for when resuming; each must be followed by '>' or a space.
    record_starts: tuple[bytes, ...] = ()


def _transcoding(head: bytes, encoding: str | None) -> str | None:
    """The codec to transcode the stream from into UTF-8, or None to pass bytes through.

    Non-UTF-8 input is re-encoded here rather than left to libxml2 so that a parser resumed
    in the middle of the file (which has no XML declaration to read) decodes it the same way.
    """
    if encoding:
        return None if encoding.lower().replace("_", "-") in _UTF8_NAMES else encoding
    guessed = detect_encoding(head)
    if guessed.startswith(("utf-16", "utf-32")):
        return guessed
    declared = _DECLARED.search(head[:512])
    if declared:
        name = declared.group(1).decode("ascii").lower()
        if name not in _UTF8_NAMES and not name.startswith(("utf-16", "utf-32", "ucs")):
            try:
                codecs.lookup(name)
            except LookupError:
                return None
            return name
        return None
    return "cp1252" if guessed == "cp1252" else None


class _Window:
    """A file-like object for lxml that remembers recent bytes and can restart elsewhere.

    Offsets are absolute positions in the (UTF-8) byte stream; lines are 1-based.
    """

    def __init__(self, raw: BinaryIO, codec: str | None, head: bytes) -> None:
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder(codec)("replace") if codec else None
        self._pending_head = head
        self._buf = bytearray()
        self._buf_start = 0  # absolute offset of _buf[0]
        self._buf_start_line = 1  # line number of _buf[0]
        self._line_start = 0  # absolute offset where the line holding _buf[0] begins
        self._pos = 0  # absolute offset of the next byte handed to the parser
        self._prefix = b""
        self._eof = False

    # -- reading --------------------------------------------------------------------------
    def _fill(self) -> bool:
        """Append the next chunk of the stream to the window; False at the end."""
        while not self._eof:
            if self._pending_head:
                raw, self._pending_head = self._pending_head, b""
            else:
                try:
                    raw = self._raw.read(_READ)
                except OSError as exc:
                    raise ImportFileError("<stream>", f"cannot read the file ({exc})") from exc
            self._eof = not raw
            data = raw
            if self._decoder is not None:
                data = self._decoder.decode(raw, final=self._eof).encode("utf-8")
            if data:
                self._buf += data
                self._trim(self._pos - _KEEP)
                return True
        return False

    def _trim(self, before: int) -> None:
        cut = before - self._buf_start
        if cut < _KEEP:  # trim in big steps: each trim moves the whole buffer
            return
        newlines = self._buf.count(b"\n", 0, cut)
        if newlines:
            self._buf_start_line += newlines
            self._line_start = self._buf_start + self._buf.rindex(b"\n", 0, cut) + 1
        del self._buf[:cut]
        self._buf_start += cut

    def read(self, size: int = -1) -> bytes:
        if self._prefix:
            out, self._prefix = self._prefix, b""
            return out
        end = self._buf_start + len(self._buf)
        if self._pos >= end and not self._fill():
            return b""
        start = self._pos - self._buf_start
        n = size if size and size > 0 else _READ
        out = bytes(self._buf[start : start + n])
        self._pos += len(out)
        return out

    # -- positions --------------------------------------------------------------------------
    def line_of(self, offset: int) -> int:
        offset = max(offset, self._buf_start)
        return self._buf_start_line + self._buf.count(b"\n", 0, offset - self._buf_start)

    def offset_of(self, line: int, column: int) -> int:
        """Absolute offset of ``column`` (0-based, in bytes) on absolute ``line``."""
        if line <= self._buf_start_line:
            line_start = self._line_start
        else:
            index = -1
            for _ in range(line - self._buf_start_line):
                index = self._buf.find(b"\n", index + 1)
                if index < 0:
                    return self._buf_start + len(self._buf)
            line_start = self._buf_start + index + 1
        return max(line_start + max(column, 0), self._buf_start)

    def find_start(self, starts: tuple[bytes, ...], offset: int) -> int | None:
        """Offset of the first record start tag at or after ``offset``, reading on as needed."""
        offset = max(offset, self._buf_start)
        longest = max(len(s) for s in starts) + 1
        while True:
            best = None
            for start in starts:
                index = offset - self._buf_start
                while True:
                    index = self._buf.find(start, index)
                    if index < 0 or index + len(start) >= len(self._buf):
                        break
                    if self._buf[index + len(start)] in b"> \t\r\n/":
                        if best is None or index < best:
                            best = index
                        break
                    index += 1
            if best is not None:
                return self._buf_start + best
            # Not in the window: read on, keeping a tail in case a tag straddles chunks.
            offset = max(self._buf_start + len(self._buf) - longest, offset)
            self._pos = max(self._pos, offset)
            if not self._fill():
                return None

    def resume_at(self, offset: int, prefix: bytes) -> int:
        """Hand out ``prefix`` then the stream from ``offset``; returns the line of ``offset``."""
        self._pos = offset
        self._prefix = prefix
        return self.line_of(offset)


def _shift_lines(message: str, base: int) -> str:
    """libxml2 counts lines from where the current parser started; make them absolute."""
    message = _POSITION_SUFFIX.sub("", message.strip())
    if base == 1:
        return message
    return _LINE_IN_MESSAGE.sub(lambda m: f"line {int(m.group(1)) + base - 1}", message)


def iter_record_elements(
    stream: BinaryIO, layout: XmlLayout, name: str, *, encoding: str | None = None
) -> Iterator[tuple[etree._Element, int] | Broken]:
    """Every record element of ``stream`` in order, with its first line, or a :class:`Broken`.

    An element is valid only until the next item is requested (it is then cleared to keep
    memory flat), so callers convert it before asking for more. Raises ImportFileError when
    the stream is empty or holds neither the container element nor any record.
    """
    try:
        head = stream.read(4096)
    except OSError as exc:
        raise ImportFileError(name, f"cannot read the file ({exc.strerror or exc}).") from exc
    if not head.strip():
        raise ImportFileError(name, "the file is empty; export the records again.")
    if looks_binary(head, detect_encoding(head)):
        raise ImportFileError(name, "this is a binary file, not an XML export.")
    codec = _transcoding(head, encoding)
    window = _Window(stream, codec, head)
    tags = (layout.container, *layout.records)
    expected = set(layout.records) | set(layout.ignore)
    record_name = layout.records[0]
    base_line = 1  # absolute line of the current parser's first line
    resumed_at = 0  # absolute offset of the current parser's first real byte
    found = 0
    seen_container = False
    first_error: str | None = None

    def strays(parent: etree._Element, stop: etree._Element | None) -> Iterator[Broken]:
        # Container children that are not records: a record whose start tag was damaged.
        for child in parent:
            if child is stop:
                break
            if isinstance(child.tag, str) and child.tag not in expected:
                yield Broken(
                    (child.sourceline or 1) + base_line - 1,
                    f"<{child.tag}> found where a <{record_name}> was expected "
                    "(a record's start tag is damaged)",
                )

    while True:
        events = etree.iterparse(
            window, events=("start", "end"), tag=tags, encoding="utf-8" if codec else None
        )
        open_records: list[int] = []
        container: etree._Element | None = None
        try:
            for event, element in events:
                if element.tag == layout.container:
                    if event == "start":
                        container = element
                        seen_container = True
                    continue
                if event == "start":
                    open_records.append((element.sourceline or 1) + base_line - 1)
                    continue
                line = open_records.pop()
                parent = element.getparent()
                if parent is None or open_records or (
                    container is not None and parent is not container
                ):
                    # Nested in a broken record whose end tag was lost: complete in itself;
                    # the outer one is reported when the parser fails on it.
                    found += 1
                    yield element, line
                    element.clear(keep_tail=False)
                    continue
                container = parent  # stands in for a container whose start tag was damaged
                for broken in strays(parent, element):
                    found += 1
                    yield broken
                found += 1
                yield element, line
                element.clear(keep_tail=False)
                while element.getprevious() is not None:
                    del parent[0]
            if container is not None:
                for broken in strays(container, None):
                    found += 1
                    yield broken
            break
        except etree.XMLSyntaxError as exc:
            line_rel, column = exc.position if exc.position else (1, 1)
            message = _shift_lines(exc.msg or str(exc), base_line)
            error_line = max(line_rel, 1) + base_line - 1
            first_error = first_error or f"{message} (line {error_line})"
            reason = f"the XML of this record is broken: {message} (line {error_line})"
            if open_records:
                found += 1
                yield Broken(open_records[0], reason)
            elif container is not None:
                leftover = next(strays(container, None), None)
                if leftover is not None:
                    found += 1
                    yield Broken(leftover.line, reason)
            if line_rel <= 1:
                # The first line of a resumed parser starts with the prefix it was handed.
                skip = len(layout.resume_prefix) if resumed_at else 0
                error_at = resumed_at + max(column - 1 - skip, 0)
            else:
                error_at = window.offset_of(error_line, column - 1)
            start = window.find_start(layout.record_starts, max(error_at, resumed_at + 1))
            if start is None:
                break
            resumed_at = start
            base_line = window.resume_at(start, layout.resume_prefix)
    if not found:
        if first_error:
            raise ImportFileError(name, f"not readable as XML: {first_error}.")
        if not seen_container:
            raise ImportFileError(
                name, f"no <{record_name}> records found: is this the right format?"
            )
