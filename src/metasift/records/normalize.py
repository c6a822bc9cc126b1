"""Normalisers shared by every reader: identifiers, author names, free text, years.

Each normaliser takes what an export wrote and returns the canonical value or ``None`` when
the input holds no usable value; the caller keeps the original in ``Record.raw``.
"""

from __future__ import annotations

import html
import re
import unicodedata
from urllib.parse import unquote

from metasift.records.model import Record

_DOI_PREFIX = re.compile(
    r"^\s*(?:doi\s*[:=]?\s*|https?://(?:dx\.|www\.)?doi\.org/|(?:dx\.)?doi\.org/)",
    re.IGNORECASE,
)
# A DOI runs to the first space or quote: its suffix may hold ``<``, ``>``, ``;``, ``#``, brackets.
_DOI_IN_TEXT = re.compile(r"10\.\d{4,9}/[^\s\"]+", re.IGNORECASE)
_PMID_IN_TEXT = re.compile(r"(?<!\d)(\d{1,9})(?!\d)")
_PMCID = re.compile(r"PMC\s*(\d+)", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d|2100)(?!\d)")
# An ISSN: 4 digits, optional hyphen, 3 digits and a check digit; not part of a longer number
# (ISBNs, article numbers) on either side.
_ISSN = re.compile(r"(?<![\dXx-])(\d{4})-?(\d{3}[\dXx])(?![\dXx])")
# Inline HTML that exports leave in titles and abstracts (<p>, <i>, <sup>, MathML). Only tags
# of these elements are dropped: a generic "anything in angle brackets" rule would also eat
# text such as "<cells>" or "a <b and c> d".
_HTML = re.compile(
    r"</?(?:p|i|b|u|em|strong|sup|sub|br|hr|span|div|a|small|big|tt|scp|inf|"
    r"mml:[a-z]+|math|ol|ul|li|h[1-6]|jats:[a-z-]+)(?:\s[^<>]*)?/?>",
    re.IGNORECASE,
)


def normalize_doi(value: str | None) -> str | None:
    """The DOI in ``value``, lower-cased, without resolver prefix or trailing punctuation.

    DOI names are case-insensitive (ISO 26324), so lower case is their comparable form; the
    resolver prefixes (``https://doi.org/``, ``dx.doi.org/``, ``doi:``) are not part of the
    name. Anything else is kept: a DOI suffix may hold any printable character, and Wiley's
    and BioOne's SICI DOIs (``10.1002/(sici)1097-0274(200001)37:1<94::aid-ajim8>3.0.co;2-x``)
    are told apart only by what follows their ``<``. Percent-encoding is decoded only in a
    resolver URL, where it is URL syntax; in a bare DOI a ``%`` is a character of the name.
    Returns ``None`` when no ``10.xxxx/...`` DOI can be found in the value.
    """
    if not value:
        return None
    text = str(value)
    if "&" in text:
        text = html.unescape(text)
    text = text.strip()
    if "://" in text:
        text = unquote(text)
    text = _DOI_PREFIX.sub("", text)
    match = _DOI_IN_TEXT.search(text)
    if not match:
        return None
    # PubMed's AID/LID lines append " [doi]" (the match ends at the space). A closing tag
    # ends a DOI left in markup; no DOI holds "</".
    doi = match.group(0).split("</", 1)[0]
    return _trim_doi(doi).lower() or None


_CLOSERS = {")": "(", "]": "[", "}": "{", ">": "<"}


def _trim_doi(doi: str) -> str:
    """``doi`` without the punctuation of the sentence or markup around it.

    A closing bracket ends the DOI only when the DOI did not open it: ``...(13)62568-4)`` loses
    its last ``)``, ``...21[394:gcoarh]2.0.co;2`` keeps its ``]``.
    """
    while doi:
        last = doi[-1]
        if last in ".,;:\"'":
            doi = doi[:-1]
        elif last in _CLOSERS and doi.count(last) > doi.count(_CLOSERS[last]):
            doi = doi[:-1]
        else:
            break
    return doi


def normalize_pmid(value: str | int | None) -> str | None:
    """PubMed id as a string of digits, from ``123``, ``PMID: 123`` or a PubMed URL."""
    if value is None:
        return None
    text = str(value).strip()
    if not text or text.upper() in {"NA", "NAN", "NONE", "NULL"}:
        return None
    if "pubmed" in text.lower() or text.lower().startswith("pmid"):
        text = text.rstrip("/").rsplit("/", 1)[-1]
    match = _PMID_IN_TEXT.search(text)
    if not match:
        return None
    pmid = match.group(1).lstrip("0")
    return pmid or None


