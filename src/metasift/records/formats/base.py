"""What every format reader shares: decoding, rejections, options, the reader contract.

A reader is a module in this package exposing

* ``NAME``: the format name users pass to ``--format``;
* ``EXTENSIONS``: file name endings that hint at the format (a hint only: detection reads content);
* ``sniff(head: str, path: Path) -> int``: confidence 0-100 that decoded text ``head`` (the
  first 64 KiB) is this format;
* ``read(path: Path, options: ReadOptions) -> Iterator[Record | Rejection]``: every record of
  the file in order, each either a :class:`Record` or a :class:`Rejection` with the reason, so
  that the importer can account for every record read.

and, where the format can be written, ``write(records, stream) -> None``.
A reader raises :class:`~metasift.errors.ImportFileError` only when the file as a whole cannot
be read; anything wrong with one record is a rejection.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from metasift.errors import ImportFileError
from metasift.records.model import Record

HEAD_BYTES = 64 * 1024
# Bytes read at a time by the streaming readers: big enough that per-chunk work vanishes,
# small enough that memory stays flat whatever the file size.
CHUNK_BYTES = 1 << 20


@dataclass(slots=True)
class Rejection:
    """A record that was read but cannot be imported, and why."""

    position: int
    reason: str
    line: int | None = None
    source_file: str | None = None

    def describe(self) -> str:
        where = f"record {self.position}"
        if self.line:
            where += f" (line {self.line})"
        return f"{where}: {self.reason}"


@dataclass(slots=True)
class ReadOptions:
    """Per-import settings; every field has a sensible default."""

    source_database: str | None = None
    # CSV/TSV only: Record field -> column name, overriding the automatic mapping.
    column_map: dict[str, str] = field(default_factory=dict)
    # Column (CSV) or field holding an include label (1/0, yes/no, true/false).
    label_column: str | None = None
    encoding: str | None = None


ReadItem = Record | Rejection

# How many bytes after the first byte that is not UTF-8 are looked at to tell a UTF-8 file
# with a damaged record from a Windows (cp1252) file.
UTF8_WINDOW = 64 * 1024
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
    rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
    rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)
_HIGH = re.compile(rb"[\x80-\xff]")


def fallback_after(before_ascii: bool, window: bytes) -> str:
    """The encoding of a file whose first byte that is not UTF-8 starts ``window``.

    A file whose text before that byte already held UTF-8 characters is UTF-8 with a damaged
    stretch; so is one whose next ``UTF8_WINDOW`` bytes hold well-formed UTF-8 characters and
    no more than eight stray bytes for each (cp1252 text almost never forms a UTF-8 sequence:
    a Windows export has stray bytes only). Reading such a file as cp1252 would turn every
    accented letter of every other record into mojibake (``é`` into ``Ã©``); read as UTF-8,
    only the damaged bytes become U+FFFD. Anything else is a Windows export: cp1252.
    """
    if not before_ascii:
        return "utf-8"
    window = window[:UTF8_WINDOW]
    good = _UTF8_SEQUENCE.findall(window)
    stray = len(_HIGH.findall(window)) - sum(map(len, good))
    return "utf-8" if good and stray <= 8 * len(good) else "cp1252"


def detect_encoding(data: bytes) -> str:
    """Encoding of a byte string: BOM first, then UTF-8, then cp1252.

    cp1252 is the honest fallback for Windows exports (EndNote, Excel CSV); bytes it cannot map
    are decoded as Latin-1 by :func:`decode`, so decoding never fails. A UTF-8 file with a few
    bytes that are not UTF-8 (one damaged record) stays UTF-8: see :func:`fallback_after`.
    """
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    # UTF-16 without BOM: every other byte of ASCII text is NUL.
    sample = data[:4096]
    if len(sample) >= 4 and sample.count(0) > len(sample) // 3:
        return "utf-16-le" if sample[1] == 0 else "utf-16-be"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A file cut mid-character at the end of the sample is still UTF-8.
        if exc.start < len(data) - 4:
            return fallback_after(data[: exc.start].isascii(), data[exc.start :])
    return "utf-8"


def decode(data: bytes, encoding: str) -> str:
    if encoding == "cp1252":
        return data.decode("cp1252", errors="replace").replace("\ufffd", "")
    return data.decode(encoding, errors="replace")


def looks_binary(data: bytes, encoding: str) -> bool:
    """True for files that are not text in any encoding we read (images, archives, PDFs)."""
    if encoding.startswith(("utf-16", "utf-32")):
        return False
    sample = data[:HEAD_BYTES]
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return controls > len(sample) // 20


def unreadable(path: Path | str, exc: OSError) -> ImportFileError:
    """The error for a file the operating system would not let us read."""
    return ImportFileError(str(path), f"cannot read the file ({exc.strerror or exc}).")


def open_binary(path: Path) -> BinaryIO:
    """``path`` opened for reading bytes; raises ImportFileError if it cannot be."""
    try:
        return path.open("rb")
    except OSError as exc:
        raise unreadable(path, exc) from exc


def read_text(path: Path, encoding: str | None = None) -> str:
    """The whole file as text, with the encoding detected; raises ImportFileError if unreadable."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise unreadable(path, exc) from exc
    enc = encoding or detect_encoding(data)
    if looks_binary(data, enc):
        raise ImportFileError(str(path), "this is a binary file, not a bibliographic export.")
    return decode(data, enc)


