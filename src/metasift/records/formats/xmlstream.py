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
lxml's. The same window turns elements that no field reads (a PubMed article's reference
list, say) into whitespace before libxml2 sees them, which saves a fifth of the parse time
and moves no byte (see :class:`_Blanker`).
"""

from __future__ import annotations

import codecs
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from lxml import etree

from metasift.errors import ImportFileError
from metasift.records.formats.base import detect_encoding, looks_binary, unreadable

_READ = 1 << 20
# Bytes of records parsed in one go by the fast reading: small enough to stay in the CPU's
# cache until their fields are read.
_BLOCK = 128 << 10
# Bytes kept behind the parser's read position: libxml2 parses what it was handed before
# asking for more, so the position of any error it reports lies well inside this window.
_KEEP = 4 << 20
_DECLARED = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_UTF8_NAMES = {"utf-8", "utf8", "us-ascii", "ascii"}
_LINE_IN_MESSAGE = re.compile(r"\bline (\d+)")
_POSITION_SUFFIX = re.compile(r", line \d+, column \d+$")
# Every byte but the line breaks becomes a space: positions and line numbers stay exact.
_BLANK = bytes.maketrans(bytes(b for b in range(256) if b not in b"\r\n"), b" " * 254)


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
    # Elements inside a record that no field reads (see _Blanker).
    unread: tuple[str, ...] = ()


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


class _Blanker:
    """Turns the elements no field reads into whitespace (see :meth:`__call__`)."""

    def __init__(self, layout: XmlLayout) -> None:
        unread = [tag.encode() for tag in layout.unread]
        # One scan finds the start tags of every unread element: a chunk is read once, not once
        # an element name.
        self._unread = re.compile(rb"<(" + b"|".join(map(re.escape, unread)) + rb")[ >]")
        self._unread_tags = {tag: (b"<" + tag, b"</" + tag + b">") for tag in unread}
        # Where a record ends: the common start of the record end tags (one scan, not one per
        # record kind; it may also match an element that is no record end, which only leaves
        # a span unblanked).
        ends = [f"</{tag}>".encode() for tag in layout.records]
        self._record_end = ends[0] if ends else b"</"
        for end in ends[1:]:
            while not end.startswith(self._record_end):
                self._record_end = self._record_end[:-1]

    def __call__(self, data: bytes) -> bytes:
        """``data`` with the unread elements (reference lists...) turned into whitespace.

        libxml2 spends most of its time building elements; a PubMed article's reference
        list, comments/corrections and history are a fifth of its bytes and feed no field.
        Blanking them in place, line breaks kept, leaves every offset and line number as it
        was. Only plain, complete spans inside one chunk are blanked: an element that is
        nested, cut by the chunk end, or whose end tag is missing before the record's end
        (a damaged file) is left to the parser. The record's end is looked for as the common
        start of the record end tags (``</Pubmed``), which a PubmedData end also matches:
        such a span, in a damaged file too, goes to the parser as well.
        """
        spans: list[tuple[int, int]] = []
        record_end = self._record_end
        search = self._unread.search
        unclosed: set[bytes] = set()  # elements whose end tag this chunk lacks
        at = 0
        while (found := search(data, at)) is not None:
            name = found.group(1)
            begin, inner = found.start(), found.end() - 1
            at = inner
            if name in unclosed:
                continue
            open_prefix, end_tag = self._unread_tags[name]
            end = data.find(end_tag, inner)
            if end < 0:
                unclosed.add(name)  # cut by the chunk end (or a damaged file)
                continue
            end += len(end_tag)
            at = end
            # The same element starting again inside the span is nested in it.
            if data.find(open_prefix, inner, end) < 0 and data.find(record_end, inner, end) < 0:
                spans.append((begin, end))
        if not spans:
            return data
        # Joined from views of the kept bytes: one copy of the chunk, where a bytearray
        # edited in place costs two (each a fresh megabyte the kernel must map in).
        view = memoryview(data)
        pieces: list[bytes | memoryview] = []
        kept = 0
        for begin, end in spans:
            pieces.append(view[kept:begin])
            pieces.append(data[begin:end].translate(_BLANK))
            kept = end
        pieces.append(view[kept:])
        return b"".join(pieces)


class _Window:
    """A file-like object for lxml that remembers recent bytes and can restart elsewhere.

    The stream is read in 1 MiB chunks handed to lxml whole (lxml keeps what it did not ask
    for), so the hot path copies nothing. The chunks of the last few MiB stay, with the
    offset and line number of their first byte, to map a parser error back to a position.
    Offsets are absolute positions in the (UTF-8) byte stream; lines are 1-based.
    """

    def __init__(
        self, raw: BinaryIO, codec: str | None, head: bytes, layout: XmlLayout | None = None
    ) -> None:
        self._raw = raw
        self._blank = _Blanker(layout) if layout is not None and layout.unread else None
        self._decoder = codecs.getincrementaldecoder(codec)("replace") if codec else None
        self._pending_head = head
        self._chunks: deque[tuple[int, bytes]] = deque()  # (offset, data)
        self._kept = 0  # bytes in _chunks
        self._end = 0  # offset after the last chunk read
        self._pos = 0  # offset of the next byte handed to the parser
        self._prefix = b""
        self._eof = False
        # Line numbers are needed only after an error. Counting newlines as the bytes pass
        # costs more than parsing them, so when the stream can be re-read (a file, not a
        # pipe, and not transcoded) lines are counted then, from the last point counted.
        try:
            self._rereadable = codec is None and raw.seekable() and raw.tell() == len(head)
        except (OSError, ValueError):
            self._rereadable = False
        self._counted = (0, 1)  # (offset, line at offset), known and <= first kept chunk
        self._chunk_lines: dict[int, int] = {}  # offset -> line, for non-rereadable streams

    def _fill(self) -> bool:
        """Read the next chunk of the stream into the window; False at the end."""
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
            if data and self._blank is not None:
                data = self._blank(data)
            if data:
                if not self._rereadable:
                    self._chunk_lines[self._end] = self._counted[1]
                    self._counted = (self._end + len(data), self._counted[1] + data.count(b"\n"))
                self._chunks.append((self._end, data))
                self._kept += len(data)
                self._end += len(data)
                while self._kept - len(self._chunks[0][1]) > _KEEP and (
                    self._chunks[0][0] + len(self._chunks[0][1]) < self._pos - _KEEP
                ):
                    dropped = self._chunks.popleft()
                    self._kept -= len(dropped[1])
                    self._chunk_lines.pop(dropped[0], None)
                return True
        return False

    def read(self, size: int = -1) -> bytes:
        if self._prefix:
            out, self._prefix = self._prefix, b""
            return out
        if self._pos >= self._end and not self._fill():
            return b""
        for offset, data in reversed(self._chunks):
            if offset <= self._pos:
                out = data[self._pos - offset :] if self._pos > offset else data
                self._pos += len(out)
                return out
        return b""  # the resume point fell out of the window: cannot happen (see _KEEP)

    # -- positions (used after a syntax error only) -----------------------------------------
    def _first_line(self) -> int:
        """Line number of the first kept byte."""
        first = self._chunks[0][0]
        if not self._rereadable:
            return self._chunk_lines[first]
        offset, line = self._counted
        if offset < first:
            resume = self._raw.tell()
            self._raw.seek(offset)
            while offset < first:
                block = self._raw.read(min(_READ, first - offset))
                if not block:
                    break
                line += block.count(b"\n")
                offset += len(block)
            self._raw.seek(resume)
            self._counted = (offset, line)
        return line

    def _joined(self) -> tuple[int, int, bytes]:
        return self._chunks[0][0], self._first_line(), b"".join(c[1] for c in self._chunks)

    def line_of(self, offset: int) -> int:
        start, line, data = self._joined()
        return line + data.count(b"\n", 0, max(offset - start, 0))

    def offset_of(self, line: int, column: int) -> int:
        """Absolute offset of ``column`` (0-based, in bytes) on absolute ``line``."""
        start, first_line, data = self._joined()
        index = -1
        for _ in range(line - first_line):
            index = data.find(b"\n", index + 1)
            if index < 0:
                return start + len(data)
        return start + index + 1 + max(column, 0)

    def find_start(self, starts: tuple[bytes, ...], offset: int) -> int | None:
        """Offset of the first record start tag at or after ``offset``, reading on as needed."""
        while True:
            start, _, data = self._joined()
            index = max(offset - start, 0)
            best = None
            for tag in starts:
                at = index
                while (at := data.find(tag, at)) >= 0 and at + len(tag) < len(data):
                    if data[at + len(tag)] in b"> \t\r\n/":
                        best = at if best is None else min(best, at)
                        break
                    at += 1
            if best is not None:
                return start + best
            # Not in the window: read on, keeping a tail in case a tag straddles chunks.
            offset = max(offset, self._end - max(len(t) for t in starts) - 1)
            self._pos = max(self._pos, offset)
            if not self._fill():
                return None

    def ends_before(self, offset: int) -> bool:
        """Whether the stream is known to end before ``offset``."""
        return self._eof and self._end <= offset

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


class Found:
    """A record element and the line its start tag is on (worked out when first asked for)."""

    __slots__ = ("_line", "_offset", "_source", "element")

    def __init__(
        self,
        element: etree._Element,
        line: int | None = None,
        source: _Clean | None = None,
        offset: int = 0,
    ) -> None:
        self.element = element
        self._line = line
        self._source = source
        self._offset = offset

    @property
    def line(self) -> int:
        if self._line is None:
            # Found by the fast reading: the line its parse began on, plus the element's own.
            start = self._source.line_at(self._offset)  # type: ignore[union-attr]
            self._line = start + (self.element.sourceline or 1) - 1
        return self._line


class _Unusual(Exception):
    """The stream holds something that only the general reading handles."""


def _prolog(container: str) -> re.Pattern[bytes]:
    """What may come before the first record for the fast reading: an XML declaration of
    UTF-8 (or none), a DOCTYPE without internal subset, the container's bare start tag."""
    quoted = rb"""(?:"[^"<>\[]*"|'[^'<>\[]*')"""
    pattern = (
        rb"(?:\xef\xbb\xbf)?"
        rb"""(?:<\?xml_+version_*=_*(?:"1\.0"|'1\.0')"""
        rb"""(?:_+encoding_*=_*(?i:"utf-8"|'utf-8'))?"""
        rb"""(?:_+standalone_*=_*(?:"(?:yes|no)"|'(?:yes|no)'))?_*\?>)?_*"""
        rb"(?:<!DOCTYPE_+NAME(?:_+PUBLIC_+Q_+Q|_+SYSTEM_+Q)?_*>)?_*<NAME>"
    )
    pattern = pattern.replace(b"_", rb"[ \t\n]").replace(b"Q", quoted)
    return re.compile(pattern.replace(b"NAME", re.escape(container.encode())))


