"""JSON lines: one record per line, keys are Record field names.

Reads metasift's own output back losslessly and also generic JSONL corpora whose keys are
close to ours (``source_url`` for ``url``, ``eligible``/``included`` for ``label``); keys that
match no field are kept in ``raw``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from metasift.errors import ImportFileError
from metasift.records.formats.base import ReadItem, ReadOptions, Rejection
from metasift.records.model import LIST_FIELDS, RECORD_FIELDS, Record
from metasift.records.normalize import (
    clean_text,
    normalize_author,
    normalize_doi,
    normalize_pmcid,
    normalize_pmid,
    parse_year,
)

NAME = "jsonl"
EXTENSIONS = (".jsonl", ".ndjson", ".jsonl.gz")

_ALIASES = {"source_url": "url", "link": "url", "mesh": "mesh_terms", "type": "record_type"}
_LABEL_KEYS = ("label", "label_included", "included", "eligible", "include")


def sniff(head: str, path: Path) -> int:
    lines = [ln for ln in head.splitlines()[:5] if ln.strip()]
    if not lines or not all(ln.lstrip().startswith("{") for ln in lines):
        return 0
    try:
        first = json.loads(lines[0])
    except ValueError:
        return 0
    if not isinstance(first, dict):
        return 0
    # OpenAlex works dumped one per line are OpenAlex, not our JSONL.
    if "display_name" in first and "abstract_inverted_index" in first:
        return 30
    return 60 if "title" in first else 25


def _label(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return int(value)
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "y", "include", "included"}:
        return 1
    if text in {"0", "false", "no", "n", "exclude", "excluded"}:
        return 0
    return None


def record_from_mapping(data: dict[str, Any], label_key: str | None = None) -> Record:
    """A Record from a dict keyed (mostly) by Record field names; unknown keys go to ``raw``."""
    record = Record(raw=dict(data))
    for key, value in data.items():
        name = _ALIASES.get(key, key)
        if name in ("raw", "source_file", "source_position") or name not in RECORD_FIELDS:
            continue
        if name in LIST_FIELDS:
            if isinstance(value, str):
                value = [value]
            setattr(record, name, [clean_text(str(v)) for v in value or [] if clean_text(str(v))])
        elif name == "year":
            record.year = parse_year(value)
        elif name == "label":
            record.label = _label(value)
        else:
            setattr(record, name, clean_text(str(value)) if value is not None else None)
    if "raw" in data and isinstance(data["raw"], dict):
        record.raw = data["raw"]
    if record.authors and not record.authors_raw:
        # A corpus with plain author names: keep them as read, normalise a copy.
        record.authors_raw = list(record.authors)
        record.authors = [a for a in (normalize_author(n) for n in record.authors) if a]
    record.doi = normalize_doi(record.doi)
    record.pmid = normalize_pmid(record.pmid)
    record.pmcid = normalize_pmcid(record.pmcid)
    keys = [label_key] if label_key else [k for k in _LABEL_KEYS if k in data]
    for key in keys:
        if key in data:
            record.label = _label(data[key])
            break
    return record


def read(path: Path, options: ReadOptions) -> Iterator[ReadItem]:
    from metasift.records.formats.base import read_text

    text = read_text(path, options.encoding)
    found = False
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        found = True
        try:
            data = json.loads(line)
        except ValueError as exc:
            yield Rejection(0, f"not valid JSON ({exc.msg} at column {exc.colno})", line=line_no)
            continue
        if not isinstance(data, dict):
            yield Rejection(0, "a JSON line must be an object with record fields", line=line_no)
            continue
        yield record_from_mapping(data, options.label_column)
    if not found:
        raise ImportFileError(str(path), "the file holds no JSON lines.")


def write(records: Iterable[Record], stream: TextIO) -> None:
    for record in records:
        data = record.to_dict()
        stream.write(json.dumps(data, ensure_ascii=False, sort_keys=False))
        stream.write("\n")
