"""Sentences of an abstract with their character offsets.

Written by hand rather than with an NLP library: suggestions must point at exact character
spans of the stored text, and abstracts need only a few rules (initials such as "P. acnes",
"et al.", decimal numbers) that a small splitter states plainly. No model to load.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A sentence ends at . ! or ? followed by space and a capital, digit or opening bracket.
_END = re.compile(r"[.!?](?=\s+[\"'(\[]?[A-Z0-9])")
# Tokens before a full stop that do not end a sentence.
_NO_BREAK = re.compile(
    r"(?:\b(?:e\.g|i\.e|et al|vs|Fig|Figs|No|approx|ca|cf|Dr|Prof|Mr|Mrs|Ms|St|Inc|Ltd|Co|sp|spp"
    r"|resp|min|max|wk|wks|yr|yrs|mo|Suppl|Vol|Jr)|\b[A-Z])$"
)


@dataclass(frozen=True, slots=True)
class Sentence:
    start: int
    end: int
    text: str


def split_sentences(text: str) -> list[Sentence]:
    """Split ``text`` into sentences; ``text[s.start:s.end] == s.text`` for each."""
    sentences: list[Sentence] = []
    start = 0
    for match in _END.finditer(text):
        end = match.end()
        if _NO_BREAK.search(text[start : match.start()]):
            continue
        _add(sentences, text, start, end)
        start = end
    _add(sentences, text, start, len(text))
    return sentences


def _add(out: list[Sentence], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        out.append(Sentence(start, end, text[start:end]))


def sentence_at(sentences: list[Sentence], position: int) -> Sentence:
    """The sentence holding character ``position`` (the last one if past the end)."""
    for sentence in sentences:
        if position < sentence.end:
            return sentence
    return sentences[-1]
