"""BibTeX / BibLaTeX: reading with bibtexparser 2, writing with its writer.

bibtexparser splits the file into blocks and its middlewares resolve ``@string`` macros, strip
the enclosing braces or quotes and separate co-authors. LaTeX is decoded to Unicode with
pylatexenc, the engine behind bibtexparser's ``LatexDecodingMiddleware``, but called per field
rather than through the middleware, for three reasons:

* only the fields mapped to a :class:`Record` are decoded; ``Record.raw`` keeps every field
  exactly as it stands in the file (enclosing removed), so nothing is lost;
* URLs, DOIs and identifiers are verbatim in BibLaTeX: a ``%`` in a URL is not a comment, so
  these only lose their backslash escapes;
* pylatexenc costs about a millisecond per value (seconds for a 1000-entry Zotero export), so
  values without LaTeX markup skip it, and the escapes Zotero writes for ``% & _ # $ < >``
  are replaced directly.

Writing escapes the ASCII characters LaTeX treats specially and keeps other characters as
UTF-8 (as Zotero and Better BibTeX do). ``LatexEncodingMiddleware`` is not used: it rewrites
every non-ASCII character as a macro and maps some (``"``, U+2010) to look-alikes, so values
would not come back unchanged.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

import bibtexparser
from bibtexparser.library import Library
from bibtexparser.middlewares import (
    RemoveEnclosingMiddleware,
    ResolveStringReferencesMiddleware,
    SeparateCoAuthors,
)
from bibtexparser.model import (
    DuplicateBlockKeyBlock,
    DuplicateFieldKeyBlock,
    Entry,
    Field,
    ParsingFailedBlock,
)
from bibtexparser.writer import BibtexFormat
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

from metasift.errors import ImportFileError
from metasift.records.formats._markup import strip_html
from metasift.records.formats.base import ReadItem, ReadOptions, Rejection, read_text
from metasift.records.formats.jsonl import _label as parse_label
from metasift.records.model import Record
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

NAME = "bibtex"
EXTENSIONS = (".bib", ".bibtex", ".biblatex")


# Record fields a BibTeX file carries (and the writer writes); see write().
CARRIED_FIELDS = (
    "title",
    "abstract",
    "authors",
    "authors_raw",
    "year",
    "journal",
    "journal_abbrev",
    "volume",
    "issue",
    "pages",
    "doi",
    "pmid",
    "pmcid",
    "issn",
    "keywords",
    "mesh_terms",
    "language",
    "url",
    "record_type",
    "source_id",
)

_ENTRY_START = re.compile(r"^[ \t]*@[ \t]*([A-Za-z]+)[ \t]*[{(]", re.MULTILINE)
_ENTRY_WITH_KEY = re.compile(r"^[ \t]*@[ \t]*[A-Za-z]+[ \t]*[{(][ \t]*[^\s,={}()]+[ \t]*,", re.M)
_NOT_ENTRIES = {"comment", "string", "preamble"}


def sniff(head: str, path: Path) -> int:
    starts = [m.group(1).lower() for m in _ENTRY_START.finditer(head)]
    entries = [s for s in starts if s not in _NOT_ENTRIES]
    if entries and _ENTRY_WITH_KEY.search(head):
        return 90
    if entries or starts:
        return 40
    return 0


# --- decoding ---------------------------------------------------------------------------------


@functools.cache
def _decoder() -> LatexNodes2Text:
    """pylatexenc set up as bibtexparser's LatexDecodingMiddleware does, plus Zotero's macros.

    Cached: it is stateless and slow to build.
    """
    context = get_default_latex_context_db()
    context.add_context_category(
        "metasift-bibtex",
        prepend=True,
        macros=[
            MacroTextSpec("url", simplify_repl="%s"),
            # pylatexenc's defaults drop the first two and give U+02C6 for the third.
            MacroTextSpec("textless", "<"),
            MacroTextSpec("textgreater", ">"),
            MacroTextSpec("textasciicircum", "^"),
            MacroTextSpec("textasciitilde", "~"),
            MacroTextSpec("textbraceleft", "{"),
            MacroTextSpec("textbraceright", "}"),
            MacroTextSpec("textbackslash", "\\"),
            MacroTextSpec("textbar", "|"),
        ],
    )
    return LatexNodes2Text(latex_context=context, math_mode="text", keep_braced_groups=False)


_SIMPLE_ESCAPE = re.compile(r"(?<!\\)\\([%&_#$])")
_ZOTERO_MACRO = re.compile(r"\{\\text(?:less|greater)\}|\\text(?:less|greater)\{\}")
_NEEDS_LATEX = re.compile(r"[\\$~^]|``|''")
_BARE_PERCENT = re.compile(r"(?<!\\)%")
_VERBATIM_ESCAPE = re.compile(r"\\([%&_#${}~])")


def decode_latex(value: str) -> str:
    """LaTeX text (accents, escapes, case-protecting braces, math) as Unicode."""
    text = _ZOTERO_MACRO.sub(lambda m: "<" if "less" in m.group(0) else ">", value)
    if "\\" in text:
        text = _SIMPLE_ESCAPE.sub(r"\1", text)
    if not _NEEDS_LATEX.search(text):
        # Plain text with groups and dashes: what pylatexenc would return, without its cost.
        text = text.replace("{", "").replace("}", "") if "{" in text or "}" in text else text
        return text.replace("---", "\u2014").replace("--", "\u2013") if "--" in text else text
    # A literal % in a BibTeX value is text: BibTeX has no comments inside values.
    latex = _BARE_PERCENT.sub(r"\\%", value)
    try:
        return _decoder().latex_to_text(latex)
    except Exception:  # pylatexenc is tolerant; what it still rejects is kept as written
        return text


def _verbatim(value: str) -> str:
    """URLs, DOIs and ids: only backslash escapes removed."""
    return _VERBATIM_ESCAPE.sub(r"\1", value).strip()


# --- reading ----------------------------------------------------------------------------------

_RESOLVE = ResolveStringReferencesMiddleware(allow_inplace_modification=True)
_UNENCLOSE = RemoveEnclosingMiddleware(allow_inplace_modification=True)
_SEPARATE = SeparateCoAuthors(allow_inplace_modification=True, name_fields=("author",))
_VERBATIM_FIELDS = {"doi", "url", "eprint", "pmid", "pmcid", "issn"}
_PAGE_DASH = re.compile(r"\s*[-\u2010-\u2015]+\s*")
_NOTE_PMID = re.compile(r"\bPMID:\s*(\d+)", re.IGNORECASE)
_NOTE_PMCID = re.compile(r"\bPMCID:\s*(PMC\d+)", re.IGNORECASE)
_LIST_SPLIT = re.compile(r"\s*;\s*")


def _split_keywords(value: str) -> list[str]:
    """Keywords are comma-separated, or semicolon-separated when any contains a comma."""
    parts = value.split(";") if ";" in value else value.split(",")
    return [k for k in (clean_text(p) for p in parts) if k]


def _decoded(fields: dict[str, str], *names: str, markup: bool = False) -> str | None:
    """The first of ``names`` with a value, decoded; ``markup`` drops HTML tags (<p>, <i>)."""
    for name in names:
        value = fields.get(name)
        if value is not None and value.strip():
            text = _verbatim(value) if name in _VERBATIM_FIELDS else decode_latex(value)
            cleaned = clean_text(strip_html(text) if markup else text)
            if cleaned:
                return cleaned
    return None


def _authors(names: list[str]) -> tuple[list[str], list[str]]:
    """Names as written (decoded) and their "Last, F." form.

    A name wholly inside braces (``{Cochrane Collaboration}``) is a corporate author in BibTeX
    and is kept as it is; other names go through :func:`normalize_author`.
    """
    written: list[str] = []
    normal: list[str] = []
    for name in names:
        stripped = name.strip()
        corporate = (
            stripped.startswith("{")
            and stripped.endswith("}")
            and RemoveEnclosingMiddleware._is_enclosed_in_braces(stripped)
        )
        text = clean_text(decode_latex(stripped))
        if not text or (text == "others" and not corporate):
            # "and others" is BibTeX for "et al.", not an author.
            continue
        written.append(text)
        normal.append(text if corporate else (normalize_author(text) or text))
    return written, normal


def _record(entry: Entry, raw: dict[str, Any], names: list[str], label_field: str | None) -> Record:
    fields = {k.lower(): v for k, v in raw.items() if isinstance(v, str)}
    record = Record(raw=raw)
    record.record_type = entry.entry_type.lower()
    record.source_id = entry.key or None
    record.title = _decoded(fields, "title", markup=True)
    record.abstract = _decoded(fields, "abstract", markup=True)
    record.authors_raw, record.authors = _authors(names)
    record.year = parse_year(_decoded(fields, "year", "date"))
    record.journal = _decoded(fields, "journal", "journaltitle", "booktitle")
    record.journal_abbrev = _decoded(fields, "shortjournal", "journal-abbrev")
    record.volume = _decoded(fields, "volume")
    record.issue = _decoded(fields, "number", "issue")
    pages = _decoded(fields, "pages")
    record.pages = _PAGE_DASH.sub("-", pages) if pages else None
    record.doi = normalize_doi(_decoded(fields, "doi"))
    record.language = _decoded(fields, "language", "langid")
    record.url = _decoded(fields, "url")
    record.issn = [
        i for i in (clean_text(p) for p in re.split(r"[,;]", fields.get("issn", ""))) if i
    ]
    keywords = _decoded(fields, "keywords")
    record.keywords = _split_keywords(keywords) if keywords else []
    mesh = _decoded(fields, "mesh")
    record.mesh_terms = [m for m in _LIST_SPLIT.split(mesh) if m] if mesh else []
    eprint_type = (fields.get("eprinttype") or fields.get("archiveprefix") or "").strip().lower()
    eprint = _decoded(fields, "eprint")
    record.pmid = normalize_pmid(_decoded(fields, "pmid"))
    if not record.pmid and eprint and eprint_type == "pubmed":
        record.pmid = normalize_pmid(eprint)
    record.pmcid = normalize_pmcid(_decoded(fields, "pmcid"))
    if not record.pmcid and eprint and eprint_type in {"pmc", "pmcid", "pubmedcentral"}:
        record.pmcid = normalize_pmcid(eprint)
    # Zotero writes identifiers it has no field for as "PMID: ..." lines in note/extra.
    notes = " ".join(fields.get(k, "") for k in ("note", "extra", "annote"))
    if not record.pmid and (match := _NOTE_PMID.search(notes)):
        record.pmid = normalize_pmid(match.group(1))
    if not record.pmcid and (match := _NOTE_PMCID.search(notes)):
        record.pmcid = normalize_pmcid(match.group(1))
    if label_field:
        record.label = parse_label(raw.get(label_field, fields.get(label_field.lower())))
    return record


def _raw_fields(entry: Entry) -> dict[str, Any]:
    """Every field as read (enclosing removed); a repeated field name gets a numbered key."""
    raw: dict[str, Any] = {}
    for field in entry.fields:
        key = field.key
        n = 2
        while key in raw:
            key, n = f"{field.key} ({n})", n + 1
        raw[key] = field.value
    return raw


def _finish_duplicate(entry: Entry, library: Library) -> Entry:
    """Entries bibtexparser set aside (repeated key or field) still need the parse stack."""
    if library.strings:
        _RESOLVE.transform(Library([entry, *library.strings], fail_on_duplicate_key=False))
    return _UNENCLOSE.transform_block(entry, library)


@contextlib.contextmanager
def _quiet_splitter() -> Iterator[None]:
    """bibtexparser logs every broken block; we report them as rejections instead."""
    logger = logging.getLogger("bibtexparser")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _parse(text: str, path: Path) -> Library:
    try:
        with _quiet_splitter():
            return bibtexparser.parse_string(text)
    except Exception as exc:  # the splitter gives up on some malformed input as a whole
        raise ImportFileError(
            str(path), f"BibTeX could not be parsed ({exc}); check the file is complete."
        ) from exc


def _failure_reason(block: ParsingFailedBlock) -> str:
    error = block.error
    reason = getattr(error, "abort_reason", None) or str(error)
    reason = " ".join(reason.split())
    return f"BibTeX entry could not be parsed: {reason}"


def read(path: Path, options: ReadOptions) -> Iterator[ReadItem]:
    text = read_text(path, options.encoding)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    if not _ENTRY_START.search(text):
        raise ImportFileError(
            str(path), "no BibTeX entries found (an entry starts with '@type{key,')."
        )
    library = _parse(text, path)
    label_field = options.label_column
    for block in library.blocks:
        entry: Entry | None = None
        if isinstance(block, Entry):
            entry = block
        elif isinstance(block, DuplicateBlockKeyBlock | DuplicateFieldKeyBlock):
            # A repeated key or field is the file's problem, not a reason to drop the record.
            candidate = block.ignore_error_block
            if isinstance(candidate, Entry):
                entry = _finish_duplicate(candidate, library)
        if entry is None:
            if isinstance(block, ParsingFailedBlock):
                line = (block.start_line or 0) + 1
                yield Rejection(0, _failure_reason(block), line=line)
            continue
        line = (entry.start_line or 0) + 1
        raw = _raw_fields(entry)
        _SEPARATE.transform_block(entry, library)
        author = entry.fields_dict.get("author")
        names = author.value if author is not None and isinstance(author.value, list) else []
        record = _record(entry, raw, names, label_field)
        if not record_has_content(record):
            yield Rejection(0, f"entry '{entry.key}': {EMPTY_RECORD}", line=line)
            continue
        yield record


# --- writing ----------------------------------------------------------------------------------

_ESCAPES = str.maketrans(
    {
        "\\": r"\textbackslash{}",
        "{": r"\textbraceleft{}",
        "}": r"\textbraceright{}",
        "%": r"\%",
        "&": r"\&",
        "$": r"\$",
        "#": r"\#",
        "_": r"\_",
        "~": r"\textasciitilde{}",
        "^": r"\textasciicircum{}",
        "<": r"\textless{}",
        ">": r"\textgreater{}",
    }
)
_VERBATIM_OUT = str.maketrans({"{": r"\{", "}": r"\}"})
_VALID_KEY = re.compile(r"^[^\s,{}()\"#%'=~\\@]+$")
_SIMPLE_RANGE = re.compile(r"^([^\s-]+)-([^\s-]+)$")
_TYPES = {
    "article",
    "book",
    "booklet",
    "inbook",
    "incollection",
    "inproceedings",
    "conference",
    "manual",
    "mastersthesis",
    "misc",
    "phdthesis",
    "proceedings",
    "techreport",
    "unpublished",
    "online",
    "report",
    "thesis",
    "dataset",
    "software",
    "collection",
    "periodical",
    "patent",
}
# Types other formats use (RIS TY, Scopus/WoS document types) -> BibTeX entry types.
_TYPE_MAP = {
    "jour": "article",
    "jfull": "article",
    "ejour": "article",
    "abst": "article",
    "journal article": "article",
    "review": "article",
    "letter": "article",
    "editorial": "article",
    "note": "article",
    "erratum": "article",
    "j": "article",
    "book": "book",
    "ebook": "book",
    "b": "book",
    "chap": "incollection",
    "echap": "incollection",
    "book chapter": "incollection",
    "conf": "inproceedings",
    "cpaper": "inproceedings",
    "conference paper": "inproceedings",
    "proceedings paper": "inproceedings",
    "s": "inproceedings",
    "thes": "phdthesis",
    "rprt": "techreport",
    "report": "techreport",
    "unpb": "unpublished",
}
_IN_BOOK = {"incollection", "inproceedings", "inbook"}
_CHUNK = 500


def escape_latex(text: str) -> str:
    """``text`` with the characters LaTeX treats specially escaped; other characters kept."""
    return text.translate(_ESCAPES)


def _protect_case(escaped: str) -> str:
    """Brace words with capitals after their first letter (DNA, RevMan) against lowercasing."""
    out = []
    for word in escaped.split(" "):
        letters = [c for c in word if c.isalpha()]
        mixed = any(c.isupper() for c in letters[1:]) and "\\" not in word
        out.append(f"{{{word}}}" if mixed else word)
    return " ".join(out)


def _entry_type(record: Record) -> str:
    kind = (record.record_type or "").strip().lower()
    if kind in _TYPES:
        return kind
    if kind in _TYPE_MAP:
        return _TYPE_MAP[kind]
    return "article" if record.journal else "misc"


def _ascii_word(text: str | None) -> str:
    folded = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def _base_key(record: Record) -> str:
    first = record.authors[0] if record.authors else ""
    surname = _ascii_word(first.split(",")[0])
    words = [w for w in (_ascii_word(w) for w in (record.title or "").split()) if len(w) > 3]
    key = f"{surname}{record.year or ''}{words[0] if words else ''}"
    return key or "record"


def _suffix(n: int) -> str:
    """0 -> '', 1 -> 'a', 26 -> 'z', 27 -> 'aa' ..."""
    out = ""
    while n > 0:
        n, rest = divmod(n - 1, 26)
        out = chr(97 + rest) + out
    return out


def _keys(records: list[Record]) -> list[str]:
    """A unique citation key per record: its own source id when usable, else a generated one."""
    reserved = {r.source_id for r in records if r.source_id and _VALID_KEY.match(r.source_id)}
    used: set[str] = set()
    keys = []
    for record in records:
        own = record.source_id if record.source_id in reserved else None
        if own and own not in used:
            key = own
        else:
            base = own or _base_key(record)
            n = 0
            while (key := base + _suffix(n)) in used or key in reserved:
                n += 1
        used.add(key)
        keys.append(key)
    return keys


def _author_field(record: Record) -> str | None:
    names = record.authors_raw or record.authors
    if not names:
        return None
    aligned = len(record.authors) == len(names)
    out = []
    for i, name in enumerate(names):
        text = escape_latex(name)
        normal = record.authors[i] if aligned else normalize_author(name)
        # Names we did not turn into "Last, F." (groups, mononyms) stay whole in BibTeX too.
        if "," not in name and (normal == name or " and " in f" {name.lower()} "):
            text = f"{{{text}}}"
        out.append(text)
    return " and ".join(out)


def _fields(record: Record) -> list[tuple[str, str]]:
    kind = _entry_type(record)
    values: list[tuple[str, str | None]] = [
        ("title", _protect_case(escape_latex(record.title)) if record.title else None),
        ("author", _author_field(record)),
        (
            "booktitle" if kind in _IN_BOOK else "journal",
            record.journal and escape_latex(record.journal),
        ),
        ("shortjournal", record.journal_abbrev and escape_latex(record.journal_abbrev)),
        ("year", str(record.year) if record.year is not None else None),
        ("volume", record.volume and escape_latex(record.volume)),
        ("number", record.issue and escape_latex(record.issue)),
        ("pages", record.pages and _SIMPLE_RANGE.sub(r"\1--\2", escape_latex(record.pages))),
        ("doi", record.doi and record.doi.translate(_VERBATIM_OUT)),
        ("pmid", record.pmid),
        ("pmcid", record.pmcid),
        ("issn", ", ".join(record.issn).translate(_VERBATIM_OUT) if record.issn else None),
        ("language", record.language and escape_latex(record.language)),
        ("keywords", _join_keywords(record.keywords)),
        ("mesh", "; ".join(escape_latex(m) for m in record.mesh_terms) or None),
        ("url", record.url and record.url.translate(_VERBATIM_OUT)),
        ("abstract", record.abstract and escape_latex(record.abstract)),
    ]
    return [(k, v) for k, v in values if v]


def _join_keywords(keywords: list[str]) -> str | None:
    if not keywords:
        return None
    separator = "; " if any("," in k for k in keywords) else ", "
    return separator.join(escape_latex(k) for k in keywords)


def write(records: Iterable[Record], stream: TextIO) -> None:
    """Write ``records`` as BibTeX entries (the fields of :data:`CARRIED_FIELDS`)."""
    items = list(records)
    keys = _keys(items)
    form = BibtexFormat()
    form.indent = "  "
    form.block_separator = "\n"
    for start in range(0, len(items), _CHUNK):
        library = Library()
        chunk = zip(items[start : start + _CHUNK], keys[start : start + _CHUNK], strict=True)
        for record, key in chunk:
            fields = [Field(k, v) for k, v in _fields(record)]
            library.add(Entry(_entry_type(record), key, fields))
        if start:
            stream.write("\n")
        stream.write(bibtexparser.write_string(library, bibtex_format=form))
