"""Damage one record of a real export and check what the readers make of the whole file.

Shared by the property tests (tests/records/test_damage.py) and the longer fuzz run
(benchmarks/fuzz_import.py). A file is cut into its records on their start markers (``TY  -``,
``PMID-``, ``PT``, ``@``, ``<PubmedArticle>``, ``<record>``, CSV rows); one record's bytes are
damaged; the file is read again and compared with the undamaged read: every other record must
arrive unchanged, in order, and what the damaged record became (a rejection, or a record
carrying its damage) must name a line of that record.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from metasift.records.formats import read_file
from metasift.records.formats.base import Rejection
from metasift.records.model import Record

# Sample folder under ../shared/data/formats -> reader.
FORMAT_OF_FOLDER = {
    "bibtex": "bibtex",
    "csv": "csv",
    "endnote_xml": "endnote-xml",
    "medline": "medline",
    "pubmed_xml": "pubmed-xml",
    "ris": "ris",
    "scopus_csv": "csv",
    "wos_plaintext": "wos",
}
_STARTS = {
    "ris": re.compile(rb"^(?:\xef\xbb\xbf)?[ \t]*TY  ?-", re.MULTILINE),
    "medline": re.compile(rb"^PMID-", re.MULTILINE),
    "wos": re.compile(rb"^PT ", re.MULTILINE),
    "bibtex": re.compile(rb"^[ \t]*@", re.MULTILINE),
    "pubmed-xml": re.compile(rb"<PubmedArticle[ \t\r\n>]"),
    "endnote-xml": re.compile(rb"<record>"),
}
_ENDS = {"pubmed-xml": b"</PubmedArticle>", "endnote-xml": b"</record>"}
_BREAK = re.compile(rb"\r\n|\r|\n")
DAMAGE = ("truncate", "unclosed markup", "invalid bytes", "nested markup", "entities")


def record_spans(data: bytes, fmt: str) -> list[tuple[int, int]]:
    """Byte spans of the file's records, in order."""
    if fmt == "csv":
        return _csv_spans(data)
    starts = [m.start() for m in _STARTS[fmt].finditer(data)]
    if fmt in _ENDS:
        end = _ENDS[fmt]
        return [(s, data.index(end, s) + len(end)) for s in starts]
    return list(zip(starts, [*starts[1:], len(data)], strict=True))


def _csv_spans(data: bytes) -> list[tuple[int, int]]:
    text = data.decode("utf-8-sig")
    offsets = [0]
    for line in io.StringIO(text, newline=""):
        offsets.append(offsets[-1] + len(line.encode("utf-8")))
    bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    reader = csv.reader(io.StringIO(text, newline=""))
    spans, line = [], 0
    for row_number, _ in enumerate(reader):
        start, line = line, reader.line_num
        if row_number:  # the header is no record
            spans.append((offsets[start] + bom, offsets[line] + bom))
    return spans


def first_records(data: bytes, fmt: str, limit: int) -> bytes:
    """The file cut to its first ``limit`` records (container and header kept): quick to read."""
    spans = record_spans(data, fmt)
    if len(spans) <= limit:
        return data
    if fmt in _ENDS:
        return data[: spans[limit - 1][1]] + data[spans[-1][1] :]
    return data[: spans[limit][0]]


def damage(record: bytes, kind: str, at: float, fmt: str) -> bytes:
    """``record`` with damage of ``kind`` at the fraction ``at`` of its length."""
    cut = max(1, min(len(record) - 1, int(len(record) * at)))
    xml = fmt in _ENDS
    if kind == "truncate":
        return record[:cut] + b"\n"
    if kind == "unclosed markup":
        insert = b"<ArticleTitle>unclosed " if xml else b"<i>unclosed <b "
    elif kind == "invalid bytes":
        insert = b"\xff\xfe\x80\xc3("
    elif kind == "nested markup":
        insert = b"<PubmedArticle><record>" if xml else b"<i><b>nested</i></b><sup><sup>"
    else:
        insert = b"&bogus;&#0;&#x110000;&amp&lt;"
    return record[:cut] + insert + record[cut:]


def _fields(item: Record) -> dict:
    fields = item.to_dict()
    for key in ("source_file", "source_position"):
        fields.pop(key)
    return fields


@dataclass
class Outcome:
    """What became of a file with one damaged record."""

    lost: list[int]  # 1-based numbers of undamaged records that did not arrive unchanged
    misplaced: list[str]  # rejections of the damaged record naming a line outside it
    extra_records: int  # records read out of the damaged one beyond one


def read_items(path: Path, fmt: str) -> list[Record | Rejection]:
    return list(read_file(path, fmt))


def compare(
    before: list[Record | Rejection],
    after: list[Record | Rejection],
    damaged: int,
    lines: tuple[int, int],
) -> Outcome:
    """Compare the reads of a file before and after damage to its ``damaged``-th record.

    ``lines`` is the first and last line of the damaged record in the damaged file.
    """
    others = [
        (number, _fields(item))
        for number, item in enumerate(before, start=1)
        if number != damaged and isinstance(item, Record)
    ]
    known = {item.reason for item in before if isinstance(item, Rejection)}
    after_fields = [_fields(item) if isinstance(item, Record) else None for item in after]
    matched: set[int] = set()
    lost: list[int] = []
    at = 0
    for number, fields in others:
        index = next((i for i in range(at, len(after)) if after_fields[i] == fields), None)
        if index is None:
            lost.append(number)
        else:
            matched.add(index)
            at = index + 1
    extras = [item for i, item in enumerate(after) if i not in matched]
    first, last = lines
    misplaced = [
        item.describe()
        for item in extras
        if isinstance(item, Rejection)
        and item.reason not in known
        and not (item.line and first <= item.line <= last + 1)
    ]
    records = sum(isinstance(item, Record) for item in extras)
    return Outcome(lost, misplaced, max(0, records - 1))


def damage_file(
    data: bytes, fmt: str, index: int, kind: str, at: float
) -> tuple[bytes, tuple[int, int]]:
    """``data`` with record ``index`` (0-based) damaged; that record's first and last line."""
    start, end = record_spans(data, fmt)[index]
    broken = damage(data[start:end], kind, at, fmt)
    # Line breaks as the readers count them: CRLF, LF, and a bare CR (old Mac exports).
    first = len(_BREAK.findall(data, 0, start)) + 1
    return data[:start] + broken + data[end:], (first, first + len(_BREAK.findall(broken)))
