"""Closing and reopening stages: title/abstract screening when the stopping rule says it is
safe, full-text assessment when every report is assessed. Owners only; reopening needs a
reason, and both are in the audit log.

Records still unscreened when the stage is closed are reported in the PRISMA diagram as
"records marked as ineligible by automation tools", with the rule and its recall estimate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import Engine

from metasift.errors import ReviewError
from metasift.protocol import Protocol
from metasift.screening.session import make_rule
from metasift.screening.settings import screening_settings
from metasift.screening.stopping import recall_in_words
from metasift.screening.store import standing_decisions
from metasift.store.audit import record_event
from metasift.store.records import screenable_ids
from metasift.store.rounds import current_round, record_rounds
from metasift.store.schema import stage_closures
from metasift.workflow.decisions import (
    FULL_TEXT,
    STAGE_NAMES,
    STAGES,
    TITLE_ABSTRACT,
    stage_closed,
)
from metasift.workflow.reviewers import require


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

    # What the rule assumes and how it decides, in the rule's own words (for the report).
    explanation: str = field(default="", compare=False)

    def describe(self) -> str:
        """The estimate and the verdict as a reviewer reads them, and the rule's name."""
        words = recall_in_words(self.estimated_recall, self.recall_lower_bound, self.stop)
        return f"{words} ({self.rule} rule)"


def stop_state(engine: Engine, protocol: Protocol) -> StopState:
    """The stopping rule's verdict on the title/abstract decisions in the store.

    Records enter the rule in the order they were first decided; a record counts as relevant
    when any reviewer included it (or marked it maybe), as it then goes to full text. In a
    living review the rule judges the current round: its records, and the decisions on them.
    """
    settings = screening_settings(protocol)
    rule = make_rule(settings)
    with engine.connect() as conn:
        now, round_of = current_round(conn), record_rounds(conn)
        screenable = {r for r in screenable_ids(conn) if round_of.get(r) == now}
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
        explanation=rule.describe(),
    )


def _closure(
    conn,
    stage: str,
    closer: str,
    rule: str,
    *,
    n_screened: int,
    n_unscreened: int,
    estimated_recall: float | None = None,
    recall_lower_bound: float | None = None,
    note: str | None = None,
) -> None:
    values = {
        "rule": rule,
        "estimated_recall": estimated_recall,
        "recall_lower_bound": recall_lower_bound,
        "n_screened": n_screened,
        "n_unscreened": n_unscreened,
    }
    conn.execute(
        stage_closures.insert().values(
            stage=stage,
            closed_at=datetime.now(UTC),
            closed_by=closer,
            round=current_round(conn),
            **values,
        )
    )
    record_event(
        conn,
        actor=closer,
        action="stage.close",
        entity="stage",
        entity_id=stage,
        value=values,
        note=note,
    )


def close_screening(
    engine: Engine, protocol: Protocol, closer: str, *, force: bool = False
) -> StopState:
    """Close title/abstract screening (owners only); refuses while the rule says keep
    screening, unless forced.

    Args:
        engine: the project store.
        protocol: the review's protocol (its stopping rule).
        closer: who closes; an owner.
        force: close although the rule says keep screening (the report says so).
    """
    require(engine, closer, "manage")
    if stage_closed(engine, TITLE_ABSTRACT):
        raise ReviewError("title/abstract screening is already closed.")
    state = stop_state(engine, protocol)
    if not state.stop and state.n_screened < state.n_records and not force:
        said = f"the stopping rule says keep screening: {state.describe()}; screen more records"
        raise ReviewError(
            f"{said}, or pass --force to close anyway (the report will say so).",
            web=f"{said}, or tick 'although the rule says keep screening' and close again "
            "(the report will say so).",
        )
    rule = (
        state.rule
        if state.stop
        else f"{state.rule} (closed by {closer} before it recommended stopping)"
    )
    with engine.begin() as conn:
        _closure(
            conn,
            TITLE_ABSTRACT,
            closer,
            rule,
            n_screened=state.n_screened,
            n_unscreened=state.n_records - state.n_screened,
            estimated_recall=state.estimated_recall,
            recall_lower_bound=state.recall_lower_bound,
        )
    return state


