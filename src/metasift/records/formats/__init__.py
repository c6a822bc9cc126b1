"""Reading and writing bibliographic exports, with the format detected from content.

Usage::

    for item in read_file(Path("export.ris")):
        ...  # a Record, or a Rejection saying why a record could not be imported

Format modules follow the contract described in :mod:`metasift.records.formats.base`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import TextIO

from metasift.errors import ImportFileError
from metasift.records.formats.base import (
    ReadItem,
    ReadOptions,
    Rejection,
    detect_encoding,
    looks_binary,
    read_head,
)
from metasift.records.model import Record

# Module name -> user-facing format name (what --format takes). Order breaks sniffing ties.
_MODULES = {
    "jsonl": "jsonl",
    "ris": "ris",
    "medline": "medline",
    "wos": "wos",
    "bibtex": "bibtex",
    "tabular": "csv",
    "pubmed_xml": "pubmed-xml",
    "endnote_xml": "endnote-xml",
    "openalex": "openalex",
    "synergy": "synergy",
}
ALIASES = {
    "nbib": "medline",
    "pubmed": "medline",
    "xml": "pubmed-xml",
    "pubmedxml": "pubmed-xml",
    "endnote": "endnote-xml",
    "bib": "bibtex",
    "tsv": "csv",
    "scopus-csv": "csv",
    "wos-tab": "csv",
    "json": "openalex",
    "wos-plaintext": "wos",
}
FORMAT_NAMES: tuple[str, ...] = tuple(_MODULES.values())
WRITABLE = ("ris", "csv", "bibtex", "jsonl")


def canonical_format(name: str) -> str:
    key = name.strip().lower().replace("_", "-")
    key = ALIASES.get(key, key)
    if key not in FORMAT_NAMES:
        raise ImportFileError(
            name, f"unknown format '{name}'; use one of: {', '.join(FORMAT_NAMES)}."
        )
    return key


def get_format(name: str) -> ModuleType:
    """The module implementing format ``name`` (user-facing name or alias)."""
    key = canonical_format(name)
    module = next(m for m, n in _MODULES.items() if n == key)
    return importlib.import_module(f"metasift.records.formats.{module}")


def detect_format(path: Path) -> str:
    """The format of ``path``, judged from its content; the extension only breaks ties."""
    if path.is_dir():
        if "synergy" in FORMAT_NAMES and get_format("synergy").sniff("", path):
            return "synergy"
        raise ImportFileError(
            str(path),
            "is a folder but not a SYNERGY dataset (works_*.zip + labels.csv); "
            "import its files instead.",
        )
    if not path.exists():
        raise ImportFileError(str(path), "no such file.")
    head, data = read_head(path)
    if not data.strip():
        raise ImportFileError(str(path), "the file is empty; export the records again.")
    if looks_binary(data, detect_encoding(data)):
        raise ImportFileError(
            str(path), "this is a binary file (not text), not a bibliographic export."
        )
    best, best_score = None, 0
    suffix = path.name.lower()
    for module_name, fmt in _MODULES.items():
        if fmt == "synergy":
            continue
        module = importlib.import_module(f"metasift.records.formats.{module_name}")
        score = module.sniff(head, path)
        if score and any(suffix.endswith(ext) for ext in module.EXTENSIONS):
            score += 5
        if score > best_score:
            best, best_score = fmt, score
    if best is None or best_score < 20:
        raise ImportFileError(
            str(path),
            "the format could not be recognised from the content; "
            f"pass --format with one of: {', '.join(FORMAT_NAMES)}.",
            web="the format could not be recognised from the content; choose it in the "
            "Format list.",
        )
    return best


def read_file(
    path: Path, fmt: str | None = None, options: ReadOptions | None = None
) -> Iterator[ReadItem]:
    """Every record of ``path`` in file order: a :class:`Record` or a :class:`Rejection`.

    Sets ``source_file`` and the 1-based ``source_position`` on each record, and
    ``source_database`` from the options when the file does not name its database.
    """
    options = options or ReadOptions()
    fmt = canonical_format(fmt) if fmt else detect_format(path)
    module = get_format(fmt)
    name = str(path)
    folder = path.is_dir()
    for position, item in enumerate(module.read(path, options), start=1):
        if isinstance(item, Rejection):
            item.position = position
            item.source_file = name
        else:
            item.source_file = item.source_file or name if folder else name
            item.source_position = position
            if options.source_database:
                item.source_database = options.source_database
        yield item


def read_records(
    path: Path, fmt: str | None = None, options: ReadOptions | None = None
) -> list[Record]:
    """Only the records of ``path`` (rejections dropped): for scripts and tests."""
    return [item for item in read_file(path, fmt, options) if isinstance(item, Record)]


def write_records(records: Iterable[Record], stream: TextIO, fmt: str) -> None:
    """Write ``records`` to an open text stream in one of :data:`WRITABLE`."""
    key = canonical_format(fmt)
    if key not in WRITABLE:
        raise ImportFileError(
            fmt, f"cannot write format '{fmt}'; use one of: {', '.join(WRITABLE)}."
        )
    get_format(key).write(records, stream)


__all__ = [
    "FORMAT_NAMES",
    "WRITABLE",
    "ReadOptions",
    "Rejection",
    "canonical_format",
    "detect_format",
    "get_format",
    "read_file",
    "read_records",
    "write_records",
]