class _Clean:
    """The fast reading of a well-formed export: a megabyte of records parsed at a time.

    lxml's iterparse intercepts every element to report events, which costs a sixth of the
    parse. While the stream is what a well-formed export is (a plain prolog, the container's
    start tag, records and ignored elements separated by whitespace, the container's end
    tag), the records can instead be parsed as they come, a buffer at a time: the complete
    records in the buffer, wrapped in a bare container element, in one ``XMLParser`` call.
    Anything else (a syntax error, text or another element between records, a record nested
    in a record, a record longer than the window, a carriage return, which libxml2 counts
    lines by differently) raises :class:`_Unusual`, and the caller reads the stream again the
    general way, which handles every case; this reading never decides a damaged file's
    outcome. It needs a stream that can be read again and is UTF-8 (no transcoding). Line
    numbers are counted only when asked for.
    """

    def __init__(self, stream: BinaryIO, layout: XmlLayout, head: bytes, origin: int) -> None:
        self._stream = stream
        self._origin = origin
        self._head = head
        self._prolog = _prolog(layout.container)
        self._records = frozenset(layout.records)
        self._ignore = layout.ignore
        self._ends = tuple(f"</{tag}>".encode() for tag in (*layout.records, *layout.ignore))
        self._open = f"<{layout.container}>".encode()
        self._close = f"</{layout.container}>".encode()
        self._blank = _Blanker(layout) if layout.unread else None
        self._counted = (0, 1)  # (offset, line at offset)

    def _read(self, size: int | None = None) -> bytes:
        try:
            data = self._head if size is None else self._stream.read(size)
        except OSError as exc:
            raise ImportFileError("<stream>", f"cannot read the file ({exc})") from exc
        if b"\r" in data:
            raise _Unusual
        if data and self._blank is not None:
            data = self._blank(data)
        return data

    def records(self) -> Iterator[Found]:
        buf = self._read()
        prolog = self._prolog.match(buf)
        if prolog is None:
            raise _Unusual
        base, pos = 0, prolog.end()  # stream offset of buf[0]; start of the unparsed rest
        while more := self._read(_READ):
            buf, base, pos = buf[pos:] + more, base + pos, 0
            while len(buf) - pos > _BLOCK:
                end = self._end(buf, pos, pos + _BLOCK) or self._end(buf, pos, len(buf))
                if not end:
                    break  # a record longer than a block: read on
                yield from self._block(buf, pos, end, base)
                pos = end
            if len(buf) - pos > _KEEP:
                raise _Unusual  # no record ends in sight
        rest = buf[pos:].rstrip(b" \t\n")
        if not rest.endswith(self._close):
            raise _Unusual
        yield from self._block(rest, 0, len(rest) - len(self._close), base + pos)

    def _end(self, buf: bytes, start: int, stop: int) -> int:
        """Where the last record or ignored element in ``buf[start:stop]`` ends; 0 if none."""
        end = start
        for tag in self._ends:  # the common end tag first: the others are looked for after it
            found = buf.rfind(tag, end, stop)
            if found >= 0:
                end = found + len(tag)
        return 0 if end == start else end

    def _block(self, buf: bytes, start: int, end: int, base: int) -> Iterator[Found]:
        """The records of ``buf[start:end]``, which holds nothing but whole records."""
        parser = etree.XMLParser()
        try:
            parser.feed(self._open)
            parser.feed(buf[start:end])
            parser.feed(self._close)
            root = parser.close()
        except etree.XMLSyntaxError:
            raise _Unusual from None
        if root.text and root.text.strip(" \t\n"):
            raise _Unusual
        records = [child for child in root if child.tag in self._records]
        if len(records) != sum(1 for _ in root.iter(*self._records)):
            raise _Unusual  # a record inside a record
        for child in root:
            if (child.tag not in self._records and child.tag not in self._ignore) or (
                child.tail and child.tail.strip(" \t\n")
            ):
                raise _Unusual
        where = base + start
        for element in records:
            yield Found(element, None, self, where)

    def line_at(self, offset: int) -> int:
        """Line of ``offset``, counted in the stream from the last point counted."""
        counted, line = self._counted
        if offset < counted:
            counted, line = 0, 1
        stream = self._stream
        resume = stream.tell()
        stream.seek(self._origin + counted)
        while counted < offset:
            block = stream.read(min(_READ, offset - counted))
            if not block:
                break
            line += block.count(b"\n")
            counted += len(block)
        stream.seek(resume)
        self._counted = (counted, line)
        return line


