"""Pair scoring: is a candidate pair the same publication, and on what evidence?

The decision is a short cascade of rules a reviewer can read, then a points score:

1. Different kinds never merge: an erratum, retraction notice, expression of concern or
   comment is not the article it names, even when it shares the article's title or DOI.
2. Shared PMID or PMCID: the same PubMed item (unless the titles contradict it: review).
3. Shared DOI: the same publication when the titles agree; a DOI shared by records with
   different titles (an erratum without its banner, a book DOI on every chapter) is not proof.
4. Same work in a different venue: a preprint and the journal version, or a conference
   abstract and the full paper, are *linked*; they merge only when the protocol says so.
5. Otherwise the points of evidence decide, with one veto: a pair whose journals differ and
   whose volumes or first pages differ too is two printed items (one abstract given at two
   meetings) and is never merged on points; it goes to the manual queue.
6. The points: each field adds points when it agrees and takes points away when it
   contradicts (roughly log-likelihood ratios of a Fellegi-Sunter model, set by what each
   agreement means, not fitted to one data set); a missing field adds none.
   A conflicting DOI costs more than full bibliographic agreement earns, except when title,
   authors, year, journal, volume and first page all agree: then the DOI is the error.

Titles are compared with rapidfuzz's normalised Indel similarity; a title that is a prefix of
the other (truncated by a database's field limit) counts as near-identical, each part of a
title that holds its translation is compared on its own, and a title without its subtitle
counts as close. Generic titles ("Editorial", "Reply", "Correction", under three words) and
recurring columns ("Editor's comments", annual reports) earn almost nothing by agreeing.
Titles whose numbers differ ("Part I" and "Part II", the supplements of 2015 and 2016) are
never merged without a reviewer, whatever else agrees.
Hand-written because no library models these bibliographic rules; rapidfuzz does the string
work.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz

from metasift.dedup.keys import RecordKeys, abstract_key, journals_compatible
from metasift.dedup.settings import DedupSettings

DUPLICATE = "duplicate"
REVIEW = "review"
DISTINCT = "distinct"
PREPRINT = "preprint"
CONFERENCE = "conference"

# The least title similarity (0-100) for which a pair is scored at all.
MIN_TITLE_SIMILARITY = 60.0


@dataclass(slots=True, frozen=True)
class PairEvidence:
    """The verdict on one pair and why: fields that agreed, fields that contradicted."""

    verdict: str
    score: float
    rule: str
    matched: tuple[str, ...]
    conflicts: tuple[str, ...]


def title_similarity(a: str, b: str, ratio: float | None = None) -> float:
    """0-100: Indel similarity of normalised titles, truncation forgiven."""
    if not a or not b:
        return 0.0
    score = fuzz.ratio(a, b) if ratio is None else ratio
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    if score < 97 and len(short) >= 40 and len(long) > len(short) + 5:
        # Truncated title: the short one matches the start of the long one.
        prefix = fuzz.ratio(short, long[: len(short)])
        if prefix >= 97:
            score = max(score, 96.0)
    return score


def titles_similarity(a: RecordKeys, b: RecordKeys, ratio: float | None = None) -> float:
    """0-100: the best similarity of any form of the two titles.

    Besides the whole titles: each part of a title that holds its translation ("Original;
    English", "English <ORIGINAL> ORIGINAL"), and a title without its subtitle against the
    other whole title (scored 90: close, not the same).
    """
    t = title_similarity(a.title, b.title, ratio)
    if t >= 99.5 or not a.title or not b.title:
        return t
    if a.title_parts or b.title_parts:
        for x in a.title_parts or (a.title,):
            for y in b.title_parts or (b.title,):
                t = max(t, title_similarity(x, y))
        for x in a.title_parts:
            t = max(t, title_similarity(x, b.title))
        for y in b.title_parts:
            t = max(t, title_similarity(a.title, y))
    if t < 90 and (
        (a.main_title and a.main_title in (b.title, b.main_title))
        or (b.main_title and b.main_title == a.title)
    ):
        # One subtitle missing or rewritten (a translation's): close, not the same.
        t = 90.0
    return t


def numbers_conflict(a: RecordKeys, b: RecordKeys) -> bool:
    """True when the titles carry different numbers: Part I and Part II, reports of two years.

    A title cut short may lose its numbers, so only sets that neither contains are a conflict.
    """
    x, y = a.numbers, b.numbers
    return bool(x and y and x != y and not (x <= y or y <= x))


def _author_points(a: RecordKeys, b: RecordKeys) -> tuple[float, str]:
    if not a.authors or not b.authors:
        return 0.0, ""
    first_a, first_b = a.authors[0], b.authors[0]
    first = first_a[0] == first_b[0] or (
        len(first_a[0]) > 3 and fuzz.ratio(first_a[0], first_b[0]) >= 85
    )
    short, long = (a, b) if len(a.surnames) <= len(b.surnames) else (b, a)
    overlap = len(short.surnames & long.surnames) / len(short.surnames)
    if first and overlap >= 0.8:
        return 3.0, "authors"
    if first or overlap >= 0.5:
        return 1.5, "first author" if first else "some authors"
    # One record may hold the group author only, or names in another script.
    if fuzz.token_set_ratio(a.author_text, b.author_text) >= 90:
        return 1.0, "some authors"
    return (-5.0 if overlap == 0 else -2.0), ""


def _title_points(t: float, generic: bool, words: int) -> float:
    if t >= 99.5:
        return 2.0 if generic else (8.0 if words >= 6 else 6.0)
    if t >= 95:
        return 1.0 if generic else 6.0
    if t >= 90:
        return 0.0 if generic else 4.0
    if t >= 85:
        return 2.0 if not generic else -2.0
    if t >= 75:
        return 0.0 if not generic else -4.0
    return -6.0


def score_pair(
    a: RecordKeys, b: RecordKeys, settings: DedupSettings, ratio: float | None = None
) -> PairEvidence:
    """The verdict on records ``a`` and ``b``; ``ratio`` is their precomputed title ratio."""
    matched: list[str] = []
    conflicts: list[str] = []
    if a.kind != b.kind:
        return PairEvidence(DISTINCT, -20.0, "kind", (), ("kind",))

    t = titles_similarity(a, b, ratio)
    has_titles = bool(a.title and b.title)
    generic = a.generic or b.generic
    # A recurring column (editor's comments of each issue) earns no more than a generic title.
    recurring = a.recurring or b.recurring
    score = 0.0
    if has_titles:
        score += _title_points(t, recurring, min(a.title_words, b.title_words))
        if t >= 85:
            matched.append("title")
        elif t < 75:
            conflicts.append("title")
    numbered = has_titles and numbers_conflict(a, b)
    if numbered:
        # Part I and Part II, the report of 2010 and of 2011: never merged without a reviewer.
        score -= 6.0
        conflicts.append("title numbers")

    abstract_a = abstract_key(a.abstract) if a.abstract and b.abstract and t >= 85 else ""
    abstract_b = abstract_key(b.abstract) if abstract_a else ""
    if abstract_a and abstract_b:
        # Databases copy abstracts verbatim; different versions (a conference abstract and
        # the paper) rewrite them. Compared on the first 300 characters, so truncation is moot.
        n = min(len(abstract_a), len(abstract_b))
        similarity = fuzz.ratio(abstract_a[:n], abstract_b[:n])
        if similarity >= 90:
            score += 3.0
            matched.append("abstract")
        elif similarity < 60:
            score -= 1.0

    author_points, author_field = _author_points(a, b)
    score += author_points
    if author_field:
        matched.append(author_field)
    elif author_points < 0:
        conflicts.append("authors")

    year_diff = abs(a.year - b.year) if a.year and b.year else None
    if year_diff == 0:
        score += 1.0
        matched.append("year")
    elif year_diff == 1:
        score -= 0.5
    elif year_diff is not None:
        score -= 5.0
        conflicts.append("year")

    journal_ok: bool | None = None
    if a.journals and b.journals:
        journal_ok = any(journals_compatible(x, y) for x in a.journals for y in b.journals)
        if not journal_ok and fuzz.ratio(a.journal_text, b.journal_text) >= 90:
            journal_ok = True
        if journal_ok:
            score += 1.5
            matched.append("journal")
        elif a.conference and b.conference:
            # A conference is named many ways ("ICIS", "International Conference on
            # Information Systems", "ICIS 2018: Transforming Society..."): no evidence against.
            conflicts.append("journal")
        else:
            score -= 2.5
            conflicts.append("journal")

    volume_ok = _compare(a.volume, b.volume)
    if volume_ok:
        score += 1.5
        matched.append("volume")
    elif volume_ok is False:
        score -= 3.0
        conflicts.append("volume")
    page_ok = _compare(a.page, b.page)
    if page_ok:
        score += 2.5
        matched.append("pages")
    elif page_ok is False:
        score -= 3.0
        conflicts.append("pages")
    issue_ok = _compare(a.issue, b.issue)
    # Volume and first page together locate the article; then a differing issue is an error of
    # the export (some put the reference manager's record number there).
    located = bool(volume_ok and page_ok)
    if issue_ok:
        score += 0.5
        matched.append("issue")
    elif issue_ok is False:
        # Issue numbers are often wrong in exports, but an editorial of each issue of one
        # volume has the same title, authors and often the same first page.
        score -= 5.0 if recurring and not located else 0.5
        if recurring and not located:
            conflicts.append("issue")
    if recurring and (volume_ok is False or (year_diff or 0) >= 1):
        # "Editorial" of another volume or year: a recurring title, not a copy.
        score -= 5.0
    # Journal, volume and first page together locate one article, unless the page is a
    # supplement page that many conference abstracts share.
    locator = bool(
        journal_ok and located and year_diff in (0, 1) and (issue_ok is not False or not recurring)
    )
    if locator and not (a.supplement or b.supplement):
        score += 2.0

    doi_ok = _compare(a.doi, b.doi)
    pmid_ok = _compare(a.pmid, b.pmid)
    pmcid_ok = _compare(a.pmcid, b.pmcid)
    if doi_ok:
        matched.append("doi")
    elif doi_ok is False:
        conflicts.append("doi")
    if pmid_ok:
        matched.append("pmid")
    elif pmid_ok is False:
        conflicts.append("pmid")
    if pmcid_ok:
        matched.append("pmcid")
    elif pmcid_ok is False:
        conflicts.append("pmcid")

    def verdict(kind: str, rule: str, points: float) -> PairEvidence:
        return PairEvidence(kind, round(points, 2), rule, tuple(matched), tuple(conflicts))

    if numbered:
        # Whatever the identifiers say, numbered parts go to a reviewer at most.
        rule = "title numbers differ"
        kind = REVIEW if score + (10.0 if doi_ok or pmid_ok else 0.0) >= 6.0 else DISTINCT
        return verdict(kind, rule, score)
    if pmid_ok or pmcid_ok:
        if not has_titles or t >= MIN_TITLE_SIMILARITY:
            return verdict(DUPLICATE, "pmid" if pmid_ok else "pmcid", score + 10.0)
        return verdict(REVIEW, "pmid, titles differ", score + 10.0)
    if pmid_ok is False or pmcid_ok is False:
        score -= 10.0
    if doi_ok and pmid_ok is not False:
        if not has_titles or t >= 80:
            return verdict(DUPLICATE, "doi", score + 6.0)
        if t >= 50 and author_points > 0 and page_ok is not False:
            return verdict(REVIEW, "doi, titles differ", score + 6.0)
        return verdict(DISTINCT, "doi, titles differ", score)

    # The same work (title and authors) published in another venue.
    venue_differs = journal_ok is False or page_ok is False or (year_diff or 0) >= 1
    same_work = (
        has_titles and not generic and t >= 90 and author_points > 0 and (year_diff or 0) <= 2
    )
    if same_work and venue_differs and a.preprint != b.preprint:
        if settings.merge_preprints:
            return verdict(DUPLICATE, PREPRINT, score)
        return verdict(PREPRINT, PREPRINT, score)
    if same_work and venue_differs and a.conference != b.conference:
        if settings.merge_conference_abstracts:
            return verdict(DUPLICATE, CONFERENCE, score)
        return verdict(CONFERENCE, CONFERENCE, score)

    if doi_ok is False:
        full_agreement = (
            t >= 97
            and author_points >= 3
            and year_diff == 0
            and journal_ok
            and volume_ok
            and page_ok
            and issue_ok is not False
            and pmid_ok is None
            and not generic
        )
        if full_agreement:
            return verdict(DUPLICATE, "wrong doi", score)
        score -= 8.0
    thresholds = settings.thresholds
    if (
        score >= thresholds.duplicate
        and journal_ok is False
        and (page_ok is False or volume_ok is False)
    ):
        # Another journal and another volume or first page: two printed items (one abstract
        # given at two meetings), however well titles and authors agree. A reviewer decides.
        return verdict(REVIEW, "journal and place differ", score)
    if score >= thresholds.duplicate:
        return verdict(DUPLICATE, "score", score)
    if score >= thresholds.review:
        return verdict(REVIEW, "score", score)
    return verdict(DISTINCT, "score", score)


def _compare(a: str, b: str) -> bool | None:
    """True if equal, False if both present and different, None if either is missing."""
    if not a or not b:
        return None
    return a == b


def hard_conflict(a: RecordKeys, b: RecordKeys) -> str | None:
    """Why two records can never sit in one cluster (the chaining guard), or None."""
    if a.kind != b.kind:
        return "kind"
    if a.pmid and b.pmid and a.pmid != b.pmid:
        return "pmid"
    if a.doi and b.doi and a.doi != b.doi:
        return "doi"
    if a.year and b.year and abs(a.year - b.year) > 1:
        return "year"
    if a.title and b.title:
        if titles_similarity(a, b) < MIN_TITLE_SIMILARITY:
            return "title"
        if numbers_conflict(a, b):
            return "title numbers"
    if a.page and b.page and a.page != b.page and a.volume and b.volume and a.volume != b.volume:
        return "volume and pages"
    if (
        (a.recurring or b.recurring)
        and a.issue
        and b.issue
        and a.issue != b.issue
        and not (a.volume and a.volume == b.volume and a.page and a.page == b.page)
    ):
        return "issue"
    return None
