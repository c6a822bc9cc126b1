"""Which report an uploaded full text belongs to: by the DOI or PMID printed in it, or by title.

A pure core: the text of the file's first pages and the sought records in, a :class:`Match`
out. The identifiers are looked for in the first pages only, since a paper's reference list
cites other papers' DOIs. A match is *certain* when exactly one sought record has a DOI or
PMID found there, or when one title appears in the text (near) verbatim and no other comes
close; anything less is a suggestion for a reviewer to confirm.

The titles are compared with rapidfuzz's ``partial_ratio`` (the best-matching stretch of the
text), after both are reduced to lower-case words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from rapidfuzz import fuzz

from metasift.records.model import Record
from metasift.records.normalize import normalize_doi, normalize_pmid

_DOI = re.compile(r"\b10\.\d{4,9}/\S+", re.IGNORECASE)
_PMID = re.compile(r"\bPMID\s*:?\s*(\d{1,8})\b", re.IGNORECASE)
_WORDS = re.compile(r"[^\w]+")
TITLE_SUGGEST = 85.0  # a title this close is offered as a suggestion
TITLE_SURE = 97.0  # this close, with no rival within RIVAL_GAP, it is taken as the match
RIVAL_GAP = 10.0


@dataclass(frozen=True)
class Match:
    """The report a file was matched to, how, and whether a reviewer must confirm it.

    ``how`` is ``DOI``, ``PMID``, ``title`` or ``""`` (no match); ``score`` is 100 for an
    identifier and the title similarity (0-100) otherwise.
    """

    record_id: int | None
    how: str = ""
    score: float = 0.0
    certain: bool = False


def identifiers(text: str) -> tuple[set[str], set[str]]:
    """The DOIs and PMIDs written in ``text``, normalised.

    Args:
        text: the first pages of a full text.
    """
    dois = {d for d in (normalize_doi(m) for m in _DOI.findall(text)) if d}
    pmids = {p for p in (normalize_pmid(m) for m in _PMID.findall(text)) if p}
    return dois, pmids


def _plain(text: str) -> str:
    return _WORDS.sub(" ", text.lower()).strip()


def match_text(text: str, records: Mapping[int, Record]) -> Match:
    """The sought record ``text`` belongs to (see the module docstring for the rule).

    Args:
        text: the text of the file's first pages.
        records: the records sought for full text, by record id.
    """
    dois, pmids = identifiers(text)
    by_id = sorted(
        rid
        for rid, r in records.items()
        if (r.doi and r.doi.lower() in dois) or (r.pmid and r.pmid in pmids)
    )
    titles = _title_scores(text, records)
    if by_id:
        best = max(by_id, key=lambda rid: titles.get(rid, 0.0))
        how = "DOI" if records[best].doi and records[best].doi.lower() in dois else "PMID"
        return Match(best, how, 100.0, certain=len(by_id) == 1)
    if not titles:
        return Match(None)
    ranked = sorted(titles.items(), key=lambda kv: -kv[1])
    best, score = ranked[0]
    if score < TITLE_SUGGEST:
        return Match(None)
    rival = ranked[1][1] if len(ranked) > 1 else 0.0
    return Match(best, "title", score, certain=score >= TITLE_SURE and score - rival >= RIVAL_GAP)


def _title_scores(text: str, records: Mapping[int, Record]) -> dict[int, float]:
    body = _plain(text)
    scores = {}
    for rid, record in records.items():
        title = _plain(record.title or "")
        if len(title) >= 20:  # a short title matches anything
            scores[rid] = fuzz.partial_ratio(title, body)
    return scores
