"""A record as a formatted reference, for the reference lists of a review's report.

The style is Vancouver's (what most biomedical journals and Cochrane use) with the year after
the authors, as the report's lists are read by author and year: up to six authors as "Last
FM", then "et al."; the title; the journal with volume, issue and pages; the DOI as a link.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from metasift.records.model import Record

MAX_AUTHORS = 6
_END = re.compile(r"[.?!]$")


@dataclass(frozen=True)
class Reference:
    """A formatted reference: its text (without the DOI) and where the DOI link points."""

    text: str
    doi: str | None = None

    @property
    def url(self) -> str | None:
        """The DOI's resolver address, or None without a DOI."""
        return f"https://doi.org/{self.doi}" if self.doi else None

    def plain(self) -> str:
        """The whole reference as one line of text, the DOI written out."""
        return f"{self.text} doi:{self.doi}" if self.doi else self.text


def vancouver_name(name: str) -> str:
    """ "Shin, K. O." -> "Shin KO"; a name without a comma is kept as written.

    Args:
        name: an author's name as the records hold it ("Last, F. M.").
    """
    if "," not in name:
        return name.strip()
    last, _, first = name.partition(",")
    initials = "".join(part[0] for part in re.split(r"[\s.\-]+", first) if part)
    return f"{last.strip()} {initials.upper()}".strip()


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or _END.search(text) else text + "."


def reference(record: Record) -> Reference:
    """``record`` as a reference: authors, year, title, journal with volume(issue):pages, DOI.

    Args:
        record: the bibliographic record.
    """
    names = [vancouver_name(a) for a in (record.authors or record.authors_raw) if a.strip()]
    authors = ", ".join(names[:MAX_AUTHORS]) + (", et al" if len(names) > MAX_AUTHORS else "")
    parts = [_sentence(authors or "Anonymous"), _sentence(str(record.year or "n.d."))]
    if record.title:
        parts.append(_sentence(record.title))
    journal = record.journal or record.journal_abbrev
    if journal:
        where = journal.strip().rstrip(".")
        if record.volume:
            where += f" {record.volume}"
            if record.issue:
                where += f"({record.issue})"
        elif record.issue:
            where += f" ({record.issue})"
        if record.pages:
            where += f":{record.pages}"
        parts.append(_sentence(where))
    return Reference(" ".join(parts), record.doi or None)


def study_label(record: Record) -> str:
    """A study's short name as reviews cite it: the first author's surname and the year
    ("Shin 2020"); "Anonymous" without authors, "n.d." without a year.

    Args:
        record: the study's (first) report.
    """
    names = record.authors or record.authors_raw
    surname = names[0].split(",")[0].strip() if names else ""
    return f"{surname or 'Anonymous'} {record.year or 'n.d.'}"


def study_labels(records: Mapping[int, Record]) -> dict[int, str]:
    """Short names of several studies, told apart as reviews do: "Park 2020a", "Park 2020b"
    (in the order of the keys, smallest first).

    Args:
        records: each study's key (its id) -> its record.
    """
    plain = {key: study_label(rec) for key, rec in sorted(records.items())}
    seen: dict[str, int] = {}
    counts = Counter(plain.values())
    out = {}
    for key, label in plain.items():
        if counts[label] > 1:
            seen[label] = seen.get(label, 0) + 1
            label += "abcdefghijklmnopqrstuvwxyz"[(seen[label] - 1) % 26]
        out[key] = label
    return out
