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
_DOI_IN_TEXT = re.compile(r"10\.\d{4,9}/[^\s\"<>]+", re.IGNORECASE)
_PMID_IN_TEXT = re.compile(r"(?<!\d)(\d{1,9})(?!\d)")
_PMCID = re.compile(r"PMC\s*(\d+)", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d|2100)(?!\d)")
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:]*(?:\s[^<>]*)?/?>")


def normalize_doi(value: str | None) -> str | None:
    """Lower-case DOI without resolver prefix (``https://doi.org/``, ``doi:``) or trailing dot.

    Returns ``None`` when no ``10.xxxx/...`` DOI can be found in the value.
    """
    if not value:
        return None
    text = unquote(html.unescape(str(value))).strip()
    text = _DOI_PREFIX.sub("", text)
    match = _DOI_IN_TEXT.search(text)
    if not match:
        return None
    doi = match.group(0).rstrip(".,;)]}").lower()
    # PubMed's AID/LID lines append " [doi]"; Ovid and others sometimes glue a second DOI.
    return doi.split(" ")[0] or None


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


def parse_year(value: str | int | None) -> int | None:
    """Four-digit year from a date string such as ``2019//``, ``2019 Aug 12`` or ``1999/08//``."""
    if value is None:
        return None
    if isinstance(value, int):
        return value if 1500 <= value <= 2100 else None
    match = _YEAR.search(str(value))
    return int(match.group(1)) if match else None


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
        given = " ".join(p for p in parts if p.lower() not in _SUFFIXES)
        last = last.strip()
        if not given:
            return last or None
        initials = _initials(given)
        return f"{last}, {initials}" if initials else last
    tokens = text.split()
    if len(tokens) == 1:
        return tokens[0]
    if len(tokens) > 4 or any(
        t.lower()
        in {
            "group",
            "consortium",
            "committee",
            "collaboration",
            "society",
            "investigators",
            "association",
            "organization",
            "study",
        }
        for t in tokens
    ):
        return text
    tokens = [t for t in tokens if t.lower().strip(".,") not in _SUFFIXES] or tokens
    last_token = tokens[-1]
    if (
        last_token.replace(".", "").replace("-", "").isupper()
        and len(last_token.replace(".", "").replace("-", "")) <= 3
        and len(tokens) >= 2
    ):
        # MEDLINE "Smith JA" / "van der Berg J".
        return f"{' '.join(tokens[:-1])}, {_initials(last_token)}"
    # "John A. Smith" or "Jean-Paul de la Cruz": particles belong to the surname.
    surname_start = len(tokens) - 1
    while surname_start > 1 and tokens[surname_start - 1].lower() in _PARTICLES:
        surname_start -= 1
    given = " ".join(tokens[:surname_start])
    last = " ".join(tokens[surname_start:])
    return f"{last}, {_initials(given)}"


def set_authors(record: Record, names: list[str]) -> None:
    """Fill ``authors_raw`` with the names as read and ``authors`` with their normal form."""
    raw = [n for n in (clean_text(x) for x in names) if n]
    record.authors_raw = raw
    record.authors = [a for a in (normalize_author(n) for n in raw) if a]


def record_has_content(record: Record) -> bool:
    """A record worth importing carries at least a title or an identifier."""
    return bool(record.title or record.doi or record.pmid or record.pmcid)
