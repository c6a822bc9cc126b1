"""Reviewers' decisions turned into verdicts: consensus, conflicts, resolutions, blind views.

Screening stores every reviewer's decision (:mod:`metasift.screening.store`); this module
decides what they amount to. The rules, per record and stage:

* a resolution by a third reviewer settles the record;
* otherwise, once as many reviewers as the protocol asks for (``[screening]
  reviewers_per_record``) have decided, agreeing decisions are final and disagreeing ones are
  a conflict; with fewer reviewers the record is pending - unless the stage was closed by a
  stopping rule, when the decisions made so far stand if they agree;
* at title/abstract stage "include" and "maybe" agree (both send the record to full text);
  at full-text stage two exclusions with different reasons are a conflict, because the reason
  is reported in the PRISMA diagram.

Whether a decision may be made at all is :func:`check_decision`, asked by every door (the
CLI's ``decide`` and ``screen``, the web app, ``metasift run``): the decider must be a member
whose role may decide, the stage must be open, the record must exist, and an exclusion's reason
must be one of the protocol's.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from metasift.errors import DecisionError, ReviewerError, StageClosedError
from metasift.protocol import Protocol
from metasift.screening.settings import screening_settings
from metasift.screening.store import add_decision, standing_decisions
from metasift.store.audit import record_event
from metasift.store.rounds import CURRENT as CURRENT_ROUND
from metasift.store.schema import SCREENING_DECISIONS, records, resolutions, stage_closures
from metasift.workflow.agreement import Agreement, cohen_kappa, fleiss_kappa
from metasift.workflow.reviewers import get_reviewer, require

TITLE_ABSTRACT = "title_abstract"
FULL_TEXT = "full_text"
STAGES = (TITLE_ABSTRACT, FULL_TEXT)
STAGE_NAMES = {TITLE_ABSTRACT: "title/abstract screening", FULL_TEXT: "full-text assessment"}


@dataclass(frozen=True)
class Verdict:
    record_id: int
    status: str  # "final", "conflict" or "pending"
    decision: str | None = None
    reason: str | None = None
    source: str | None = None  # "reviewer", "consensus" or "resolution"
    votes: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str | None] = field(default_factory=dict)

    @property
    def included(self) -> bool:
        return self.status == "final" and self.decision in ("include", "maybe")


def _check_stage(stage: str) -> None:
    if stage not in STAGES:
        raise DecisionError(f"unknown stage {stage!r}; use one of: {', '.join(STAGES)}.")


# Built once: asked before every record handed out. A closure closes its own round's stage:
# the records of a living review's update are screened in a round of their own.
_CLOSURE = (
    sa.select(stage_closures)
    .where(
        stage_closures.c.stage == sa.bindparam("stage"),
        stage_closures.c.reopened_at.is_(None),
        stage_closures.c.round == CURRENT_ROUND,
    )
    .order_by(stage_closures.c.id.desc())
    .limit(1)
)


def stage_closed(engine: Engine | Connection, stage: str = TITLE_ABSTRACT) -> dict | None:
    """The closure in force for ``stage`` in the current round (stopping rule, recall
    estimate), or None."""
    if isinstance(engine, Engine):
        with engine.connect() as conn:
            row = conn.execute(_CLOSURE, {"stage": stage}).first()
    else:
        row = engine.execute(_CLOSURE, {"stage": stage}).first()
    return dict(row._mapping) if row else None


def require_open(conn: Connection, stage: str) -> None:
    """Refuse (:class:`~metasift.errors.StageClosedError`) when ``stage`` is closed."""
    closure = stage_closed(conn, stage)
    if closure is not None:
        closed = (
            f"{STAGE_NAMES[stage]} was closed on {closure['closed_at']:%Y-%m-%d} by "
            f"{closure['closed_by']}; no decision can be added or taken back. An owner can "
            "reopen it, with the reason"
        )
        where = " (Reopen screening, on the Screening page)" if stage == TITLE_ABSTRACT else ""
        raise StageClosedError(
            stage,
            f"{closed}: metasift reopen {stage} --reason '...'.",
            web=f"{closed}{where}.",
        )


def _latest_resolutions(conn: Connection, stage: str) -> dict[int, sa.Row]:
    rows = conn.execute(
        sa.select(resolutions).where(resolutions.c.stage == stage).order_by(resolutions.c.id)
    )
    return {row.record_id: row for row in rows}


def _outcome(decision: str, stage: str) -> str:
    return "include" if stage == TITLE_ABSTRACT and decision == "maybe" else decision


def verdicts(engine: Engine, protocol: Protocol, stage: str = TITLE_ABSTRACT) -> dict[int, Verdict]:
    """Verdict of every record that has at least one decision or a resolution at ``stage``."""
    _check_stage(stage)
    required = screening_settings(protocol).reviewers_per_record
    with engine.connect() as conn:
        standing = standing_decisions(conn, stage=stage)
        resolved = _latest_resolutions(conn, stage)
        closed = stage_closed(conn, stage) is not None
    votes: dict[int, dict[str, str]] = {}
    reasons: dict[int, dict[str, str | None]] = {}
    for d in standing:
        votes.setdefault(d.record_id, {})[d.reviewer] = d.decision
        reasons.setdefault(d.record_id, {})[d.reviewer] = d.reason
    result: dict[int, Verdict] = {}
    for record_id in sorted(set(votes) | set(resolved)):
        v, r = votes.get(record_id, {}), reasons.get(record_id, {})
        if record_id in resolved:
            row = resolved[record_id]
            result[record_id] = Verdict(
                record_id, "final", row.decision, row.reason, "resolution", v, r
            )
            continue
        outcomes = {_outcome(d, stage) for d in v.values()}
        if stage == FULL_TEXT and outcomes == {"exclude"}:
            # Different exclusion reasons are a disagreement the PRISMA diagram would show.
            outcomes = {f"exclude:{x}" for x in r.values()}
        enough = len(v) >= required or closed
        if len(outcomes) > 1:
            status = "conflict" if len(v) >= min(required, 2) or closed else "pending"
            result[record_id] = Verdict(record_id, status, votes=v, reasons=r)
        elif not enough:
            result[record_id] = Verdict(record_id, "pending", votes=v, reasons=r)
        else:
            decisions_made = list(v.values())
            decision = "include" if "include" in decisions_made else decisions_made[0]
            reason = next((x for x in r.values() if x), None) if decision == "exclude" else None
            source = "reviewer" if len(v) == 1 else "consensus"
            result[record_id] = Verdict(record_id, "final", decision, reason, source, v, r)
    return result


def conflicts(engine: Engine, protocol: Protocol, stage: str = TITLE_ABSTRACT) -> list[Verdict]:
    return [v for v in verdicts(engine, protocol, stage).values() if v.status == "conflict"]


def _check_values(protocol: Protocol, stage: str, decision: str, reason: str | None) -> None:
    """A known stage and decision, and a reason only with an exclusion, from the protocol."""
    _check_stage(stage)
    if decision not in SCREENING_DECISIONS:
        raise DecisionError(
            f"unknown decision {decision!r}; use one of: {', '.join(SCREENING_DECISIONS)}."
        )
    allowed = protocol.criteria.exclusion_reasons
    if reason and decision != "exclude":
        raise DecisionError("a reason goes with an exclusion only.")
    if stage == FULL_TEXT and decision == "exclude" and not reason:
        raise DecisionError(
            "a full-text exclusion needs a reason; use one of: " + ", ".join(allowed) + "."
        )
    if reason and allowed and reason not in allowed:
        raise DecisionError(
            f"reason {reason!r} is not in the protocol's exclusion_reasons; use one of: "
            + ", ".join(allowed)
            + "."
        )


def _check_record(conn: Connection, record_id: int) -> None:
    if conn.execute(sa.select(records.c.id).where(records.c.id == record_id)).first() is None:
        raise DecisionError(
            f"no record {record_id} in this project; see 'metasift records'.",
            web=f"no record {record_id} in this project; the Records page lists them.",
        )


def check_decision(
    conn: Connection,
    protocol: Protocol,
    *,
    record_id: int,
    reviewer: str,
    decision: str,
    stage: str = TITLE_ABSTRACT,
    reason: str | None = None,
) -> None:
    """Refuse a decision that may not be recorded, inside the transaction that would store it.

    Args:
        conn: a connection in the decision's transaction.
        protocol: the review's protocol (exclusion reasons).
        record_id: the record decided.
        reviewer: who decides; a member whose role may decide.
        decision: include, exclude or maybe.
        stage: ``title_abstract`` or ``full_text``; it must be open.
        reason: the exclusion reason, required at full text.
    """
    _check_values(protocol, stage, decision, reason)
    require(conn, reviewer, "decide")
    require_open(conn, stage)
    _check_record(conn, record_id)


def decide(
    engine: Engine,
    protocol: Protocol,
    *,
    record_id: int,
    reviewer: str,
    decision: str,
    stage: str = TITLE_ABSTRACT,
    reason: str | None = None,
    note: str | None = None,
) -> int:
    """Store one reviewer's decision on one record (outside an AI-ranked session); refused as
    :func:`check_decision` says. Returns the decision's id."""
    with engine.begin() as conn:
        check_decision(
            conn,
            protocol,
            record_id=record_id,
            reviewer=reviewer,
            decision=decision,
            stage=stage,
            reason=reason,
        )
        return add_decision(
            conn,
            record_id=record_id,
            decision=decision,
            reviewer=reviewer,
            stage=stage,
            reason=reason,
            note=note,
        )


