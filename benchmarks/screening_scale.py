"""Screening at scale: features and one retrain-and-rank iteration at 100k and 1M records.

Texts are the real titles and abstracts of the SYNERGY datasets in ../shared/data/synergy,
repeated to the target size; labels come with them. One iteration = train the default model
on a labelled set of 2,000 records (drawn with a seed) and rank every unlabelled record.
At 100k records, the per-decision latency of the learner (time from a decision to the next
record being ready) is measured over a run of decisions by a reviewer who takes --think
seconds to read each record (a very fast reviewer at the default 0.5 s).
The ASReview-style pipeline (TfidfVectorizer + LinearSVC) is run side by side on the same texts
as the reference, and the default's features are also built in one process, to show what the
second process buys. Feature times are wall times (the extractor works in worker processes);
iterations report wall and CPU time (threads included).

    .venv/bin/python benchmarks/screening_scale.py [--sizes 100000 1000000]
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from metasift.records.formats import read_records
from metasift.screening.features import record_texts
from metasift.screening.learner import Learner, fit_scores
from metasift.screening.models import ScreeningModel, get_model
from metasift.screening.query import top_k

HERE = Path(__file__).resolve().parent
SYNERGY = Path(os.environ.get("METASIFT_SHARED_DATA", HERE.parents[1] / "shared" / "data")) / (
    "synergy"
)
console = Console(width=200)  # the tables are wide; a pipe would get 80 columns
REFERENCE = ScreeningModel(
    name="asreview-style (TfidfVectorizer + LinearSVC)",
    features="words",
    feature_params={"stop_words": None, "max_df": 0.95},
    classifier="svm",
    classifier_params={"C": 0.11},
    balance=9.8,
    lag=0,
)


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def base_corpus() -> tuple[list[str], np.ndarray]:
    texts, labels = [], []
    for folder in sorted(SYNERGY.iterdir()):
        if (folder / "labels.csv").exists():
            records = read_records(folder)
            texts += record_texts(records)
            labels += [r.label for r in records]
    return texts, np.array(labels)


def iteration(X, labels: np.ndarray, model: ScreeningModel, seed: int = 0) -> tuple[float, float]:
    """(wall, CPU) seconds of one retrain on 2,000 labels and ranking of the rest."""
    rng = np.random.default_rng(seed)
    n = (X[0] if isinstance(X, list) else X).shape[0]
    labelled = np.sort(rng.choice(n, size=2000, replace=False))
    y = labels[labelled]
    start, cpu = time.perf_counter(), time.process_time()
    _, scores = fit_scores(X, labelled, y, model, seed, None)
    free = np.ones(n, dtype=bool)
    free[labelled] = False
    top_k(-scores[free], 1000)
    return time.perf_counter() - start, time.process_time() - cpu


def latency(
    X, labels: np.ndarray, model: ScreeningModel, decisions: int, think: float
) -> np.ndarray:
    learner = Learner(X, model, seed=0, background=True)
    first_relevant = int(np.flatnonzero(labels)[0])
    learner.teach(first_relevant, 1, retrain=False)
    learner.teach(int(np.flatnonzero(labels == 0)[0]), 0)
    waits = []
    proposal = learner.propose()
    for _ in range(decisions):
        time.sleep(think)
        start = time.perf_counter()
        learner.teach(proposal.index, int(labels[proposal.index]))
        proposal = learner.propose()
        waits.append(time.perf_counter() - start)
    learner.close()
    return np.array(waits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--decisions", type=int, default=150)
    parser.add_argument("--think", type=float, default=0.5)
    parser.add_argument(
        "--reference-max",
        type=int,
        default=100_000,
        help="run the reference pipeline up to this size (its vocabulary step is the slow part)",
    )
    args = parser.parse_args()
    base_texts, base_labels = base_corpus()
    console.print(f"base corpus: {len(base_texts)} real records, {base_labels.sum()} relevant")
    default = get_model("default")
    systems = [("metasift " + default.name, default), ("reference: " + REFERENCE.name, REFERENCE)]
    table = Table(title="Screening at scale (2 shared cores)")
    for col in (
        "records",
        "system",
        "features wall s",
        "X MB",
        "retrain+rank wall s",
        "retrain+rank CPU s",
        "RSS MB",
        "peak RSS MB",
    ):
        table.add_column(col, justify="right")
    latency_rows = []
    for size in args.sizes:
        reps = -(-size // len(base_texts))
        texts = (base_texts * reps)[:size]
        labels = np.tile(base_labels, reps)[:size]
        for label, model in systems:
            if model is REFERENCE and size > args.reference_max:
                continue
            gc.collect()
            start = time.perf_counter()
            X = model.make_features().fit_transform(texts)
            feature_time = time.perf_counter() - start
            mats = X if isinstance(X, list) else [X]
            # Ensemble members with the same extractor share one matrix: count each once.
            unique = {id(m): m for m in mats}.values()
            x_mb = sum(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes for m in unique) / 2**20
            runs = [iteration(X, labels, model, seed) for seed in range(3)]
            walls, cpus = [w for w, _ in runs], [c for _, c in runs]
            table.add_row(
                f"{size:,}",
                label,
                f"{feature_time:.1f}",
                f"{x_mb:.0f}",
                f"{np.median(walls):.2f} (min {min(walls):.2f})",
                f"{np.median(cpus):.2f}",
                f"{rss_mb():.0f}",
                f"{peak_mb():.0f}",
            )
            console.print(f"{size:,} {label}: features {feature_time:.1f} s, iteration {runs}")
            if size == min(args.sizes) and model is default:
                waits = latency(X, labels, model, args.decisions, args.think)
                latency_rows.append((size, waits))
            del X
        if size <= args.reference_max:
            gc.collect()
            start = time.perf_counter()
            default.members[0].make_features().set_params(n_jobs=1).fit_transform(texts)
            table.add_row(
                f"{size:,}",
                "metasift features in one process",
                f"{time.perf_counter() - start:.1f}",
                *[""] * 5,
            )
    console.print(table)
    lat = Table(
        title=f"Per-decision latency (decision -> next record ready), reviewer reading "
        f"{args.think} s per record"
    )
    for col in ("records", "decisions", "median ms", "p95 ms", "max ms", "share < 200 ms"):
        lat.add_column(col, justify="right")
    for size, waits in latency_rows:
        lat.add_row(
            f"{size:,}",
            str(len(waits)),
            f"{1000 * np.median(waits):.1f}",
            f"{1000 * np.percentile(waits, 95):.1f}",
            f"{1000 * waits.max():.1f}",
            f"{100 * np.mean(waits < 0.2):.1f}%",
        )
    console.print(lat)


if __name__ == "__main__":
    main()
