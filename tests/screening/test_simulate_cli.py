"""`metasift simulate` on the real mini SYNERGY folder and on a CSV: in-process through typer's
runner, and once as a subprocess to check that errors are messages, not tracebacks."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

from typer.testing import CliRunner

from metasift.cli import app
from metasift.records.formats import read_records
from metasift.screening import metrics
from tests.conftest import FIXTURES

MINI = FIXTURES / "synergy_mini"


def run(*args: str):
    return CliRunner().invoke(app, ["simulate", *args])


def run_process(*args: str):
    return subprocess.run(
        [sys.executable, "-m", "metasift.cli", "simulate", *args], capture_output=True, text=True
    )


def test_simulate_writes_json_and_plot(tmp_path):
    out, png = tmp_path / "sim.json", tmp_path / "curve.png"
    result = run(str(MINI), "--seed", "3", "--json", str(out), "--plot", str(png))
    assert result.exit_code == 0, result.output
    assert "wss@95" in result.stdout and "stop: hypergeometric" in result.stdout
    doc = json.loads(out.read_text())
    order = doc["order"]
    assert len(order) == 40 and doc["n_prior"] == 2
    assert [o["label"] for o in order[:2]] == [1, 0]  # priors first: 1 included, 1 excluded
    assert sorted(o["record_id"] for o in order) == list(range(1, 41))
    labels = [o["label"] for o in order]
    assert doc["metrics"] == json.loads(json.dumps(metrics.summary(labels, 2)))
    assert set(doc["stopping"]) == {
        "hypergeometric",
        "biased-urn",
        "hypergeometric-sampled",
        "knee",
        "safe",
        "consecutive",
    }
    for stop in doc["stopping"].values():
        assert {"stop_at", "recall", "records_saved"} <= set(stop)
    assert doc["wall_time"] > 0 and doc["seed"] == 3
    assert doc["model"] == "svm+logistic-bmi/words+stems+mesh+chars/bmi-low+authors"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_simulate_a_csv_with_a_label_column_and_criteria_prior(tmp_path):
    data = tmp_path / "mini.csv"
    with data.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Title", "Abstract", "eligible"])
        for r in read_records(MINI):
            writer.writerow([r.title, r.abstract or "", "yes" if r.label else "no"])
    criteria = tmp_path / "criteria.txt"
    criteria.write_text((MINI / "criteria.txt").read_text(), encoding="utf-8")
    out = tmp_path / "sim.json"
    result = run(
        str(data),
        "--label-column",
        "eligible",
        "--prior",
        "criteria",
        "--criteria",
        str(criteria),
        "--prior-included",
        "0",
        "--json",
        str(out),
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["prior"] == "criteria" and doc["n_prior"] == 0
    assert sum(o["label"] for o in doc["order"]) == 10


def test_simulate_errors_are_messages(tmp_path):
    data = tmp_path / "nolabels.jsonl"
    data.write_text('{"title": "A"}\n{"title": "B"}\n', encoding="utf-8")
    result = run_process(str(data))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "no include label" in result.stderr and "--label-column" in result.stderr


def test_zip_bomb_is_refused_with_a_message(tmp_path):
    import shutil
    import zipfile

    folder = tmp_path / "bomb"
    folder.mkdir()
    shutil.copy(MINI / "labels.csv", folder / "labels.csv")
    with zipfile.ZipFile(folder / "works_1.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("works_1.json", b"[" + b" " * (64 * 2**20) + b"]")
    result = run_process(str(folder))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr
    assert "works_1.zip:works_1.json" in result.stderr
    assert "refused as a possible zip bomb" in result.stderr


def test_priors_by_position_and_stopping_at_the_last_relevant_record(tmp_path):
    """--prior-idx pairs a run with ASReview's; by default ranking stops once every relevant
    record is found, and --screen-all ranks the rest without changing any metric or stop."""
    labels = [r.label for r in read_records(MINI)]
    first_in, first_out = labels.index(1), labels.index(0)
    docs = {}
    for flag in ([], ["--screen-all"]):
        out = tmp_path / f"sim{len(flag)}.json"
        args = ["--prior-idx", str(first_out), "--prior-idx", str(first_in), "--json", str(out)]
        result = run(str(MINI), *args, *flag)
        assert result.exit_code == 0, result.output
        assert f"priors: records {first_out}, {first_in}" in result.stdout
        docs[bool(flag)] = json.loads(out.read_text())
    early, full = docs[False], docs[True]
    ids = [r.source_position for r in read_records(MINI)]
    assert [o["record_id"] for o in early["order"][:2]] == [ids[first_out], ids[first_in]]
    assert early["metrics"] == full["metrics"] and early["stopping"] == full["stopping"]
    assert early["n_rankings"] < full["n_rankings"]


def test_prior_positions_outside_the_dataset_are_refused():
    result = run_process(str(MINI), "--prior-idx", "40")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "record 40 is not in the dataset; give distinct positions from 0 to 39" in result.stderr
