"""Streaming record elements out of big XML exports, one damaged record costing only itself.

Both XML readers (PubMed efetch XML, EndNote XML) hold thousands of sibling record elements
under one container. Where one record ends and the next begins is decided here, on the bytes,
not by the XML parser: a record starts at each start tag of a record element
(``<PubmedArticle``) and ends at the first record end tag after it (``</PubmedArticle>``), or
where the next record starts when its end tag is missing. ``<`` is escaped in text and
cannot occur in an attribute, so a tag of a record element can appear only as that tag, or
as text inside a comment, a CDATA section or the DOCTYPE's internal subset (an entity's
value): those three are recognised where they start and skipped whole, so the split needs no
parse. Each record is then parsed on its own, strictly, by lxml: a record that is not
well-formed is rejected with its line, and its neighbours are untouched.

libxml2's ``recover`` mode is not used to get past damage: what it makes of broken markup
is not specified and changed in libxml2 2.14, so the records read from a damaged file would
depend on the lxml wheel installed. Here the outcome is a function of the file's bytes
alone: the same records, the same rejections, whatever the libxml2 release, the read size or
the stream (a file or a pipe).

Speed and memory: the stream is read a megabyte at a time and only the records not yet
parsed are kept, so memory stays flat for a multi-gigabyte file. Records that follow one
another with only whitespace between them are parsed together, about 128 KiB per parser
call (fewer calls, and no event per element as iterparse reports); when such a block is not
well-formed, its records are parsed one by one, so the block only saves time and never
changes a result. The elements no field
reads (a PubMed article's reference list, say) are turned into whitespace before lxml sees
them, which saves a fifth of the parse time and moves no byte (see :meth:`_Reader._unread`).

What lies between records must be what an export puts there: whitespace, the XML
declaration, a DOCTYPE, comments, the start and end tags of the container and of the
elements around it, and the elements the layout ignores by design (PubMed's
``DeleteCitation``). Anything else there is a record whose start tag was damaged, and is
rejected in place. No DTD is ever read, so no entity declared in one is expanded (no XXE,
no entity bombs): a record using an undeclared entity is rejected.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from lxml import etree

from metasift.errors import ImportFileError
from metasift.records.formats.base import detect_encoding, looks_binary, unreadable

_READ = 1 << 20
# Bytes of records parsed in one go: small enough to stay in the CPU's cache until their
# fields are read.
_BLOCK = 128 << 10
# A record (or a stretch between records) longer than this is given up rather than held in
# memory: no export has records anywhere near it; a file that does has lost its record tags.
_LONGEST = 64 << 20
_NOTHING = 1 << 62  # an offset past any stream's end
_DECLARED = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_UTF8_NAMES = {"utf-8", "utf8", "us-ascii", "ascii"}
_LINE_IN_MESSAGE = re.compile(r"\bline (\d+)")
_POSITION_SUFFIX = re.compile(r", line \d+, column \d+$")
_SPACE = re.compile(rb"[ \t\r\n]*")
# Every byte but the line breaks becomes a space: positions and line numbers stay exact.
_BLANK = bytes.maketrans(bytes(b for b in range(256) if b not in b"\r\n"), b" " * 254)
# What records are parsed with: no DTD loaded, no network, libxml2's limits on tree depth and
# text size kept (huge_tree off). Records are parsed inside the container's start tag, where a
# DOCTYPE cannot occur, so no entity but the predefined ones can ever be declared.
_PARSER = {"no_network": True, "load_dtd": False, "huge_tree": False}
# A DOCTYPE, its internal subset read token by token: quoted literals, declarations (whose
# literals may hold "]", ">" or a record's tags), comments, processing instructions and
# parameter-entity references. The branches start on different bytes, so a DOCTYPE that does
# not close fails in linear time.
_DOCTYPE = (
    rb"<!DOCTYPE(?:[^\[>\"']|\"[^\"]*\"|'[^']*')*"
    rb"(?:\[(?:[^\]\"'<]|\"[^\"]*\"|'[^']*'|<!--.*?-->|<\?.*?\?>"
    rb"|<![A-Za-z](?:[^>\"']|\"[^\"]*\"|'[^']*')*>)*\][ \t\r\n]*)?>"
)
# Markup whose text is not markup: a record's tag inside it is not a record boundary.
_HIDING = re.compile(rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|" + _DOCTYPE, re.DOTALL)
# How far the reader looks ahead for the end of a comment, CDATA section or DOCTYPE before
# taking an unclosed one as damage (and its tags as tags).
_HIDING_LONGEST = 1 << 20


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
    ignore: frozenset[str] = frozenset()  # container children that are not records, by design
    outer: tuple[str, ...] = ()  # elements around the container (EndNote's <xml>)
    # Elements inside a record that no field reads (see _Reader._unread).
    unread: tuple[str, ...] = ()


class Found:
    """A record element and the line its start tag is on (worked out when first asked for)."""

    __slots__ = ("_line", "_offset", "_reader", "element")

    def __init__(self, element: etree._Element, reader: _Reader, offset: int) -> None:
        self.element = element
        self._reader = reader
        self._offset = offset
        self._line: int | None = None

    @property
    def line(self) -> int:
        if self._line is None:
            self._line = self._reader.line_at(self._offset)
        return self._line


def _transcoding(head: bytes, encoding: str | None) -> str | None:
    """The codec to transcode the stream from into UTF-8, or None to pass bytes through.

    Records are parsed without the XML declaration, as UTF-8, so any other encoding is
    re-encoded here: the one given, else the one the XML declaration names, else UTF-16/32
    when the first bytes say so. Without a declaration XML is UTF-8: a stray byte of another
    encoding costs its record only, where guessing the file's encoding from its first bytes
    would change the text of every record.
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


