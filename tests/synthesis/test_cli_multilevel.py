"""`metasift meta --random ... [--cluster ...]`: multilevel models and CR2 tests from the command
line, checked against the R reference in tests/fixtures/multilevel."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from metasift.errors import MetasiftError

FIXTURES = Path(__file__).parents[1] / "fixtures" / "multilevel"
REFERENCE = json.loads((FIXTURES / "reference.json").read_text())


def metasift(*args: str) -> Any:
    from typer.testing import CliRunner

    from metasift.cli import app

    result = CliRunner().invoke(app, ["meta", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_json_has_the_keys_and_numbers_of_r() -> None:
    ref = REFERENCE["konstantopoulos_reml"]
    out = metasift(
        str(FIXTURES / "konstantopoulos2011.csv"),
        "--random",
        "~ 1 | district/school",
        "--method",
        "REML",
        "--cluster",
        "district",
        "--json",
    )
    assert out.exit_code == 0, out.stderr
    got = json.loads(out.stdout)
    for key in ("estimate", "se", "zval", "pval", "ci_lb", "ci_ub"):
        reference = ref["b" if key == "estimate" else key][0]
        assert got[key] == pytest.approx(reference, rel=1e-6), key
    assert got["sigma2"] == pytest.approx(ref["sigma2"], rel=1e-6)
    for key in ("QE", "QEp", "logLik"):
        assert got[key] == pytest.approx(ref[key], rel=1e-6), key
    for key in ("se", "tval", "df", "pval", "ci_lb", "ci_ub"):
        assert got["robust"][key] == pytest.approx(ref["robust"][key][0], rel=1e-6), key


def test_measure_columns_and_moderators_reach_the_model() -> None:
    ref = REFERENCE["bornmann_ml_type"]
    out = metasift(
        str(FIXTURES / "bornmann2007.csv"),
        "--measure",
        "OR",
        *("--column", "ai=waward", "--column", "n1i=wtotal"),
        *("--column", "ci=maward", "--column", "n2i=mtotal"),
        *("--random", "~ 1 | study/obs", "--method", "ML", "--mods", "type"),
        *("--cluster", "study"),
    )
    assert out.exit_code == 0, out.stderr
    assert "Multivariate Meta-Analysis Model (k = 66; method: ML)" in out.stdout
    assert "Number of clusters:    21" in out.stdout
    assert f"{ref['robust']['df'][1]:.2f}" in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cluster", "study"], "--cluster works with a multilevel model"),
        (["--random", "~ 1 | study/esid", "--method", "DL"], "REML or ML"),
        (["--random", "~ 1 | study/esid", "--bias"], "--bias cannot be combined with --random"),
        (["--random", "study/esid"], "write them as metafor does"),
        (["--random", "~ 1 | study/esid", "--cluster", "esid"], "not nested within 'esid'"),
    ],
)
def test_refusals_say_what_to_do(args: list[str], message: str) -> None:
    # in-process the error propagates; main() prints it without a traceback and exits 1
    with pytest.raises(MetasiftError, match=re.escape(message)):
        metasift(str(FIXTURES / "assink2016.csv"), *args)
