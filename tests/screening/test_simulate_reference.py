"""The default model's screening order on a real collection is pinned, and the earlier
defaults' too: speed-ups to the simulation (features, retraining, the CLI) must leave every
ranking bit for bit the same, since each default was chosen by a held-out protocol on exactly
these orders. Each model runs on the file its orders were captured from (``data``): the
default reads authors and MeSH headings, which the first file does not carry."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from metasift.cli import app
from tests.conftest import FIXTURES

HERE = FIXTURES / "simulate_reference"
PINNED = json.loads((HERE / "orders.json").read_text())


CASES = [(model, seed) for model, orders in PINNED["orders"].items() for seed in sorted(orders)]


@pytest.mark.parametrize(("model", "seed"), CASES)
def test_model_order_is_unchanged(tmp_path, model, seed):
    """The default as ``simulate`` picks it, and each earlier default by name."""
    out = tmp_path / "sim.json"
    chosen = [] if model == PINNED["default"] else ["--model", model]
    result = CliRunner().invoke(
        app,
        [
            "simulate", str(HERE / PINNED["data"][model]), "--label-column", "label_included",
            "--seed", seed, "--screen-all", "--json", str(out), *chosen,
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["model"] == model
    assert [o["record_id"] for o in doc["order"]] == PINNED["orders"][model][seed]


def test_run_until_all_found_ranks_as_far_as_the_pinned_order(tmp_path):
    out = tmp_path / "sim.json"
    csv = HERE / PINNED["data"][PINNED["default"]]
    result = CliRunner().invoke(
        app, ["simulate", str(csv), "--label-column", "label_included", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    labels = [o["label"] for o in doc["order"]]
    last = max(i for i, label in enumerate(labels) if label) + 1
    order = [o["record_id"] for o in doc["order"]]
    assert order[:last] == PINNED["orders"][PINNED["default"]]["0"][:last]
    assert order[last:] == sorted(order[last:])  # the rest, all irrelevant, in file order
