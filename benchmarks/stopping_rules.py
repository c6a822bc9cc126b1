"""Stopping rules side by side on the 19 collections: who keeps the recall target, at what cost.

Reads the screening runs of benchmarks/screening_selection.py (its cache; run it first) for one
model, 10 seeds per collection, and applies every rule to each run's order (after the last
relevant record every order goes on with irrelevant records only, so the labels of a complete
screening are known). Target recall 95%, confidence 95%. Per collection and over all runs:
runs that stopped below the target, mean recall at the stop, and the mean share of records
saved against screening everything (a rule that never stops saves nothing). Rules that draw a
random sample use the run's seed; the sample counts as screened.

The rules (metasift.screening.stopping):
- biased-urn: the same test with buscar's biased urn, at the bias `screen` follows;
- hypergeometric: Callaghan & Mueller-Hansen (2020) applied to ranked screening (buscar);
- hypergeometric-sampled: the same paper's procedure with a random sample after the switch;
- target: Cormack & Grossman's target method (59 random relevant records for 95%/95%);
- quantile (QBCB): Lewis et al. (2021), a 500-record random sample first;
- knee: Cormack & Grossman (2016); safe: the SAFE heuristics; consecutive: 50 irrelevant in
  a row;
- poisson-exponential, poisson-power: Sneyd & Stevenson (2021), an inhomogeneous Poisson process
  with that rate function predicts the collection's relevant records;
- point-hyperbolic: Stevenson & Bin-Hezam (2023), the same kind of model with the rate
  function and procedure of their published comparison.
The last six give no guarantee; the point-process rules run with their papers' settings,
none tuned on these collections. Beside them, the ceiling: what a rule that knew the labels
would save, stopping at the record that brings recall to the target (where 95% of the
relevant records rounds up to all of them, that is the last one). The last rows give, per
rule, the collection with the most runs below the target and the number of collections on
which at most 5% of runs missed it.

`--choose-bias` chooses the biased urn's bias by leave-one-collection-out instead: for each
collection, the largest bias of BIAS_GRID (fixed before any was tried) with which, on every
other collection, at most 5% of the runs stopped below the target; the table shows, per
collection, the bias chosen without it and what that bias did on it (held out).

    .venv/bin/python benchmarks/stopping_rules.py [--model NAME] [--seeds 10] [--choose-bias]
"""

from __future__ import annotations

import argparse
import json
import math
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from _screening_data import collections, load
from rich.console import Console
from rich.table import Table
from screening_selection import OUT, order_labels

from metasift.screening import stopping
from metasift.screening.models import DEFAULT_MODEL

console = Console(width=320)
TARGET, CONFIDENCE = 0.95, 0.95


BIAS_GRID = (1.0, 1.5, 2.0, 3.0, 5.0, 8.0)


def rules(seed: int) -> list:
    return [
        stopping.BiasedUrnStop(TARGET, CONFIDENCE),
        stopping.HypergeometricStop(TARGET, CONFIDENCE),
        stopping.SampledHypergeometricStop(TARGET, CONFIDENCE, seed=seed),
        stopping.TargetStop(TARGET, CONFIDENCE, seed=seed),
        stopping.QuantileStop(TARGET, CONFIDENCE, seed=seed),
        stopping.KneeStop(),
        stopping.SafeStop(),
        stopping.ConsecutiveIrrelevantStop(),
        stopping.CountingProcessStop(TARGET, CONFIDENCE, rate="exponential"),
        stopping.CountingProcessStop(TARGET, CONFIDENCE, rate="power"),
        stopping.PointProcessStop(TARGET, CONFIDENCE, rate="hyperbolic"),
    ]


BIAS_RULES = [
    stopping.BiasedUrnStop(TARGET, CONFIDENCE, name=f"bias {b:g}", bias=b) for b in BIAS_GRID
]


def apply(job: tuple[str, list[int], int, int, bool]) -> tuple[str, int, dict]:
    name, found, n, seed, grid = job
    labels = order_labels(found, n)
    chosen = BIAS_RULES if grid else rules(seed)
    return name, seed, {rule.name: rule.simulate(labels, n) for rule in chosen}


def choose_bias(missed: dict[str, dict[str, int]], runs: int) -> dict[str, str]:
    """For each collection, the rule of the bias grid chosen without it: the largest bias with
    which every other collection kept the target in at least 95% of its ``runs`` runs.

    Args:
        missed: runs below the target, by rule name and collection.
        runs: runs per collection.
    """
    names = [r.name for r in BIAS_RULES]
    collections_ = list(next(iter(missed.values())))
    chosen = {}
    for held_out in collections_:
        safe = [
            rule
            for rule in names
            if all(missed[rule][c] <= 0.05 * runs for c in collections_ if c != held_out)
        ]
        chosen[held_out] = safe[-1] if safe else names[0]
    return chosen


