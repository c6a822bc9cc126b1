"""Closing title/abstract screening when the stopping rule says it is safe.

Records still unscreened when the stage is closed are reported in the PRISMA diagram as
"records marked as ineligible by automation tools", with the rule and its recall estimate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import Engine

from metasift.errors import MetasiftError
from metasift.protocol import Protocol
from metasift.screening.session import make_rule
from metasift.screening.settings import screening_settings
from metasift.screening.store import standing_decisions
from metasift.store.records import screenable_ids
from metasift.store.schema import stage_closures
from metasift.workflow.audit import record_event
from metasift.workflow.decisions import TITLE_ABSTRACT, stage_closed


@dataclass(frozen=True)
class StopState:
    rule: str
    n_records: int
    n_screened: int
    n_included: int
    estimated_recall: float | None
    recall_lower_bound: float | None
    stop: bool
    # Relevance (1/0) of the screened records in the order they were first decided.
    labels: np.ndarray = field(
        default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False, compare=False
    )

    def describe(self) -> str:
        if self.estimated_recall is None:
            recall = "estimated recall unknown"
        else:
            recall = (
                f"estimated recall {100 * self.estimated_recall:.0f}% "
                f"(lower bound {100 * (self.recall_lower_bound or 0):.0f}%)"
            )
        verdict = "stop recommended" if self.stop else "keep screening"
        return f"{recall} — {verdict} ({self.rule})"


def stop_state(engine: Engine, protocol: Protocol) -> StopState:
    """The stopping rule's verdict on the title/abstract decisions in the store.

    Records enter the rule in the order they were first decided; a record counts as relevant
    when any reviewer included it (or marked it maybe), as it then goes to full text.
    """
    settings = screening_settings(protocol)
    rule = make_rule(settings)
    screenable = set(screenable_ids(engine))
    first: dict[int, int] = {}
    relevant: dict[int, bool] = {}
    for d in standing_decisions(engine, stage=TITLE_ABSTRACT):
        if d.record_id not in screenable:
            continue
        first.setdefault(d.record_id, d.id)
        relevant[d.record_id] = relevant.get(d.record_id, False) or d.decision != "exclude"
    order = sorted(first, key=first.__getitem__)
    labels = np.array([int(relevant[r]) for r in order], dtype=np.int64)
    estimate = rule.evaluate(labels, len(screenable))
    return StopState(
        rule=rule.name,
        n_records=len(screenable),
        n_screened=len(order),
        n_included=int(labels.sum()),
        estimated_recall=estimate.estimated_recall,
        recall_lower_bound=estimate.recall_lower_bound,
        stop=estimate.stop,
        labels=labels,
    )


def close_screening(
    engine: Engine, protocol: Protocol, closer: str, *, force: bool = False
) -> StopState:
    """Close title/abstract screening; refuses while the rule says keep screening, unless forced."""
    if stage_closed(engine, TITLE_ABSTRACT):
        raise MetasiftError("title/abstract screening is already closed.")
    state = stop_state(engine, protocol)
    if not state.stop and state.n_screened < state.n_records and not force:
        raise MetasiftError(
            f"the stopping rule says keep screening: {state.describe()}; "
            "screen more records, or pass --force to close anyway (the report will say so)."
        )
    rule = (
        state.rule
        if state.stop
        else f"{state.rule} (closed by {closer} before it recommended stopping)"
    )
    with engine.begin() as conn:
        conn.execute(
            stage_closures.insert().values(
                stage=TITLE_ABSTRACT,
                closed_at=datetime.now(UTC),
                closed_by=closer,
                rule=rule,
                estimated_recall=state.estimated_recall,
                recall_lower_bound=state.recall_lower_bound,
                n_screened=state.n_screened,
                n_unscreened=state.n_records - state.n_screened,
            )
        )
        record_event(
            conn,
            actor=closer,
            action="stage.close",
            entity="stage",
            entity_id=TITLE_ABSTRACT,
            value={
                "rule": rule,
                "estimated_recall": state.estimated_recall,
                "recall_lower_bound": state.recall_lower_bound,
                "n_screened": state.n_screened,
                "n_unscreened": state.n_records - state.n_screened,
            },
        )
    return state


def reopen_screening(engine: Engine, reopener: str) -> None:
    closure = stage_closed(engine, TITLE_ABSTRACT)
    if closure is None:
        raise MetasiftError("title/abstract screening is not closed.")
    with engine.begin() as conn:
        conn.execute(
            stage_closures.update()
            .where(stage_closures.c.id == closure["id"])
            .values(reopened_at=datetime.now(UTC))
        )
        record_event(
            conn, actor=reopener, action="stage.reopen", entity="stage", entity_id=TITLE_ABSTRACT
        )


def closure_note(engine: Engine) -> str:
    """One line for the PRISMA box and the report, or "" when the stage is not closed."""
    closure = stage_closed(engine, TITLE_ABSTRACT)
    if closure is None:
        return ""
    note = f"stopping rule: {closure['rule']}"
    if closure["estimated_recall"] is not None:
        note += f", estimated recall {100 * closure['estimated_recall']:.0f}%"
        if closure["recall_lower_bound"] is not None:
            note += f" (lower bound {100 * closure['recall_lower_bound']:.0f}%)"
    return note


def unscreened_ids(engine: Engine) -> list[int]:
    """Screenable records without any title/abstract decision."""
    decided = {d.record_id for d in standing_decisions(engine, stage=TITLE_ABSTRACT)}
    return [rid for rid in screenable_ids(engine) if rid not in decided]
