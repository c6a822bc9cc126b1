"""Runs inside ASReview's own virtual environment (started by screening_vs_asreview.py).

Reads a CSV (title, abstract, label_included), labels the given prior rows, runs ASReview's
default model (elas_u4) exactly as `asreview simulate` sets it up, and writes the screening
order and the wall and CPU time of the simulation (feature extraction + review) as JSON.
Usage: python _asreview_worker.py DATA.csv OUT.json PRIOR_IDX...
"""

import json
import sys
import time

from asreview import load_dataset
from asreview.learner import ActiveLearningCycle
from asreview.models.models import get_ai_config
from asreview.models.queriers import TopDown
from asreview.models.stoppers import IsFittable, LastRelevant
from asreview.simulation.simulate import Simulate


def main() -> None:
    data, out, *prior = sys.argv[1:]
    prior_idx = [int(i) for i in prior]
    with load_dataset(data, dataset_id="bench") as db:
        df, labels = db.input.get_df(), db.input["included"]
        start, cpu = time.perf_counter(), time.process_time()
        cycles = [
            ActiveLearningCycle(querier=TopDown(), stopper=IsFittable()),
            ActiveLearningCycle.from_meta(get_ai_config("elas_u4")["value"]),
        ]
        sim = Simulate(df, labels, cycles, stopper=LastRelevant(), print_progress=False)
        sim.label(prior_idx)
        sim.review()
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        order = [int(i) for i in sim._results["record_id"]]
    # record_id in ASReview is the 0-based row of the CSV.
    with open(out, "w") as fh:
        json.dump({"order": order, "wall_time": wall, "cpu_time": cpu}, fh)


if __name__ == "__main__":
    main()
