"""Forest and funnel plots are written in every format, with the rows they should show."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from metasift.synthesis import SynthesisError, escalc, rma, subgroup, trimfill
from metasift.synthesis.plots import RobDots, forest, funnel
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


def _texts(svg: str) -> list[str]:
    """The text elements of an SVG (matplotlib keeps text as text with svg.fonttype none)."""
    return [html.unescape(t) for t in re.findall(r">([^<>]+)</text>", svg)]


def test_forest_shows_studies_weights_pooled_and_prediction(tmp_path: Path) -> None:
    _, es = _bcg()
    res = rma(es, method="REML")
    svg = tmp_path / "f.svg"
    forest(res, svg)
    text = svg.read_text()
    for label in (
        "Aronson",
        "Comstock &amp; Webster",
        "Total (95% CI)",
        "IV, Random (REML), 95% CI",
        "Prediction interval",
        "Risk Ratio",
        "Weight",
    ):
        assert label in text, label
    # the back-transformed pooled estimate and weights as metafor computes them
    assert "0.49 [0.34, 0.70]" in text
    assert f"{res.weights[0]:.1f}%" in text
    # 13 studies and the total; I² ends the heterogeneity line
    assert len(re.findall(r"\d%</text>", text)) == 15


def _bcg_arms():
    rows = mc.table("bcg")
    es = escalc(
        "RR",
        ai=[r["tpos"] for r in rows],
        bi=[r["tneg"] for r in rows],
        ci=[r["cpos"] for r in rows],
        di=[r["cneg"] for r in rows],
        slab=[f"{r['author']} {r['year']}" for r in rows],
    )
    return rows, es


ROB2 = {"Low": ("#02C100", "+"), "Some concerns": ("#E2DF07", "−"), "High": ("#BF0000", "×")}


def test_forest_in_revman_layout(tmp_path: Path) -> None:
    _, es = _bcg_arms()
    fit = rma(es, method="REML")
    judged = {
        "Aronson 1948": ["Low", "Low", "High", "Low", "Low", "High"],
        "TPT Madras 1980": ["Some concerns", "Low", "Low", "Low", "Low", "Some concerns"],
    }
    rob = RobDots(
        "RoB 2",
        ["D1", "D2", "D3", "D4", "D5", "Overall"],
        ["D1: Randomisation process", "D5: Selection of the reported result"],
        ROB2,
        judged,
    )
    svg = tmp_path / "revman.svg"
    forest(fit, svg, arms=es.tables, arm_labels=("BCG", "Control"), rob=rob)
    texts = _texts(svg.read_text())
    # per-arm column headers, weights, the estimate's measure and model, the dots' columns
    for header in ("Study or Subgroup", "BCG", "Control", "Events", "Total", "Weight"):
        assert header in texts, header
    assert texts.count("Events") == 2 and texts.count("Total") == 2
    columns = ["Risk of Bias", "D1", "D2", "D3", "D4", "D5", "Overall"]
    assert [t for t in texts if t in columns] == columns
    # Aronson's row: 4/123 against 11/139, its weight and risk ratio
    i = texts.index("Aronson 1948")
    assert texts[i + 1 : i + 7] == ["4", "123", "11", "139", "5.1%", "0.41 [0.13, 1.26]"]
    # the studies' weights add up to 100% (each rounded to 0.1)
    weights = [float(t[:-1]) for t in texts if re.fullmatch(r"\d+\.\d%", t)]
    assert weights[-1] == 100.0 and sum(weights[:-1]) == pytest.approx(100, abs=0.1 * 13)
    assert len(weights) == 14
    # totals per arm, total events, heterogeneity and overall effect as RevMan writes them
    j = texts.index("Total (95% CI)")
    assert texts[j + 1 : j + 5] == ["191064", "166283", "100.0%", "0.49 [0.34, 0.70]"]
    k = texts.index("Total events")
    assert texts[k + 1 : k + 3] == ["1065", "1510"]
    assert "Heterogeneity: Tau² = 0.31; Chi² = 152.23, df = 12 (P < 0.00001); I² = 92%" in texts
    assert "Test for overall effect: Z = 3.97 (P = 0.00007)" in texts
    assert "Favours BCG" in texts and "Favours control" in texts
    # the risk-of-bias dots: six symbols for each of the two judged studies, and the legend
    assert sum(t in ("+", "−", "×") for t in texts) == 12
    assert "Risk of bias legend (RoB 2)" in texts and "D1: Randomisation process" in texts


def test_forest_continuous_arms_and_generic(tmp_path: Path) -> None:
    es = escalc(
        "MD",
        m1i=[10.5, 12.0],
        sd1i=[2.25, 3.0],
        n1i=[20, 30],
        m2i=[11.0, 14.0],
        sd2i=[2.0, 3.5],
        n2i=[21, 29],
        slab=["Ames 2001", "Bell 2003"],
    )
    svg = tmp_path / "md.svg"
    forest(rma(es, method="EE"), svg, arms=es.tables)
    texts = _texts(svg.read_text())
    assert texts.count("Mean") == 2 and texts.count("SD") == 2
    i = texts.index("Ames 2001")
    assert texts[i + 1 : i + 7] == ["10.5", "2.25", "20", "11", "2", "21"]
    assert "IV, Fixed, 95% CI" in texts and "Mean Difference" in texts
    assert any(t.startswith("Heterogeneity: Chi² = ") for t in texts)
    assert "Favours experimental" in texts
    # without arm data: the estimate and its standard error (generic inverse variance)
    forest(rma(es, method="EE"), svg)
    texts = _texts(svg.read_text())
    assert "MD" in texts and "SE" in texts and "-0.5000" in texts


def test_forest_with_subgroups(tmp_path: Path) -> None:
    rows, es = _bcg_arms()
    sg = subgroup(es, [r["alloc"] for r in rows], by="alloc", method="REML")
    svg = tmp_path / "sg.svg"
    forest(sg, svg, overall=rma(es, method="REML"), arms=es.tables)
    texts = _texts(svg.read_text())
    for label in ("alloc = alternate", "alloc = random", "alloc = systematic"):
        assert label in texts, label
    assert texts.count("Subtotal (95% CI)") == 3
    assert texts.count("Total events") == 4
    # the subtotals' weights are shares of the overall model and add up to 100%
    subtotals = [texts[i + 3] for i, t in enumerate(texts) if t == "Subtotal (95% CI)"]
    assert sum(float(w[:-1]) for w in subtotals) == pytest.approx(100, abs=0.15)
    assert sum(t.startswith("Heterogeneity: Tau²") for t in texts) == 4
    assert sum(t.startswith("Test for overall effect: Z = ") for t in texts) == 4
    assert any(
        re.fullmatch(
            r"Test for subgroup differences: Chi² = [\d.]+, df = 2 \(P = [\d.]+\), "
            r"I² = [\d.]+%",
            t,
        )
        for t in texts
    )


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
