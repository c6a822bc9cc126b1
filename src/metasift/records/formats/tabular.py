"""Delimited text exports (CSV, TSV): Scopus, Embase, Web of Science, PubMed and any table.

The file's header picks a profile: Scopus CSV (``EID`` + ``Source title``), Embase CSV (a
``Source`` column packing journal, volume, issue, pages and date), Web of Science tab-delimited
(two-letter field tags), PubMed "Save -> CSV", metasift's own CSV, or a generic table whose
columns are matched to record fields by name (case, spacing and punctuation ignored;
:data:`SYNONYMS`). ``ReadOptions.column_map`` overrides the match for any field and
``ReadOptions.label_column`` names the include-label column. ``Record.raw`` holds every
non-empty cell under its column name.

Parsing is Python's :mod:`csv`; its ``Sniffer`` is not used because it guesses from character
statistics and misreads exports whose quoted cells run to thousands of characters (Scopus
references). The delimiter is instead the one of comma, tab and semicolon that splits the
header line into the most cells, outside quotes. Every row becomes a :class:`Record` or a
:class:`Rejection` naming its line: a row with more cells than the header (an unquoted
delimiter shifted its columns), with fewer (a broken line), or without a title.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qs, urlsplit

from metasift.errors import ImportFileError
from metasift.records.cells import SafeWriter, restore_cell
from metasift.records.formats._markup import strip_html
from metasift.records.formats.base import ReadItem, ReadOptions, Rejection, read_text
from metasift.records.formats.jsonl import _label as parse_label
from metasift.records.model import LIST_FIELDS, RECORD_FIELDS, Record
from metasift.records.normalize import (
    EMPTY_RECORD,
    clean_text,
    normalize_author,
    normalize_doi,
    normalize_pmcid,
    normalize_pmid,
    parse_year,
    record_has_content,
)

NAME = "csv"
EXTENSIONS = (".csv", ".tsv", ".tab")

DELIMITERS = (",", "\t", ";")
# Cells that spell "no value" in R, pandas and spreadsheet exports.
MISSING = {
    "NA",
    "N/A",
    "NaN",
    "NULL",
    "UNKNOWN",
    "[No abstract available]",
    "[No author name available]",
}


def _key(name: str) -> str:
    """Names compare without case, spacing or punctuation: 'Source Title' = 'source_title'."""
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()


# Record field (or helper name) -> column names it is read from, best first.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "title": ("title", "article title", "primary title", "document title", "ti", "t1"),
    "abstract": ("abstract", "ab", "abstract note", "n2", "summary"),
    "authors": ("authors", "author", "author names", "author full names", "au", "a1"),
    "year": ("year", "publication year", "py", "pub year", "year published", "yr", "y1"),
    "journal": (
        "journal",
        "journal title",
        "source title",
        "secondary title",
        "journal book",
        "publication title",
        "jo",
        "jf",
        "t2",
        "so",
        "booktitle",
    ),
    "journal_abbrev": (
        "journal abbreviation",
        "abbreviated source title",
        "journal abbrev",
        "short journal",
        "ji",
        "j9",
        "ja",
    ),
    "volume": ("volume", "vol", "vl"),
    "issue": ("issue", "number", "issue number", "is", "no"),
    "pages": ("pages", "page", "page range", "pp"),
    "page_start": ("page start", "start page", "first page", "bp", "sp"),
    "page_end": ("page end", "end page", "last page", "ep"),
    "doi": ("doi", "di", "digital object identifier"),
    "pmid": ("pmid", "pubmed id", "pubmed", "pm"),
    "pmcid": ("pmcid", "pmc id", "pmc"),
    "issn": ("issn", "sn", "eissn", "ei"),
    "keywords": ("keywords", "keyword", "author keywords", "kw", "de"),
    "mesh_terms": ("mesh terms", "mesh", "mesh headings", "mh"),
    "language": ("language", "language of original document", "lang", "la"),
    "publication_types": ("publication type", "publication types", "document type", "dt"),
    "record_type": ("entrytype", "entry type", "item type", "reference type", "ty"),
    "url": ("url", "link", "links", "source url", "ur"),
    "source_id": ("id", "record id", "key", "citation key", "accession number", "an", "eid"),
    "source_database": ("database", "source database", "db"),
    "label": ("label included", "included", "final included", "include", "eligible", "label"),
}
# Names so ambiguous that they are only used when no better column exists in the file:
# 'source' is a journal in some exports and a database or a note in others.
WEAK_SYNONYMS: dict[str, tuple[str, ...]] = {
    "journal": ("source",),
    "year": ("date", "publication date"),
    "record_type": ("type",),
}
# Fields a user may map with ReadOptions.column_map.
MAPPABLE = tuple(f for f in RECORD_FIELDS if f not in {"raw", "source_file", "source_position"})


@dataclass(frozen=True)
class Profile:
    """How one kind of export names its columns and packs its values."""

    name: str
    columns: dict[str, tuple[str, ...]]
    database: str | None = None
    weak: dict[str, tuple[str, ...]] = field(default_factory=dict)
    fix: Callable[[Record, Callable[[str], str | None]], None] | None = None


# --- value parsing ----------------------------------------------------------------------------

_SCOPUS_ID = re.compile(r"\s*\(\d+\)\s*$")
_AFTER_INITIALS = re.compile(r"(?<=\.),\s*")
_RUN_TOGETHER = re.compile(r"(?<=[A-Z]\.)(?=[A-Z][a-z])")
_INITIALS_END = re.compile(r"\s[A-Z]{1,3}\.?$")
_ISSN = re.compile(r"^(\d{4})-?(\d{3}[\dXx])$")


def split_authors(value: str) -> list[str]:
    """Author names from one cell, whatever the export's separator.

    ``A; B`` (Scopus, WoS), ``A and B`` (BibTeX-derived), ``Liu R., Adler D.G.`` (Embase),
    ``Smith J, Doe A`` (PubMed), ``Adeli K.Lewis G. F.`` (EndNote names run together).
    A single "Last, First" name is not split.
    """
    text = value.strip().rstrip(";")
    if not text:
        return []
    if ";" in text:
        parts = text.split(";")
    elif re.search(r"\s+and\s+", text):
        parts = re.split(r"\s+and\s+", text)
    elif _AFTER_INITIALS.search(text) and len(_AFTER_INITIALS.split(text)) > 1:
        parts = _AFTER_INITIALS.split(text)
    elif "," in text and all(_INITIALS_END.search(p.strip()) for p in text.split(",")):
        parts = text.split(",")
    elif _RUN_TOGETHER.search(text):
        parts = _RUN_TOGETHER.split(text)
    else:
        parts = [text]
    return [p for p in (clean_text(x) for x in parts) if p]


def split_values(value: str, separators: str = ";") -> list[str]:
    return [v for v in (clean_text(x) for x in re.split(f"[{separators}]", value)) if v]


def split_top_level(value: str, separator: str = ",") -> list[str]:
    """Split on ``separator`` outside parentheses: Emtree's 'cyst (diagnosis, surgery), x'."""
    parts, depth, current = [], 0, []
    for char in value:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        if char == separator and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p for p in (clean_text(x) for x in parts) if p]


