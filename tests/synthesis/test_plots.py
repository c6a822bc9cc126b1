"""Forest and funnel plots are written in every format, with the rows they should show."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from metasift.synthesis import SynthesisError, rma, subgroup, trimfill
from metasift.synthesis.plots import forest, funnel
from tests.synthesis import metafor_cases as mc

MAGIC = {".png": b"\x89PNG", ".pdf": b"%PDF", ".svg": b"<?xml"}


def _bcg():
    rows = mc.table("bcg")
    es = mc.effects("bcg_RR")
    es.slab = [r["author"] for r in rows]
    return rows, es


@pytest.mark.parametrize("suffix", [".svg", ".png", ".pdf"])
def test_forest_in_each_format(tmp_path: Path, suffix: str) -> None:
    _, es = _bcg()
    out = tmp_path / f"forest{suffix}"
    forest(rma(es, method="REML"), out, title="BCG")
    assert out.read_bytes().startswith(MAGIC[suffix])


def test_forest_shows_studies_weights_pooled_and_prediction(tmp_path: Path) -> None:
    _, es = _bcg()
    res = rma(es, method="REML")
    svg = tmp_path / "f.svg"
    forest(res, svg)
    text = svg.read_text()
    for label in (
        "Aronson",
        "Comstock &amp; Webster",
        "Random-effects model (REML)",
        "Prediction interval",
        "Risk ratio (log scale)",
        "Weight",
    ):
        assert label in text, label
    # the back-transformed pooled estimate and weights as metafor computes them
    assert "0.49 [0.34, 0.70]" in text
    assert f"{res.weights[0]:.1f}%" in text
    assert len(re.findall(r"%</text>", text)) == 13


def test_forest_with_subgroups(tmp_path: Path) -> None:
    rows, es = _bcg()
    sg = subgroup(es, [r["alloc"] for r in rows], by="alloc", method="REML")
    svg = tmp_path / "sg.svg"
    forest(sg, svg, overall=rma(es, method="REML"))
    text = svg.read_text()
    for label in (
        "alloc = alternate",
        "alloc = random",
        "alloc = systematic",
        "Subtotal (7 studies)",
        "Test for subgroup differences",
    ):
        assert label in text, label


def test_funnels(tmp_path: Path) -> None:
    es = mc.effects("hackshaw_yivi")
    res = rma(es, method="FE")
    funnel(res, tmp_path / "a.png")
    funnel(res, tmp_path / "b.svg", contours=True)
    tf = trimfill(res)
    funnel(tf, tmp_path / "c.svg", contours=True)
    assert "Imputed (trim-and-fill)" in (tmp_path / "c.svg").read_text()
    assert "0.01 &lt; p &lt; 0.05" in (tmp_path / "b.svg").read_text()
    assert (tmp_path / "a.png").read_bytes().startswith(MAGIC[".png"])


def test_unknown_format(tmp_path: Path) -> None:
    es = mc.effects("hackshaw_yivi")
    with pytest.raises(SynthesisError, match=r"\.svg, \.png, \.pdf"):
        funnel(rma(es), tmp_path / "plot.jpg")