def iter_record_elements(
    stream: BinaryIO, layout: XmlLayout, name: str, *, encoding: str | None = None
) -> Iterator[Found | Broken]:
    """Every record element of ``stream`` in order, as a :class:`Found`, or a :class:`Broken`.

    An element is valid only until the next item is requested (it is then cleared to keep
    memory flat), so callers convert it before asking for more. Raises ImportFileError when
    the stream is empty or holds neither the container element nor any record.
    """
    try:
        origin = stream.tell() if stream.seekable() else None
    except (OSError, ValueError, AttributeError):
        origin = None
    try:
        head = stream.read(4096)
    except OSError as exc:
        raise unreadable(name, exc) from exc
    if not head.strip():
        raise ImportFileError(name, "the file is empty; export the records again.")
    if looks_binary(head, detect_encoding(head)):
        raise ImportFileError(name, "this is a binary file, not an XML export.")
    codec = _transcoding(head, encoding)
    done = 0
    if codec is None and origin is not None:
        clean = _Clean(stream, layout, head, origin)
        try:
            for found in clean.records():
                yield found
                done += 1
            return
        except _Unusual:
            # Read again from the start the general way, past the records already given.
            try:
                stream.seek(origin)
                head = stream.read(4096)
            except OSError as exc:
                raise unreadable(name, exc) from exc
    for item in _general(stream, layout, name, head, codec):
        if done:
            done -= 1
            continue
        yield item


