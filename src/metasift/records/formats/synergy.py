"""SYNERGY dataset folders: ``works_*.zip`` (OpenAlex works pages) + ``labels.csv``.

Records come out in ``labels.csv`` order with :attr:`Record.label` set from
``label_included``. Every label row is accounted for: a row whose work is missing from the
archives, or whose label is not 0/1, becomes a rejection naming the row; a work that no label
row names becomes a rejection too (it has no label, so it cannot be part of the dataset).
The archives are read within size limits (:mod:`metasift.records.formats.archive`).
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from metasift.errors import ImportFileError
from metasift.records.formats.archive import LimitedArchive
from metasift.records.formats.base import ReadItem, ReadOptions, Rejection, decode, detect_encoding
from metasift.records.formats.openalex import iter_works, openalex_key, record_from_work
from metasift.records.normalize import normalize_doi, normalize_pmid

NAME = "synergy"
EXTENSIONS = ()
LABELS = "labels.csv"
CRITERIA = "criteria.txt"


def _natural(name: str) -> list[int | str]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def _archives(folder: Path) -> list[Path]:
    return sorted(folder.glob("works_*.zip"), key=lambda p: _natural(p.name))


def sniff(head: str, path: Path) -> int:
    if path.is_dir() and (path / LABELS).is_file() and _archives(path):
        return 100
    return 0


def criteria_text(folder: Path) -> str | None:
    """The review's eligibility criteria shipped with the dataset (``criteria.txt``), if any."""
    path = folder / CRITERIA
    if not path.is_file():
        return None
    return path.read_text(encoding="utf-8").strip() or None


def _load_works(folder: Path) -> dict[str, tuple[dict, str]]:
    """OpenAlex key -> (work, archive member it came from)."""
    works: dict[str, tuple[dict, str]] = {}
    for archive in _archives(folder):
        try:
            with zipfile.ZipFile(archive) as zf:
                members = sorted((n for n in zf.namelist() if n.endswith(".json")), key=_natural)
                limited = LimitedArchive(zf, archive, members)
                for member in members:
                    try:
                        data = json.loads(limited.read(member))
                    except ValueError as exc:
                        raise ImportFileError(
                            f"{archive}:{member}",
                            f"not valid JSON ({exc}); the archive is damaged.",
                        ) from exc
                    for work in iter_works(data):
                        key = openalex_key(work.get("id")) if isinstance(work, dict) else None
                        if key:
                            works.setdefault(key, (work, f"{archive.name}:{member}"))
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
            raise ImportFileError(
                str(archive), f"not a readable zip archive ({exc}); download it again."
            ) from exc
    return works


def read(path: Path, options: ReadOptions) -> Iterator[ReadItem]:
    labels_path = path / LABELS
    if not labels_path.is_file():
        raise ImportFileError(str(path), f"no {LABELS} in this SYNERGY folder.")
    works = _load_works(path)
    data = labels_path.read_bytes()
    rows = csv.DictReader(io.StringIO(decode(data, detect_encoding(data)).lstrip("\ufeff")))
    if not rows.fieldnames or "openalex_id" not in rows.fieldnames:
        raise ImportFileError(
            str(labels_path), "needs the columns openalex_id, doi, pmid, label_included."
        )
    label_column = options.label_column or "label_included"
    used: set[str] = set()
    for row_no, row in enumerate(rows, start=2):
        key = openalex_key(row.get("openalex_id"))
        where = f"{LABELS} line {row_no}"
        if key is None or key not in works:
            yield Rejection(
                0,
                f"{where}: work {row.get('openalex_id') or '(no openalex_id)'} "
                f"(doi {row.get('doi') or '-'}) is not in the works_*.zip archives",
                line=row_no,
            )
            continue
        value = (row.get(label_column) or "").strip()
        if value not in ("0", "1"):
            yield Rejection(
                0, f"{where}: {label_column} is {value!r}, expected 0 or 1", line=row_no
            )
            continue
        if key in used:
            yield Rejection(0, f"{where}: work {key} is listed twice", line=row_no)
            continue
        used.add(key)
        work, member = works[key]
        record = record_from_work(work)
        record.label = int(value)
        record.doi = record.doi or normalize_doi(row.get("doi"))
        record.pmid = record.pmid or normalize_pmid(row.get("pmid"))
        record.source_file = str(path / member.split(":", 1)[0])
        yield record
    for key in sorted(works.keys() - used, key=_natural):
        yield Rejection(0, f"work {key} ({works[key][1]}) has no row in {LABELS}: no label")
