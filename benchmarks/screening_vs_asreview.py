"""metasift's screening models against ASReview 3.0.8's default (elas_u4), side by side.

For every SYNERGY dataset in ../shared/data/synergy and every seed, both tools start from the
same priors (1 included + 1 excluded record drawn with the seed) and screen until the last
relevant record is found (ASReview's default stopping point); metrics are computed on both
orders by the same functions (metasift.screening.metrics). ASReview runs in its own virtual
environment (benchmarks/.venv-asreview, created here if missing); its wall time is measured
inside its process around feature extraction + review, like metasift's.

    .venv/bin/python benchmarks/screening_vs_asreview.py [--seeds 5] [--models tfidf-svm ...]

A second table checks the hypergeometric stopping rule on full metasift runs: over datasets x
seeds, how often it stops with recall >= 95%, and how many records it saves.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from metasift.records.formats import read_records
from metasift.screening import metrics
from metasift.screening.features import record_texts
from metasift.screening.models import DEFAULT_MODEL, get_model
from metasift.screening.simulate import Prior, choose_priors, simulate
from metasift.screening.stopping import HypergeometricStop

HERE = Path(__file__).resolve().parent
SYNERGY = Path(os.environ.get("METASIFT_SHARED_DATA", HERE.parents[1] / "shared" / "data")) / (
    "synergy"
)
VENV = HERE / ".venv-asreview"
ASREVIEW = "asreview==3.0.8"
console = Console()


def asreview_python() -> Path:
    python = VENV / "bin" / "python"
    if (
        not python.exists()
        or subprocess.run([str(python), "-c", "import asreview"], capture_output=True).returncode
    ):
        console.print(f"Installing {ASREVIEW} into {VENV} ...")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", ASREVIEW], check=True)
    return python


def run_asreview(python: Path, data_csv: Path, priors: list[int]) -> tuple[list[int], float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        subprocess.run(
            [str(python), str(HERE / "_asreview_worker.py"), str(data_csv), str(out)]
            + [str(i) for i in priors],
            check=True,
            capture_output=True,
            cwd=tmp,
        )
        result = json.loads(out.read_text())
    return result["order"], result["wall_time"]


def padded(order: list[int], n: int) -> list[int]:
    seen = set(order)
    return order + [i for i in range(n) if i not in seen]


def fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--models", nargs="*", default=[DEFAULT_MODEL])
    parser.add_argument("--datasets", nargs="*", default=None)
    parser.add_argument("--no-asreview", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="write every run here")
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="reuse ASReview runs stored in this JSON file (for exploring models; wall times "
        "compared side by side need a fresh run without it)",
    )
    parser.add_argument("--no-stopping", action="store_true")
    args = parser.parse_args()
    folders = sorted(p for p in SYNERGY.iterdir() if (p / "labels.csv").exists())
    if args.datasets:
        folders = [p for p in folders if p.name in args.datasets]
    python = None if args.no_asreview else asreview_python()
    runs: list[dict] = []
    cache = json.loads(args.cache.read_text()) if args.cache and args.cache.exists() else {}
    tmpdir = Path(tempfile.mkdtemp(prefix="metasift-bench-"))
    for folder in folders:
        records = read_records(folder)
        texts = record_texts(records)
        labels = np.array([r.label for r in records])
        data_csv = tmpdir / f"{folder.name}.csv"
        with data_csv.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["record_id", "title", "abstract", "label_included"])
            for i, r in enumerate(records):
                writer.writerow([i, r.title or "", r.abstract or "", r.label])
        for seed in range(args.seeds):
            priors = choose_priors(labels, Prior(1, 1), seed)
            row = {"dataset": folder.name, "seed": seed, "priors": priors}
            if python is not None:
                key = f"{folder.name}/{seed}/{priors}"
                if key not in cache:
                    cache[key] = run_asreview(python, data_csv, priors)
                    if args.cache:
                        args.cache.write_text(json.dumps(cache))
                order, wall = cache[key]
                order = padded(order, len(labels))
                row["asreview"] = {
                    **metrics.summary(labels[order].tolist(), 2),
                    "wall_time": wall,
                }
            for name in args.models:
                result = simulate(
                    texts,
                    labels,
                    model=get_model(name),
                    seed=seed,
                    prior_indices=priors,
                    until_all_found=True,
                    rules=[],
                )
                row[name] = {**result.metrics, "wall_time": result.wall_time}
            runs.append(row)
            console.print(
                f"{folder.name} seed {seed}: "
                + ", ".join(
                    f"{k} wss@95 {fmt(v['wss@95'])} {v['wall_time']:.2f}s"
                    for k, v in row.items()
                    if isinstance(v, dict)
                )
            )
    systems = (["asreview"] if python else []) + list(args.models)
    print_table(runs, systems, [f.name for f in folders])
    if not args.no_stopping:
        stopping_table(folders, args.models[0], args.seeds)
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))


def print_table(runs: list[dict], systems: list[str], datasets: list[str]) -> None:
    table = Table(title="Screening: metasift vs ASReview 3.0.8 elas_u4 (same priors)")
    table.add_column("dataset")
    for system in systems:
        for metric in ("WSS@95", "rec@10%", "ATD", "time s"):
            table.add_column(f"{system}\n{metric}", justify="right")
    means: dict[tuple[str, str], list[float]] = {}
    for name in [*datasets, "mean"]:
        cells = [name]
        for system in systems:
            for key in ("wss@95", "recall@10%", "atd", "wall_time"):
                if name == "mean":
                    values = means.get((system, key), [])
                else:
                    values = [r[system][key] for r in runs if r["dataset"] == name]
                    means.setdefault((system, key), []).append(float(np.mean(values)))
                cells.append(fmt(float(np.mean(values)), 2 if key == "wall_time" else 3))
        table.add_row(*cells)
    console.print(table)
    if "asreview" in systems:
        ratio = Table(title="Ratios against ASReview (mean over datasets)")
        for col in ("model", "WSS@95 diff (points)", "ATD ratio", "speed-up"):
            ratio.add_column(col, justify="right")
        base = {k: np.mean(v) for (s, k), v in means.items() if s == "asreview"}
        for system in systems[1:]:
            mine = {k: np.mean(v) for (s, k), v in means.items() if s == system}
            ratio.add_row(
                system,
                f"{100 * (mine['wss@95'] - base['wss@95']):+.1f}",
                f"{mine['atd'] / base['atd']:.3f}",
                f"{base['wall_time'] / mine['wall_time']:.1f}x",
            )
        console.print(ratio)


def stopping_table(folders: list[Path], model: str, seeds: int) -> None:
    """Full runs of ``model``: the hypergeometric rule's recall and savings."""
    rule = HypergeometricStop(0.95, 0.95)
    table = Table(title=f"Hypergeometric stopping (95% recall, 95% confidence), {model}")
    for col in ("dataset", "runs", "recall>=95%", "min recall", "mean stop at", "N", "saved"):
        table.add_column(col, justify="right")
    total_ok = total = 0
    saved_all: list[float] = []
    for folder in folders:
        records = read_records(folder)
        texts = record_texts(records)
        labels = np.array([r.label for r in records])
        X = get_model(model).make_features().fit_transform(texts)
        recalls, stops = [], []
        for seed in range(seeds):
            result = simulate(texts, labels, model=model, seed=seed, features=X, rules=[rule])
            stop = result.stopping[rule.name]
            recalls.append(stop["recall"])
            stops.append(stop["stop_at"] or len(labels))
        ok = sum(r >= 0.95 for r in recalls)
        total_ok, total = total_ok + ok, total + seeds
        saved = 1 - np.mean(stops) / len(labels)
        saved_all.append(saved)
        table.add_row(
            folder.name,
            str(seeds),
            str(ok),
            fmt(min(recalls)),
            f"{np.mean(stops):.0f}",
            str(len(labels)),
            f"{100 * saved:.1f}%",
        )
    table.add_row(
        "all",
        str(total),
        f"{total_ok} ({100 * total_ok / total:.0f}%)",
        "",
        "",
        "",
        f"{100 * np.mean(saved_all):.1f}%",
    )
    console.print(table)


if __name__ == "__main__":
    main()