def close_full_text(engine: Engine, protocol: Protocol, closer: str, *, force: bool = False) -> int:
    """Close full-text assessment (owners only) once every report sought is assessed or marked
    not retrieved; returns the number of reports assessed.

    Args:
        engine: the project store.
        protocol: the review's protocol.
        closer: who closes; an owner.
        force: close with reports still unassessed (they stay out of the PRISMA counts).
    """
    from metasift.workflow.fulltext import list_reports

    require(engine, closer, "manage")
    if stage_closed(engine, FULL_TEXT):
        raise ReviewError("full-text assessment is already closed.")
    reports = list_reports(engine, protocol)
    open_reports = [
        r
        for r in reports
        if r.retrieval != "not_retrieved" and (r.verdict is None or r.verdict.status != "final")
    ]
    if open_reports and not force:
        ids = ", ".join(str(r.record_id) for r in open_reports[:10])
        raise ReviewError(
            f"{len(open_reports)} report(s) still need a final full-text verdict (records "
            f"{ids}{'...' if len(open_reports) > 10 else ''}); assess them or resolve their "
            "conflicts first, or pass --force.",
            web=f"{len(open_reports)} report(s) still need a final full-text verdict (records "
            f"{ids}{'...' if len(open_reports) > 10 else ''}): assess them on the Full text "
            "page, or resolve their conflicts on the Conflicts page.",
        )
    assessed = len(reports) - len(open_reports)
    with engine.begin() as conn:
        _closure(
            conn,
            FULL_TEXT,
            closer,
            "every report sought assessed" if not open_reports else "closed with reports open",
            n_screened=assessed,
            n_unscreened=len(open_reports),
        )
    return assessed


def close_stage(
    engine: Engine, protocol: Protocol, stage: str, closer: str, *, force: bool = False
) -> str:
    """Close ``stage`` (owners only) and say in one sentence what was closed.

    Args:
        engine: the project store.
        protocol: the review's protocol.
        stage: ``title_abstract`` or ``full_text``.
        closer: who closes; an owner.
        force: close although the stage's own rule says it is not finished.
    """
    if stage == TITLE_ABSTRACT:
        state = close_screening(engine, protocol, closer, force=force)
        return (
            f"Title/abstract screening closed: {state.n_screened} of {state.n_records} "
            f"screened; {state.describe()}. {state.n_records - state.n_screened} records left "
            "unscreened are reported as marked ineligible by the stopping rule."
        )
    if stage == FULL_TEXT:
        assessed = close_full_text(engine, protocol, closer, force=force)
        return f"Full-text assessment closed: {assessed} reports assessed."
    raise ReviewError(f"unknown stage {stage!r}; use one of: {', '.join(STAGES)}.")


def reopen_stage(engine: Engine, stage: str, reopener: str, reason: str) -> None:
    """Reopen a closed stage (owners only), with the reason, in the audit log.

    Args:
        engine: the project store.
        stage: ``title_abstract`` or ``full_text``.
        reopener: who reopens; an owner.
        reason: why, kept in the audit log and required.
    """
    if stage not in STAGES:
        raise ReviewError(f"unknown stage {stage!r}; use one of: {', '.join(STAGES)}.")
    if not reason or not reason.strip():
        raise ReviewError(
            "say why the stage is reopened (--reason); the audit log keeps it for the report.",
            web="say why the stage is reopened (Why reopen?); the audit log keeps it for the "
            "report.",
        )
    require(engine, reopener, "manage")
    closure = stage_closed(engine, stage)
    if closure is None:
        raise ReviewError(f"{STAGE_NAMES[stage]} is not closed.")
    with engine.begin() as conn:
        conn.execute(
            stage_closures.update()
            .where(stage_closures.c.id == closure["id"])
            .values(reopened_at=datetime.now(UTC))
        )
        record_event(
            conn,
            actor=reopener,
            action="stage.reopen",
            entity="stage",
            entity_id=stage,
            previous={"closed_by": closure["closed_by"], "rule": closure["rule"]},
            note=reason.strip(),
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
    """Screenable records of the current round without any title/abstract decision."""
    decided = {d.record_id for d in standing_decisions(engine, stage=TITLE_ABSTRACT)}
    with engine.connect() as conn:
        now, round_of = current_round(conn), record_rounds(conn)
        ids = screenable_ids(conn)
    return [rid for rid in ids if rid not in decided and round_of.get(rid) == now]
