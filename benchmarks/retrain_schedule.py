"""What the retraining schedule does to a model against ASReview, the model held fixed.

metasift's svm-u4 (the model unless ``--model`` names another) is ASReview 3's default
(elas_u4) written again: the same features, SVM, weights and query. It runs here retrained
after every label, as ASReview retrains, and on metasift's growth schedule (every label up to
20, then each 5% growth), on the 19 collections of benchmarks/_screening_data.py with the
selection protocol's priors and seeds. Printed per
collection: WSS@95 minus ASReview's for both schedules. With every label the two tools should
agree (a check that the ASReview comparison is like for like); the growth schedule's column
shows what the schedule alone moves. Nothing is chosen here. The growth schedule's runs and
ASReview's come from the selection cache (run benchmarks/screening_selection.py first).

    .venv/bin/python benchmarks/retrain_schedule.py [--seeds 10] [--model NAME] [COLLECTION ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import json

import numpy as np
from _screening_data import collections, load
from rich.console import Console
from rich.table import Table
from screening_selection import OUT, order_labels, screen

from metasift.screening import metrics
from metasift.screening.features import record_texts
from metasift.screening.models import get_model


def mean_wss(runs: list[dict], n: int) -> float:
    """Mean WSS@95 of protocol runs (``screen``'s results) on a collection of ``n`` records."""
    return float(np.mean([metrics.wss(order_labels(r["found"], n), 0.95) for r in runs]))


def every_label_wss(name: str, collection, seeds: int) -> float:
    """Mean WSS@95 of model ``name`` retrained after every label, over ``seeds`` seeds."""
    model = dataclasses.replace(get_model(name), retrain_growth=0.0)
    records, labels = load(collection)
    X = model.make_features().fit_transform(record_texts(records, model.text_fields))
    return mean_wss([screen(model, X, labels, s) for s in range(seeds)], len(labels))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("collections", nargs="*", help="names (default: all 19)")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--model", default="svm-u4")
    parser.add_argument("--cache", default=str(OUT / "selection19.json"))
    args = parser.parse_args()
    model = get_model(args.model).name
    runs = json.loads(open(args.cache).read())
    chosen = [c for c in collections() if not args.collections or c.name in args.collections]

    def cached(system: str, collection) -> float:
        found = [runs[f"{system}|{collection.name}|{s}"] for s in range(args.seeds)]
        return mean_wss(found, len(load(collection)[1]))

    table = Table(title=f"{model}, WSS@95 minus ASReview's ({args.seeds} seeds, 1+1 priors)")
    for column in ("collection", "N", "every label", "growth schedule"):
        table.add_column(column, justify="right")
    every, growth = [], []
    for c in chosen:
        asreview = cached("asreview", c)
        every.append(100 * (every_label_wss(model, c, args.seeds) - asreview))
        growth.append(100 * (cached(model, c) - asreview))
        table.add_row(c.name, str(len(load(c)[1])), f"{every[-1]:+.1f}", f"{growth[-1]:+.1f}")
    table.add_row(
        "mean (min to max)",
        "",
        f"{np.mean(every):+.1f} ({min(every):+.1f} to {max(every):+.1f})",
        f"{np.mean(growth):+.1f} ({min(growth):+.1f} to {max(growth):+.1f})",
    )
    Console(width=140).print(table)


if __name__ == "__main__":
    main()
