"""A living review's update on the 19 labelled collections: does the listing find the new
relevant records, and does the expected count hold the true one?

Each collection is split by publication year into a first round (the older 80% of records,
all screened: its labels are the collection's) and an update (the newest 20%, by year, then
by position). The review's model (screening setting "default") is trained on the first round
and scores the update with :func:`metasift.screening.score_update`, the core of
``metasift update``: calibrated probabilities, the inclusion threshold at the target recall
(95%), and the expected number of relevant records with its 95% interval. Per collection:
the update's records and relevant records, how many the listing holds and how many relevant
ones it finds (recall), the expected count and interval, and whether the interval holds the
true count. What it cannot show: a first round left partly unscreened by its stopping rule
(its unscreened records count as irrelevant in calibration), or a topic drifting between
rounds more than publication years do here.

    .venv/bin/python benchmarks/living_update.py [--collections N] [--share 0.2]

Measured (2 cores, default model without the embed extra): the listings held 202 of 215
relevant update records (94.0%) while listing 47.9% of the update's records; the intervals held
the true count in 16 of 19 collections (missed: Donners_2021, ADHD, Estrogens, each with a
share of relevant records unlike its first round's). About 1-5 s per collection.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _screening_data import collections, load
from rich.console import Console
from rich.table import Table

from metasift.screening.features import record_texts
from metasift.screening.living import score_update
from metasift.screening.models import get_model

console = Console(width=200)
TARGET = 0.95


def split(records: list, share: float) -> np.ndarray:
    """Positions of the newest ``share`` of records (by year, then position)."""
    order = sorted(range(len(records)), key=lambda i: (records[i].year or 0, i))
    return np.array(sorted(order[len(order) - round(share * len(order)) :]), dtype=np.int64)


def run(collection, share: float) -> dict:
    records, labels = load(collection)
    model = get_model("default")
    started = time.perf_counter()
    X = model.make_features().fit_transform(record_texts(records, model.text_fields))
    new = split(records, share)
    known = labels.copy()
    known[new] = -1
    scored = score_update(X, known, new, model, seed=0, target_recall=TARGET)
    seconds = time.perf_counter() - started
    truth = labels[new]
    listed = scored["probabilities"] >= scored["threshold"]
    e = scored["expected"]
    relevant = int(truth.sum())
    return {
        "name": collection.name,
        "records": len(records),
        "new": len(new),
        "relevant": relevant,
        "listed": int(listed.sum()),
        "found": int(truth[listed].sum()),
        "mean": e.mean,
        "low": e.low,
        "high": e.high,
        "covered": e.low <= relevant <= e.high,
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collections", type=int, default=None, help="only the first N")
    parser.add_argument("--share", type=float, default=0.2, help="share of records updated")
    args = parser.parse_args()
    chosen = collections()[: args.collections]
    table = Table(
        "collection",
        "records",
        "update",
        "relevant",
        "listed",
        "found",
        "recall",
        "expected (95% interval)",
        "holds",
        "s",
        title=f"Living update: newest {args.share:.0%} of each collection, target recall 95%",
    )
    rows = []
    for collection in chosen:
        row = run(collection, args.share)
        rows.append(row)
        recall = f"{row['found'] / row['relevant']:.0%}" if row["relevant"] else "-"
        table.add_row(
            row["name"],
            f"{row['records']:,}",
            f"{row['new']:,}",
            str(row["relevant"]),
            f"{row['listed']:,}",
            str(row["found"]),
            recall,
            f"{row['mean']:.1f} ({row['low']}-{row['high']})",
            "yes" if row["covered"] else "NO",
            f"{row['seconds']:.1f}",
        )
    console.print(table)
    with_relevant = [r for r in rows if r["relevant"]]
    found = sum(r["found"] for r in rows)
    relevant = sum(r["relevant"] for r in rows)
    console.print(
        f"Pooled recall of the listings: {found}/{relevant} = {found / max(relevant, 1):.1%}; "
        f"share of update records listed: "
        f"{sum(r['listed'] for r in rows) / sum(r['new'] for r in rows):.1%}; "
        f"intervals holding the true count: {sum(r['covered'] for r in rows)}/{len(rows)} "
        f"({len(with_relevant)} updates with relevant records)."
    )


if __name__ == "__main__":
    main()