def normalize_pmcid(value: str | None) -> str | None:
    """``PMC1234567`` from ``PMC1234567``, ``pmc 1234567`` or a PMC URL."""
    if not value:
        return None
    match = _PMCID.search(str(value))
    return f"PMC{match.group(1)}" if match else None


def split_issns(values: str | list[str] | None) -> list[str]:
    """Every ISSN in ``values`` as ``1234-567X``, in order, without repeats.

    Exports glue several ISSNs into one value (``0964-6906 (Print)0964-6906``, ``0894-9867,
    0894-9867``), drop the hyphen (``03064530 (ISSN)``) or hold an ISBN instead (left out).
    """
    if not values:
        return []
    # One scan of the values joined by a newline, which no ISSN match can contain or cross.
    text = values if isinstance(values, str) else "\n".join(map(str, values))
    found = {f"{a}-{b.upper()}": None for a, b in _ISSN.findall(text)}
    return list(found)


_PAGE_DASH = re.compile(r"\s*(?:--?|[\u2010-\u2015\u2212])\s*")
_NO_PAGES = {"no pagination specified", "no pagination", "n/a", "na", "-"}
_NO_PAGES_AT_ALL = frozenset(_NO_PAGES | {"no specified"})


def normalize_pages(start: str | None, end: str | None = None) -> str | None:
    """A page range as ``start-end`` (one ASCII hyphen), or a single page / article number.

    Joins separate start and end pages, turns ``--``, en dashes and spaced hyphens into ``-``,
    and collapses a range that starts and ends on the same page (``22-22`` -> ``22``). An
    abbreviated end page (``349-69``) is kept as written. Ovid's "No Pagination Specified"
    (split over SP ``No`` and EP ``Specified`` in its RIS) is no page at all.
    """
    first = clean_text(start) or ""
    last = clean_text(end) or ""
    if f"{first} {last}".strip().lower() in _NO_PAGES_AT_ALL:
        return None
    joinable = first and last and first != last and not _PAGE_DASH.search(first)
    text = f"{first}-{last}" if joinable else first or last
    if not text.isascii() or " " in text or "--" in text:
        # Only a space, a double hyphen or a Unicode dash gives the regex work to do.
        text = _PAGE_DASH.sub("-", text)
    text = text.strip("-")
    if not text or text.lower() in _NO_PAGES:
        return None
    parts = text.split("-")
    if len(parts) == 2 and parts[0] == parts[1]:
        return parts[0]
    return text


def parse_year(value: str | int | None) -> int | None:
    """Four-digit year from a date string such as ``2019//``, ``2019 Aug 12`` or ``1999/08//``."""
    if value is None:
        return None
    if isinstance(value, int):
        return value if 1500 <= value <= 2100 else None
    text = str(value)
    head = text[:4]
    # Most dates lead with the year, which the search below would find first.
    if head.isascii() and head.isdigit() and not text[4:5].isdecimal():
        year = int(head)
        if 1500 <= year <= 2100:
            return year
    match = _YEAR.search(text)
    return int(match.group(1)) if match else None


def strip_html(text: str | None) -> str | None:
    """``text`` without inline HTML/MathML tags (see ``_HTML``); None stays None."""
    if text is None or "<" not in text:
        return text
    return _HTML.sub("", text)


def clean_text(value: str | None, *, strip_tags: bool = False) -> str | None:
    """Unescape HTML entities, optionally drop inline markup, collapse whitespace.

    Returns ``None`` for empty results so that "no value" has one spelling.
    """
    if value is None:
        return None
    text = str(value)
    if "&" in text:
        text = html.unescape(text)
    if strip_tags and "<" in text:
        text = _HTML.sub("", text)
    if text.isascii():
        # Most values are clean already (single spaces, nothing to trim) and the split/join
        # can be skipped. A short value is checked in one C call: every ASCII whitespace
        # character but the space is unprintable, and an unprintable one that is not
        # whitespace (NUL) merely sends the value through a split/join that keeps it as it
        # is. A long one (an abstract) is scanned at memchr speed for each whitespace
        # character str.split() knows, which beats isprintable's per-character table lookups.
        if len(text) < 256:
            clean = text.isprintable() and "  " not in text
        else:
            clean = not (
                "\n" in text
                or "\t" in text
                or "\r" in text
                or "\x0b" in text
                or "\x0c" in text
                or "\x1c" in text
                or "\x1d" in text
                or "\x1e" in text
                or "\x1f" in text
                or "  " in text
            )
    else:
        text = unicodedata.normalize("NFC", text)
        clean = text.isprintable() and "  " not in text
    if not clean or text[:1] == " " or text[-1:] == " ":
        text = " ".join(text.split())
    return text or None


