"""Whole-process time of `metasift simulate` against `asreview simulate`, as the user waits.

For each collection of benchmarks/_screening_data.py (by default those above 500 records) and
each seed, both commands run on the same CSV (title, abstract, label; written from the records
as metasift read them) with the same two prior records (`--prior-idx`, 1 included + 1
excluded drawn with the seed), back to back, in alternating order, each until the last
relevant record is found (both tools' default). Timed: wall time from process start to exit,
and the CPU time of the process (user + system, all threads), which the other load of a shared
machine does not inflate; the load average (1 minute) is sampled around each collection's runs
and shown beside them. ASReview runs from benchmarks/.venv-asreview (created if missing).

    .venv/bin/python benchmarks/simulate_wall.py [--seeds 3] [--min-records 500]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _screening_data import asreview_python, collections, load, write_csv
from rich.console import Console
from rich.table import Table

from metasift.screening.simulate import Prior, choose_priors

console = Console(width=160)
METASIFT = Path(sys.executable).with_name("metasift")


def timed(command: list[str], cwd: str, env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall, CPU) seconds of one whole process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--min-records", type=int, default=500)
    parser.add_argument(
        "--baseline",
        type=Path,
        help="Also time metasift from this source folder (e.g. an earlier commit's src, from "
        "git archive), in the same pairs: before and after a change under the same load.",
    )
    args = parser.parse_args()
    asreview = str(asreview_python().with_name("asreview"))
    # Both tools write bytecode once; time runs, not first-run compilation.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    os.environ.clear()
    os.environ.update(env)
    table = Table(title="Whole-process time, paired runs (median over seeds)")
    for col in ("collection", "N", "metasift wall s", "ASReview wall s", "wall ratio",
                "metasift CPU s", "ASReview CPU s", "CPU ratio", "load"):  # fmt: skip
        table.add_column(col, justify="right")
    ratios: list[float] = []
    cpu_ratios: list[float] = []
    baseline: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []
    for c in collections():
        records, labels = load(c)
        if len(labels) <= args.min_records:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "data.csv"
            write_csv(records, labels, data)
            times: dict[str, list[tuple[float, float]]] = {
                "metasift": [], "asreview": [], "baseline": []
            }  # fmt: skip
            loads = [os.getloadavg()[0]]
            for seed in range(args.seeds):
                priors = [str(i) for i in choose_priors(labels, Prior(1, 1), seed)]
                mine = [str(METASIFT), "simulate", str(data), "--label-column", "label_included"]
                mine += [x for p in priors for x in ("--prior-idx", p)]
                theirs = [asreview, "simulate", str(data), "--prior-idx", *priors]
                theirs += ["-o", str(Path(tmp) / f"run{seed}.asreview")]
                runs = [("metasift", mine), ("asreview", theirs)]
                if args.baseline:
                    runs.append(("baseline", mine))
                for tool, command in runs if seed % 2 == 0 else runs[::-1]:
                    env = None
                    if tool == "baseline":
                        env = {**os.environ, "PYTHONPATH": str(args.baseline.resolve())}
                    times[tool].append(timed(command, tmp, env))
                loads.append(os.getloadavg()[0])
        m, a = (np.median(np.array(times[t]), axis=0) for t in ("metasift", "asreview"))
        ratios.append(a[0] / m[0])
        cpu_ratios.append(a[1] / m[1])
        table.add_row(
            c.name, str(len(labels)), f"{m[0]:.2f}", f"{a[0]:.2f}", f"{a[0] / m[0]:.1f}x",
            f"{m[1]:.2f}", f"{a[1]:.2f}", f"{a[1] / m[1]:.1f}x", f"{np.mean(loads):.1f}",
        )  # fmt: skip
        console.print(
            f"{c.name}: metasift {m[0]:.2f} s, ASReview {a[0]:.2f} s (wall); "
            f"{m[1]:.2f} s, {a[1]:.2f} s (CPU); load {np.mean(loads):.1f}"
        )
        if args.baseline:
            b = np.median(np.array(times["baseline"]), axis=0)
            baseline.append((c.name, b, m, a))
            console.print(f"  baseline: {b[0]:.2f} s wall, {b[1]:.2f} s CPU")
    console.print(table)
    console.print(
        f"wall ratio: mean {np.mean(ratios):.1f}x, lowest {min(ratios):.1f}x; CPU ratio: mean "
        f"{np.mean(cpu_ratios):.1f}x, lowest {min(cpu_ratios):.1f}x over {len(ratios)} "
        "collections"
    )
    if baseline:
        before = Table(title=f"The same pairs with metasift from {args.baseline}")
        for col in ("collection", "baseline wall s", "wall ratio", "baseline CPU s",
                    "CPU ratio", "CPU saved"):  # fmt: skip
            before.add_column(col, justify="right")
        for name, b, m, a in baseline:
            before.add_row(
                name, f"{b[0]:.2f}", f"{a[0] / b[0]:.1f}x", f"{b[1]:.2f}", f"{a[1] / b[1]:.1f}x",
                f"{100 * (1 - m[1] / b[1]):.0f}%",
            )  # fmt: skip
        console.print(before)


if __name__ == "__main__":
    main()