def _shift_lines(message: str, base: int) -> str:
    """libxml2 counts lines from the start of what it parsed; make them lines of the file."""
    message = _POSITION_SUFFIX.sub("", message.strip())
    if base == 1:
        return message
    return _LINE_IN_MESSAGE.sub(lambda m: f"line {int(m.group(1)) + base - 1}", message)


def _alternatives(names: tuple[str, ...] | frozenset[str]) -> bytes:
    return b"|".join(re.escape(name.encode()) for name in sorted(names))


def _token_pattern(records: frozenset[bytes], unread: frozenset[bytes]) -> re.Pattern[bytes]:
    """A search for record start and end tags and unread elements' start tags.

    Written as ``<`` + one of the names' first letters or ``/`` + the rest of a name, which
    the regex engine tests in a few instructions at each ``<``; an alternation of whole tags
    is twice as slow. It matches a few non-tags too (``<PPubmedArticle``, ``</istory``):
    the caller checks the name. Group 1 is the first letter (or ``/``), group 2 the rest.
    """
    names = records | unread
    firsts = {name[:1] for name in names} | {b"/"}
    rests = {name[1:] for name in names} | records
    return re.compile(
        rb"<(["
        + b"".join(re.escape(first) for first in sorted(firsts))
        + rb"])("
        + b"|".join(re.escape(rest) for rest in sorted(rests, key=lambda r: (-len(r), r)))
        + rb")[ \t\r\n/>]"
    )


def _common_prefix(names: tuple[str, ...]) -> bytes:
    """The longest start all ``names`` share (``Pubmed`` for PubMed's records), else ``<``."""
    prefix = names[0].encode()
    for name in names[1:]:
        while not name.encode().startswith(prefix):
            prefix = prefix[:-1]
    return prefix or b"<"


@dataclass(slots=True)
class _Span:
    """A record's bytes in the stream: [start, end), absolute offsets in the UTF-8 bytes."""

    start: int
    end: int
    closed: bool  # ends with a record end tag (or is an empty-element tag)