def clean_list(values: list[str] | tuple[str, ...]) -> list[str]:
    """``values`` cleaned by :func:`clean_text`, the empty ones dropped (a new list).

    Lists of headings or keywords are nearly always clean: they are checked as one joined
    string, which is clean exactly when every value is clean and none is empty (an empty or
    space-padded value puts two spaces in the join; entities and markup cannot reach across
    the separator), and cleaned one by one only if not.
    """
    if not values:
        return []
    joined = " | ".join(values)
    if clean_text(joined) == joined:
        return list(values)
    return [t for t in map(clean_text, values) if t]


def split_list(value: str | None, separators: str = ";") -> list[str]:
    """Split a packed multi-value cell (``a; b; c``) into clean, non-empty items."""
    if not value:
        return []
    pattern = "|".join(re.escape(s) for s in separators)
    return [item for part in re.split(pattern, value) if (item := clean_text(part))]


_PARTICLES = {
    "van",
    "von",
    "der",
    "den",
    "de",
    "del",
    "della",
    "di",
    "da",
    "du",
    "la",
    "le",
    "dos",
    "das",
    "ter",
    "ten",
    "al",
    "el",
    "bin",
    "ben",
}
_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv", "2nd", "3rd"}


def _is_suffix(token: str, *, alone: bool = False) -> bool:
    """``Jr.``, ``III``, ``2nd`` after a name; not the initials ``JR``/``SR`` that Web of
    Science and MEDLINE write for John R. or Sarah R., nor a lone upper-case ``IV`` (I. V.)."""
    key = token.lower().strip(".,")
    if key not in _SUFFIXES:
        return False
    if token.isupper():
        return key not in {"jr", "sr"} and not alone
    return True


_INITIAL_SPLIT = re.compile(r"[\s.]+")


def _initials(given: str) -> str:
    """``John Andrew`` -> ``J. A.``; ``J.-P.`` -> ``J.-P.``; ``JA`` (MEDLINE) -> ``J. A.``."""
    given = given.strip().strip(",")
    if not given:
        return ""
    # Without a dot the regex split is str.split (both split on Unicode whitespace runs).
    tokens = given.split() if "." not in given else [t for t in _INITIAL_SPLIT.split(given) if t]
    out: list[str] = []
    for token in tokens:
        if "-" in token:
            parts = [p for p in token.split("-") if p]
            out.append("-".join(f"{p[0].upper()}." for p in parts))
        elif token.isupper() and len(token) <= 3 and len(tokens) == 1:
            # MEDLINE style "JA": each capital is an initial.
            out.extend(f"{ch}." for ch in token)
        else:
            out.append(f"{token[0].upper()}.")
    return " ".join(out)


# Words that mark a group author ("IADVL Task Force", "SPRINT Research Group").
_GROUP_WORDS = {
    "alliance",
    "association",
    "board",
    "collaboration",
    "collaborative",
    "committee",
    "consortium",
    "council",
    "force",
    "foundation",
    "group",
    "initiative",
    "institute",
    "investigators",
    "network",
    "organization",
    "organisation",
    "panel",
    "society",
    "study",
    "team",
    "trialists",
}


def _is_initials(token: str) -> bool:
    letters = token.replace(".", "").replace("-", "")
    return bool(letters) and letters.isupper() and len(letters) <= 3


def normalize_author(name: str | None) -> str | None:
    """An author name in "Last, F. M." form.

    Understands "Last, First Middle", "Last, F.M.", MEDLINE "Last FM", and "First Middle Last".
    Group authors (names with no personal-name shape, e.g. "WHO Study Group") are returned
    cleaned but otherwise unchanged.
    """
    text = clean_text(name, strip_tags=True)
    if not text:
        return None
    text = text.strip(" ;")
    if "," in text:
        last, _, given = text.partition(",")
        given = given.strip()
        if "," not in given:
            # One given-name part ("Smith, John A"): a suffix only if it is not upper case.
            if given.lower().strip(".,") in _SUFFIXES and not given.isupper():
                given = ""
        else:
            parts = [p.strip() for p in given.split(",")]
            given = " ".join(p for p in parts if not _is_suffix(p, alone=len(parts) == 1))
        last = last.strip()
        if not given:
            return last or None
        initials = _initials(given)
        return f"{last}, {initials}" if initials else last
    tokens = text.split()
    if len(tokens) == 1:
        return tokens[0]
    if len(tokens) > 4 or any(t.lower().strip(".,()") in _GROUP_WORDS for t in tokens):
        return text
    tokens = [
        t for i, t in enumerate(tokens) if i == 0 or not _is_suffix(t, alone=len(tokens) == 2)
    ]
    if len(tokens) == 1:
        return tokens[0]
    # Surname first, initials after: MEDLINE "Smith JA", "van der Berg J", Embase "Adler D.G.",
    # EndNote "Lamb B. T.": every token from the first initial on is an initial.
    start = len(tokens)
    while start > 1 and _is_initials(tokens[start - 1]):
        start -= 1
    if start < len(tokens):
        return f"{' '.join(tokens[:start])}, {_initials(' '.join(tokens[start:]))}"
    # "John A. Smith" or "Jean-Paul de la Cruz": particles belong to the surname.
    surname_start = len(tokens) - 1
    while surname_start > 1 and tokens[surname_start - 1].lower() in _PARTICLES:
        surname_start -= 1
    given = " ".join(tokens[:surname_start])
    last = " ".join(tokens[surname_start:])
    return f"{last}, {_initials(given)}"