def _general(
    stream: BinaryIO, layout: XmlLayout, name: str, head: bytes, codec: str | None
) -> Iterator[Found | Broken]:
    """The records of any stream, resuming after syntax errors (see the module docstring)."""
    window = _Window(stream, codec, head, layout)
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
                if (
                    parent is None
                    or open_records
                    or (container is not None and parent is not container)
                ):
                    # Nested in a broken record whose end tag was lost: complete in itself;
                    # the outer one is reported when the parser fails on it.
                    found += 1
                    yield Found(element, line)
                    element.clear(keep_tail=False)
                    continue
                container = parent  # stands in for a container whose start tag was damaged
                for broken in strays(parent, element):
                    found += 1
                    yield broken
                found += 1
                yield Found(element, line)
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
            if line_rel <= 1:
                # The first line of a resumed parser starts with the prefix it was handed.
                skip = len(layout.resume_prefix) if resumed_at else 0
                error_at = resumed_at + max(column - 1 - skip, 0)
            else:
                error_at = window.offset_of(error_line, column - 1)
            if window.ends_before(error_at + 64):
                reason = (
                    "the file ends inside this record: it was cut short (an interrupted "
                    f"download or copy?); export it again ({message}, line {error_line})"
                )
            else:
                reason = f"the XML of this record is broken: {message} (line {error_line})"
            if open_records:
                found += 1
                yield Broken(open_records[0], reason)
            elif container is not None:
                leftover = next(strays(container, None), None)
                if leftover is not None:
                    found += 1
                    yield Broken(leftover.line, reason)
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