def _dedupe(items: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        if item.lower() not in seen:
            seen.add(item.lower())
            out.append(item)
    return out


def _issn(value: str) -> str:
    match = _ISSN.match(value.strip())
    return f"{match.group(1)}-{match.group(2).upper()}" if match else value.strip()


# --- profiles ---------------------------------------------------------------------------------


def _fix_scopus(record: Record, get: Callable[[str], str | None]) -> None:
    full = get("author_full")
    short = get("authors")
    if full:
        names = [_SCOPUS_ID.sub("", n) for n in split_authors(full)]
        if not short or len(names) == len(split_authors(short)):
            _set_authors(record, names)
    keywords = split_values(get("keywords") or "") + split_values(get("index_keywords") or "")
    record.keywords = _dedupe(keywords)
    if not record.pages and (article := get("article_number")):
        record.pages = article
    record.record_type = record.publication_types[0] if record.publication_types else None
    record.source_database = get("database") or "Scopus"


_EMBASE_SOURCE = re.compile(
    r"^(?P<journal>.+?)\s+\((?P<year>\d{4})\)"
    r"(?:\s+(?P<volume>[^\s:(]+))?(?::(?P<issue>[^\s(]+))?"
    r"(?:\s+\((?P<pages>[^)]*)\))?"
)
_EMTREE = (
    "emtree drug major",
    "emtree drug",
    "emtree medical major",
    "emtree medical",
)


def _fix_embase(record: Record, get: Callable[[str], str | None]) -> None:
    source = get("source_packed") or ""
    match = _EMBASE_SOURCE.match(source)
    query: dict[str, list[str]] = {}
    if link := get("openurl"):
        query = parse_qs(urlsplit(link).query)

    def param(name: str) -> str | None:
        values = [v for v in query.get(name, []) if v.strip()]
        return clean_text(values[0]) if values else None

    if match:
        record.journal = record.journal or clean_text(match.group("journal"))
        record.year = record.year or int(match.group("year"))
        record.volume = record.volume or clean_text(match.group("volume"))
        record.issue = record.issue or clean_text(match.group("issue"))
        record.pages = record.pages or clean_text(match.group("pages"))
    record.journal = record.journal or param("title")
    record.journal_abbrev = record.journal_abbrev or param("stitle")
    record.volume = record.volume or param("volume")
    record.issue = record.issue or param("issue")
    record.pages = record.pages or param("pages")
    id_param = param("id") or ""
    if not record.doi and id_param.lower().startswith("doi:"):
        record.doi = normalize_doi(id_param[4:])
    if not record.pmid and id_param.lower().startswith("pmid:"):
        record.pmid = normalize_pmid(id_param[5:])
    if not record.issn and (issn := param("issn")):
        record.issn = [_issn(issn)]
    terms: list[str] = []
    for column in _EMTREE:
        terms.extend(split_top_level(get(column) or ""))
    record.keywords = _dedupe(record.keywords + terms)
    record.source_database = "Embase"


_PUBMED_CITATION = re.compile(
    r"\.\s+(?P<date>\d{4}[^;:]*?)"
    r"(?:;(?P<volume>[^(:]*?)(?:\((?P<issue>[^)]*)\))?)?"
    r"(?::(?P<pages>[^.\s;]+))?\."
)


def _fix_pubmed(record: Record, get: Callable[[str], str | None]) -> None:
    authors = (get("authors") or "").strip().rstrip(".")
    _set_authors(record, split_values(authors, ","))
    record.journal_abbrev = record.journal
    if citation := get("citation"):
        match = _PUBMED_CITATION.search(citation)
        if match:
            record.volume = record.volume or clean_text(match.group("volume"))
            record.issue = record.issue or clean_text(match.group("issue"))
            record.pages = record.pages or clean_text(match.group("pages"))
    record.source_id = record.pmid
    record.source_database = "PubMed"


def _fix_wos(record: Record, get: Callable[[str], str | None]) -> None:
    names = get("authors") or get("authors_short") or ""
    _set_authors(record, split_values(names))
    keywords = split_values(get("keywords") or "") + split_values(get("keywords_plus") or "")
    record.keywords = _dedupe(keywords)
    issns = ";".join(v for v in (get("issn"), get("eissn")) if v)
    record.issn = [_issn(i) for i in split_values(issns)]
    if not record.pages and (article := get("article_number")):
        record.pages = article
    record.source_database = "Web of Science"


SCOPUS = Profile(
    "scopus",
    {
        "title": ("title",),
        "abstract": ("abstract",),
        "authors": ("authors",),
        "author_full": ("author full names",),
        "year": ("year",),
        "journal": ("source title",),
        "journal_abbrev": ("abbreviated source title",),
        "volume": ("volume",),
        "issue": ("issue",),
        "page_start": ("page start",),
        "page_end": ("page end",),
        "article_number": ("art no",),
        "doi": ("doi",),
        "pmid": ("pubmed id",),
        "issn": ("issn",),
        "keywords": ("author keywords",),
        "index_keywords": ("index keywords",),
        "language": ("language of original document",),
        "publication_types": ("document type",),
        "url": ("link",),
        "source_id": ("eid",),
        "database": ("source",),
    },
    fix=_fix_scopus,
)
EMBASE = Profile(
    "embase",
    {
        "title": ("title",),
        "abstract": ("abstract",),
        "authors": ("author names",),
        "source_packed": ("source",),
        "openurl": ("open url link",),
        "doi": ("doi",),
        "pmid": ("medline pmid", "pubmed id", "pmid"),
        "language": ("language of article", "language"),
        "publication_types": ("publication type",),
        "source_id": ("embase accession id", "embase accession number", "accession number"),
        "url": ("full text link", "embase link"),
        "emtree drug major": ("emtree drug index terms major focus",),
        "emtree drug": ("emtree drug index terms",),
        "emtree medical major": ("emtree medical index terms major focus",),
        "emtree medical": ("emtree medical index terms",),
        "keywords": ("author keywords",),
    },
    fix=_fix_embase,
)
PUBMED = Profile(
    "pubmed",
    {
        "pmid": ("pmid",),
        "title": ("title",),
        "authors": ("authors",),
        "citation": ("citation",),
        "journal": ("journal book",),
        "year": ("publication year",),
        "pmcid": ("pmcid",),
        "doi": ("doi",),
    },
    fix=_fix_pubmed,
)
WOS = Profile(
    "wos",
    {
        "title": ("ti",),
        "abstract": ("ab",),
        "authors": ("af",),
        "authors_short": ("au",),
        "year": ("py",),
        "journal": ("so", "se"),
        "journal_abbrev": ("ji", "j9"),
        "volume": ("vl",),
        "issue": ("is",),
        "page_start": ("bp",),
        "page_end": ("ep",),
        "article_number": ("ar",),
        "doi": ("di", "d2"),
        "pmid": ("pm",),
        "issn": ("sn",),
        "eissn": ("ei",),
        "keywords": ("de",),
        "keywords_plus": ("id",),
        "language": ("la",),
        "publication_types": ("dt",),
        "record_type": ("pt",),
        "source_id": ("ut",),
    },
    fix=_fix_wos,
)
GENERIC = Profile("generic", SYNONYMS, weak=WEAK_SYNONYMS)

_WOS_TAG = re.compile(r"^[A-Z][A-Z0-9]$")


def _profile(header: list[str]) -> Profile | None:
    """The export profile of a header, or None for metasift's own CSV."""
    names = set(header)
    keys = {_key(h) for h in header}
    if {"title", "authors_raw", "source_position", "raw"} <= names:
        return None
    tags = [h.strip() for h in header if h.strip()]
    if (
        tags
        and sum(bool(_WOS_TAG.match(t)) for t in tags) >= 0.9 * len(tags)
        and {
            "TI",
            "UT",
        }
        <= set(tags)
    ):
        return WOS
    if {"eid", "source title"} <= keys:
        return SCOPUS
    if {"author names", "source"} <= keys and (
        "open url link" in keys or any(k.startswith("emtree") for k in keys)
    ):
        return EMBASE
    if {"pmid", "title", "authors", "citation", "journal book"} <= keys:
        return PUBMED
    return GENERIC


# --- reading ----------------------------------------------------------------------------------


def _delimiter(line: str) -> str:
    counts = {}
    for delimiter in DELIMITERS:
        try:
            counts[delimiter] = len(next(csv.reader([line], delimiter=delimiter)))
        except (csv.Error, StopIteration):
            counts[delimiter] = 0
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties: comma, then tab
    return best if counts[best] > 1 else ","


_SEP_HINT = re.compile(r'"?sep=(.)"?')


def _header_line(text: str) -> tuple[str, int, str]:
    """The header line, the number of lines before it, and the delimiter.

    Blank lines before the header are skipped, and so is the 'sep=;' line Excel writes
    to name the delimiter.
    """
    lines = text.splitlines()
    index = next((i for i, line in enumerate(lines) if line.strip()), -1)
    if index < 0:
        return "", -1, ","
    hint = _SEP_HINT.fullmatch(lines[index].strip())
    if hint:
        index += 1
        while index < len(lines) and not lines[index].strip():
            index += 1
        line = lines[index] if index < len(lines) else ""
        return line, index, hint.group(1)
    return lines[index], index, _delimiter(lines[index])


def _clean_header(cells: list[str]) -> list[str]:
    header = [h.strip().lstrip("\ufeff").strip() for h in cells]
    while header and not header[-1]:
        header.pop()  # Web of Science ends every line with a tab
    return header


def _rows(text: str, path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header and an iterator of (line number where the row starts, cells)."""
    line, skip, delimiter = _header_line(text)
    if skip < 0:
        raise ImportFileError(str(path), "the file is empty; export the records again.")
    wos = delimiter == "\t" and _profile(_clean_header(line.split("\t"))) is WOS
    # Web of Science writes tab-separated values without quoting: a quote is a character.
    quoting = csv.QUOTE_NONE if wos else csv.QUOTE_MINIMAL
    body = "".join(text.splitlines(keepends=True)[skip:])
    # Lines as the csv module counts them (universal newlines), so that line_num indexes them.
    lines = io.StringIO(body, newline="").readlines()

    def reader_from(index: int) -> Any:
        return csv.reader(iter(lines[index:]), delimiter=delimiter, quoting=quoting)

    reader = reader_from(0)
    try:
        header = _clean_header(next(reader))
    except (StopIteration, csv.Error) as exc:
        raise ImportFileError(
            str(path), f"the header row cannot be read ({exc}).", line=skip + 1
        ) from exc
    width = len(header)

    def resync(first: int, stop: int) -> int | None:
        """The first line in [first, stop) where a whole row of the table's width starts.

        A row cut inside a quoted value leaves its quote open: the csv module then reads the
        rows after it as part of that value, up to the next quote. Reading again from each
        line the bad row swallowed finds where the next true row starts.
        """
        for index in range(first, stop):
            try:
                cells = next(reader_from(index), None)
            except csv.Error:
                continue
            if cells is not None and _row_problem(cells, width) is None:
                return index
        return None

    def well_quoted(first: int, end: int) -> bool:
        """Whether lines [first, end) read as rows under strict quoting (a quote that closes
        a value is followed by a delimiter or the end of the line)."""
        if quoting == csv.QUOTE_NONE:
            return True
        strict = csv.reader(iter(lines[first:end]), delimiter=delimiter, strict=True)
        try:
            for _ in strict:
                pass
        except csv.Error:
            return False
        return True

    def rows() -> Iterator[tuple[int, list[str]]]:
        nonlocal reader
        base, last = 0, reader.line_num  # the reader started at line index base
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise ImportFileError(
                    str(path),
                    f"the table cannot be read from here on ({exc}).",
                    line=skip + base + last + 1,
                ) from exc
            first, end = base + last, base + reader.line_num
            # A row whose first line is a lone quote was cut right after it: its quote opened
            # the next row's first value, which reads as a whole row but is not this one. A
            # row cut a little later reads as a whole row too, but only because the csv module
            # is lenient: its value's quote closes where the next row's first value opens, and
            # text follows that closing quote. Read strictly, such a row fails.
            cut = (
                _row_problem(cells, width)
                or lines[first].strip() == '"'
                or (end - first > 1 and not well_quoted(first, end))
            )
            if end - first > 1 and cut and (at := resync(first + 1, end)):
                yield skip + first + 1, cells[: width - 1]  # rejected: the row is cut short
                reader, base, last = reader_from(at), at, 0
                continue
            last = reader.line_num
            yield skip + first + 1, cells

    return header, rows()


def _column_index(header: list[str]) -> dict[str, int]:
    """Normalised column name -> first column with that name."""
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        index.setdefault(_key(name), i)
    return index


def _find_column(header: list[str], column: str, path: Path, what: str) -> int:
    if column in header:
        return header.index(column)
    index = _column_index(header)
    if _key(column) in index:
        return index[_key(column)]
    raise ImportFileError(
        str(path),
        f"{what}: there is no column '{column}'; the columns are: {', '.join(header)}.",
    )


def _resolve(profile: Profile, header: list[str], options: ReadOptions, path: Path):
    """Field -> column indices to try, in order."""
    index = _column_index(header)
    plan: dict[str, list[int]] = {}
    for name, synonyms in profile.columns.items():
        found = [index[s] for s in synonyms if s in index]
        if not found and name in profile.weak:
            found = [index[s] for s in profile.weak[name] if s in index]
        if found:
            plan[name] = list(dict.fromkeys(found))
    for name, column in options.column_map.items():
        if name not in MAPPABLE:
            raise ImportFileError(
                str(path),
                f"column map: '{name}' is not a record field; use one of: {', '.join(MAPPABLE)}.",
            )
        plan[name] = [_find_column(header, column, path, f"column map {name}={column}")]
        if name == "pages":
            plan.pop("page_start", None)
            plan.pop("page_end", None)
    if options.label_column:
        plan["label"] = [_find_column(header, options.label_column, path, "label column")]
    if "title" not in plan:
        raise ImportFileError(
            str(path),
            "no column holds the titles; the columns are: "
            f"{', '.join(h for h in header if h)}. Name it with a column map "
            "(e.g. --column title=COLUMN).",
        )
    return plan


_INITIALS_TOKEN = re.compile(r"^(?:[A-Z]\.?-?)+$")
_PAGE_DASH = re.compile(r"\s*[-\u2010-\u2015]+\s*")


def _last_initials(name: str) -> str:
    """'Lewis G. F.' (Scopus, Embase, PubMed CSV) as 'Lewis, G. F.' so the initials are read
    as initials; names in other shapes are returned unchanged."""
    if "," in name:
        return name
    tokens = name.split()
    n = len(tokens)
    while n > 0 and _INITIALS_TOKEN.match(tokens[n - 1]):
        n -= 1
    if n == 0 or n == len(tokens):
        return name
    return f"{' '.join(tokens[:n])}, {' '.join(tokens[n:])}"


def _set_authors(record: Record, names: list[str]) -> None:
    record.authors_raw = names
    record.authors = [a for a in (normalize_author(_last_initials(n)) for n in names) if a]


def _keywords(value: str) -> list[str]:
    return split_values(value, ";" if ";" in value else ",")


def _pages(value: str) -> str | None:
    pages = clean_text(value)
    return _PAGE_DASH.sub("-", pages) if pages else None


# How a cell becomes a field value (fields not listed: clean_text).
_PARSERS: dict[str, Callable[[str], Any]] = {
    "title": lambda v: clean_text(strip_html(v)),
    "abstract": lambda v: clean_text(strip_html(v)),
    "year": parse_year,
    "pages": _pages,
    "doi": normalize_doi,
    "pmid": normalize_pmid,
    "pmcid": normalize_pmcid,
    "issn": lambda v: [_issn(i) for i in split_values(v, ";,")],
    "keywords": _keywords,
    "mesh_terms": split_values,
    "publication_types": split_values,
    "label": parse_label,
}


def _assign(record: Record, name: str, value: str | None) -> None:
    if name in ("authors", "authors_raw"):
        _set_authors(record, split_authors(value or ""))
    elif value is None:
        setattr(record, name, [] if name in LIST_FIELDS else None)
    else:
        setattr(record, name, _PARSERS.get(name, clean_text)(value))


def _build(profile: Profile, get: Callable[[str], str | None], mapped: set[str]) -> Record:
    record = Record()
    for name in MAPPABLE:
        if name != "authors_raw":
            _assign(record, name, get(name))
    if not record.pages and (start := clean_text(get("page_start"))):
        end = clean_text(get("page_end"))
        record.pages = f"{start}-{end}" if end and end != start else start
    record.source_database = record.source_database or profile.database
    if profile.fix is not None:
        profile.fix(record, get)
    # A column the user named wins over whatever the profile derived from other columns.
    for name in mapped:
        _assign(record, name, get(name))
    return record


def _own_value(name: str, cell: str) -> Any:
    cell = restore_cell(cell)
    if cell == "":
        return [] if name in LIST_FIELDS else ({} if name == "raw" else None)
    if name in LIST_FIELDS:
        if cell.startswith('["') and cell.endswith('"]'):
            try:
                items = json.loads(cell)
            except ValueError:
                items = None
            if isinstance(items, list) and all(isinstance(i, str) for i in items):
                return items
        return [item.strip() for item in cell.split(";") if item.strip()]
    if name in {"year", "label", "source_position"}:
        try:
            return int(cell)
        except ValueError:
            return parse_year(cell) if name == "year" else parse_label(cell)
    if name == "raw":
        try:
            raw = json.loads(cell)
        except ValueError:
            return {"raw": cell}
        return raw if isinstance(raw, dict) else {"raw": raw}
    return cell


def _row_problem(cells: list[str], width: int) -> str | None:
    if len(cells) > width and any(c.strip() for c in cells[width:]):
        return (
            f"the row has {len(cells)} cells but the header has {width} columns; "
            "a value probably holds an unquoted delimiter"
        )
    if len(cells) < width:
        return (
            f"the row has {len(cells)} cells but the header has {width} columns; "
            "it is cut short (a line break inside an unquoted value?)"
        )
    return None


def _own_record(cells: list[str], header: list[str]) -> Record:
    """A row of metasift's own CSV, every field restored."""
    return Record.from_dict(
        {name: _own_value(name, cells[i]) for i, name in enumerate(header) if name in RECORD_FIELDS}
    )


def _export_record(
    cells: list[str],
    header: list[str],
    profile: Profile,
    plan: dict[str, list[int]],
    mapped: set[str],
) -> Record:
    def get(name: str) -> str | None:
        for i in plan.get(name, ()):
            value = cells[i]
            if value.strip() and value.strip() not in MISSING:
                return value
        return None

    record = _build(profile, get, mapped)
    record.raw = {h: c for h, c in zip(header, cells, strict=False) if h and c != ""}
    return record


def read(path: Path, options: ReadOptions) -> Iterator[ReadItem]:
    text = read_text(path, options.encoding).replace("\x00", "")
    # Long cells (Scopus reference lists) exceed csv's 128 KiB default; only ever raised.
    csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))
    header, rows = _rows(text, path)
    if len(header) < 2:
        raise ImportFileError(
            str(path), "the first row does not name the columns of a table.", line=1
        )
    profile = _profile(header)
    plan = _resolve(profile, header, options, path) if profile is not None else {}
    mapped = set(options.column_map)
    width = len(header)
    found = False
    for line, cells in rows:
        if not any(c.strip() for c in cells):
            continue  # blank line: no record
        found = True
        if problem := _row_problem(cells, width):
            yield Rejection(0, problem, line=line)
            continue
        if profile is None:
            record = _own_record(cells, header)
        else:
            record = _export_record(cells, header, profile, plan, mapped)
        if not record_has_content(record):
            yield Rejection(0, EMPTY_RECORD, line=line)
            continue
        yield record
    if not found:
        raise ImportFileError(str(path), "the table has a header row but no records.")


