"""Evaluation scoring, the evidence map, the characteristics table and the figures."""

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from metasift.extraction import plots
from metasift.extraction.evaluate import score, score_field
from metasift.extraction.evidence import characteristics_table, evidence_counts
from metasift.extraction.forms import extraction_settings
from metasift.extraction.vocab import load_vocabularies, vocabulary_folder
from tests.extraction import FLAGSHIP_VOCAB, flagship_extraction

ROOT = Path(__file__).resolve().parents[2]
GOLD = Path(__file__).parent / "gold.jsonl"


def test_scoring_on_a_tiny_gold():
    gold = [
        {"design": "RCT", "disease": ["psoriasis"], "intervention": ["ADMSC", "SVF"]},
        {"design": "review", "disease": [], "intervention": ["ADMSC"]},
        {"design": None, "disease": ["acne"]},
        {"design": "in vitro", "disease": ["acne", "wounds"], "intervention": []},
    ]
    predicted = [
        {"design": "RCT", "disease": {"psoriasis", "wounds"}, "intervention": {"ADMSC"}},
        {"design": "animal in vivo", "disease": set(), "intervention": {"ADMSC"}},
        {"design": "RCT", "disease": {"acne"}, "intervention": {"fat grafting"}},
        {"design": None, "disease": {"acne"}, "intervention": {"SVF"}},
    ]
    design, disease, intervention = score(gold, predicted, ["design", "disease", "intervention"])
    # design: 1 right, 1 wrong (FP and FN), 1 abstained (FN), 1 without gold (not scored).
    assert (design.studies, design.tp, design.fp, design.fn) == (3, 1, 1, 2)
    assert (design.precision, design.recall) == (0.5, 1 / 3)
    assert (disease.studies, disease.tp, disease.fp, disease.fn) == (4, 3, 1, 1)
    assert (disease.precision, disease.recall) == (0.75, 0.75)
    # intervention: record 3 has no gold intervention key and is skipped.
    assert (intervention.studies, intervention.tp, intervention.fp, intervention.fn) == (3, 2, 1, 1)
    empty = score_field("species", gold, predicted)
    assert (empty.studies, empty.precision, empty.recall) == (0, None, None)


def test_gold_file_is_well_formed():
    gold = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines()]
    assert len(gold) >= 40
    vocab = load_vocabularies(files=vocabulary_folder(FLAGSHIP_VOCAB))
    designs = {
        "RCT",
        "non-randomised clinical",
        "animal in vivo",
        "in vitro",
        "review",
        "case report",
        "other",
        None,
    }
    interventions = {
        "ADMSC",
        "ADMSC exosomes/EVs",
        "ADMSC conditioned medium/secretome",
        "SVF",
        "fat grafting",
        "MSC (other source)",
        "MSC (source not stated)",
        "platelet-rich plasma",
    }
    corpus = (ROOT / "examples/admsc-skin/records.jsonl").read_text(encoding="utf-8").splitlines()
    for g in gold:
        assert json.loads(corpus[g["line"] - 1])["title"] == g["title"]
        assert g["design"] in designs
        assert set(g["disease"]) <= set(vocab["diseases"].names)
        assert set(g["intervention"]) <= interventions
        for key, category in (
            ("species", "species"),
            ("model", "models"),
            ("outcomes", "outcomes"),
        ):
            assert set(g.get(key, [])) <= set(vocab[category].names), (g["line"], key)
    assert {g["split"] for g in gold} == {"dev", "heldout"}


def test_benchmark_script_prints_the_table():
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/extraction_eval.py")],
        capture_output=True,
        text=True,
        check=True,
        env={"COLUMNS": "160", "PATH": ""},
    ).stdout
    assert "extraction suggestions vs gold: all (72 records)" in out
    for field in ("design", "disease", "intervention", "species", "model", "outcomes"):
        assert f"│ {field}" in out


VALUES = {
    1: {"disease": ["psoriasis"], "intervention": ["ADMSC"], "design": "animal in vivo"},
    2: {
        "disease": ["psoriasis", "atopic dermatitis"],
        "intervention": ["ADMSC exosomes/EVs"],
        "design": "RCT",
    },
    3: {
        "disease": ["atopic dermatitis"],
        "intervention": ["ADMSC exosomes/EVs", "ADMSC"],
        "design": "animal in vivo",
    },
    4: {"disease": ["atopic dermatitis"], "design": "in vitro"},
}


def test_evidence_counts():
    emap = evidence_counts(VALUES)
    assert emap.rows == ["atopic dermatitis", "psoriasis"]
    assert emap.columns == ["ADMSC", "ADMSC exosomes/EVs", "not reported"]
    assert emap.layers == ["animal in vivo", "in vitro", "RCT"]
    assert emap.matrix() == [[1, 2, 1], [1, 1, 0]]
    assert emap.matrix("animal in vivo") == [[1, 1, 0], [1, 0, 0]]
    assert emap.studies[("atopic dermatitis", "ADMSC exosomes/EVs", "RCT")] == [2]
    assert emap.records()[0] == {
        "disease": "atopic dermatitis",
        "intervention": "ADMSC",
        "design": "animal in vivo",
        "studies": 1,
        "study_ids": [3],
    }


def test_characteristics_table():
    form = extraction_settings(flagship_extraction()).form
    table = characteristics_table(
        [(1, "Lee 2021"), (2, "Kim <2022>")],
        VALUES,
        form,
        {1: {"ADSC": {"n": 10, "dose": "1e6"}, "vehicle": {"n": 10}}},
    )
    assert table.columns[:4] == ["study", "Study design", "disease", "intervention"]
    assert table.as_dicts()[0]["arms"] == "ADSC (dose=1e6, n=10); vehicle (n=10)"
    assert table.rows[1][:4] == [
        "Kim <2022>",
        "RCT",
        "psoriasis; atopic dermatitis",
        "ADMSC exosomes/EVs",
    ]
    assert (
        table.to_csv()
        .splitlines()[1]
        .startswith('"Lee 2021","animal in vivo","psoriasis","ADMSC",')
    )
    assert "<td>Kim &lt;2022&gt;</td>" in table.to_html()


@dataclass
class Row:
    label: str
    result: str
    domains: dict
    overall: str | None


def test_figures_are_written(tmp_path):
    rows = [
        Row(
            "Yao 2021",
            "",
            {"D1": "Low", "D2": "High", "D3": "Low", "D4": "Low", "D5": "Some concerns"},
            "High",
        ),
        Row(
            "Lee 2024",
            "PASI",
            {"D1": "Low", "D2": "Low", "D3": "Low", "D4": "Low", "D5": "Low"},
            "Low",
        ),
    ]
    svg = plots.save(plots.traffic_light(rows, "rob2"), tmp_path / "tl.svg").read_text()
    assert "Yao 2021" in svg and "Lee 2024 [PASI]" in svg and "Overall" in svg
    assert "D5: Selection of the reported result" in svg
    png = plots.save(plots.summary_plot(rows, "rob2"), tmp_path / "summary.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    syrcle = [Row("Cho 2018", "", {str(i): "Unclear" for i in range(1, 11)}, None)]
    svg = plots.save(plots.traffic_light(syrcle, "syrcle"), tmp_path / "s.svg").read_text()
    assert "D10" in svg and "Overall" not in svg
    heat = plots.save(plots.evidence_heatmap(evidence_counts(VALUES)), tmp_path / "map.svg")
    assert "atopic dermatitis" in heat.read_text()
