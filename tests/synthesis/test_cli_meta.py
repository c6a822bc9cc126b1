"""`metasift meta`: the command's code in-process (typer's runner, fast), and once as users run
it (the installed entry point in a subprocess); numbers checked against the metafor reference."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.synthesis import metafor_cases as mc


def metasift(*args: str) -> Any:
    from typer.testing import CliRunner

    from metasift.cli import app

    result = CliRunner().invoke(app, ["meta", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def _reference(name: str) -> dict:
    return next(c for c in mc.reference()["rma"] if c["name"] == name)["result"]


def _bcg_csv(tmp_path: Path) -> Path:
    """BCG trials with metafor's column names, and one study with a missing cell."""
    path = tmp_path / "bcg.csv"
    rows = mc.table("bcg")
    names = {"tpos": "ai", "tneg": "bi", "cpos": "ci", "cneg": "di"}
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["author", "ai", "bi", "ci", "di", "ablat", "year", "alloc"])
        for row in rows:
            writer.writerow(
                [row["author"], *(row[k] for k in names), row["ablat"], row["year"], row["alloc"]]
            )
        writer.writerow(["Unreported", "", 100, 5, 95, 30, 1990, "random"])
    return path


def test_meta_json_matches_metafor_and_names_dropped_rows(tmp_path: Path) -> None:
    data = _bcg_csv(tmp_path)
    out = metasift(
        str(data),
        "--measure",
        "RR",
        "--method",
        "REML",
        "--knha",
        "--slab",
        "author",
        "--json",
        "--forest",
        str(tmp_path / "f.svg"),
        "--funnel",
        str(tmp_path / "u.png"),
    )
    assert out.exit_code == 0, out.stderr
    got = json.loads(out.stdout)
    ref = _reference("bcg_RR_REML_knha")
    for key in (
        "se",
        "pval",
        "ci_lb",
        "ci_ub",
        "tau2",
        "tau2_ci_lb",
        "tau2_ci_ub",
        "I2",
        "H2",
        "QE",
        "QEp",
        "QM",
        "QMp",
        "pi_lb",
        "pi_ub",
    ):
        assert got[key] == pytest.approx(ref[key], rel=1e-6), key
    assert got["estimate"] == pytest.approx(ref["b"], rel=1e-6)
    assert got["tval"] == pytest.approx(ref["zval"], rel=1e-6) and "zval" not in got
    assert got["k"] == 13
    assert "row 14 (Unreported)" in out.stderr
    assert (tmp_path / "f.svg").exists() and (tmp_path / "u.png").exists()


def test_meta_regression_and_subgroups(tmp_path: Path) -> None:
    data = _bcg_csv(tmp_path)
    out = metasift(
        str(data),
        "--measure",
        "RR",
        "--method",
        "DL",
        "--mods",
        "ablat,year",
        "--by",
        "alloc",
        "--json",
    )
    assert out.exit_code == 0, out.stderr
    got = json.loads(out.stdout)
    ref = _reference("bcg_RR_ablat+year_DL_z")
    assert [c["name"] for c in got["coefficients"]] == ["intrcpt", "ablat", "year"]
    assert got["b"] == pytest.approx(ref["b"], rel=1e-6)
    assert got["zval"] == pytest.approx(ref["zval"], rel=1e-6)
    for key in ("QM", "QMp", "QE", "R2", "tau2"):
        assert got[key] == pytest.approx(ref[key], rel=1e-6), key
    sub = next(c for c in mc.reference()["subgroup"] if c["name"] == "bcg_RR_alloc_DL_z")
    assert got["subgroups"]["QM"] == pytest.approx(sub["QM"], rel=1e-6)
    assert got["subgroups"]["Qb"] == pytest.approx(sub["Qb"], rel=1e-6)
    assert set(got["subgroups"]["groups"]) == {"alternate", "random", "systematic"}


def test_yi_vi_data_need_no_measure(tmp_path: Path) -> None:
    out = metasift(str(mc.DATA / "hackshaw1998.csv"), "--method", "FE", "--json")
    assert out.exit_code == 0, out.stderr
    ref = _reference("hackshaw_yivi_FE_z")
    assert json.loads(out.stdout)["estimate"] == pytest.approx(ref["b"], rel=1e-6)


def test_errors_are_messages_from_the_installed_command() -> None:
    bad = subprocess.run(
        [sys.executable, "-m", "metasift.cli", "meta", str(mc.DATA / "bcg.csv")],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "no --measure given and the data have no yi and vi columns" in bad.stderr


def test_meta_prints_the_fits_own_summary(tmp_path: Path) -> None:
    data = _bcg_csv(tmp_path)
    out = metasift(str(data), "--measure", "RR", "--method", "REML", "--slab", "author")
    assert out.exit_code == 0, out.stderr
    # the 13 trials the command keeps (row 14 has no events count)
    fit = mc.rma(mc.effects("bcg_RR"), method="REML")
    assert out.stdout == fit.summary() + "\n"
    lines = out.stdout.splitlines()
    assert lines[0] == "Random-Effects Model (k = 13; tau^2 estimator: REML)"
    assert "Q(df = 12) = 152.2330, p-val < .0001" in lines
    assert " -0.7145  0.1798  -3.9744  <.0001  -1.0669  -0.3622  ***" in lines


def test_meta_with_subgroups_and_bias_tests_prints_only_formatted_numbers(tmp_path: Path) -> None:
    import re

    data = _bcg_csv(tmp_path)
    for method in ("DL", "MH"):
        out = metasift(str(data), "--measure", "OR", "--method", method, "--by", "alloc", "--bias")
        assert out.exit_code == 0, out.stderr
        assert not re.search(r"\d\.\d{5,}|nan|inf\b", out.stdout), out.stdout
    assert "Subgroups by alloc (tau^2 estimator: REML):" in out.stdout
    assert "Cochran-Mantel-Haenszel Test:" in out.stdout
    out = metasift(str(data), "--measure", "OR", "--method", "DL", "--bias")
    assert "Test for Funnel Plot Asymmetry:    z = " in out.stdout
    assert "Fail-safe N (Rosenthal approach):" in out.stdout
