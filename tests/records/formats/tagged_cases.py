"""Helpers shared by the RIS, MEDLINE and Web of Science reader tests.

Pinned field values, the RIS round trip, damaged-input cases and hypothesis mutations of the
real export samples in tests/fixtures/formats (see SOURCES.md there).
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path
from typing import NamedTuple

from hypothesis import strategies as st

from metasift.errors import ImportFileError
from metasift.records.formats import read_file, read_records, write_records
from metasift.records.formats.base import Rejection
from metasift.records.model import RECORD_FIELDS, Record
from metasift.records.normalize import record_has_content

FORMATS = Path(__file__).resolve().parents[2] / "fixtures" / "formats"

# Fields that describe where a record was read, not what it says.
WHERE = {"raw", "source_file", "source_position", "label"}


class Expected(NamedTuple):
    """Pinned values of one record: (raw, normalised) first and last authors, (volume, issue,
    pages), (first 40, last 30 characters) of the abstract, number of keywords."""

    file: str
    index: int
    title: str
    first_author: tuple[str, str] | None
    last_author: tuple[str, str] | None
    year: int | None
    journal: str | None
    volume_issue_pages: tuple[str | None, str | None, str | None]
    doi: str | None
    pmid: str | None
    abstract: tuple[str, str] | None
    keywords: int


@cache
def records_of(name: str) -> tuple[Record, ...]:
    """The records of a fixture file, format detected from content (read once per session)."""
    return tuple(read_records(FORMATS / name))


def check_expected(case: Expected) -> None:
    record = records_of(case.file)[case.index]
    assert record.title == case.title
    if case.first_author is None:
        assert record.authors == []
    else:
        assert (record.authors_raw[0], record.authors[0]) == case.first_author
        assert (record.authors_raw[-1], record.authors[-1]) == case.last_author
    assert record.year == case.year
    assert record.journal == case.journal
    assert (record.volume, record.issue, record.pages) == case.volume_issue_pages
    assert record.doi == case.doi
    assert record.pmid == case.pmid
    if case.abstract is None:
        assert record.abstract is None
    else:
        assert (record.abstract[:40], record.abstract[-30:]) == case.abstract
    assert len(record.keywords) == case.keywords


def count_items(path: Path, fmt: str | None = None) -> tuple[list[Record], list[Rejection]]:
    records: list[Record] = []
    rejections: list[Rejection] = []
    for item in read_file(path, fmt):
        (rejections if isinstance(item, Rejection) else records).append(item)
    return records, rejections


def ris_round_trip(records: list[Record], tmp_path: Path) -> list[Record]:
    """``records`` written as RIS, then read back (format detected from the written file)."""
    stream = io.StringIO()
    write_records(records, stream, "ris")
    path = tmp_path / "round-trip.txt"
    path.write_text(stream.getvalue(), encoding="utf-8")
    return read_records(path)


def carried_fields(record: Record, skip: frozenset[str] = frozenset()) -> dict[str, object]:
    return {f: getattr(record, f) for f in RECORD_FIELDS if f not in WHERE | skip}


def with_line_endings(text: str, endings: list[str]) -> str:
    """``text`` with its line ends replaced by ``endings`` in turn (CRLF, LF, CR mixed)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "".join(
        line + (endings[i % len(endings)] if i < len(lines) - 1 else "")
        for i, line in enumerate(lines)
    )


# --- hypothesis: mutations of real samples ---------------------------------------------------


@st.composite
def mutated(draw: st.DrawFn, samples: list[bytes]) -> bytes:
    """A real sample damaged the way files get damaged: bytes flipped, the file cut short,
    lines lost or repeated (any mix, any number of times)."""
    data = bytearray(draw(st.sampled_from(samples)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "delete", "duplicate"]))
        if not data:
            break
        if kind == "flip":
            for _ in range(draw(st.integers(1, 8))):
                data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del data[draw(st.integers(0, len(data) - 1)) :]
        else:
            lines = bytes(data).split(b"\n")
            at = draw(st.integers(0, len(lines) - 1))
            if kind == "delete":
                del lines[at]
            else:
                lines.insert(at, lines[draw(st.integers(0, len(lines) - 1))])
            data = bytearray(b"\n".join(lines))
    return bytes(data)


def samples(*names: str, limit: int = 6000) -> list[bytes]:
    """The first ``limit`` bytes of each fixture: several whole records, quick to read."""
    return [(FORMATS / name).read_bytes()[:limit] for name in names]


def read_damaged(path: Path, fmt: str | None) -> None:
    """Read a damaged file: only ImportFileError may escape, every item is accounted for."""
    try:
        items = list(read_file(path, fmt))
    except ImportFileError as exc:
        assert str(path) in str(exc)
        return
    for position, item in enumerate(items, start=1):
        if isinstance(item, Rejection):
            assert item.reason
            assert item.line is not None and item.line >= 1
            assert item.position == position
        else:
            assert isinstance(item, Record)
            assert record_has_content(item)
            assert item.source_position == position