_RUN_UNIT = re.compile(r"\s*([^\W\d_][^.,]*?)\s+([A-Z]\.(?:\s?-?[A-Z]\.)*)(?=\s|$)")
_LISTED_NAME = re.compile(
    r"^[^\W\d_][^.,]*?\s+[A-Z]\.(?:\s?-?[A-Z]\.)*$"  # "DeKosky S. T."
    r"|^[A-Z][a-z'-]+[A-Z][a-z]+$"  # "GotzJurgen": surname and given name run together
)


def split_author_run(name: str | None) -> list[str]:
    """The names packed into one author value; ``[name]`` when it holds a single name.

    EndNote libraries carry author fields that hold a whole author list: a comma-separated one
    (``Golde T. E., DeKosky S. T., Galasko D.``; ``GotzJurgen, MatamalesMiriam, ...``), or a
    list ``Kass N. Faden R. ... Pitcavage J.`` whose last word EndNote took for the surname and
    moved to the front: ``J., Kass N. Faden R. ... Pitcavage``. A value is split only when
    every part has the shape of a name (surname and initials), at least three of them.
    """
    text = clean_text(name)
    if not text:
        return []
    if "." not in text and text.count(",") < 2:
        # Fewer than three comma-separated pieces, and no initials for a run to be made of.
        return [text]
    pieces = [p.strip() for p in text.split(",")]
    if len(pieces) >= 3 and all(_LISTED_NAME.match(p) for p in pieces):
        return pieces
    head, sep, rest = text.partition(", ")
    if not sep or " " in head:
        return [text]
    # "DiChiara T.DiNunno N." lost the spaces after initials.
    run = re.sub(r"\.(?=[A-Z][a-z])", ". ", f"{rest} {head}")
    position, names = 0, []
    while match := _RUN_UNIT.match(run, position):
        names.append(f"{match.group(1)} {match.group(2)}")
        position = match.end()
    leftover = run[position:].strip()
    if leftover:
        if " " in leftover or "." in leftover:
            return [text]
        names.append(leftover)  # a surname whose initials the export lost
    # A bare-initials "surname" (``J.,``) already says the value is mangled; two names suffice.
    enough = 2 if re.fullmatch(r"(?:[A-Z]\.)+", head) else 3
    return names if len(names) >= enough else [text]


def set_authors(record: Record, names: list[str]) -> None:
    """Fill ``authors_raw`` with the names as read and ``authors`` with their normal form.

    A value packing several names (see :func:`split_author_run`) counts as several authors;
    ``Record.raw`` keeps the value as the file wrote it.
    """
    raw = [piece for x in names for piece in split_author_run(x)]
    record.authors_raw = raw
    record.authors = [a for a in (normalize_author(n) for n in raw) if a]


EMPTY_RECORD = (
    "no title, abstract, DOI, PMID or PMCID (nor authors and year with a record id): nothing "
    "to screen and nothing to identify the record by; complete it in the source file"
)
"""Why a record without content is rejected (the one rule is :func:`record_has_content`)."""


def record_has_content(record: Record) -> bool:
    """A record worth importing carries a title, an abstract or an identifier.

    A record without a title but with an abstract or a DOI is kept: it is screened as
    "(no title)", and dropping it would take it out of the PRISMA identification counts. So is
    a citation that its source gives only as authors and year under an id of its own (the
    trials of a published meta-analysis' data set, "Aronson 1948"); authors and year alone,
    with no id, are not enough to tell the record from an empty entry.
    """
    if record.title or record.abstract or record.doi or record.pmid or record.pmcid:
        return True
    return bool(record.authors and record.year and record.source_id)
