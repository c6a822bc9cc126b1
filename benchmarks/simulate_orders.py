"""The screening order of the default model on every collection, written once and checked after.

Speed-ups to `metasift simulate` must not change what it ranks: the default model was chosen
by benchmarks/screening_selection.py, and a different order would need that protocol re-run.
This script runs the default model on each of the 19 collections of
benchmarks/_screening_data.py (the priors drawn with the seed, as simulate_wall.py draws them;
every record screened, not only up to the last relevant one) and either writes the orders to
a JSON file or checks them against one written before a change.

    .venv/bin/python benchmarks/simulate_orders.py --write benchmarks/out/orders.json
    .venv/bin/python benchmarks/simulate_orders.py --check benchmarks/out/orders.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _screening_data import collections, load

from metasift.screening.features import record_texts
from metasift.screening.models import get_model
from metasift.screening.simulate import Prior, choose_priors, simulate


def orders(seeds: int) -> dict[str, list[int]]:
    """``{"collection/seed": order}`` of the default model on every collection."""
    model = get_model("default")
    out: dict[str, list[int]] = {}
    for c in collections():
        records, labels = load(c)
        texts = record_texts(records, model.text_fields)
        for seed in range(seeds):
            start = time.perf_counter()
            priors = choose_priors(labels, Prior(1, 1), seed)
            result = simulate(texts, labels, model=model, seed=seed, prior_indices=priors)
            out[f"{c.name}/{seed}"] = result.order
            print(f"{c.name} seed {seed}: {len(labels)} records, "
                  f"{time.perf_counter() - start:.1f} s", flush=True)  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--write", type=Path, help="Write the orders here.")
    what.add_argument("--check", type=Path, help="Compare the orders with this file.")
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args()
    found = orders(args.seeds)
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(json.dumps(found))
        print(f"Wrote {len(found)} orders to {args.write}")
        return
    expected = json.loads(args.check.read_text())
    differ = [k for k in found if found[k] != expected.get(k)]
    for key in differ:
        other = expected.get(key, [])
        first = next(
            (i for i, (a, b) in enumerate(zip(found[key], other, strict=False)) if a != b), 0
        )
        print(f"{key}: differs from position {first}")
    print(f"{len(found) - len(differ)} of {len(found)} orders identical")
    if differ:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