def iter_text(path: Path, encoding: str | None = None) -> Iterator[str]:
    """The file as decoded text, a chunk at a time, in constant memory.

    Decodes exactly as :func:`read_text` does the whole file: the encoding is ``encoding`` or
    detected from a BOM, UTF-16 without one, strict UTF-8, else cp1252, and a binary file
    raises ImportFileError. Whether a file is UTF-8 is known only at its end, so the text is
    decoded as strict UTF-8 until a byte is not; from that byte on it is UTF-8 with the bad
    bytes replaced or cp1252, as :func:`fallback_after` judges from the text before and the
    bytes after (the same judgement :func:`detect_encoding` makes of the whole file, so both
    reads give the same text).
    """
    with open_binary(path) as stream:

        def chunks() -> Iterator[bytes]:
            while True:
                try:
                    data = stream.read(CHUNK_BYTES)
                except OSError as exc:
                    raise unreadable(path, exc) from exc
                if not data:
                    return
                yield data

        raw = chunks()
        head = next(raw, b"")
        enc = encoding or detect_encoding(head)
        if looks_binary(head, enc):
            raise ImportFileError(str(path), "this is a binary file, not a bibliographic export.")
        if encoding is None and enc == "utf-8":
            size = os.fstat(stream.fileno()).st_size
            yield from _utf8_until_not(head, raw, size)
            return
        yield from _decode_rest(head, raw, enc)


def _prepend(head: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if head:
        yield head
    yield from rest


def _utf8_until_not(head: bytes, rest: Iterator[bytes], size: int) -> Iterator[str]:
    """Strict UTF-8 text of the chunks; see :func:`iter_text` for what follows a bad byte."""
    pending = b""
    offset = 0  # file offset of pending[0]
    ascii_so_far = True
    chunks = _prepend(head, rest)
    for data in chunks:
        data = pending + data if pending else data
        try:
            text, used = codecs.utf_8_decode(data, "strict", False)
        except UnicodeDecodeError as exc:
            text = data[: exc.start].decode("utf-8")
            if text:
                yield text
            bad_at = offset + exc.start
            ascii_so_far = ascii_so_far and text.isascii()
            rest = data[exc.start :]
            while len(rest) < UTF8_WINDOW and (more := next(chunks, None)) is not None:
                rest += more
            # As detect_encoding: a bad byte among the last four is a file cut mid-character.
            at_end = bad_at >= size - 4
            fallback = "utf-8" if at_end else fallback_after(ascii_so_far, rest)
            yield from _decode_rest(rest, chunks, fallback)
            return
        if text:
            ascii_so_far = ascii_so_far and text.isascii()
            yield text
        pending = data[used:]
        offset += used
    if pending:
        # An incomplete character at the very end: the file was cut mid-character.
        yield pending.decode("utf-8", errors="replace")


def _decode_rest(first: bytes, chunks: Iterator[bytes], encoding: str) -> Iterator[str]:
    if encoding == "cp1252":
        for data in _prepend(first, chunks):
            yield decode(data, "cp1252")
        return
    decoder = codecs.getincrementaldecoder(encoding)("replace")
    for data in _prepend(first, chunks):
        if text := decoder.decode(data):
            yield text
    if text := decoder.decode(b"", final=True):
        yield text


def read_head(path: Path) -> tuple[str, bytes]:
    """First 64 KiB of a file, decoded, plus the raw bytes (for binary/XML checks)."""
    try:
        with path.open("rb") as fh:
            data = fh.read(HEAD_BYTES)
    except OSError as exc:
        raise unreadable(path, exc) from exc
    enc = detect_encoding(data)
    return decode(data, enc), data


def rejected_records(items: Iterator[ReadItem]) -> Iterator[Rejection]:
    return (item for item in items if isinstance(item, Rejection))
