"""Comparison keys of a record: the normalised values de-duplication compares.

Every function here is pure. Titles lose markup (HTML, JATS, LaTeX), accents, Greek letters
are spelled out (``TNF-α`` = ``TNF-alpha``), punctuation and case go; authors become ASCII
surnames with initials; journals become token tuples that abbreviation matching can align
(``Am J Cardiol`` against ``The American journal of cardiology``); volumes and pages keep
their leading number. A record's *kind* (article, erratum, retraction notice, comment) and its
*venue type* (journal, preprint server, conference abstract) are read from the title, the
publication types and the journal, because those decide whether two similar records may be
the same publication at all.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from metasift.records.model import Record
from metasift.records.normalize import normalize_doi, normalize_pmcid, normalize_pmid

_GREEK = {
    "α": "alpha",
    "β": "beta",
    "γ": "gamma",
    "δ": "delta",
    "ε": "epsilon",
    "ζ": "zeta",
    "η": "eta",
    "θ": "theta",
    "ι": "iota",
    "κ": "kappa",
    "λ": "lambda",
    "μ": "mu",
    "µ": "mu",
    "ν": "nu",
    "ξ": "xi",
    "π": "pi",
    "ρ": "rho",
    "σ": "sigma",
    "τ": "tau",
    "υ": "upsilon",
    "φ": "phi",
    "χ": "chi",
    "ψ": "psi",
    "ω": "omega",
}
_GREEK_RE = re.compile("|".join(_GREEK))
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>")
# LaTeX: accent commands (\"o, \'{e}), formatting commands (\emph{...}), math shifts.
_LATEX_ACCENT = re.compile(r"\\[\"'`^~=.uvHc]\s*\{?([A-Za-z])\}?")
_LATEX_COMMAND = re.compile(r"\\[A-Za-z]+\*?\s*")
# Everything but letters and digits of any script (Cyrillic and CJK titles keep their words).
_NON_WORD = re.compile(r"[\W_]+")
_SPACE = re.compile(r"\s+")
_RETRACTED_PREFIX = re.compile(r"^\W*retracted(?:\s+article)?\s*[:.\-]\s*", re.IGNORECASE)
# Ovid MEDLINE appends "[Review] [33 refs]" to the titles of reviews.
_OVID_REVIEW = re.compile(r"\s*\[review\](?:\s*\[\d+ refs?\])?\.?\s*$", re.IGNORECASE)
# Ovid appends the language of a translated title: "... mice. [Russian]".
_LANGUAGES = (
    "russian|german|french|spanish|italian|japanese|chinese|portuguese|polish|czech|dutch|"
    "hungarian|turkish|korean|norwegian|danish|swedish|finnish|hebrew|greek|croatian|serbian"
)
_TRAILING_NOTE = re.compile(
    r"\s*[\[(](?:abstract|meeting abstract|conference abstract|poster|epub ahead of print"
    r"|article in \w+|\w+ language|in \w+|english abstract|" + _LANGUAGES + r")[\])]\.?\s*$",
    re.IGNORECASE,
)

NOTICE_KINDS = ("erratum", "retraction", "comment", "concern")
_NOTICE_TITLE = [
    (
        "erratum",
        re.compile(
            r"^\W*(?:erratum|errata|corrigend(?:um|a)|corrections?|addendum|"
            r"published erratum|author correction|publisher correction)\b"
            r"|\b(?:erratum|corrigendum|correction|addendum) (?:to|for|in|on|of)\b"
        ),
    ),
    (
        "retraction",
        re.compile(
            r"^\W*(?:retraction|notice of retraction|retraction notice|statement of retraction|"
            r"withdrawal|notice of withdrawal)\b|\bretraction (?:of|to|for|notice)\b"
        ),
    ),
    ("concern", re.compile(r"^\W*(?:expression of concern|editorial expression of concern)\b")),
    (
        "comment",
        re.compile(
            r"^\W*(?:comments? (?:on|to|about|regarding)|commentary on|re\s*:|"
            r"response to|responses? to|reply to|reply|in reply|authors?'? reply|"
            r"the authors reply|author response|letter to the editor (?:on|about|regarding)|"
            r"a reply)\b"
        ),
    ),
]
# Every notice pattern contains one of these; most titles are ruled out by one search.
_NOTICE_HINT = re.compile(
    r"errat|corrig|correct|addend|retract|withdraw|concern|comment|reply|respon|re\s*:|letter"
)
_NOTICE_PUBTYPE = {
    "published erratum": "erratum",
    "erratum": "erratum",
    "correction": "erratum",
    "retraction of publication": "retraction",
    "retraction": "retraction",
    "expression of concern": "concern",
}
# Words of titles that identify nothing ("Editor's comments", "Introduction to this issue").
GENERIC_WORDS = frozenset(
    """a an the to of on in and for from this issue special editor editors s editorial guest
    introduction comment comments commentary note notes reply response letter letters
    correction erratum corrigendum retraction preface foreword news abstracts abstract
    proceedings report reports review reviews book case cases summary highlights
    announcement announcements acknowledgment acknowledgments acknowledgement
    acknowledgements volume part obituary index contents table message president
    presidents column welcome remarks opening closing""".split()
)
# Titles that identify nothing: equal titles of this kind say nothing about equality.
GENERIC_TITLES = frozenset(
    {
        "editorial",
        "editorials",
        "guest editorial",
        "editor s note",
        "editors note",
        "reply",
        "in reply",
        "authors reply",
        "the authors reply",
        "author reply",
        "response",
        "authors response",
        "correction",
        "corrections",
        "erratum",
        "errata",
        "corrigendum",
        "retraction",
        "retraction notice",
        "notice of retraction",
        "expression of concern",
        "letter",
        "letter to the editor",
        "letters to the editor",
        "comment",
        "commentary",
        "comments",
        "introduction",
        "preface",
        "foreword",
        "news",
        "book review",
        "book reviews",
        "abstracts",
        "poster abstracts",
        "oral abstracts",
        "contents",
        "table of contents",
        "index",
        "untitled",
        "obituary",
        "acknowledgment",
        "acknowledgments",
        "acknowledgement",
        "acknowledgements",
        "reviewers",
        "in this issue",
        "highlights",
        "announcement",
        "announcements",
        "conference report",
        "meeting report",
        "case report",
        "case reports",
        "images in medicine",
        "quiz",
        "answer",
        "abstract",
        "summary",
        "correspondence",
        "perspective",
        "viewpoint",
        "research highlights",
    }
)

_PREPRINT_JOURNALS = re.compile(
    r"\b(?:biorxiv|medrxiv|arxiv|chemrxiv|psyarxiv|socarxiv|osf preprints|research square|"
    r"ssrn|preprints|authorea|sneak peek|qeios|europe pmc preprints|preprint)\b"
)
# DOI prefixes of preprint servers: bioRxiv/medRxiv (10.1101, only for 2019+ style numbers),
# Research Square, SSRN, arXiv, Preprints.org, ChemRxiv, Authorea, OSF, SciELO Preprints.
_PREPRINT_DOI = re.compile(
    r"^10\.(?:1101/(?:19|20)\d\d\.|21203/rs\.|2139/ssrn\.|48550/arxiv\.|20944/preprints|"
    r"26434/chemrxiv|22541/au\.|31219/osf\.io|31234/osf\.io|1590/scielopreprints)"
)
_CONFERENCE_TYPES = re.compile(
    r"conference|congress|meeting|proceedings|symposium|abstract|poster|conf\b|cpaper|abst\b"
)
_CONFERENCE_JOURNAL = re.compile(
    r"\b(?:meeting|congress|conference|symposium|annual sessions?|scientific sessions?|"
    r"proceedings|abstracts?|poster|workshop|summit|colloquium)\b"
)
_NO_START_PAGE = re.compile(r"^\s*suppl\w*\.?\s*(?:[-–]|$)", re.IGNORECASE)
# Supplement pages (S354, A111, Suppl 12) are upper case; lower-case prefixes are article
# numbers (e0123456, a1754), which are no sign of a supplement.
_SUPPLEMENT_PAGE = re.compile(r"^\s*(?:[SAP]|Ab|Abs|[Ss]uppl\.?\s*)\d")
# "d" and "l" are French elisions ("Annales francaises d'anesthesie").
_JOURNAL_STOP = frozenset(
    {"of", "the", "and", "in", "for", "on", "de", "la", "le", "des", "et", "und", "fur", "y", "a"}
    | {"d", "l", "du", "der", "die"}
)
# One journal under several names in one field: "Ai zheng = Aizheng = Chinese journal of
# cancer", "Gan to Kagaku Ryoho [Japanese Journal of Cancer & Chemotherapy]".
_JOURNAL_ALTERNATIVES = re.compile(r"\s+=\s+|\[|\]")
_JOURNAL_PLACE = re.compile(r"\((?:[^()]*)\)")
_CONFERENCE_SUFFIX = re.compile(
    r"[.,;:]?\s*\b(?:conference|congress|meeting)\b\s*(?::|$)", re.IGNORECASE
)
_NOT_AUTHORS = frozenset({"anonymous", "anon", "etal", "unknown", "na"})
_CLEAN_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_NUMBER = re.compile(r"\d+")
_PAGE = re.compile(r"([A-Za-z]{0,3})\s*(\d+)")


def fold(text: str) -> str:
    """ASCII-folded lower-case text with Greek letters spelled out."""
    if text.isascii():
        return text.lower()
    text = _GREEK_RE.sub(lambda m: _GREEK[m.group(0)], text.replace("ß", "ss"))
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch)).lower()


_GREEK_NAMES = frozenset(_GREEK.values()) | {"varepsilon", "vartheta", "varphi"}


def _latex_command(match: re.Match[str]) -> str:
    name = match.group(0).strip().lstrip("\\").rstrip("*")
    return name.removeprefix("var") if name in _GREEK_NAMES else ""


def strip_markup(text: str) -> str:
    """Text without HTML/JATS tags, HTML entities and LaTeX commands or braces."""
    if "&" in text:
        text = html.unescape(html.unescape(text))
    if "<" in text:
        text = _TAG.sub("", text)
    if "\\" in text or "{" in text or "$" in text:
        text = _LATEX_ACCENT.sub(r"\1", text)
        text = _LATEX_COMMAND.sub(_latex_command, text)
        text = text.replace("{", "").replace("}", "").replace("$", "")
    return text


def title_text(title: str | None) -> tuple[str, bool]:
    """Readable title without markup, retraction banner and bracketing; and retracted flag."""
    if not title:
        return "", False
    text = _SPACE.sub(" ", strip_markup(title)).strip()
    retracted = False
    if _RETRACTED_PREFIX.match(text):
        text = _RETRACTED_PREFIX.sub("", text)
        retracted = True
    text = _TRAILING_NOTE.sub("", text)
    text = _OVID_REVIEW.sub("", text)
    # MEDLINE brackets translated titles: "[Effect of ...]."
    if text.startswith("[") and text.rstrip(".").endswith("]"):
        text = text.rstrip(".")[1:-1]
    return text, retracted


# A title and its translation in one field: "Original; English", "English. <ORIGINAL> ORIGINAL",
# "English [Original]" (the MEDLINE bracket form of a whole title is handled by title_text).
_TITLE_PARTS = re.compile(r"\s*<ORIGINAL>\s*|;\s+|\s+=\s+|\s*\[(?=[^\]]{12,}\])|\]\s*")
# Where a subtitle starts: "Main title: subtitle", "Main title - subtitle".
_SUBTITLE = re.compile(r":|\s[-\u2013\u2014]\s|\?\s|\.\s")
_ROMAN = {
    "i": "1",
    "ii": "2",
    "iii": "3",
    "iv": "4",
    "v": "5",
    "vi": "6",
    "vii": "7",
    "viii": "8",
    "ix": "9",
    "x": "10",
}
# A numbered part of a series: "Part II", "Paper 3", "Study 2", "Report 5".
_SERIES_NUMBER = re.compile(
    r"\b(?:part|paper|study|report|series|phase|stage|section|chapter|no|number)\s+"
    r"(i{1,3}|iv|vi{0,3}|ix|x|\d+)\b"
)
_ROMAN_HINT = re.compile(r" [ivx]+\b")
_DIGITS = re.compile(r"\b\d+\b")
# "10 000 women" and "10000 women" are one number.
_THOUSANDS = re.compile(r"\b(\d{1,3}) (?=\d{3}\b)")


def title_alternatives(text: str) -> tuple[str, ...]:
    """Comparison forms of the parts of a title that holds a translation (3+ words each)."""
    if not ("<" in text or ";" in text or "=" in text or "[" in text):
        return ()
    parts = []
    for part in _TITLE_PARTS.split(text):
        norm = _NON_WORD.sub(" ", fold(part)).strip()
        if len(norm.split()) >= 3:
            parts.append(norm)
    return tuple(dict.fromkeys(parts)) if len(parts) > 1 else ()


def main_title(folded: str) -> str:
    """The comparison form of a (folded) title without its subtitle, or "" when it has none."""
    head = _SUBTITLE.split(folded, maxsplit=1)
    if len(head) < 2 or not head[1].strip():
        return ""
    norm = _NON_WORD.sub(" ", head[0]).strip()
    return norm if norm.count(" ") >= 2 else ""


_NO_NUMBERS: frozenset[str] = frozenset()


def title_numbers(title: str) -> frozenset[str]:
    """Numbers that tell works of a series apart: "part ii" -> 2, years, report numbers."""
    # Arabic numbers are all found below; the series pattern is for roman ones.
    series = _SERIES_NUMBER.findall(title) if _ROMAN_HINT.search(title) else ()
    digits = _DIGITS.findall(title)
    if not series and not digits:
        return _NO_NUMBERS
    if len(digits) > 1:
        digits = _DIGITS.findall(_THOUSANDS.sub(r"\1", title))
    found = {_ROMAN.get(n, n.lstrip("0") or "0") for n in series}
    found.update(n.lstrip("0") or "0" for n in digits)
    return frozenset(found)


# Columns and reports that recur issue after issue under one title: the title is no evidence.
_RECURRING = re.compile(
    r"\beditor s (?:comments?|notes?|remarks|introduction|page)\b|\bremarks from\b"
    r"|\bannual report\b|\bmessage from\b|\bpresident s (?:message|column|page|report)\b"
    r"|\bminitrack\b|\bin this issue\b|\byear in review\b|\bfrom the editors?\b"
)


# Every recurring pattern contains one of these; most titles are ruled out by one search.
_RECURRING_HINT = re.compile(r"edit|remark|annual|message|president|minitrack|issue|review")


def normalize_title(title: str | None) -> str:
    """The comparison form of a title: folded words separated by single spaces."""
    text, _ = title_text(title)
    return _NON_WORD.sub(" ", fold(text)).strip()


def notice_kind(title: str, publication_types: list[str], record_type: str | None) -> str:
    """``article`` or the kind of notice a record is (erratum, retraction, concern, comment)."""
    low = title if title.islower() else fold(title).strip()
    if _NOTICE_HINT.search(low):
        for kind, pattern in _NOTICE_TITLE:
            if pattern.search(low):
                return kind
    for value in [*publication_types, record_type or ""]:
        kind = _NOTICE_PUBTYPE.get(value.strip().lower())
        if kind:
            return kind
    return "article"


@lru_cache(maxsize=1 << 18)
def surname_key(author: str) -> tuple[str, str]:
    """(folded surname, first initial) of a normalised "Last, F. M." name."""
    last, _, given = author.partition(",")
    surname = _NON_WORD.sub("", fold(last))
    initial = _NON_WORD.sub("", fold(given))[:1]
    return surname, initial


@lru_cache(maxsize=1 << 16)
def journal_names(name: str | None) -> tuple[tuple[str, ...], ...]:
    """Token tuples of each name a journal field gives: the whole, each ``=`` or ``[...]`` part."""
    if not name:
        return ()
    names = [journal_tokens(name)]
    if "=" in name or "[" in name:
        names.extend(journal_tokens(part) for part in _JOURNAL_ALTERNATIVES.split(name))
    head, colon, _ = name.partition(":")
    if colon and len(journal_tokens(head)) >= 3:
        # "Diabetes, Metabolic Syndrome and Obesity: Targets and Therapy" is often cited
        # without its subtitle ("Diabetes Metab Syndr Obes").
        names.append(journal_tokens(head))
    return tuple(n for n in names if n)


@lru_cache(maxsize=1 << 16)
def journal_tokens(name: str | None) -> tuple[str, ...]:
    """Journal name as folded tokens without stop words or parenthesised places."""
    if not name:
        return ()
    # Embase names a conference after the journal: "Circulation. Conference: AHA 2012".
    name = _CONFERENCE_SUFFIX.split(name, maxsplit=1)[0]
    text = _JOURNAL_PLACE.sub(" ", strip_markup(name).replace("&", " and "))
    return tuple(t for t in _NON_WORD.sub(" ", fold(text)).split() if t not in _JOURNAL_STOP)


def _is_abbreviation(short: str, full: str) -> bool:
    """``natl`` abbreviates ``national``: same first letter, letters in order."""
    if short == full:
        return True
    if not short or not full or short[0] != full[0] or len(short) > len(full):
        return False
    position = 0
    for ch in short:
        position = full.find(ch, position)
        if position < 0:
            return False
        position += 1
    return True


@lru_cache(maxsize=1 << 18)
def journals_compatible(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """True when one journal name can be an abbreviation (ISO 4 or acronym) of the other."""
    if not a or not b:
        return False
    if a == b:
        return True
    short, full = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) == len(full) and all(
        _is_abbreviation(s, f) or _is_abbreviation(f, s) for s, f in zip(short, full, strict=True)
    ):
        return True
    if len(short) == 1 and len(short[0]) >= 3 and short[0] == "".join(t[0] for t in full):
        return True  # acronym: JAMA, BMJ
    # A leading acronym before the spelled-out name ("JPEN journal of parenteral ...").
    if len(short) + 1 == len(full) and full[1:] == short:
        return True
    return False


def _first_number(value: str | None) -> str:
    if not value:
        return ""
    match = _NUMBER.search(str(value))
    return match.group(0).lstrip("0") or "0" if match else ""


def page_start(pages: str | None) -> tuple[str, bool]:
    """First page as digits (``e1234`` and ``S354`` keep only the number); supplement flag."""
    if not pages:
        return "", False
    if _NO_START_PAGE.match(str(pages)):
        # "Suppl-29": an export lost the start page of a supplement page range.
        return "", True
    match = _PAGE.search(str(pages))
    if not match:
        return "", False
    digits = match.group(2).lstrip("0") or "0"
    return digits, bool(_SUPPLEMENT_PAGE.match(str(pages)))


@lru_cache(maxsize=1 << 16)
def _journal_venue(journal: str) -> tuple[bool, bool]:
    """(preprint server, conference proceedings or abstracts) judged from a journal name."""
    low = fold(journal)
    return bool(_PREPRINT_JOURNALS.search(low)), bool(_CONFERENCE_JOURNAL.search(low))


@lru_cache(maxsize=1 << 12)
def _type_venue(value: str) -> tuple[bool, bool]:
    low = value.lower()
    return "preprint" in low, bool(_CONFERENCE_TYPES.search(low))


def is_preprint(journal: str | None, doi: str | None, types: list[str], rtype: str | None) -> bool:
    if doi and _PREPRINT_DOI.match(doi):
        return True
    if journal and _journal_venue(journal)[0]:
        return True
    return any(_type_venue(t)[0] for t in [*types, rtype or ""] if t)


def is_conference(journal: str | None, types: list[str], rtype: str | None) -> bool:
    if any(_type_venue(t)[1] for t in [*types, rtype or ""] if t):
        return True
    return bool(journal and _journal_venue(journal)[1])


@dataclass(slots=True)
class RecordKeys:
    """What pair scoring compares, computed once per record."""

    title: str
    title_words: int
    generic: bool
    # A column or report that recurs under one title (editor's comments, annual report).
    recurring: bool
    # Other forms of the title: the parts of a title with its translation, and the title
    # without its subtitle (empty when there is none).
    title_parts: tuple[str, ...]
    main_title: str
    numbers: frozenset[str]
    kind: str
    retracted: bool
    authors: tuple[tuple[str, str], ...]
    surnames: frozenset[str]
    author_text: str
    year: int | None
    journals: tuple[tuple[str, ...], ...]
    journal_text: str
    volume: str
    issue: str
    page: str
    supplement: bool
    doi: str
    pmid: str
    pmcid: str
    preprint: bool
    conference: bool
    # The record's own abstract (a reference, not a copy): its comparison form is computed
    # only for the few pairs whose titles agree, see abstract_key.
    abstract: str | None


# Enough of an abstract to tell two apart, little enough to keep a million in memory.
ABSTRACT_CHARS = 300


@lru_cache(maxsize=1 << 14)
def abstract_key(abstract: str | None) -> str:
    """The first :data:`ABSTRACT_CHARS` characters of the abstract in comparison form."""
    if not abstract or len(abstract) < 100:
        return ""
    text = abstract[: ABSTRACT_CHARS + ABSTRACT_CHARS // 3]
    if "&" in text or "<" in text:
        text = _TAG.sub(" ", html.unescape(text))
    return _NON_WORD.sub(" ", fold(text)).strip()[:ABSTRACT_CHARS]


# Enough authors to compare author lists; consortium papers list thousands.
MAX_AUTHORS = 12


def record_keys(record: Record) -> RecordKeys:
    """The comparison keys of ``record``."""
    text, retracted = title_text(record.title)
    folded = fold(text).strip()
    title = _NON_WORD.sub(" ", folded).strip()
    words = title.split()
    authors = tuple(
        k
        for k in (surname_key(a) for a in record.authors[:MAX_AUTHORS])
        if k[0] and k[0] not in _NOT_AUTHORS
    )
    journals = tuple(
        dict.fromkeys([*journal_names(record.journal), *journal_names(record.journal_abbrev)])
    )
    page, supplement = page_start(record.pages)
    # Stored records hold normalised identifiers already; others are normalised here.
    doi = (
        record.doi.lower()
        if record.doi and _CLEAN_DOI.match(record.doi)
        else normalize_doi(record.doi)
    )
    doi = doi or ""
    types = record.publication_types or []
    generic = (
        title in GENERIC_TITLES
        or len(words) < 3
        or len(title) < 15
        or all(w in GENERIC_WORDS or w.isdigit() for w in words)
    )
    return RecordKeys(
        title=title,
        title_words=len(words),
        generic=generic,
        recurring=generic
        or (_RECURRING_HINT.search(title) is not None and _RECURRING.search(title) is not None),
        title_parts=title_alternatives(text),
        main_title=main_title(folded),
        numbers=title_numbers(title),
        kind=notice_kind(folded, types, record.record_type),
        retracted=retracted,
        authors=authors,
        surnames=frozenset(s for s, _ in authors),
        author_text=" ".join(s for s, _ in authors),
        year=record.year,
        journals=journals,
        journal_text=" ".join(journals[0]) if journals else "",
        volume=_first_number(record.volume),
        issue=_first_number(record.issue),
        page=page,
        supplement=supplement,
        doi=doi,
        pmid=normalize_pmid(record.pmid) or "",
        pmcid=normalize_pmcid(record.pmcid) or "",
        preprint=is_preprint(record.journal, doi, types, record.record_type),
        conference=is_conference(record.journal, types, record.record_type) or supplement,
        abstract=record.abstract,
    )
