"""The normalisers of metasift.records.normalize as they were before their fast paths.

Kept verbatim so that tests/records/test_normalize_equivalence.py can show, on generated
input, that the fast versions return exactly what these did.
"""

from __future__ import annotations

import html
import re
import unicodedata

# An ISSN: 4 digits, optional hyphen, 3 digits and a check digit; not part of a longer number
# (ISBNs, article numbers) on either side.
_ISSN = re.compile(r"(?<![\dXx-])(\d{4})-?(\d{3}[\dXx])(?![\dXx])")
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:]*(?:\s[^<>]*)?/?>")


def split_issns(values: str | list[str] | None) -> list[str]:
    """Every ISSN in ``values`` as ``1234-567X``, in order, without repeats.

    Exports glue several ISSNs into one value (``0964-6906 (Print)0964-6906``, ``0894-9867,
    0894-9867``), drop the hyphen (``03064530 (ISSN)``) or hold an ISBN instead (left out).
    """
    if not values:
        return []
    texts = [values] if isinstance(values, str) else values
    found: list[str] = []
    for text in texts:
        for match in _ISSN.finditer(str(text)):
            issn = f"{match.group(1)}-{match.group(2).upper()}"
            if issn not in found:
                found.append(issn)
    return found


_PAGE_DASH = re.compile(r"\s*(?:--?|[\u2010-\u2015\u2212])\s*")
_NO_PAGES = {"no pagination specified", "no pagination", "n/a", "na", "-"}


def normalize_pages(start: str | None, end: str | None = None) -> str | None:
    """A page range as ``start-end`` (one ASCII hyphen), or a single page / article number.

    Joins separate start and end pages, turns ``--``, en dashes and spaced hyphens into ``-``,
    and collapses a range that starts and ends on the same page (``22-22`` -> ``22``). An
    abbreviated end page (``349-69``) is kept as written. Ovid's "No Pagination Specified"
    (split over SP ``No`` and EP ``Specified`` in its RIS) is no page at all.
    """
    first = clean_text(start) or ""
    last = clean_text(end) or ""
    if f"{first} {last}".strip().lower() in _NO_PAGES | {"no specified"}:
        return None
    joinable = first and last and first != last and not _PAGE_DASH.search(first)
    text = f"{first}-{last}" if joinable else first or last
    text = _PAGE_DASH.sub("-", text).strip("-")
    if not text or text.lower() in _NO_PAGES:
        return None
    parts = text.split("-")
    if len(parts) == 2 and parts[0] == parts[1]:
        return parts[0]
    return text


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
        text = _TAG.sub("", text)
    if text.isascii():
        # Most values are clean already (single spaces, nothing to trim): memchr-speed scans
        # for each ASCII whitespace character str.split() knows tell, and the split/join
        # (or a regex, ten times slower still) is skipped.
        clean = not (
            "  " in text
            or "\n" in text
            or "\t" in text
            or "\r" in text
            or "\x0b" in text
            or "\x0c" in text
            or "\x1c" in text
            or "\x1d" in text
            or "\x1e" in text
            or "\x1f" in text
        )
    else:
        text = unicodedata.normalize("NFC", text)
        clean = text.isprintable() and "  " not in text
    if not clean or text[:1] == " " or text[-1:] == " ":
        text = " ".join(text.split())
    return text or None


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


def _initials(given: str) -> str:
    """``John Andrew`` -> ``J. A.``; ``J.-P.`` -> ``J.-P.``; ``JA`` (MEDLINE) -> ``J. A.``."""
    given = given.strip().strip(",")
    if not given:
        return ""
    tokens = [t for t in re.split(r"[\s.]+", given) if t]
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
