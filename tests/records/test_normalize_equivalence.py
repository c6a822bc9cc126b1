"""The fast paths of metasift.records.normalize return exactly what the plain versions did.

tests/records/normalize_before.py keeps those versions verbatim; hypothesis feeds both the
same text, drawn from the characters each shortcut turns on (whitespace of every kind,
unprintable characters, entities, markup, dashes, dots, commas, combining accents), short and
long, and real names and page ranges.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from metasift.records import normalize
from tests.records import normalize_before as before

# Characters on which one of the shortcuts turns.
TRICKY = (
    " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x00\x7f\x85\xa0\u2028\u3000"
    "&;<>#/.,-\u2013\u2212'()[]"
    "aeJjRrSsXxIiVv019é\u0301ß"
)
ENTITIES = ["&amp;", "&lt;i&gt;", "&#233;", "&eacute;", "<i>", "</sub>", "&amp"]
WORDS = ["Smith", "van der Berg", "John", "J.", "A.-M.", "Jr.", "JR", "III", "IV", "Group"]

chunks = st.one_of(
    st.text(alphabet=TRICKY, max_size=12),
    st.sampled_from(ENTITIES + WORDS),
    st.text(max_size=6),  # anything at all
)
texts = st.lists(chunks, max_size=12).map("".join)
# Over 255 characters: clean_text's other branch.
long_texts = st.tuples(texts, st.integers(20, 60)).map(lambda t: ("word " * t[1]) + t[0])


@settings(max_examples=150)
@given(st.one_of(texts, long_texts), st.booleans())
def test_clean_text(value, strip_tags):
    assert normalize.clean_text(value, strip_tags=strip_tags) == before.clean_text(
        value, strip_tags=strip_tags
    )


@settings(max_examples=200)
@given(st.lists(st.one_of(texts, st.sampled_from(["", " ", "Humans", "Acne/*therapy"]))))
def test_clean_list(values):
    assert normalize.clean_list(values) == [t for t in map(before.clean_text, values) if t]


pages = st.one_of(
    texts,
    st.sampled_from(["139-45", "22-22", "e123", "No Pagination Specified", "12 - 14", "5--9"]),
)


@settings(max_examples=200)
@given(pages, st.one_of(st.none(), pages))
def test_normalize_pages(start, end):
    assert normalize.normalize_pages(start, end) == before.normalize_pages(start, end)


names = st.one_of(
    texts,
    st.lists(st.sampled_from([*WORDS, ",", ", ", " ", "."]), max_size=7).map("".join),
    st.sampled_from(
        [
            "Shahtalebi, Mohammad Ali",
            "Kim, Tae-Hyung",
            "Smith, Jr.",
            "Platt, SR",
            "Golde T. E., DeKosky S. T., Galasko D.",
            "J., Kass N. Faden R. Pitcavage",
        ]
    ),
)


@settings(max_examples=150)
@given(names)
def test_author_names(name):
    assert normalize.normalize_author(name) == before.normalize_author(name)
    assert normalize.split_author_run(name) == before.split_author_run(name)


@settings(max_examples=150)
@given(
    st.one_of(
        texts,
        st.lists(
            st.one_of(
                texts, st.sampled_from(["2277-9175 (Print)", "03064530 (ISSN)", "0894-986X"])
            ),
            max_size=5,
        ),
    )
)
def test_split_issns(values):
    assert normalize.split_issns(values) == before.split_issns(values)