class _Reader:
    """Splits a stream into records and parses them (see the module docstring)."""

    def __init__(
        self, stream: BinaryIO, layout: XmlLayout, name: str, head: bytes, codec: str | None
    ) -> None:
        self._stream = stream
        self._name = name
        self._record_name = layout.records[0]
        records = _alternatives(layout.records)
        self._records = frozenset(name.encode() for name in layout.records)
        self._unread_names = frozenset(name.encode() for name in layout.unread)
        self._tokens = _token_pattern(self._records, self._unread_names)
        self._start_tag = re.compile(
            rb"<(?:" + records + rb""")(?:[ \t\r\n]+[^\s=<>/"']+[ \t\r\n]*=[ \t\r\n]*"""
            rb"""(?:"[^"<]*"|'[^'<]*'))*[ \t\r\n]*(/?)>"""
        )
        self._end_tag = re.compile(rb"</(?:" + records + rb")[ \t\r\n]*>")
        self._any_end = re.compile(rb"</(?:" + records + rb")(?=[ \t\r\n>])")
        self._any_tag = re.compile(rb"</?(?:" + records + rb")(?=[ \t\r\n/>])")
        self._longest_token = max(len(tag) for tag in (*layout.records, *layout.unread)) + 3
        # A record's name shares this with every record tag: an unread element holding it
        # may hold a record boundary, and is left to the parser.
        self._record_mark = _common_prefix(layout.records)
        frame = _alternatives((layout.container, *layout.outer))
        ignored = _alternatives(layout.ignore) if layout.ignore else None
        filler = [
            rb"[ \t\r\n]+",
            rb"\xef\xbb\xbf",
            rb"<\?.*?\?>",
            rb"<!--.*?-->",
            _DOCTYPE,
            rb"</?(?:" + frame + rb")(?:[ \t\r\n][^<>]*)?>",
        ]
        if ignored:
            filler.append(rb"<(" + ignored + rb")(?:[ \t\r\n][^<>]*)?(?:/>|>.*?</\1[ \t\r\n]*>)")
        self._filler = re.compile(b"|".join(filler), re.DOTALL)
        self._container = re.compile(
            rb"<" + re.escape(layout.container.encode()) + rb"(?:[ \t\r\n][^<>]*)?>"
        )
        # Records are parsed inside the container's start tag as read: its namespace
        # declarations apply to them (see _wrap_in).
        self._wrapper = f"<{layout.container}>".encode()
        self._wrapper_end = f"</{layout.container}>".encode()
        self._seen_container = False
        self._seen_record = False

        self._decoder = codecs.getincrementaldecoder(codec)("replace") if codec else None
        self._pending_head = head
        self._buf = b""
        self._base = 0  # absolute offset of _buf[0]
        self._eof = False
        self._blanks: list[tuple[int, int]] = []  # spans of unread elements, in order
        self._hold = _NOTHING  # the first byte the caller still needs
        # Lines are counted only when asked for. When the stream can be read again (a file,
        # not a pipe, and not transcoded), bytes dropped uncounted are counted then, from the
        # stream; otherwise they are counted as they are dropped.
        try:
            origin = stream.tell() - len(head) if codec is None and stream.seekable() else None
        except (OSError, ValueError):
            origin = None
        self._origin = origin
        self._counted = (0, 1)  # (offset, line at offset)

    # -- bytes ----------------------------------------------------------------------------------
    def _more(self, keep: int) -> bool:
        """Read the next chunk, dropping the bytes before ``keep``; False at the end."""
        drop = keep - self._base
        if drop > 0:
            counted, line = self._counted
            if self._origin is None and counted < keep:
                self._counted = (keep, line + self._buf.count(b"\n", counted - self._base, drop))
            self._buf = self._buf[drop:]
            self._base = keep
        while not self._eof:
            if self._pending_head:
                raw, self._pending_head = self._pending_head, b""
            else:
                try:
                    raw = self._stream.read(_READ)
                except OSError as exc:
                    raise unreadable(self._name, exc) from exc
            self._eof = not raw
            data = raw
            if self._decoder is not None:
                data = self._decoder.decode(raw, final=self._eof).encode("utf-8")
            if data:
                self._buf += data
                return True
        return False

    @property
    def _end(self) -> int:
        return self._base + len(self._buf)

    def line_at(self, offset: int) -> int:
        """The line of absolute ``offset`` (1-based); ``offset`` must still be in the buffer."""
        counted, line = self._counted
        if offset < counted:
            if offset >= self._base:
                return line - self._buf.count(b"\n", offset - self._base, counted - self._base)
            counted, line = 0, 1
        if counted < self._base:  # dropped uncounted: only a stream that can be read again
            line += self._count_in_stream(counted, self._base)
            counted = self._base
        line += self._buf.count(b"\n", counted - self._base, offset - self._base)
        self._counted = (offset, line)
        return line

    def _count_in_stream(self, start: int, stop: int) -> int:
        stream, origin = self._stream, self._origin or 0
        try:
            resume = stream.tell()
            stream.seek(origin + start)
            lines = 0
            while start < stop:
                block = stream.read(min(_READ, stop - start))
                if not block:
                    break
                lines += block.count(b"\n")
                start += len(block)
            stream.seek(resume)
        except OSError as exc:
            raise unreadable(self._name, exc) from exc
        return lines

    def _bytes(self, start: int, end: int) -> bytes:
        """The stream's bytes [start, end) with the unread elements in them blanked."""
        buf, base = self._buf, self._base
        blanks = [(s, e) for s, e in self._blanks if start <= s and e <= end]
        self._blanks = [b for b in self._blanks if b[0] >= end]
        if not blanks:
            return buf[start - base : end - base]
        # Joined from views of the kept bytes: one copy, not one per blanked element.
        view = memoryview(buf)
        pieces: list[bytes | memoryview] = []
        kept = start
        for s, e in blanks:
            pieces.append(view[kept - base : s - base])
            pieces.append(buf[s - base : e - base].translate(_BLANK))
            kept = e
        pieces.append(view[kept - base : end - base])
        return b"".join(pieces)

    # -- splitting --------------------------------------------------------------------------------
    def _spans(self) -> Iterator[_Span | tuple[int, int] | Broken]:
        """The records (:class:`_Span`) and what lies between them (start, end), in order.

        Whitespace between records is left out: records that come one after the other here
        have nothing else between them.

        Bytes before ``self._hold`` (the first record the caller has not parsed yet) or before
        the current segment are dropped as the stream is read on. A record or stretch longer
        than ``_LONGEST`` comes out as a :class:`Broken` and is skipped.
        """
        scan = seg = 0  # where the scan resumes; where the current record or stretch began
        inside = False  # whether seg is a record's start
        skipping = False  # whether the bytes up to the next record are given up
        while True:
            buf, base = self._buf, self._base
            found = self._tokens.search(buf, scan - base)
            if not self._eof and (
                found is None or found.start() > len(buf) - self._longest_token - 1
            ):
                if self._end - seg > _LONGEST:
                    if not skipping:
                        yield from self._too_long(seg, inside)
                    seg = self._end - self._longest_token - 1
                    inside, skipping = False, True
                scan = max(scan, self._end - self._longest_token - 1, seg)
                self._more(min(seg, self._hold))
                continue
            if found is None:  # the end of the stream
                if inside:
                    yield _Span(seg, self._end, False)
                elif not skipping and not _SPACE.fullmatch(buf, seg - base):
                    yield (seg, self._end)
                return
            at = found.start() + base
            hidden = buf.find(b"<!", scan - base, found.start())
            if hidden >= 0:
                whole = _HIDING.match(buf, hidden)
                if (
                    whole is None
                    and not self._eof
                    and self._end - (hidden + base) < _HIDING_LONGEST
                ):
                    scan = hidden + base  # its end is not in the buffer yet
                    self._more(min(seg, self._hold))
                    continue
                # A DOCTYPE inside a record is damage the parser reports, not a thing to skip.
                if whole is not None and not (inside and whole.group(0)[2:3] == b"D"):
                    scan = whole.end() + base
                    continue
            first, rest = found.group(1, 2)
            if first == b"/":
                if rest not in self._records:
                    scan = at + 1
                    continue
            elif first + rest not in self._records:
                if first + rest not in self._unread_names or not inside:
                    scan = at + 1
                    continue
                skip = self._unread(found, first + rest)  # an unread element's start tag
                if skip is None:  # its end is not in the buffer yet
                    scan = at
                    self._more(min(seg, self._hold))
                else:
                    scan = skip
                continue
            if first == b"/":  # a record's end tag
                end = self._tag_end(self._end_tag, found)
                if end is None:
                    scan = at
                    self._more(min(seg, self._hold))
                elif inside:
                    yield _Span(seg, end, True)
                    seg = scan = end
                    inside = False
                else:
                    scan = end  # outside a record: left to the stretch, as damage
                continue
            end = self._tag_end(self._start_tag, found)
            if end is None:
                scan = at
                self._more(min(seg, self._hold))
                continue
            if inside:  # the record before lost its end tag
                yield _Span(seg, at, False)
            elif not skipping and not _SPACE.fullmatch(buf, seg - base, at - base):
                yield (seg, at)
            self._seen_record = True
            skipping = False
            if buf[end - base - 2 : end - base] == b"/>":
                yield _Span(at, end, True)  # <record/>: an empty record
                seg, inside = end, False
            else:
                seg, inside = at, True
            scan = end

    def _tag_end(self, pattern: re.Pattern[bytes], found: re.Match[bytes]) -> int | None:
        """Where the record tag at ``found`` ends; None when the buffer ends before it does.

        A damaged tag ends at the first ``>`` before any ``<``, or right after its name.
        """
        buf, base = self._buf, self._base
        tag = pattern.match(buf, found.start())
        if tag is not None:
            return tag.end() + base
        name_end = found.end() - 1
        close = buf.find(b">", name_end)
        if close < 0:
            return None if not self._eof else name_end + base
        if buf.find(b"<", name_end, close) >= 0:
            return name_end + base
        return close + 1 + base

    def _unread(self, found: re.Match[bytes], name: bytes) -> int | None:
        """Where to scan on after the start tag of an element no field reads, in a record.

        The element becomes whitespace (see :meth:`_bytes`) when it is plain: its end tag
        comes before the record's end, it holds no element of its own name and nothing that
        could be a record tag. Otherwise, and in a damaged record, it is left to the parser.
        Returns None when the buffer ends before the decision can be made.
        """
        buf, base = self._buf, self._base
        inner = found.end() - 1
        if buf[inner] == 0x2F:  # <History/>: nothing to blank
            return inner + base
        end = buf.find(b"</" + name + b">", inner)
        if end < 0:
            if self._eof or self._any_tag.search(buf, inner) is not None:
                return inner + base
            return None
        end += len(name) + 3
        if buf.find(self._record_mark, inner, end) < 0 and buf.find(b"<" + name, inner, end) < 0:
            self._blanks.append((found.start() + base, end + base))
            return end + base
        return inner + base

    def _too_long(self, seg: int, inside: bool) -> Iterator[Broken]:
        """Give up a record or stretch that runs on for more than ``_LONGEST`` bytes."""
        size = _LONGEST >> 20
        line = self.line_at(seg)
        if inside:
            yield Broken(
                line,
                f"the XML of this record is broken: it runs on for more than {size} MiB "
                f"without its </{self._record_name}> end tag; what follows up to the next "
                "record is skipped",
            )
        elif not _SPACE.fullmatch(self._buf, seg - self._base):
            yield Broken(
                line,
                f"more than {size} MiB without a <{self._record_name}> record; what follows "
                "up to the next record is skipped",
            )

    # -- parsing --------------------------------------------------------------------------------
    def items(self) -> Iterator[Found | Broken]:
        """Every record of the stream in order, as a :class:`Found` or a :class:`Broken`."""
        block: list[_Span] = []  # records with their end tags, one after the other, unparsed
        held: list[Broken] = []  # rejections before the first record, until one is seen
        for piece in self._spans():
            if isinstance(piece, _Span) and piece.closed:
                if held:
                    yield from held
                    held = []
                if block and piece.end - block[0].start > _BLOCK:
                    yield from self._block(block)
                    block = []
                block.append(piece)
                self._hold = block[0].start
                continue
            yield from self._block(block)
            block = []
            if isinstance(piece, _Span):  # a record without its end tag
                yield from held
                held = []
                yield from self._parse(piece, self._bytes(piece.start, piece.end))
            else:
                broken = [piece] if isinstance(piece, Broken) else list(self._stretch(*piece))
                if self._seen_record:
                    yield from held
                    yield from broken
                    held = []
                else:
                    held.extend(broken)
            self._hold = _NOTHING
        yield from self._block(block)
        if held and self._seen_container:
            yield from held
        elif not self._seen_record and not self._seen_container:
            raise ImportFileError(self._name, self._not_records())

    def _not_records(self) -> str:
        start = self._buf.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        if start == b"<":
            return f"no <{self._record_name}> records found: is this the right format?"
        return "not readable as XML: it does not start with markup (line 1)."

    def _block(self, spans: list[_Span]) -> Iterator[Found | Broken]:
        """The records of ``spans``, consecutive records with only whitespace between them."""
        if not spans:
            return
        start, end = spans[0].start, spans[-1].end
        data = self._bytes(start, end)
        if len(spans) > 1:
            try:
                root = self._xml(data)
            except etree.XMLSyntaxError:
                root = None
            if root is not None and len(root) == len(spans):
                for span, element in zip(spans, root, strict=True):
                    yield Found(element, self, span.start)
                return
        for span in spans:
            yield from self._parse(span, data[span.start - start : span.end - start])

    def _xml(self, data: bytes) -> etree._Element:
        """The container element holding the records of ``data``, parsed strictly."""
        parser = etree.XMLParser(**_PARSER)
        return etree.fromstring(self._wrapper + data + self._wrapper_end, parser)

    def _parse(self, span: _Span, data: bytes) -> Iterator[Found | Broken]:
        """One record parsed on its own, or why it cannot be."""
        line = self.line_at(span.start)
        try:
            root = self._xml(data)
        except etree.XMLSyntaxError as exc:
            yield Broken(line, self._why(span, exc, line, data))
            return
        if span.closed and len(root) == 1:
            yield Found(root[0], self, span.start)
            return
        yield Broken(line, self._why(span, None, line, data))  # an unclosed record: cannot be

    def _why(self, span: _Span, exc: etree.XMLSyntaxError | None, line: int, data: bytes) -> str:
        """The reason a record is rejected, with the line of the damage."""
        end = f"</{self._record_name}>"
        if not span.closed and span.end == self._end and self._eof:
            rest = self._buf[span.start - self._base :]
            if self._wrapper_end not in rest:
                last = self.line_at(span.end - 1 if span.end > span.start else span.end)
                return (
                    f"the file ends inside this record (line {last}): it was cut short "
                    "(an interrupted download or copy?); export it again"
                )
            return f"the XML of this record is broken: it has no {end} end tag"
        if not span.closed:
            return (
                f"the XML of this record is broken: it has no {end} end tag before the next "
                f"record (line {self.line_at(span.end)})"
            )
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as error:
            at = line + data.count(b"\n", 0, error.start)
            return (
                f"the XML of this record is broken: byte 0x{data[error.start]:02X} (line {at}) "
                "is not UTF-8, the file's encoding"
            )
        if exc is None:
            return "the XML of this record is broken"
        rel_line = exc.position[0] if exc.position else 1
        message = _shift_lines(exc.msg or str(exc), line)
        return f"the XML of this record is broken: {message} (line {max(rel_line, 1) + line - 1})"

    def _wrap_in(self, tag: bytes) -> None:
        """Parse records inside the container's start tag ``tag``, when it is well-formed."""
        tag = re.sub(rb"[ \t\r\n]+", b" ", tag)  # one line: lines in messages stay exact
        try:
            etree.fromstring(tag + self._wrapper_end, etree.XMLParser(**_PARSER))
        except etree.XMLSyntaxError:
            return
        self._wrapper = tag

    def _stretch(self, start: int, end: int) -> Iterator[Broken]:
        """What lies between two records: rejections for anything but what exports put there.

        Everything from the first unexpected byte to the next record end tag is one record
        whose start tag was damaged.
        """
        buf, base = self._buf, self._base
        at = start - base
        stop = end - base
        while at < stop:
            filler = self._filler.match(buf, at, stop)
            if filler is not None:
                if not self._seen_container and self._container.match(buf, at, stop):
                    self._seen_container = True
                    self._wrap_in(filler.group(0))
                at = filler.end()
                continue
            element = re.match(rb"<([A-Za-z_][\w.:-]*)", buf[at : at + 200])
            what = f"<{element.group(1).decode('utf-8', 'replace')}>" if element else "text"
            record_end = self._any_end.search(buf, at, stop)
            damaged = " (a record's start tag is damaged)" if record_end else ""
            yield Broken(
                self.line_at(at + base),
                f"{what} found where a <{self._record_name}> was expected{damaged}",
            )
            if record_end is None:
                return
            tag = self._end_tag.match(buf, record_end.start(), stop)
            at = tag.end() if tag else record_end.end()


def iter_record_elements(
    stream: BinaryIO, layout: XmlLayout, name: str, *, encoding: str | None = None
) -> Iterator[Found | Broken]:
    """Every record element of ``stream`` in order, as a :class:`Found`, or a :class:`Broken`.

    An element is valid only until the next item is requested (its bytes are then dropped
    to keep memory flat), so callers convert it before asking for more.

    Args:
        stream: the export, a binary stream (a file or a pipe).
        layout: where the records sit in this format.
        name: the file's name, for error messages.
        encoding: the file's encoding when known; else the declared or detected one.

    Raises:
        ImportFileError: when the stream is empty, binary, or holds neither the container
            element nor any record.
    """
    try:
        head = stream.read(4096)
    except OSError as exc:
        raise unreadable(name, exc) from exc
    if not head.strip():
        raise ImportFileError(name, "the file is empty; export the records again.")
    if looks_binary(head, detect_encoding(head)):
        raise ImportFileError(name, "this is a binary file, not an XML export.")
    yield from _Reader(stream, layout, name, head, _transcoding(head, encoding)).items()
