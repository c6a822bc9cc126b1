"""Where title/abstract screening stands, for the progress dashboard: the recall curve so
far, the stopping rule's estimate in words, each reviewer's decisions and the conflicts
waiting. Counts only: the stopping rule and the conflicts are the functions that decide them
(:func:`~metasift.workflow.closure.stop_state`, :func:`~metasift.workflow.decisions.conflicts`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine

from metasift.protocol import Protocol
from metasift.screening.store import standing_decisions
from metasift.workflow.closure import StopState, stop_state
from metasift.workflow.decisions import TITLE_ABSTRACT, conflicts

CURVE_POINTS = 200


@dataclass(frozen=True)
class Progress:
    state: StopState
    words: str  # the stopping rule's estimate and verdict, as a reviewer reads them
    curve: list[tuple[int, int]]  # (records screened, relevant records found), from (0, 0)
    per_reviewer: dict[str, dict[str, int]]  # name -> decision -> count
    n_conflicts: int


def recall_curve(labels: np.ndarray, points: int = CURVE_POINTS) -> list[tuple[int, int]]:
    """``(screened, found)`` after each record screened, thinned to about ``points`` points
    (the last one always kept).

    Args:
        labels: relevance (1/0) of the screened records, in the order they were screened.
        points: how many points to keep at most.
    """
    found = np.concatenate([[0], np.cumsum(labels)]).astype(int)
    step = max(1, len(found) // points)
    keep = list(range(0, len(found), step))
    if keep[-1] != len(found) - 1:
        keep.append(len(found) - 1)
    return [(i, int(found[i])) for i in keep]


def screening_progress(
    engine: Engine, protocol: Protocol, state: StopState | None = None
) -> Progress:
    """Where title/abstract screening stands.

    Args:
        engine: the project store.
        protocol: the review's protocol.
        state: the stopping rule's verdict when the caller has a recent one (it reads every
            decision); computed here otherwise.
    """
    state = state or stop_state(engine, protocol)
    per: dict[str, Counter] = {}
    for d in standing_decisions(engine, stage=TITLE_ABSTRACT):
        per.setdefault(d.reviewer, Counter())[d.decision] += 1
    return Progress(
        state=state,
        words=state.describe(),
        curve=recall_curve(state.labels),
        per_reviewer={name: dict(counts) for name, counts in sorted(per.items())},
        n_conflicts=len(conflicts(engine, protocol, TITLE_ABSTRACT)),
    )
