"""The 19 labelled screening collections and ASReview's runs on them, shared by the screening
benchmarks.

Collections: the five SYNERGY sets in ../shared/data/synergy and the fourteen of
../shared/data/screening (13 Cohen 2006 drug-class reviews and Kitchenham 2010), scored against
the final inclusion (`label_included`), as the text-mining literature scores them. The
flagship corpus (examples/admsc-skin) is never used for choosing and is reported apart.

ASReview 3.0.8 runs in its own virtual environment (benchmarks/.venv-asreview, created here if
missing) on a CSV written from the records exactly as metasift read them, so that record i is
row i for both tools and both start from the same priors. Its runs are kept in a JSON cache
keyed by collection, seed and priors: ASReview takes ~40 s per run on a 2,000-record set.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from metasift.records.model import Record
from metasift.screening.datasets import load_dataset

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("METASIFT_SHARED_DATA", HERE.parents[1] / "shared" / "data"))
FLAGSHIP = HERE.parent / "examples" / "admsc-skin" / "records.jsonl"
VENV = HERE / ".venv-asreview"
ASREVIEW = "asreview==3.0.8"


@dataclass(frozen=True)
class Collection:
    name: str
    path: Path
    label_column: str | None = None  # None: the format's own label (SYNERGY, JSONL)
    # Cohen 2006's "keywords" column holds each record's MeSH headings (from PubMed).
    keywords_are_mesh: bool = False


def collections() -> list[Collection]:
    """The 19 collections, SYNERGY first, in a fixed order."""
    synergy = sorted(p for p in (SHARED / "synergy").iterdir() if (p / "labels.csv").exists())
    others = sorted((SHARED / "screening").glob("*/*.csv"))
    return [Collection(p.name, p) for p in synergy] + [
        Collection(p.stem, p, "label_included", p.parent.name == "cohen_2006") for p in others
    ]


def flagship() -> Collection:
    return Collection("admsc-skin (flagship)", FLAGSHIP)


@cache
def load(collection: Collection) -> tuple[list[Record], np.ndarray]:
    data = load_dataset(collection.path, label_column=collection.label_column)
    if data.rejected:
        raise SystemExit(f"{collection.path}: {len(data.rejected)} record(s) rejected")
    if collection.keywords_are_mesh:
        for r in data.records:
            r.mesh_terms, r.keywords = r.keywords, []
    return data.records, data.labels


def asreview_python() -> Path:
    python = VENV / "bin" / "python"
    if (
        not python.exists()
        or subprocess.run([str(python), "-c", "import asreview"], capture_output=True).returncode
    ):
        print(f"Installing {ASREVIEW} into {VENV} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", ASREVIEW], check=True)
    return python


def write_csv(records: list[Record], labels: np.ndarray, path: Path) -> None:
    """Title, abstract, authors, MeSH headings and label as metasift read them; row i is
    record i. metasift's default reads all four fields; ASReview reads title and abstract."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["record_id", "title", "abstract", "authors", "mesh", "label_included"])
        for i, (r, label) in enumerate(zip(records, labels, strict=True)):
            row = [i, r.title or "", r.abstract or "", "; ".join(r.authors)]
            writer.writerow([*row, "; ".join(r.mesh_terms), int(label)])


def run_asreview_csv(data_csv: Path, priors: list[int]) -> dict:
    """One ASReview simulation (elas_u4, stops at the last relevant record) on a CSV of
    :func:`write_csv`'s shape: the order (row numbers) and the wall and CPU time."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        subprocess.run(
            [str(asreview_python()), str(HERE / "_asreview_worker.py"), str(data_csv), str(out)]
            + [str(i) for i in priors],
            check=True,
            capture_output=True,
            cwd=tmp,
        )
        return json.loads(out.read_text())


def run_asreview(collection: Collection, priors: list[int]) -> dict:
    """:func:`run_asreview_csv` on one of the collections."""
    records, labels = load(collection)
    with tempfile.TemporaryDirectory() as tmp:
        data_csv = Path(tmp) / "data.csv"
        write_csv(records, labels, data_csv)
        return run_asreview_csv(data_csv, priors)


def padded(order: list[int], n: int) -> list[int]:
    """An order cut at the last relevant record, completed with the rest in file order."""
    seen = set(order)
    return order + [i for i in range(n) if i not in seen]
