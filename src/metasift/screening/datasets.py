"""Labelled datasets for simulation, read through the format registry (the adapter side)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from metasift.errors import MetasiftError
from metasift.records.formats import ReadOptions, Rejection, read_file
from metasift.records.formats.synergy import criteria_text
from metasift.records.model import Record


@dataclass
class Dataset:
    name: str
    records: list[Record]
    labels: np.ndarray
    criteria: str | None
    rejected: list[Rejection]


def load_dataset(path: Path, *, fmt: str | None = None, label_column: str | None = None) -> Dataset:
    """A SYNERGY folder or any importable file whose records carry an include label."""
    options = ReadOptions(label_column=label_column)
    records: list[Record] = []
    rejected: list[Rejection] = []
    for item in read_file(path, fmt, options):
        (rejected if isinstance(item, Rejection) else records).append(item)
    if not records:
        raise MetasiftError(f"{path}: no records could be read.")
    missing = [r.source_position for r in records if r.label is None]
    if missing:
        shown = ", ".join(str(p) for p in missing[:5])
        raise MetasiftError(
            f"{path}: {len(missing)} record(s) have no include label (record {shown}"
            f"{', ...' if len(missing) > 5 else ''}); name the label column with --label-column."
        )
    labels = np.array([r.label for r in records], dtype=np.int64)
    criteria = criteria_text(path) if path.is_dir() else None
    return Dataset(path.name, records, labels, criteria, rejected)
