"""The fast paths of metasift.records.normalize give exactly the plain results.

* ``clean_text``, ``clean_list`` and ``split_issns`` have a plain definition of a few lines
  (below, ``plain_*``); hypothesis feeds both the same text, drawn from the characters each
  shortcut turns on (whitespace of every kind, unprintable characters, entities, markup,
  combining accents), short and long.
* Author names and page ranges have no short plain definition: tests/fixtures/normalize/
  pinned.json holds what ``normalize_author``, ``split_author_run`` and ``normalize_pages``
  returned before their fast paths, for 900 names (500 of them from the format fixtures, the
  rest generated from the same tricky characters and name parts) and 400 page ranges.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from metasift.records import normalize

PINNED = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "normalize" / "pinned.json").read_text("utf-8")
)
# Only the inline HTML and MathML tags exports leave in text; "<cells>" is text.
_TAG = re.compile(
    r"</?(?:p|i|b|u|em|strong|sup|sub|br|hr|span|div|a|small|big|tt|scp|inf|"
    r"mml:[a-z]+|math|ol|ul|li|h[1-6]|jats:[a-z-]+)(?:\s[^<>]*)?/?>",
    re.IGNORECASE,
)
_ISSN = re.compile(r"(?<![\dXx-])(\d{4})-?(\d{3}[\dXx])(?![\dXx])")


def plain_clean_text(value: str, strip_tags: bool) -> str | None:
    text = html.unescape(value)
    if strip_tags:
        text = _TAG.sub("", text)
    return " ".join(unicodedata.normalize("NFC", text).split()) or None


def plain_split_issns(values: list[str]) -> list[str]:
    found: list[str] = []
    for value in values:
        for first, rest in _ISSN.findall(value):
            if (issn := f"{first}-{rest.upper()}") not in found:
                found.append(issn)
    return found


# Characters on which one of the shortcuts turns.
TRICKY = (
    " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x00\x7f\x85\xa0\u2028\u3000"
    "&;<>#/.,-\u2013\u2212'()[]"
    "aeJjRrSsXxIiVv019é\u0301ß"
)
ENTITIES = ["&amp;", "&lt;i&gt;", "&#233;", "&eacute;", "<i>", "</sub>", "&amp"]

chunks = st.one_of(
    st.text(alphabet=TRICKY, max_size=12),
    st.sampled_from(ENTITIES),
    st.text(max_size=6),  # anything at all
)
texts = st.lists(chunks, max_size=12).map("".join)
# Over 255 characters: clean_text's other branch.
long_texts = st.tuples(texts, st.integers(20, 60)).map(lambda t: ("word " * t[1]) + t[0])


@settings(max_examples=200)
@given(st.one_of(texts, long_texts), st.booleans())
def test_clean_text(value, strip_tags):
    assert normalize.clean_text(value, strip_tags=strip_tags) == plain_clean_text(value, strip_tags)


@settings(max_examples=200)
@given(st.lists(st.one_of(texts, st.sampled_from(["", " ", "Humans", "Acne/*therapy"]))))
def test_clean_list(values):
    assert normalize.clean_list(values) == [
        t for t in (plain_clean_text(v, False) for v in values) if t
    ]


@settings(max_examples=150)
@given(
    st.lists(
        st.one_of(texts, st.sampled_from(["2277-9175 (Print)", "03064530 (ISSN)", "0894-986X"])),
        max_size=5,
    )
)
def test_split_issns(values):
    assert normalize.split_issns(values) == plain_split_issns(values)
    if values:
        assert normalize.split_issns(values[0]) == plain_split_issns(values[:1])


def test_author_names_as_pinned():
    wrong = [
        (name, normalize.normalize_author(name), normalize.split_author_run(name), author, run)
        for name, author, run in PINNED["names"]
        if (normalize.normalize_author(name), normalize.split_author_run(name)) != (author, run)
    ]
    assert wrong == []


def test_pages_as_pinned():
    wrong = [
        (start, end, normalize.normalize_pages(start, end), pages)
        for start, end, pages in PINNED["pages"]
        if normalize.normalize_pages(start, end) != pages
    ]
    assert wrong == []


def test_pins_cover_the_tricky_cases():
    """The pins hold the cases each shortcut turns on, not only easy names."""
    authors = {name: author for name, author, _ in PINNED["names"]}
    assert authors["Smith, Jr."] == "Smith"
    assert authors["Platt, SR"] == "Platt, S. R."
    assert authors["Smith IV"] == "Smith, I. V."
    runs = {name: run for name, _, run in PINNED["names"]}
    assert runs["Golde T. E., DeKosky S. T., Galasko D."] == [
        "Golde T. E.",
        "DeKosky S. T.",
        "Galasko D.",
    ]
    assert sum(len(run) > 1 for run in runs.values()) >= 3
    pages = {(start, end): result for start, end, result in PINNED["pages"]}
    assert pages[("22-22", None)] == "22"
    assert pages[("No", "Specified")] is None
    assert pages[("12 \u2212 14", None)] == "12-14"