# --- writing ----------------------------------------------------------------------------------


def _list_cell(items: list[str]) -> str:
    """'a; b', or a JSON array when an item would not survive splitting on ';'."""
    if any(";" in i or i != i.strip() or not i for i in items) or "; ".join(items).startswith('["'):
        return json.dumps(items, ensure_ascii=False)
    return "; ".join(items)


def write(records: Iterable[Record], stream: TextIO) -> None:
    """One column per Record field; lists joined with '; ', ``raw`` as JSON.

    Cells are safe to open in a spreadsheet (:mod:`metasift.records.cells`); reading the file
    back restores them.
    """
    writer = SafeWriter(stream)
    writer.writerow(RECORD_FIELDS)
    for record in records:
        row: list[Any] = []
        for name in RECORD_FIELDS:
            value = getattr(record, name)
            if name == "raw":
                row.append(json.dumps(value, ensure_ascii=False, default=str) if value else "")
            elif name in LIST_FIELDS:
                row.append(_list_cell(value))
            elif isinstance(value, int) and not isinstance(value, bool):
                row.append(value)  # year, label, position: numbers in the spreadsheet
            else:
                row.append("" if value is None else str(value))
        writer.writerow(row)


# --- sniffing ---------------------------------------------------------------------------------


def sniff(head: str, path: Path) -> int:
    line, skip, delimiter = _header_line(head)
    if skip < 0:
        return 0
    try:
        header = _clean_header(next(csv.reader([line], delimiter=delimiter)))
    except (csv.Error, StopIteration):
        return 0
    if len(header) < 2 or any(len(h) > 80 for h in header):
        return 0
    profile = _profile(header)
    if profile is None:
        return 95
    if profile is not GENERIC:
        return 90
    keys = {_key(h) for h in header}
    known = {
        name
        for name, synonyms in SYNONYMS.items()
        if any(s in keys for s in (*synonyms, *WEAK_SYNONYMS.get(name, ())))
    }
    if "title" in known and len(known) >= 2:
        return 60
    if len(known) >= 2:
        return 25
    return 0
