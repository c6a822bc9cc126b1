"""Line splitting and record blocks shared by the RIS, MEDLINE and Web of Science readers."""

from __future__ import annotations

import pytest

from metasift.records.formats import base
from metasift.records.formats._tagged import LineReader, joined, split_lines, tagged_blocks
from metasift.records.formats.base import iter_text
from metasift.records.formats.ris import ris_tag


def test_split_lines_on_every_line_end_but_not_on_unicode_separators():
    text = "\ufeffTY  - JOUR\r\nTI  - a\u2028b\rAU  - X\nER  - \r\n"
    assert split_lines(text) == ["TY  - JOUR", "TI  - a\u2028b", "AU  - X", "ER  - "]
    assert split_lines("") == []
    assert split_lines("a\n\nb") == ["a", "", "b"]


def test_joined_drops_a_long_line_written_twice_but_keeps_short_repeats():
    title = "A randomised trial of blue light in acne vulgaris"
    assert joined([title, title]) == title
    assert joined(["Methods", "x", "Methods", "y"]) == "Methods x Methods y"
    assert joined(["", "  "]) is None


def blocks(text: str):
    return list(tagged_blocks(split_lines(text), tag_of=ris_tag, start_tag="TY", end_tag="ER"))


def test_blocks_keep_line_numbers_and_move_trailing_tags_into_the_record():
    found = blocks(
        "1. \nTY  - JOUR\nTI  - a\nER  - \nNL  - J Abbr\n\nLink to the full text\n"
        "2. \nTY  - JOUR\nTI  - b\nER  - \n"
    )
    assert [(b.start, b.problem) for b in found] == [(2, None), (9, None)]
    assert found[0].lines == ["TY  - JOUR", "TI  - a", "NL  - J Abbr", "ER  - "]


def test_blocks_with_missing_start_or_end_lines_carry_a_problem():
    found = blocks(
        "AU  - lost\nTY  - JOUR\nTI  - a\nTY  - JOUR\nTI  - b\nER  - \nTI  - c\nER  - \n"
    )
    assert [(b.start, b.problem is not None) for b in found] == [
        (1, True),
        (2, True),
        (4, False),
        (7, True),
    ]
    assert "no 'TY' line before them" in found[0].problem
    assert "next record at line 4" in found[1].problem
    assert "no 'TY' start line" in found[3].problem
    (cut,) = blocks("TY  - JOUR\nTI  - a")
    assert cut.start == 1 and "truncated" in cut.problem


# --- streaming ---------------------------------------------------------------------------


def stream_lines(path, monkeypatch, chunk):
    monkeypatch.setattr(base, "CHUNK_BYTES", chunk)
    reader = LineReader(path)
    return list(reader), reader.ends_mid_line


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64])
def test_streamed_lines_are_the_lines_of_the_whole_text(chunk, tmp_path, monkeypatch):
    text = "\ufeffTY  - JOUR\r\nTI  - a\u2028b\rAU  - X\n\ufeffER  - \r\n\r\n\rTY  - B\r"
    path = tmp_path / "lines.ris"
    path.write_bytes(text.encode())
    # CRLF pairs cut between chunks stay one line end; a BOM at any line start is dropped.
    assert stream_lines(path, monkeypatch, chunk) == (split_lines(text), False)
    path.write_bytes(text.encode() + b"TI  - cut")
    assert stream_lines(path, monkeypatch, chunk) == ([*split_lines(text), "TI  - cut"], True)


def test_a_non_utf8_byte_after_the_first_chunk(tmp_path, monkeypatch):
    monkeypatch.setattr(base, "CHUNK_BYTES", 8)
    path = tmp_path / "late.txt"
    # ASCII first: the whole file is cp1252, as a whole-file read would decode it.
    path.write_bytes(b"TI  - plain ascii start\nAB  - caf\xe9 \x93q\x94\n")
    assert "".join(iter_text(path)) == "TI  - plain ascii start\nAB  - café “q”\n"
    # UTF-8 shown before the bad byte: UTF-8 stays, the bad byte is replaced.
    path.write_bytes("TI  - café ".encode() + b"then \xe9 here\n")
    assert "".join(iter_text(path)) == "TI  - café then \ufffd here\n"
    # A file cut inside its last character is UTF-8 all the same.
    path.write_bytes("TI  - ascii then é".encode()[:-1])
    assert "".join(iter_text(path)) == "TI  - ascii then \ufffd"