def held_out_table(results: list, cols: list, seeds: int) -> None:
    """The biased urn with its bias chosen by leave-one-collection-out, scored held out."""
    names = [r.name for r in BIAS_RULES]
    missed = {rule: {} for rule in names}
    saved = {rule: {} for rule in names}
    for c in cols:
        n = len(load(c)[1])
        mine = [r for name, _, r in results if name == c.name]
        for rule in names:
            missed[rule][c.name] = sum(r[rule]["recall"] < TARGET for r in mine)
            saved[rule][c.name] = [r[rule]["records_saved"] / n for r in mine]
    chosen = choose_bias(missed, seeds)
    table = Table(
        title=f"Biased urn, bias chosen on the other 18 collections ({seeds} seeds; target "
        f"{TARGET:.0%}, confidence {CONFIDENCE:.0%}); every bias of the grid beside it"
    )
    for column in ("collection", "chosen", "held out: missed", "saved", *names):
        table.add_column(column, justify="right")
    all_saved = []
    for c in cols:
        rule = chosen[c.name]
        all_saved.extend(saved[rule][c.name])
        table.add_row(
            c.name,
            rule,
            f"{missed[rule][c.name]}/{seeds}",
            f"{100 * np.mean(saved[rule][c.name]):.1f}%",
            *(
                f"{missed[r][c.name]}/{seeds} {100 * np.mean(saved[r][c.name]):4.1f}%"
                for r in names
            ),
        )
    total_missed = sum(missed[chosen[c.name]][c.name] for c in cols)
    table.add_row(
        "all runs",
        "",
        f"{total_missed}/{len(all_saved)}",
        f"{100 * np.mean(all_saved):.1f}%",
        *(
            f"{sum(missed[r].values())}/{len(all_saved)} "
            f"{100 * np.mean([x for v in saved[r].values() for x in v]):4.1f}%"
            for r in names
        ),
    )
    console.print(table)


def ceiling(found: list[int], n: int) -> float:
    """The share of ``n`` records left unscreened by stopping at the relevant record that
    brings recall to the target, in a run that found relevant records at positions ``found``.

    Args:
        found: the positions of every relevant record in the screening order.
        n: the collection's size.
    """
    needed = math.ceil(TARGET * len(found) - 1e-9)
    return (n - found[needed - 1] - 1) / n if needed else 1.0


def _worst(missed: list[int], names: list[str], seeds: int) -> str:
    """The collection with the most runs below the target (the first such), or "none"."""
    most = max(missed)
    return f"{names[missed.index(most)]} ({most}/{seeds})" if most else "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--cache", default=str(OUT / "selection19.json"))
    parser.add_argument(
        "--choose-bias",
        action="store_true",
        help="choose the biased urn's bias by leave-one-collection-out and score it held out",
    )
    args = parser.parse_args()
    runs = json.loads(open(args.cache).read())
    cols = collections()
    jobs = [
        (c.name, runs[f"{args.model}|{c.name}|{s}"]["found"], len(load(c)[1]), s, args.choose_bias)
        for c in cols
        for s in range(args.seeds)
    ]
    with ProcessPoolExecutor(args.jobs) as pool:
        results = list(pool.map(apply, jobs))
    if args.choose_bias:
        held_out_table(results, cols, args.seeds)
        return
    names = [r.name for r in rules(0)]
    table = Table(
        title=f"Stopping rules on {args.model}'s runs ({args.seeds} seeds, 1+1 priors; "
        f"target recall {TARGET:.0%}, confidence {CONFIDENCE:.0%}): missed runs / mean saved"
    )
    table.add_column("collection")
    table.add_column("N", justify="right")
    table.add_column("relevant", justify="right")
    table.add_column("ceiling", justify="right")
    for rule in names:
        table.add_column(rule, justify="right")
    totals = {rule: ([], []) for rule in names}
    ceilings: list[float] = []
    per_collection_ok = {rule: 0 for rule in names}
    for c in cols:
        n = len(load(c)[1])
        mine = [r for name, _, r in results if name == c.name]
        found = [job[1] for job in jobs if job[0] == c.name]
        best = [ceiling(f, n) for f in found]
        ceilings.extend(best)
        cells = [c.name, str(n), str(len(found[0])), f"{100 * np.mean(best):4.1f}%"]
        for rule in names:
            stops = [r[rule] for r in mine]
            missed = sum(s["recall"] < TARGET for s in stops)
            saved = [s["records_saved"] / n for s in stops]
            totals[rule][0].append(missed)
            totals[rule][1].extend(saved)
            per_collection_ok[rule] += missed <= 0.05 * len(stops)
            cells.append(f"{missed}/{len(stops)}  {100 * np.mean(saved):4.1f}%")
        table.add_row(*cells)
    total_runs = len(results)
    table.add_row(
        "all runs",
        "",
        "",
        f"{100 * np.mean(ceilings):.1f}%",
        *(
            f"{sum(totals[r][0])}/{total_runs} ({100 * sum(totals[r][0]) / total_runs:.1f}%)  "
            f"{100 * np.mean(totals[r][1]):.1f}%"
            for r in names
        ),
    )
    table.add_row(
        "worst collection",
        "",
        "",
        "",
        *(_worst(totals[r][0], [c.name for c in cols], args.seeds) for r in names),
    )
    table.add_row(
        "collections kept",
        "",
        "",
        "",
        *(f"{per_collection_ok[r]}/{len(cols)}" for r in names),
    )
    console.print(table)


if __name__ == "__main__":
    main()
