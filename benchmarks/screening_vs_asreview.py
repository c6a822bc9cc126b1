"""metasift's screening models against ASReview 3.0.8's default (elas_u4), side by side.

For every SYNERGY dataset in ../shared/data/synergy and every seed, both tools start from the
same priors (1 included + 1 excluded record drawn with the seed) and screen until the last
relevant record is found (ASReview's default stopping point); metrics are computed on both
orders by the same functions (metasift.screening.metrics). ASReview runs in its own virtual
environment (benchmarks/.venv-asreview, created here if missing); its wall time is measured
inside its process around feature extraction + review, like metasift's.

    .venv/bin/python benchmarks/screening_vs_asreview.py [--seeds 5] [--models tfidf-svm ...]

CPU time (of the whole process, all threads) is measured beside wall time, as the machine's
cores are shared. A second table applies every stopping rule to the first model's runs (after
the last relevant record every order continues with irrelevant records only, so the labels of
a complete screening are known): per dataset, how many runs stop with recall >= 95%, and the
share of records saved against screening everything.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from _screening_data import asreview_python, padded, run_asreview_csv, write_csv
from rich.console import Console
from rich.table import Table

from metasift.records.formats import read_records
from metasift.screening import metrics
from metasift.screening.features import record_texts
from metasift.screening.models import DEFAULT_MODEL, get_model
from metasift.screening.simulate import Prior, choose_priors, simulate
from metasift.screening.stopping import default_rules

HERE = Path(__file__).resolve().parent
SYNERGY = Path(os.environ.get("METASIFT_SHARED_DATA", HERE.parents[1] / "shared" / "data")) / (
    "synergy"
)
console = Console(width=200)  # the tables are wide; a pipe would get 80 columns


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
        labels = np.array([r.label for r in records])
        data_csv = tmpdir / f"{folder.name}.csv"
        write_csv(records, labels, data_csv)
        for seed in range(args.seeds):
            priors = choose_priors(labels, Prior(1, 1), seed)
            row = {"dataset": folder.name, "seed": seed, "priors": priors}
            if python is not None:
                key = f"{folder.name}/{seed}/{priors}"
                if key not in cache:
                    run = run_asreview_csv(data_csv, priors)
                    cache[key] = [run["order"], run["wall_time"], run["cpu_time"]]
                    if args.cache:
                        args.cache.write_text(json.dumps(cache))
                order, wall, *rest = cache[key]
                cpu = rest[0] if rest else float("nan")
                order = padded(order, len(labels))
                row["asreview"] = {
                    **metrics.summary(labels[order].tolist(), 2),
                    "wall_time": wall,
                    "cpu_time": cpu,
                }
            for name in args.models:
                cpu = time.process_time()
                result = simulate(
                    record_texts(records, get_model(name).text_fields),
                    labels,
                    model=get_model(name),
                    seed=seed,
                    prior_indices=priors,
                    until_all_found=True,
                    rules=[],
                )
                cpu = time.process_time() - cpu
                row[name] = {**result.metrics, "wall_time": result.wall_time, "cpu_time": cpu}
                if name == args.models[0]:
                    row["stopping"] = {
                        rule.name: rule.simulate(np.asarray(result.labels), len(labels))
                        for rule in default_rules()
                    }
            runs.append(row)
            console.print(
                f"{folder.name} seed {seed}: "
                + ", ".join(
                    f"{k} wss@95 {fmt(v['wss@95'])} {v['wall_time']:.2f}s"
                    for k, v in row.items()
                    if isinstance(v, dict) and "wall_time" in v
                )
            )
    systems = (["asreview"] if python else []) + list(args.models)
    print_table(runs, systems, [f.name for f in folders])
    if not args.no_stopping:
        stopping_table(runs, args.models[0], [f.name for f in folders])
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))


def print_table(runs: list[dict], systems: list[str], datasets: list[str]) -> None:
    table = Table(title="Screening: metasift vs ASReview 3.0.8 elas_u4 (same priors)")
    table.add_column("dataset")
    keys = ("wss@95", "recall@10%", "atd", "wall_time", "cpu_time")
    for system in systems:
        for metric in ("WSS@95", "rec@10%", "ATD", "wall s", "CPU s"):
            table.add_column(f"{system}\n{metric}", justify="right")
    means: dict[tuple[str, str], list[float]] = {}
    per_dataset: dict[tuple[str, str, str], float] = {}
    for name in [*datasets, "mean"]:
        cells = [name]
        for system in systems:
            for key in keys:
                if name == "mean":
                    value = float(np.mean(means.get((system, key), [])))
                else:
                    value = float(np.mean([r[system][key] for r in runs if r["dataset"] == name]))
                    means.setdefault((system, key), []).append(value)
                    per_dataset[(system, key, name)] = value
                cells.append(fmt(value, 2 if key.endswith("_time") else 3))
        table.add_row(*cells)
    console.print(table)
    if "asreview" not in systems:
        return
    ratio = Table(title="Against ASReview: per dataset and on average (over datasets)")
    for col in ("model", "dataset", "WSS@95 diff (points)", "ATD ratio", "wall ratio", "CPU ratio"):
        ratio.add_column(col, justify="right")
    for system in systems[1:]:
        for name in [*datasets, "mean"]:

            def get(s: str, k: str, name: str = name) -> float:
                if name == "mean":
                    return float(np.mean(means[(s, k)]))
                return per_dataset[(s, k, name)]

            ratio.add_row(
                system,
                name,
                f"{100 * (get(system, 'wss@95') - get('asreview', 'wss@95')):+.1f}",
                f"{get(system, 'atd') / get('asreview', 'atd'):.3f}",
                f"{get('asreview', 'wall_time') / get(system, 'wall_time'):.1f}x",
                f"{get('asreview', 'cpu_time') / get(system, 'cpu_time'):.1f}x",
            )
    console.print(ratio)


def stopping_table(runs: list[dict], model: str, datasets: list[str]) -> None:
    """Every stopping rule on ``model``'s runs: runs with recall >= 95%, mean recall, saved."""
    rules = list(runs[0]["stopping"])
    table = Table(title=f"Stopping rules on {model}'s runs (target 95% recall, 95% confidence)")
    table.add_column("dataset")
    table.add_column("N", justify="right")
    for rule in rules:
        for metric in ("recall>=95%", "mean recall", "saved"):
            table.add_column(f"{rule}\n{metric}", justify="right")
    totals: dict[str, list] = {rule: [0, 0, [], []] for rule in rules}
    for name in datasets:
        mine = [r for r in runs if r["dataset"] == name]
        n = mine[0][model]["n_records"]
        cells = [name, str(n)]
        for rule in rules:
            stops = [r["stopping"][rule] for r in mine]
            recalls = [s["recall"] for s in stops]
            saved = float(np.mean([s["records_saved"] / n for s in stops]))
            ok = sum(r >= 0.95 for r in recalls)
            t = totals[rule]
            t[0], t[1] = t[0] + ok, t[1] + len(stops)
            t[2].extend(recalls)
            t[3].append(saved)
            cells += [f"{ok}/{len(stops)}", f"{np.mean(recalls):.3f}", f"{100 * saved:.1f}%"]
        table.add_row(*cells)
    cells = ["all", ""]
    for rule in rules:
        ok, total, recalls, saved = totals[rule]
        cells += [
            f"{ok}/{total} ({100 * ok / total:.0f}%)",
            f"{np.mean(recalls):.3f}",
            f"{100 * np.mean(saved):.1f}%",
        ]
    table.add_row(*cells)
    console.print(table)


if __name__ == "__main__":
    main()
