"""Screening's side of the project store: model runs and decisions (SQLAlchemy Core)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from metasift.errors import MetasiftError
from metasift.store.audit import record_event
from metasift.store.records import screenable_clause
from metasift.store.rounds import earlier_round_ids
from metasift.store.schema import (
    SCREENING_DECISIONS,
    SCREENING_STAGES,
    decisions,
    model_runs,
    records,
)

TITLE_ABSTRACT = "title_abstract"


@dataclass(frozen=True)
class Decision:
    id: int
    record_id: int
    stage: str
    reviewer: str
    decision: str
    decided_at: datetime
    model_run_id: int | None
    rank: int | None
    reason: str | None = None
    note: str | None = None


def _check(stage: str, decision: str | None = None) -> None:
    if stage not in SCREENING_STAGES:
        raise MetasiftError(f"unknown stage {stage!r}; use one of {', '.join(SCREENING_STAGES)}.")
    if decision is not None and decision not in SCREENING_DECISIONS:
        raise MetasiftError(
            f"unknown decision {decision!r}; use one of {', '.join(SCREENING_DECISIONS)}."
        )


def add_model_run(
    conn: Connection,
    *,
    model: str,
    params: dict[str, Any],
    seed: int,
    kind: str,
    n_records: int,
    n_labelled: int,
    n_included: int,
    stage: str = TITLE_ABSTRACT,
) -> int:
    _check(stage)
    return conn.execute(
        model_runs.insert().values(
            created_at=datetime.now(UTC),
            stage=stage,
            model=model,
            params=params,
            seed=seed,
            kind=kind,
            n_records=n_records,
            n_labelled=n_labelled,
            n_included=n_included,
        )
    ).inserted_primary_key[0]


# Built once: a decision is stored at every screening request, and building a statement
# costs several times more than executing it on SQLite.
_PREVIOUS = (
    sa.select(decisions.c.decision, decisions.c.reason)
    .where(
        decisions.c.record_id == sa.bindparam("record_id"),
        decisions.c.reviewer == sa.bindparam("reviewer"),
        decisions.c.stage == sa.bindparam("stage"),
        decisions.c.retracted_at.is_(None),
    )
    .order_by(decisions.c.id.desc())
    .limit(1)
)
_INSERT = decisions.insert()


def add_decision(
    conn: Connection,
    *,
    record_id: int,
    decision: str,
    reviewer: str,
    stage: str = TITLE_ABSTRACT,
    model_run_id: int | None = None,
    rank: int | None = None,
    reason: str | None = None,
    note: str | None = None,
) -> int:
    _check(stage, decision)
    previous = conn.execute(
        _PREVIOUS, {"record_id": record_id, "reviewer": reviewer, "stage": stage}
    ).first()
    record_event(
        conn,
        actor=reviewer,
        action="decision.change" if previous else "decision.create",
        entity="record",
        entity_id=record_id,
        previous=None if previous is None else {"decision": previous[0], "reason": previous[1]},
        value={"stage": stage, "decision": decision, "reason": reason, "note": note},
    )
    return conn.execute(
        _INSERT,
        {
            "record_id": record_id,
            "stage": stage,
            "reviewer": reviewer,
            "decision": decision,
            "reason": reason,
            "note": note,
            "decided_at": datetime.now(UTC),
            "model_run_id": model_run_id,
            "rank": rank,
        },
    ).inserted_primary_key[0]


def retract_last(conn: Connection, *, reviewer: str, stage: str = TITLE_ABSTRACT) -> int | None:
    """Retract ``reviewer``'s latest standing decision; returns its record id (or None)."""
    row = conn.execute(
        sa.select(decisions.c.id, decisions.c.record_id, decisions.c.decision)
        .where(
            decisions.c.reviewer == reviewer,
            decisions.c.stage == stage,
            decisions.c.retracted_at.is_(None),
        )
        .order_by(decisions.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    conn.execute(
        decisions.update().where(decisions.c.id == row.id).values(retracted_at=datetime.now(UTC))
    )
    record_event(
        conn,
        actor=reviewer,
        action="decision.retract",
        entity="record",
        entity_id=row.record_id,
        previous={"stage": stage, "decision": row.decision},
    )
    return row.record_id


def standing_decisions(
    engine: Engine | Connection,
    *,
    stage: str = TITLE_ABSTRACT,
    reviewer: str | None = None,
    record_id: int | None = None,
) -> list[Decision]:
    """Decisions not retracted, oldest first; the latest one per record and reviewer wins."""
    query = (
        sa.select(decisions)
        .where(decisions.c.stage == stage, decisions.c.retracted_at.is_(None))
        .order_by(decisions.c.id)
    )
    if reviewer is not None:
        query = query.where(decisions.c.reviewer == reviewer)
    if record_id is not None:
        query = query.where(decisions.c.record_id == record_id)

    def run(conn: Connection) -> list[Decision]:
        latest: dict[tuple[int, str], Decision] = {}
        for row in conn.execute(query):
            latest.pop((row.record_id, row.reviewer), None)
            latest[(row.record_id, row.reviewer)] = Decision(
                row.id,
                row.record_id,
                row.stage,
                row.reviewer,
                row.decision,
                row.decided_at,
                row.model_run_id,
                row.rank,
                row.reason,
                row.note,
            )
        return sorted(latest.values(), key=lambda d: d.id)

    if isinstance(engine, Engine):
        with engine.connect() as conn:
            return run(conn)
    return run(engine)


QUICK_WINDOW = 2000


def relevance_labels(engine: Engine | Connection) -> dict[int, int]:
    """Record id -> 1 (relevant) or 0, from the standing title/abstract decisions: what a
    project's model is trained on outside a screening session (scoring shards, an update's
    new records). The latest decision on a record counts, as in the screening session, and a
    "maybe" is relevant (it goes on to full text).

    Args:
        engine: the project store (or a connection to it).
    """
    latest: dict[int, str] = {}
    for decision in standing_decisions(engine, stage=TITLE_ABSTRACT):
        latest.pop(decision.record_id, None)
        latest[decision.record_id] = decision.decision
    return {rid: int(d != "exclude") for rid, d in latest.items()}


def not_offered() -> sa.Select:
    """The ids of the records screening does not offer in this round, as a sub-select: a
    living review screens each update's records in a round of their own, and the records an
    earlier round left unscreened were judged by its stopping rule, so they are not proposed
    again (by the learner or by the quick order)."""
    return earlier_round_ids()


def title_order(
    conn: Connection,
    terms: Sequence[str],
    skip: sa.Select,
    limit: int = 16,
    window: int = QUICK_WINDOW,
) -> list[int]:
    """Screenable record ids in the quick cold order: of the first ``window`` records not in
    ``skip`` (by id), those whose title holds most of ``terms`` first, then by id.

    The order the team screens in while the model's features are being built: the database
    ranks titles alone, a window at a time (every title at 100,000 records takes seconds on
    SQLite), and no record is loaded, so that the first page after an import answers at once.

    Args:
        conn: a connection to the project store.
        terms: lower-case words or phrases (see :func:`metasift.screening.session.quick_terms`).
        skip: a ``SELECT`` of record ids not to return (decided, or held by others).
        limit: how many ids to return at most.
        window: how many records are ranked.
    """
    first = (
        sa.select(records.c.id)
        .where(screenable_clause(), records.c.id.not_in(skip), records.c.id.not_in(not_offered()))
        .order_by(records.c.id)
        .limit(window)
        .subquery()
    )
    title = sa.func.lower(sa.func.coalesce(records.c.title, ""))
    hits = [sa.case((title.contains(t, autoescape=True), 1), else_=0) for t in terms]
    score = sum(hits[1:], hits[0]) if hits else sa.literal(0)
    query = (
        sa.select(records.c.id)
        .where(records.c.id.in_(sa.select(first.c.id)))
        .order_by(score.desc(), records.c.id)
        .limit(limit)
    )
    return list(conn.execute(query).scalars())
