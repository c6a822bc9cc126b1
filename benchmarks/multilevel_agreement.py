"""Agreement of metasift's multilevel models and CR2 tests with R (metafor's rma.mv,
clubSandwich), case by case.

    python benchmarks/multilevel_agreement.py

Reads tests/fixtures/multilevel/reference.json (written by benchmarks/multilevel_reference.R)
and prints, per model, the largest relative difference over the model's statistics (b, se,
zval, pval, ci, vb, sigma2, QE, QEp, QM, QMp, logLik, deviance, AIC, BIC, AICc) and over the
robust ones (se, tval, df, pval, ci, vb, and the HTZ test of the moderators), how far
metafor's own optimiser stopped from the maximum, and the seconds metasift took. No R needed.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from metasift.synthesis import effect_sizes, moderators, read_csv, rma_mv

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "multilevel"
FIT_KEYS = ("b", "se", "zval", "pval", "ci_lb", "ci_ub", "vb", "sigma2")
FIT_KEYS += ("QE", "QEp", "QM", "QMp", "logLik", "deviance", "AIC", "BIC", "AICc")
ROBUST_KEYS = ("se", "tval", "df", "pval", "ci_lb", "ci_ub", "vb", "QM", "QMdf", "QMp")


def _rel(actual: object, expected: object) -> float:
    a = np.atleast_1d(np.asarray(actual, dtype=float)).ravel()
    e = np.atleast_1d(np.asarray(expected, dtype=float)).ravel()
    return float(np.max(np.abs(a - e) / np.maximum(np.abs(e), 1e-300)))


def main() -> None:
    ref = json.loads((FIXTURES / "reference.json").read_text())
    versions = ref.pop("versions")
    table = Table(
        "model",
        "k",
        "method",
        "max rel. diff (model)",
        "max rel. diff (CR2)",
        "nlminb's stop (rel.)",
        "seconds",
        title=f"metasift vs metafor {versions['metafor']} / clubSandwich "
        f"{versions['clubSandwich']}",
    )
    worst = 0.0
    for name, case in ref.items():
        rows = read_csv(FIXTURES / f"{case['dataset']}.csv")
        spec = dict(case["escalc"] or {})
        measure = spec.pop("measure", None)
        start = time.perf_counter()
        es = effect_sizes(rows, measure, columns=spec)
        data = {column: [row[column] for row in rows] for column in rows[0]}
        mods = moderators(rows, case["mods"]) if case["mods"] else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = rma_mv(es, random=case["random"], data=data, method=case["method"], mods=mods)
        rob = fit.robust(case["cluster"])
        seconds = time.perf_counter() - start
        model = max(_rel(getattr(fit, key), case[key]) for key in FIT_KEYS)
        robust = max(_rel(getattr(rob, key), case["robust"][key]) for key in ROBUST_KEYS)
        worst = max(worst, model, robust)
        table.add_row(
            name,
            str(fit.k),
            case["method"],
            f"{model:.1e}",
            f"{robust:.1e}",
            f"{_rel(case['sigma2_nlminb'], case['sigma2']):.1e}",
            f"{seconds:.3f}",
        )
    console = Console(width=130)
    console.print(table)
    console.print(f"largest relative difference: {worst:.1e} (tests require < 1e-6)")


if __name__ == "__main__":
    main()