def resolve(
    engine: Engine,
    protocol: Protocol,
    *,
    record_id: int,
    resolver: str,
    decision: str,
    stage: str = TITLE_ABSTRACT,
    reason: str | None = None,
    note: str | None = None,
) -> None:
    """Settle a conflict; the resolver must be a member who may decide and not one of the
    reviewers in conflict. A closed stage's conflicts can still be settled: nothing new is
    judged, and the PRISMA diagram needs them settled."""
    _check_values(protocol, stage, decision, reason)
    require(engine, resolver, "decide")
    verdict = verdicts(engine, protocol, stage).get(record_id)
    if verdict is None or verdict.status != "conflict":
        state = "no decisions" if verdict is None else verdict.status
        raise DecisionError(f"record {record_id} has no conflict to resolve at {stage} ({state}).")
    if resolver in verdict.votes:
        raise DecisionError(
            f"{resolver} decided record {record_id} and cannot resolve its conflict; "
            "a third reviewer resolves it."
        )
    with engine.begin() as conn:
        conn.execute(
            resolutions.insert().values(
                record_id=record_id,
                stage=stage,
                decision=decision,
                reason=reason,
                note=note,
                resolved_by=resolver,
                resolved_at=datetime.now(UTC),
            )
        )
        record_event(
            conn,
            actor=resolver,
            action="conflict.resolve",
            entity="record",
            entity_id=record_id,
            previous={"votes": verdict.votes},
            value={"stage": stage, "decision": decision, "reason": reason},
            note=note,
        )


