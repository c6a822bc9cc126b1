"""Where the CPU time of one `metasift simulate` goes, stage by stage, on the collections given.

Runs what the command runs, in one process, with the default model, the priors drawn as
simulate_wall.py draws them and the run stopping at the last relevant record, and reports the
CPU time (time.process_time) of each stage: imports, reading the dataset, each feature
matrix, each member's liblinear fits, the rest of the retrains (row slices, score products,
standardising), and what follows (ranking, stopping rules). Interpreter start-up is measured
apart (`python -c pass`). CPU time, not wall: the shared machine's other load does not
inflate it.

    .venv/bin/python benchmarks/simulate_profile.py BetaBlockers Kitchenham_2010
"""

from __future__ import annotations

import time

START = time.process_time()

import argparse  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from collections import defaultdict  # noqa: E402

from _screening_data import collections, load  # noqa: E402

import metasift.cli  # noqa: E402, F401  (the command's own imports, as it pays them)
from metasift.screening import learner as learner_module  # noqa: E402
from metasift.screening.datasets import load_dataset  # noqa: E402
from metasift.screening.features import MemberFeatures, record_texts  # noqa: E402
from metasift.screening.models import get_model  # noqa: E402
from metasift.screening.simulate import Prior, choose_priors  # noqa: E402
from metasift.screening.simulate import simulate as run_simulation  # noqa: E402

IMPORTS = time.process_time() - START


def start_up() -> float:
    """CPU seconds of an interpreter that imports nothing."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; t = os.times(); print(t.user + t.system)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout)


def profile(name: str) -> dict[str, float]:
    """CPU seconds per stage of one simulation of collection ``name``."""
    (c,) = [c for c in collections() if c.name == name]
    times: dict[str, float] = defaultdict(float)
    t = time.process_time()
    load_dataset(c.path, label_column=c.label_column)  # as the command reads it
    times["read dataset"] = time.process_time() - t
    records, labels = load(c)
    model = get_model("default").for_records(len(labels))
    texts = record_texts(records, model.text_fields)
    extractor = model.make_features()
    assert isinstance(extractor, MemberFeatures)
    done: dict[str, object] = {}
    features = []
    for member, e in zip(model.members, extractor.extractors, strict=True):
        key = f"{type(e).__name__}{sorted(e.get_params().items())!r}"
        if key not in done:
            t = time.process_time()
            done[key] = e.fit_transform(texts)
            times[f"features: {member.features} {member.feature_params or ''}"] += (
                time.process_time() - t
            )
        features.append(done[key])
    train = learner_module._train

    # A member that draws its pseudo-negatives from the lower half of a first fit calls
    # _train inside _train: that first fit is counted on its own line, not twice.
    inside = []  # CPU seconds of the first fits made inside each running fit

    def timed_train(X, labelled, y, m, seed):
        inside.append(0.0)
        t = time.process_time()
        fitted = train(X, labelled, y, m, seed)
        spent = time.process_time() - t
        own = spent - inside.pop()
        if inside:
            inside[-1] += spent
            times[f"fits: {m.name}, first fit for the draw ({X.shape[1]:,} features)"] += own
        else:
            times[f"fits: {m.name} ({X.shape[1]:,} features)"] += own
        return fitted

    fit_scores = learner_module.fit_scores

    def timed_fit_scores(*args):
        t = time.process_time()
        scores = fit_scores(*args)
        times["retrains (all)"] += time.process_time() - t
        return scores

    learner_module._train = timed_train
    learner_module.fit_scores = timed_fit_scores
    try:
        priors = choose_priors(labels, Prior(1, 1), 0)
        t = time.process_time()
        result = run_simulation(
            texts, labels, model=model, seed=0, prior_indices=priors, features=features,
            until_all_found=True,
        )  # fmt: skip
        times["simulation (after features)"] = time.process_time() - t
    finally:
        learner_module._train = train
        learner_module.fit_scores = fit_scores
    fits = sum(v for k, v in times.items() if k.startswith("fits: "))
    times["retrains: slices, products, standardising"] = times.pop("retrains (all)") - fits
    times["set-up, ranking, stopping rules, metrics"] = times["simulation (after features)"] - (
        fits + times["retrains: slices, products, standardising"]
    )
    times["retrains (count)"] = result.n_rankings
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("collections", nargs="+")
    args = parser.parse_args()
    print(f"interpreter start-up: {start_up():.2f} s CPU; imports: {IMPORTS:.2f} s CPU")
    skip = ("simulation (after features)", "retrains (count)")
    for name in args.collections:
        times = profile(name)
        total = sum(v for k, v in times.items() if k not in skip)
        count = times["retrains (count)"]
        print(f"\n{name}: {total:.2f} s CPU after imports, {count:.0f} retrains")
        for key, value in times.items():
            if key not in skip:
                print(f"  {value:6.2f} s  {100 * value / total:5.1f}%  {key}")


if __name__ == "__main__":
    main()
