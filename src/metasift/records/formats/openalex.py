"""OpenAlex works JSON: a list of works, an API page ``{"results": [...]}``, or JSON lines.

:func:`record_from_work` maps one work dict to a :class:`Record`; the live OpenAlex search
client and the SYNERGY reader use the same mapping, so a work reads the same from every path.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from metasift.errors import ImportFileError
from metasift.records.formats.base import ReadItem, ReadOptions, Rejection, read_text
from metasift.records.model import Record
from metasift.records.normalize import (
    clean_text,
    normalize_author,
    normalize_doi,
    normalize_pmcid,
    normalize_pmid,
    parse_year,
)

NAME = "openalex"
EXTENSIONS = (".json", ".jsonl", ".ndjson")
SOURCE_DATABASE = "OpenAlex"
_WORK_URL = "https://openalex.org/"


def sniff(head: str, path: Path) -> int:
    text = head.lstrip("\ufeff \t\r\n")
    if not text.startswith(("[", "{")):
        return 0
    if '"abstract_inverted_index"' in head or f'"{_WORK_URL}W' in head:
        return 90
    if '"display_name"' in head and '"authorships"' in head:
        return 70
    return 0


def openalex_key(value: str | None) -> str | None:
    """``W2423293822`` from a work id or URL (``https://openalex.org/W2423293822``)."""
    if not value:
        return None
    key = str(value).strip().rstrip("/").rsplit("/", 1)[-1]
    return key.upper() if key[:1] in "wW" and key[1:].isdigit() else None


def abstract_from_index(index: dict[str, list[int]] | None) -> str | None:
    """The abstract text rebuilt from OpenAlex's ``abstract_inverted_index`` (word -> positions)."""
    if not index:
        return None
    slots: dict[int, str] = {}
    for word, positions in index.items():
        for pos in positions or ():
            slots[int(pos)] = word
    if not slots:
        return None
    return clean_text(" ".join(slots[p] for p in sorted(slots)))


def _source(work: dict[str, Any]) -> dict[str, Any]:
    location = work.get("primary_location") or {}
    source = location.get("source") or {}
    if source.get("display_name"):
        return source
    return work.get("host_venue") or {}


def _names(items: Iterable[Any], key: str = "display_name") -> list[str]:
    out: list[str] = []
    for item in items or ():
        name = item.get(key) if isinstance(item, dict) else item
        name = clean_text(str(name)) if name else None
        if name and name not in out:
            out.append(name)
    return out


def record_from_work(work: dict[str, Any]) -> Record:
    """One OpenAlex work (as the API returns it) as a Record; the whole work is kept in ``raw``."""
    ids = work.get("ids") or {}
    record = Record(raw=work, source_database=SOURCE_DATABASE)
    record.title = clean_text(work.get("title") or work.get("display_name"), strip_tags=True)
    record.abstract = abstract_from_index(work.get("abstract_inverted_index"))
    raw_names, names = [], []
    for authorship in work.get("authorships") or ():
        author = authorship.get("author") or {}
        shown = author.get("display_name") or authorship.get("raw_author_name")
        as_written = authorship.get("raw_author_name") or shown
        normal = normalize_author(shown)
        if normal:
            names.append(normal)
            raw_names.append(clean_text(as_written) or normal)
    record.authors, record.authors_raw = names, raw_names
    record.year = parse_year(work.get("publication_year") or work.get("publication_date"))
    source = _source(work)
    record.journal = clean_text(source.get("display_name"))
    record.issn = [str(i) for i in source.get("issn") or () if i]
    biblio = work.get("biblio") or {}
    record.volume = clean_text(biblio.get("volume"))
    record.issue = clean_text(biblio.get("issue"))
    first, last = clean_text(biblio.get("first_page")), clean_text(biblio.get("last_page"))
    record.pages = f"{first}-{last}" if first and last and first != last else first or last
    record.doi = normalize_doi(ids.get("doi") or work.get("doi"))
    record.pmid = normalize_pmid(ids.get("pmid"))
    record.pmcid = normalize_pmcid(ids.get("pmcid"))
    record.source_id = openalex_key(ids.get("openalex") or work.get("id"))
    record.record_type = clean_text(work.get("type"))
    record.language = clean_text(work.get("language"))
    # Author keywords first; OpenAlex's concepts (machine-assigned topics) where scored above 0.
    keywords = _names(work.get("keywords") or ())
    concepts = [
        c for c in work.get("concepts") or () if isinstance(c, dict) and float(c.get("score") or 0)
    ]
    record.keywords = keywords + [k for k in _names(concepts) if k not in keywords]
    record.mesh_terms = _names(work.get("mesh") or (), key="descriptor_name")
    location = work.get("primary_location") or {}
    record.url = location.get("landing_page_url") or (
        f"https://doi.org/{record.doi}" if record.doi else None
    )
    return record


def iter_works(data: Any) -> Iterator[Any]:
    """The works of a parsed OpenAlex JSON document: a list, an API page, or a single work."""
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        yield from data["results"]
    elif isinstance(data, list):
        yield from data
    else:
        yield data


def _item(work: Any, line: int | None, label_key: str | None) -> ReadItem:
    if not isinstance(work, dict):
        return Rejection(0, "an OpenAlex work must be a JSON object", line=line)
    if not (work.get("id") or work.get("title") or work.get("display_name")):
        return Rejection(0, "not an OpenAlex work (no id, title or display_name)", line=line)
    record = record_from_work(work)
    if label_key and label_key in work:
        from metasift.records.formats.jsonl import _label

        record.label = _label(work[label_key])
    return record


def read(path: Path, options: ReadOptions) -> Iterator[ReadItem]:
    text = read_text(path, options.encoding).lstrip("\ufeff")
    if not text.strip():
        raise ImportFileError(str(path), "the file is empty; export the works again.")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if data is not None:
        for work in iter_works(data):
            yield _item(work, None, options.label_column)
        return
    # JSON lines: one work (or one API page) per line.
    found = False
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            parsed = json.loads(line)
        except ValueError as exc:
            if not found and line_no == 1:
                raise ImportFileError(
                    str(path), f"not valid OpenAlex JSON ({exc.msg})", line=line_no
                ) from exc
            yield Rejection(0, f"not valid JSON ({exc.msg} at column {exc.colno})", line=line_no)
            continue
        found = True
        for work in iter_works(parsed):
            yield _item(work, line_no, options.label_column)
