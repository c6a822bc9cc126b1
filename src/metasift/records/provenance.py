"""Where an import's records come from: the PRISMA-S details of one export file.

PRISMA-S asks, for every database searched: its name, the platform or interface, the date
searched, the full search string, the limits applied and the records retrieved. An export
often says the first two itself (a RIS ``DB``/``DP`` tag, an Ovid or Embase.com link, a WoS
accession number, a Scopus ``Source`` column, an EndNote ``remote-database-*`` element); the
rest only the reviewer knows. :class:`ExportTally` collects what each record says as the file
is read; :func:`resolve` combines it with what the reviewer gave, in this order: the
reviewer's ``--source`` (they may name it more precisely, e.g. "MEDLINE (Ovid)"), else the
database the export states, else the file name, flagged as "source not stated".

Pure: records and strings in, a :class:`Provenance` out.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from metasift.errors import ImportFileError, ProtocolError
from metasift.protocol import Protocol, Source
from metasift.records.model import Record

# How an import's source name was obtained (the ``imports.source_origin`` column).
FROM_USER = "user"
FROM_EXPORT = "export"
FROM_FILE_NAME = "file name"
FROM_SEARCH = "search"
NOT_STATED = "source not stated"

# Where the PRISMA diagram counts an import: see ``metasift.protocol.Source.category``.
SOURCE_TYPES = ("database", "register", "other", "previous")

# Database names as exports spell them -> the name a PRISMA-S log uses.
_DATABASES = {
    "nlm": "PubMed",
    "pubmed": "PubMed",
    "medline": "MEDLINE",
    "embase": "Embase",
    "scopus": "Scopus",
    "web of science": "Web of Science Core Collection",
    "web of science core collection": "Web of Science Core Collection",
    "cin20": "CINAHL",
    "cinahl": "CINAHL",
    "psycinfo": "APA PsycInfo",
    "openalex": "OpenAlex",
}
# Ovid's database codes (the ``D=`` of its links) -> database.
_OVID_CODES = (
    ("medl", "MEDLINE"),
    ("prem", "MEDLINE"),
    ("emed", "Embase"),
    ("emez", "Embase"),
    ("oemez", "Embase"),
    ("psyc", "APA PsycInfo"),
    ("coch", "Cochrane Library"),
    ("cctr", "Cochrane CENTRAL"),
)
# Link hosts -> (database or None, platform).
_HOSTS = (
    ("ovid.com", None, "Ovid"),
    ("embase.com", "Embase", "Embase.com"),
    ("scopus.com", "Scopus", "Scopus"),
    ("proquest.com", None, "ProQuest"),
    ("webofscience.com", "Web of Science Core Collection", "Web of Science"),
    ("webofknowledge.com", "Web of Science Core Collection", "Web of Science"),
    ("go to isi", "Web of Science Core Collection", "Web of Science"),
    ("ebscohost.com", None, "EBSCOhost"),
)
_PROVIDERS = {
    "ovid technologies": "Ovid",
    "ovid": "Ovid",
    "ebscohost": "EBSCOhost",
    "nlm": "PubMed",
    "proquest": "ProQuest",
    "elsevier": "Embase.com",
}
# Platform of a database searched on its own vendor's interface, when the export names no other.
_OWN_PLATFORM = {
    "PubMed": "PubMed",
    "Scopus": "Scopus",
    "Web of Science Core Collection": "Web of Science",
    "OpenAlex": "OpenAlex",
}
# Formats that only one database exports.
_FORMAT_DATABASE = {
    "medline": "PubMed",
    "pubmed-xml": "PubMed",
    "wos": "Web of Science Core Collection",
    "openalex": "OpenAlex",
    "synergy": "OpenAlex",
}
_LINK_FIELDS = ("UR", "L1", "L2", "L3", "Link", "url", "urls/related-urls")
_OVID_CODE = re.compile(r"[?&]D=([a-z]+)", re.IGNORECASE)
_EXPORT_DATE = re.compile(r"Export Date:\s*(\d{1,2} \w+ \d{4})")


def _values(raw: dict, key: str) -> list[str]:
    value = raw.get(key)
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [str(v) for v in items if v not in (None, "")]


def database_name(value: str | None) -> str | None:
    """A database name as exports write it (``NLM``, ``Medline``, ``Embase\\rMedline``) in the
    spelling the search log uses; None for an empty value or an EndNote library file."""
    if not value:
        return None
    first = re.split(r"[\r\n;]+", value.strip())[0].strip()
    if not first or first.lower().endswith(".enl"):
        return None
    return _DATABASES.get(first.lower(), first)


def _from_links(raw: dict) -> tuple[str | None, str | None]:
    for key in _LINK_FIELDS:
        for link in _values(raw, key):
            lowered = link.lower()
            for host, database, platform in _HOSTS:
                if host not in lowered:
                    continue
                if host == "ovid.com" and (code := _OVID_CODE.search(link)):
                    found = code.group(1).lower()
                    database = next((d for c, d in _OVID_CODES if found.startswith(c)), None)
                return database, platform
    return None, None


def record_origin(record: Record, fmt: str) -> tuple[str | None, str | None]:
    """The database and platform one record says it comes from (either may be None).

    Args:
        record: a record as its reader returned it (before any ``--source`` is applied).
        fmt: the export's format name (``ris``, ``medline``, ...).
    """
    raw = record.raw or {}
    link_db, platform = _from_links(raw)
    database = database_name(record.source_database)
    # EndNote keeps where a record came from in remote-database-name and -provider.
    remote = database_name(next(iter(_values(raw, "remote-database-name")), None))
    provider = next(iter(_values(raw, "remote-database-provider")), "").strip()
    if provider:
        platform = platform or _PROVIDERS.get(provider.lower(), provider)
        if provider.lower() == "nlm":
            remote = remote or "PubMed"
    database = remote or database or link_db or _FORMAT_DATABASE.get(fmt)
    accession = " ".join(_values(raw, "AN") + _values(raw, "UT") + _values(raw, "N1"))
    if database is None and ("WOS:" in accession or "Web of Science Core Collection" in accession):
        database = "Web of Science Core Collection"
    if database and not platform:
        platform = _OWN_PLATFORM.get(database)
    return database, platform


def _export_date(record: Record) -> str | None:
    for note in _values(record.raw or {}, "N1"):
        if match := _EXPORT_DATE.search(note):
            try:
                return datetime.strptime(match.group(1), "%d %B %Y").date().isoformat()
            except ValueError:
                return None
    return None


@dataclass
class ExportTally:
    """What the records of one export say about where they come from, counted as read."""

    fmt: str
    databases: Counter[str] = field(default_factory=Counter)
    platforms: Counter[str] = field(default_factory=Counter)
    export_dates: Counter[str] = field(default_factory=Counter)
    records: int = 0

    def add(self, record: Record) -> None:
        """Count what ``record`` says (call before a ``--source`` overwrites its database)."""
        self.records += 1
        database, platform = record_origin(record, self.fmt)
        if database:
            self.databases[database] += 1
        if platform:
            self.platforms[platform] += 1
        if self.records <= 50 and (day := _export_date(record)):
            self.export_dates[day] += 1

    @property
    def stated(self) -> bool:
        """Whether the export says where its records come from: at least half of them do (a
        few WoS links in a screening tool's library do not make it a WoS export)."""
        return 2 * sum(self.databases.values()) >= max(self.records, 1)

    @property
    def database(self) -> str | None:
        """The database the export states; several, most records first, joined by ' + '."""
        if not self.stated:
            return None
        return " + ".join(name for name, _ in self.databases.most_common()) or None

    @property
    def platform(self) -> str | None:
        """The platform the export states, as :attr:`database`."""
        if not self.stated:
            return None
        return " + ".join(name for name, _ in self.platforms.most_common()) or None

    @property
    def export_date(self) -> str | None:
        return self.export_dates.most_common(1)[0][0] if self.export_dates else None

    def mixed_note(self) -> str | None:
        """Names a file whose records come from several databases (a reference manager's
        library, not one database's export), or None."""
        if len(self.databases) < 2 and (self.stated or not self.databases):
            return None
        parts = [f"{name} {n}" for name, n in self.databases.most_common()]
        unstated = self.records - sum(self.databases.values())
        if unstated:
            parts.append(f"not stated {unstated}")
        return "records from several databases: " + ", ".join(parts)


@dataclass(frozen=True)
class SearchDetails:
    """The PRISMA-S details a reviewer gives with an import (all optional).

    Args:
        source: the database searched, as it should appear in the log and the diagram.
        platform: the platform or interface (Ovid, Embase.com, EBSCOhost...).
        searched: the date the search was run, ISO ``YYYY-MM-DD``.
        query: the full search string, exactly as run.
        limits: limits and filters applied (dates, languages, publication types).
        source_type: where PRISMA counts it: database, register, other (citation searching,
            websites...) or previous (studies included in the review's previous version).
    """

    source: str | None = None
    platform: str | None = None
    searched: str | None = None
    query: str | None = None
    limits: str | None = None
    source_type: str | None = None

    def __post_init__(self) -> None:
        if self.searched:
            object.__setattr__(self, "searched", parse_searched(self.searched))
        if self.source_type and self.source_type not in SOURCE_TYPES:
            raise ImportFileError(
                "--source-type",
                f"unknown source type {self.source_type!r}; use one of {', '.join(SOURCE_TYPES)}.",
            )

    def over(self, defaults: SearchDetails) -> SearchDetails:
        """These details, with ``defaults`` filling what they leave out."""
        return SearchDetails(
            **{k: getattr(self, k) or getattr(defaults, k) for k in self.__dataclass_fields__}
        )


def source_details(source: Source, root: Path) -> SearchDetails:
    """The PRISMA-S details review.toml declares for a source.

    Args:
        source: the ``[[sources]]`` table.
        root: the project folder, which ``query_file`` is relative to.
    """
    query = source.query
    if not query and source.query_file:
        path = root / source.query_file
        try:
            query = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ProtocolError(
                f"review.toml: source {source.name!r}: cannot read query_file {path}: "
                f"{exc.strerror or exc}; fix the path."
            ) from exc
    return SearchDetails(
        source=source.name,
        platform=source.platform or None,
        searched=source.searched or None,
        query=query or None,
        limits=source.limits or None,
        source_type=source.category,
    )


def declared_details(protocol: Protocol, name: str | None, root: Path) -> SearchDetails:
    """What review.toml declares for the source ``name`` (empty details for a name it does
    not list, or no name)."""
    for source in protocol.sources if name else ():
        if source.name.lower() == name.lower():
            return source_details(source, root)
    return SearchDetails()


def describe(p: Provenance) -> str:
    """One line of an import's PRISMA-S details, as the import command prints it."""
    how = {FROM_USER: "as given", FROM_EXPORT: "stated by the export", FROM_SEARCH: "searched"}
    if p.source:
        parts = [f"source {p.source} ({how.get(p.origin, p.origin)})"]
    else:
        parts = ["source: the file name (the export names no database; give --source)"]
    if p.platform:
        parts.append(f"platform {p.platform}")
    if p.searched:
        parts.append(f"searched {p.searched}")
    if p.query:
        parts.append(f"search string of {len(p.query):,} characters")
    if p.limits:
        parts.append(f"limits: {p.limits}")
    if p.source_type and p.source_type != "database":
        parts.append(f"counted as {p.source_type}")
    return ", ".join(parts)


def parse_searched(value: str) -> str:
    """``value`` as an ISO date; an error naming the expected form otherwise."""
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise ImportFileError(
            "--searched", f"date searched {value!r} is not a date; write it as YYYY-MM-DD."
        ) from None


@dataclass(frozen=True)
class Provenance:
    """The PRISMA-S details stored with an import."""

    source: str | None  # the name PRISMA reports the import under; None: the file name
    origin: str  # FROM_USER, FROM_EXPORT or FROM_FILE_NAME
    database: str | None  # what the export states, whatever the reviewer called it
    platform: str | None
    searched: str | None
    query: str | None
    limits: str | None
    source_type: str | None
    notes: tuple[str, ...] = ()

    @property
    def flags(self) -> list[str]:
        """What PRISMA-S asks for and this import lacks, in the log's words."""
        out = [NOT_STATED] if self.origin == FROM_FILE_NAME else []
        if not self.searched:
            out.append("date searched not stated")
        if not self.query:
            out.append("search string not stated")
        return out


def resolve(details: SearchDetails, tally: ExportTally | None) -> Provenance:
    """The provenance of an import from the reviewer's ``details`` and what the export says.

    Args:
        details: what the reviewer gave (command line options or review.toml).
        tally: what the records said while read, or None for an import with no file.
    """
    stated = tally.database if tally else None
    notes = []
    if tally and (mixed := tally.mixed_note()):
        notes.append(mixed)
    if details.source:
        source, origin = details.source, FROM_USER
        if stated and stated.lower() not in details.source.lower():
            notes.append(f"the export says its records come from {stated}")
    elif stated:
        source, origin = stated, FROM_EXPORT
    else:
        source, origin = None, FROM_FILE_NAME
    return Provenance(
        source=source,
        origin=origin,
        database=stated,
        platform=details.platform or (tally.platform if tally else None),
        searched=details.searched or (tally.export_date if tally else None),
        query=details.query,
        limits=details.limits,
        source_type=details.source_type,
        notes=tuple(notes),
    )
