"""Precision and recall of the extraction suggestions against the hand-made gold labels.

    python benchmarks/extraction_eval.py [--gold tests/extraction/gold.jsonl]

Prints one table per split (dev, held-out, all) with the suggesters side by side with a
baseline that takes every vocabulary mention as it is and the majority design.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from metasift.extraction.evaluate import score
from metasift.extraction.suggest import predicted_fields, suggest_all
from metasift.extraction.vocab import load_vocabularies, vocabulary_folder

ROOT = Path(__file__).resolve().parents[1]
FIELDS = {
    "design": "design",
    "disease": "disease",
    "intervention": "intervention",
    "species": "species",
    "model": "model",
    "outcomes": "outcome_measures",
}


def baseline(texts: dict[str, str], vocab, majority: str) -> dict:
    out: dict = {"design": majority}
    field_of = {
        "diseases": "disease",
        "interventions": "intervention",
        "species": "species",
        "models": "model",
        "outcomes": "outcome_measures",
    }
    for category, field in field_of.items():
        found = {m.concept for t in texts.values() if t for m in vocab[category].find(t)}
        out[field] = found
    return out


def fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=ROOT / "tests/extraction/gold.jsonl")
    parser.add_argument("--corpus", type=Path, default=ROOT / "examples/admsc-skin/records.jsonl")
    args = parser.parse_args()
    records = [json.loads(line) for line in args.corpus.read_text().splitlines()]
    gold = [json.loads(line) for line in args.gold.read_text().splitlines()]
    # the flagship's own vocabularies: metasift ships none
    vocab = load_vocabularies(files=vocabulary_folder(ROOT / "examples/admsc-skin/vocab"))
    majority = Counter(g["design"] for g in gold if g["design"]).most_common(1)[0][0]
    started = time.perf_counter()
    ours, base = [], []
    for g in gold:
        record = records[g["line"] - 1]
        texts = {"title": record["title"], "abstract": record["abstract"]}
        predicted = predicted_fields(suggest_all(texts, vocab))
        predicted["outcomes"] = predicted.pop("outcome_measures", set())
        ours.append(predicted)
        b = baseline(texts, vocab, majority)
        b["outcomes"] = b.pop("outcome_measures")
        base.append(b)
    elapsed = time.perf_counter() - started
    console = Console()
    for split in ("dev", "heldout", "all"):
        idx = [i for i, g in enumerate(gold) if split == "all" or g["split"] == split]
        g_sub = [gold[i] for i in idx]
        ours_scores = score(g_sub, [ours[i] for i in idx], FIELDS)
        base_scores = score(g_sub, [base[i] for i in idx], FIELDS)
        table = Table(title=f"extraction suggestions vs gold: {split} ({len(idx)} records)")
        for col in (
            "field",
            "studies",
            "TP",
            "FP",
            "FN",
            "precision",
            "recall",
            "baseline P",
            "baseline R",
            "P ratio",
        ):
            table.add_column(col, justify="left" if col == "field" else "right")
        for s, b in zip(ours_scores, base_scores, strict=True):
            ratio = (
                f"{s.precision / b.precision:.2f}"
                if s.precision is not None and b.precision
                else "-"
            )
            table.add_row(
                s.field,
                str(s.studies),
                str(s.tp),
                str(s.fp),
                str(s.fn),
                fmt(s.precision),
                fmt(s.recall),
                fmt(b.precision),
                fmt(b.recall),
                ratio,
            )
        console.print(table)
    console.print(
        f"{len(gold)} gold records, suggestions in {elapsed:.2f} s "
        f"({1000 * elapsed / len(gold):.1f} ms per record). Baseline: every vocabulary "
        f"mention as found, design = majority class ({majority!r})."
    )


if __name__ == "__main__":
    main()