def visible_decisions(
    engine: Engine, protocol: Protocol, viewer: str, stage: str = TITLE_ABSTRACT
) -> dict[int, Verdict]:
    """What ``viewer`` may see: under blind dual screening only their own votes, until a record
    is settled by a resolution; owners see everything."""
    settings = screening_settings(protocol)
    all_verdicts = verdicts(engine, protocol, stage)
    try:
        owner = get_reviewer(engine, viewer).is_owner
    except ReviewerError:
        owner = False
    if not settings.blind or settings.reviewers_per_record < 2 or owner:
        return all_verdicts
    visible: dict[int, Verdict] = {}
    for record_id, verdict in all_verdicts.items():
        if verdict.source == "resolution":
            visible[record_id] = verdict
        elif viewer in verdict.votes:
            mine = {viewer: verdict.votes[viewer]}
            reason = verdict.reasons.get(viewer)
            visible[record_id] = Verdict(
                record_id, "own", verdict.votes[viewer], reason, "reviewer", mine, {viewer: reason}
            )
    return visible


def agreement(engine: Engine, protocol: Protocol, stage: str = TITLE_ABSTRACT) -> Agreement | None:
    """Agreement between reviewers on records decided by more than one.

    Two decisions per record: Cohen's kappa (each record's two reviewers in name order, which
    also covers rotating pairs). More: Fleiss' kappa over the records with the most common
    number of decisions. None when no record has two decisions.
    """
    with engine.connect() as conn:
        standing = standing_decisions(conn, stage=stage)
    by_record: dict[int, dict[str, str]] = {}
    for d in standing:
        by_record.setdefault(d.record_id, {})[d.reviewer] = d.decision
    multi = {rid: v for rid, v in by_record.items() if len(v) >= 2}
    if not multi:
        return None
    sizes = Counter(len(v) for v in multi.values())
    if set(sizes) == {2}:
        pairs = [[v[name] for name in sorted(v)] for v in multi.values()]
        return cohen_kappa([a for a, _ in pairs], [b for _, b in pairs])
    size = sizes.most_common(1)[0][0]
    ratings = [list(v.values()) for v in multi.values() if len(v) == size]
    return fleiss_kappa(ratings)
