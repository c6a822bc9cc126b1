"""Runs every case of reference/metafor.json through metasift and pairs the statistics.

Used by the tests (every pair within 1e-6 relative, 1e-10 absolute near zero) and by
benchmarks/metafor_agreement.py (how many statistics, the largest differences).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from metasift.synthesis import (
    cumul,
    effect_sizes,
    fsn,
    leave1out,
    ranktest,
    read_csv,
    regtest,
    rma,
    rma_mh,
    rma_peto,
    subgroup,
    trimfill,
)
from metasift.synthesis.effects import EffectSizes

HERE = Path(__file__).parent
DATA = HERE / "data"
REFERENCE = HERE / "reference" / "metafor.json"
RTOL = 1e-6
ATOL = 1e-10
SECTIONS = (
    "escalc",
    "rma",
    "subgroup",
    "mh",
    "regtest",
    "ranktest",
    "trimfill",
    "fsn",
    "leave1out",
    "cumul",
)


@cache
def reference() -> dict[str, Any]:
    return json.loads(REFERENCE.read_text())


@cache
def table(dataset: str) -> list[dict[str, Any]]:
    return read_csv(DATA / f"{dataset}.csv")


@cache
def escalc_cases() -> dict[str, dict[str, Any]]:
    return {case["name"]: case for case in reference()["escalc"]}


def effects(name: str) -> EffectSizes:
    case = escalc_cases()[name]
    options = dict(case["options"])
    rows = table(case["dataset"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return effect_sizes(rows, case["measure"], columns=case["columns"], **options)


def column(name: str, col: str) -> list[Any]:
    return [row.get(col) for row in table(escalc_cases()[name]["dataset"])]


def _fit(case: dict[str, Any]) -> Any:
    es = effects(case["effect"])
    yi, vi = es.yi, es.vi
    if "rows" in case:
        idx = np.atleast_1d(case["rows"]).astype(int)
        yi, vi = yi[idx], vi[idx]
    if "identical_yi" in case:
        yi = np.full_like(yi, case["identical_yi"])
    mods = {m: column(case["effect"], m) for m in case["mods"]} or None
    return rma(yi, vi, method=case["method"], test=case["test"], mods=mods)


def _result_dict(res: Any) -> dict[str, Any]:
    return {
        "b": res.b,
        "se": res.se,
        "zval": res.zval,
        "pval": res.pval,
        "ci_lb": res.ci_lb,
        "ci_ub": res.ci_ub,
        "tau2": res.tau2,
        "se_tau2": res.se_tau2,
        "I2": res.I2,
        "H2": res.H2,
        "QE": res.QE,
        "QEp": res.QEp,
        "QM": res.QM,
        "QMp": res.QMp,
        "QMdf": [np.nan if d is None else d for d in res.QMdf],
        "k": res.k,
        "p": res.p,
        "ddf": np.nan if res.ddf is None else res.ddf,
        "R2": res.R2,
        "pi_lb": res.pi_lb,
        "pi_ub": res.pi_ub,
        "tau2_ci_lb": res.tau2_ci_lb,
        "tau2_ci_ub": res.tau2_ci_ub,
        "I2_ci_lb": res.I2_ci_lb,
        "I2_ci_ub": res.I2_ci_ub,
        "H2_ci_lb": res.H2_ci_lb,
        "H2_ci_ub": res.H2_ci_ub,
        "coef_names": res.coef_names,
    }


def _escalc(case: dict[str, Any]) -> dict[str, Any]:
    es = effects(case["name"])
    return {"yi": es.yi, "vi": es.vi}


def _subgroup(case: dict[str, Any]) -> dict[str, Any]:
    es = effects(case["effect"])
    sg = subgroup(es, column(case["effect"], case["by"]), method=case["method"], test=case["test"])
    out: dict[str, Any] = {
        "QM": sg.QM,
        "QMp": sg.QMp,
        "QMdf": [np.nan if d is None else d for d in sg.QMdf],
        "Qb": sg.Qb,
        "Qbp": sg.Qbp,
        "Qb_df": sg.Qb_df,
    }
    out["groups"] = [{"group": g, **_result_dict(fit)} for g, fit in sg.fits.items()]
    return out


def _mh(case: dict[str, Any]) -> dict[str, Any]:
    rows = table(case["dataset"])
    cols = {arg: [r.get(col) for r in rows] for arg, col in case["columns"].items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if case["measure"] == "PETO":
            res = rma_peto(**cols)
        else:
            res = rma_mh(measure=case["measure"], correct=case["correct"], **cols)
    return res.to_record()


def _bias_model(case: dict[str, Any]) -> Any:
    es = effects(case["effect"])
    return rma(es, method=case["method"], test=case.get("test", "z"), tau2_ci=False)


def _regtest(case: dict[str, Any]) -> dict[str, Any]:
    rt = regtest(_bias_model(case), model=case["model"], predictor=case["predictor"])
    return {
        "zval": rt.zval,
        "pval": rt.pval,
        "ddf": np.nan if rt.ddf is None else rt.ddf,
        "est": rt.est,
        "ci_lb": rt.ci_lb,
        "ci_ub": rt.ci_ub,
    }


def _ranktest(case: dict[str, Any]) -> dict[str, Any]:
    es = effects(case["effect"])
    rk = ranktest(es.yi, es.vi)
    return {"tau": rk.tau, "pval": rk.pval}


def _trimfill(case: dict[str, Any]) -> dict[str, Any]:
    side = None if case["side"] == "auto" else case["side"]
    tf = trimfill(_bias_model(case), estimator=case["estimator"], side=side)
    out = _result_dict(tf.fit)
    out.update(
        k0=tf.k0,
        se_k0=tf.se_k0,
        side=tf.side,
        p_k0=np.nan if tf.p_k0 is None else tf.p_k0,
        yi=tf.fit.yi,
        vi=tf.fit.vi,
        fill=tf.fill,
    )
    return out


def _fsn(case: dict[str, Any]) -> dict[str, Any]:
    es = effects(case["effect"])
    res = fsn(es.yi, es.vi, type=case["type"])
    return {
        "fsnum": res.fsnum,
        "pval": res.pval,
        "alpha": res.alpha,
        "target": res.target,
        "meanes": res.meanes,
    }


def _sens(kind: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def run(case: dict[str, Any]) -> dict[str, Any]:
        res = _bias_model(case)
        if kind == "leave1out":
            out = leave1out(res)
        else:
            order = column(case["effect"], case["order"]) if case["order"] else None
            out = cumul(res, order=[float(o) for o in order] if order else None)
        return {
            key: getattr(out, key)
            for key in (
                "estimate",
                "se",
                "zval",
                "pval",
                "ci_lb",
                "ci_ub",
                "Q",
                "Qp",
                "tau2",
                "I2",
                "H2",
            )
        }

    return run


RUNNERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "escalc": _escalc,
    "rma": lambda case: _result_dict(_fit(case)),
    "subgroup": _subgroup,
    "mh": _mh,
    "regtest": _regtest,
    "ranktest": _ranktest,
    "trimfill": _trimfill,
    "fsn": _fsn,
    "leave1out": _sens("leave1out"),
    "cumul": _sens("cumul"),
}


def run(section: str, case: dict[str, Any]) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return RUNNERS[section](case)


def _is_missing(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def pairs(expected: Any, actual: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
    """(path, expected, actual) for every leaf statistic of the reference."""
    if isinstance(expected, dict):
        for key, value in expected.items():
            if key in ("coef_names", "group", "side"):
                if key in actual or not isinstance(actual, dict):
                    exp_v = value if isinstance(value, list) else [value]
                    act_v = actual.get(key) if isinstance(actual, dict) else None
                    act_v = act_v if isinstance(act_v, list) else [act_v]
                    yield f"{path}.{key}", exp_v, act_v
                continue
            if key not in actual:
                yield f"{path}.{key}", value, "<missing>"
                continue
            yield from pairs(value, actual[key], f"{path}.{key}")
        return
    if isinstance(expected, list) and expected and isinstance(expected[0], dict):
        if len(actual) != len(expected):
            yield f"{path}.len", len(expected), len(actual)
            return
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            yield from pairs(e, a, f"{path}[{i}]")
        return
    exp = np.atleast_1d(
        np.asarray(
            [np.nan if v is None else float(v) for v in np.atleast_1d(expected)], dtype=float
        )
    )
    if _is_missing(actual):
        act = np.full(exp.shape, np.nan)
    else:
        act = np.atleast_1d(np.asarray(actual, dtype=float))
    if exp.shape != act.shape:
        yield f"{path}.shape", exp.shape, act.shape
        return
    for i, (e, a) in enumerate(zip(exp, act, strict=True)):
        yield (f"{path}[{i}]" if len(exp) > 1 else path), float(e), float(a)


def difference(expected: Any, actual: Any) -> float:
    """Relative difference (0 when within the absolute tolerance; inf when not comparable)."""
    if isinstance(expected, list | tuple) or isinstance(actual, list | tuple | str):
        return 0.0 if expected == actual else math.inf
    if isinstance(expected, float) and isinstance(actual, float):
        if math.isnan(expected) and math.isnan(actual):
            return 0.0
        if math.isnan(expected) or math.isnan(actual):
            return math.inf
        if expected == actual:
            return 0.0
        gap = abs(expected - actual)
        if gap <= ATOL:
            return 0.0
        return gap / abs(expected) if expected != 0 else math.inf
    return 0.0 if expected == actual else math.inf


def compare(section: str, case: dict[str, Any]) -> list[tuple[str, Any, Any, float]]:
    actual = run(section, case)
    expected = (
        case["result"]
        if "result" in case
        else {
            key: case[key]
            for key in case
            if key in ("yi", "vi", "QM", "QMp", "QMdf", "Qb", "Qbp", "Qb_df", "groups")
        }
    )
    return [(p, e, a, difference(e, a)) for p, e, a in pairs(expected, actual, case["name"])]
