"""Scoring suggestions against hand-made gold labels: precision and recall per field.

A design is one label per study; a study whose gold design is null (not visible) is not
scored for design. Entity fields are sets of concepts, scored by micro-averaged counts over
the studies whose gold has the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class FieldScore:
    field: str
    studies: int
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


def score_field(
    field: str,
    gold: Iterable[Mapping[str, Any]],
    predicted: Iterable[Mapping[str, Any]],
) -> FieldScore:
    """Compare ``gold[i][field]`` with ``predicted[i][field]`` over paired studies."""
    studies = tp = fp = fn = 0
    for g, p in zip(gold, predicted, strict=True):
        if field not in g or g[field] is None:
            continue
        studies += 1
        truth, guess = g[field], p.get(field)
        if isinstance(truth, str):
            if guess is None:
                fn += 1
            elif guess == truth:
                tp += 1
            else:
                fp += 1
                fn += 1
            continue
        truth_set, guess_set = set(truth), set(guess or ())
        tp += len(truth_set & guess_set)
        fp += len(guess_set - truth_set)
        fn += len(truth_set - guess_set)
    return FieldScore(field, studies, tp, fp, fn)


def score(
    gold: list[Mapping[str, Any]], predicted: list[Mapping[str, Any]], fields: Iterable[str]
) -> list[FieldScore]:
    return [score_field(f, gold, predicted) for f in fields]
