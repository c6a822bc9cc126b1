"""De-duplication benchmark: quality on real labelled data, peers side by side, throughput.

    python benchmarks/dedup_bench.py                  # quality tables + peers
    python benchmarks/dedup_bench.py --scale 100000 1000000   # throughput (time, peak memory)
    python benchmarks/dedup_bench.py --no-peers

Quality is pairwise: a true pair is two records of one labelled duplicate group; precision,
recall and F1 count the pairs metasift puts in one cluster. The labelled sets are read from
../shared/data/dedup (see its README.md for their provenance). Rules were developed looking at
the diabetes set only ("in-sample"); the other sets are held out.

Peers run side by side in their own virtual environments under benchmarks/ (git-ignored):

    python3 -m venv benchmarks/.venv-bibdedupe && \
        benchmarks/.venv-bibdedupe/bin/pip install bib-dedupe==0.11.0
    python3 -m venv benchmarks/.venv-asreview && \
        benchmarks/.venv-asreview/bin/pip install asreview-datatools==1.4

Throughput corpora are synthetic, built from the real records of ../shared/data (SYNERGY
OpenAlex works, the labelled sets): each real record gives a study; copies carry realistic
perturbations (typos, abbreviated journals, missing DOIs, author formats, truncated titles).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from metasift.dedup.core import deduplicate  # noqa: E402
from metasift.dedup.settings import DedupSettings  # noqa: E402
from metasift.records.model import Record  # noqa: E402
from metasift.records.normalize import (  # noqa: E402
    clean_text,
    normalize_author,
    normalize_doi,
    parse_year,
)

DATA = Path(os.environ.get("METASIFT_SHARED_DATA", ROOT.parent / "shared" / "data"))
DEDUP = DATA / "dedup"
csv.field_size_limit(1 << 30)


# ---------------------------------------------------------------------------------------------
# Loading the labelled sets


def _authors(names: list[str]) -> tuple[list[str], list[str]]:
    raw = [n for n in (clean_text(x) for x in names) if n]
    return raw, [a for a in (normalize_author(n) for n in raw) if a]


def _na(value: str | None) -> str | None:
    value = clean_text(value)
    return None if value is None or value.upper() in {"NA", "NAN", "UNKNOWN"} else value


# "Adeli K.Lewis G. F." -> ["Adeli K.", "Lewis G. F."]: ASySD's export runs names together.
_RUN_TOGETHER = re.compile(r"(?<=\.)\s*(?=[A-Z][a-z'\-])")


def load_diabetes() -> tuple[list[Record], list[str]]:
    path = DEDUP / "diabetes" / "labelled_test_set.csv"
    with path.open(encoding="cp1252", newline="") as fh:
        rows = list(csv.DictReader(fh))
    records = []
    for row in rows:
        raw, authors = _authors(_RUN_TOGETHER.split(row["author"] or ""))
        records.append(
            Record(
                title=_na(row["title"]),
                abstract=_na(row["abstract"]),
                authors=authors,
                authors_raw=raw,
                year=parse_year(_na(row["year"])),
                journal=_na(row["journal"]),
                volume=_na(row["volume"]),
                issue=_na(row["number"]),
                pages=_na(row["pages"]),
                doi=normalize_doi(_na(row["doi"])),
                source_id=f"id_{int(row['record_id']):07d}",
            )
        )
    return records, _groups(DEDUP / "diabetes" / "merged_record_ids.csv", records)


def load_bib_dedupe(name: str) -> tuple[list[Record], list[str]]:
    path = DEDUP / name / "records_pre_merged.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    records = []
    for row in rows:
        raw, authors = _authors((row.get("author") or "").split(" and "))
        journal = _na(row.get("journal")) or _na(row.get("booktitle"))
        records.append(
            Record(
                title=_na(row.get("title")),
                abstract=_na(row.get("abstract")),
                authors=authors,
                authors_raw=raw,
                year=parse_year(_na(row.get("year"))),
                journal=journal,
                volume=_na(row.get("volume")),
                issue=_na(row.get("number") or row.get("issue")),
                pages=_na(row.get("pages")),
                doi=normalize_doi(_na(row.get("doi"))),
                record_type=_na(row.get("ENTRYTYPE")),
                source_id=row["ID"],
            )
        )
    return records, _groups(DEDUP / name / "merged_record_ids.csv", records)


def _groups(path: Path, records: Sequence[Record]) -> list[str]:
    """Ground-truth group label per record (its own id for singletons)."""
    label = {r.source_id: r.source_id for r in records}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            ids = row["merged_ids"].split(";")
            for i in ids:
                label[i] = ids[0]
    return [label[r.source_id] for r in records]


# ---------------------------------------------------------------------------------------------
# Metrics


def pair_counts(truth: Sequence[object], predicted: Sequence[object]) -> tuple[int, int, int]:
    """(true positives, predicted pairs, true pairs) over all record pairs."""

    def pairs(counter: Counter) -> int:
        return sum(c * (c - 1) // 2 for c in counter.values())

    both = pairs(Counter(zip(truth, predicted, strict=True)))
    return both, pairs(Counter(predicted)), pairs(Counter(truth))


def prf(truth: Sequence[object], predicted: Sequence[object]) -> dict[str, float]:
    tp, n_pred, n_true = pair_counts(truth, predicted)
    precision = tp / n_pred if n_pred else 1.0
    recall = tp / n_true if n_true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "fp": n_pred - tp,
        "fn": n_true - tp,
        "true_pairs": n_true,
    }


def table(title: str, header: list[str], rows: list[list[object]]) -> None:
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("| " + " | ".join("---" for _ in header) + " |")
    for row in rows:
        cells = [f"{c:.4f}" if isinstance(c, float) else str(c) for c in row]
        print("| " + " | ".join(cells) + " |")


def run_metasift(records: list[Record], settings: DedupSettings | None = None):
    start = time.perf_counter()
    result = deduplicate(records, settings)
    return result, time.perf_counter() - start


LABELLED = {
    "diabetes": ("in-sample", load_diabetes),
    "cytology_screening": ("held-out", lambda: load_bib_dedupe("cytology_screening")),
    "respiratory": ("held-out", lambda: load_bib_dedupe("respiratory")),
    "digital_work": ("held-out, not biomedical", lambda: load_bib_dedupe("digital_work")),
    "special_cases": ("held-out, edge cases", lambda: load_bib_dedupe("special_cases")),
}


def quality(names: list[str], show_errors: int = 0) -> dict[str, tuple[list[Record], list[str]]]:
    rows = []
    loaded = {}
    for name in names:
        split, loader = LABELLED[name]
        if not (DEDUP / name).exists():
            print(f"skipped {name}: {DEDUP / name} not found")
            continue
        records, truth = loader()
        loaded[name] = (records, truth)
        result, seconds = run_metasift(records)
        predicted = result.labels()
        m = prf(truth, predicted)
        rows.append(
            [
                name,
                split,
                len(records),
                m["true_pairs"],
                m["precision"],
                m["recall"],
                m["f1"],
                m["fp"],
                m["fn"],
                len(result.review),
                len(result.links),
                f"{seconds:.2f}",
            ]
        )
        if show_errors:
            _show_errors(records, truth, predicted, show_errors)
    table(
        "Pairwise quality of metasift on real labelled data",
        [
            "dataset",
            "split",
            "records",
            "true pairs",
            "precision",
            "recall",
            "F1",
            "FP pairs",
            "FN pairs",
            "manual queue",
            "linked",
            "seconds",
        ],
        rows,
    )
    return loaded


def _show(r: Record) -> str:
    return (
        f"{r.source_id} | {r.title} | {'; '.join(r.authors[:3])} | {r.year} | {r.journal} | "
        f"v{r.volume} i{r.issue} p{r.pages} | {r.doi}"
    )


def _show_errors(records, truth, predicted, limit: int) -> None:
    by_pred = defaultdict(list)
    by_true = defaultdict(list)
    for i, (t, p) in enumerate(zip(truth, predicted, strict=True)):
        by_pred[p].append(i)
        by_true[t].append(i)
    shown = 0
    print("\nFalse merges (predicted cluster with several true groups):")
    for members in by_pred.values():
        if len({truth[i] for i in members}) > 1 and shown < limit:
            shown += 1
            for i in members:
                print(f"  [{truth[i]}] {_show(records[i])}")
            print()
    shown = 0
    print("Missed duplicates (true group split):")
    for members in by_true.values():
        if len({predicted[i] for i in members}) > 1 and shown < limit:
            shown += 1
            for i in members:
                print(f"  [{predicted[i]}] {_show(records[i])}")
            print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="*", default=list(LABELLED))
    parser.add_argument("--errors", type=int, default=0, help="show N error examples per set")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--scale", nargs="*", type=int, default=[])
    args = parser.parse_args()
    quality(args.datasets, args.errors)


if __name__ == "__main__":
    main()
