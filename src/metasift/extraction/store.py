"""Extraction values, suggestions and risk-of-bias judgements in the project store.

Every value row says who entered it (``reviewer``), when (``entered_at``) and where it came
from (``source``: reviewer, import, suggestion, reconciled; ``source_detail``: the file, sheet
and row of an import, the suggestion with its provenance, or the reviewers' values a
reconciliation chose from). Reconciled values are stored under the reviewer name
:data:`CONSENSUS`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from metasift.extraction.suggest import Suggestion
from metasift.extraction.validation import Value
from metasift.store.engine import connected
from metasift.store.schema import extraction_suggestions, extraction_values, rob_judgements

CONSENSUS = "consensus"
Key = tuple[int, str, str, str, str]


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class StoredValue:
    study_id: int
    field: str
    arm: str
    outcome: str
    timepoint: str
    reviewer: str
    value: Any
    source: str
    source_detail: dict[str, Any]
    entered_at: dt.datetime

    @property
    def key(self) -> Key:
        return (self.study_id, self.field, self.arm, self.outcome, self.timepoint)


def _key_where(table: sa.Table, key: Key) -> sa.ColumnElement[bool]:
    study_id, field, arm, outcome, timepoint = key
    return sa.and_(
        table.c.study_id == study_id,
        table.c.field == field,
        table.c.arm == arm,
        table.c.outcome == outcome,
        table.c.timepoint == timepoint,
    )


def put_value(
    conn: Connection,
    key: Key,
    value: Any,
    reviewer: str,
    source: str,
    source_detail: dict[str, Any],
    when: dt.datetime | None = None,
) -> None:
    """Insert or replace one reviewer's value for ``key``."""
    row = {
        "value": value,
        "source": source,
        "source_detail": source_detail,
        "entered_at": when or now(),
    }
    where = sa.and_(_key_where(extraction_values, key), extraction_values.c.reviewer == reviewer)
    updated = conn.execute(sa.update(extraction_values).where(where).values(**row)).rowcount
    if not updated:
        study_id, field, arm, outcome, timepoint = key
        conn.execute(
            sa.insert(extraction_values).values(
                study_id=study_id,
                field=field,
                arm=arm,
                outcome=outcome,
                timepoint=timepoint,
                reviewer=reviewer,
                **row,
            )
        )


def put_values(
    engine: Engine, values: Iterable[Value], reviewer: str, source: str, detail: dict[str, Any]
) -> int:
    """Store many values in one transaction; ``detail`` gains each value's ``row``."""
    n = 0
    when = now()
    with engine.begin() as conn:
        for v in values:
            row_detail = {**detail, "row": v.row} if v.row else dict(detail)
            put_value(conn, v.key, v.value, reviewer, source, row_detail, when)
            n += 1
    return n


def delete_values(engine: Engine, keys: Iterable[Key], reviewer: str) -> int:
    """Delete ``reviewer``'s values of ``keys`` (a field emptied in the form); returns how many."""
    deleted = 0
    with engine.begin() as conn:
        for key in keys:
            where = sa.and_(
                _key_where(extraction_values, key), extraction_values.c.reviewer == reviewer
            )
            deleted += conn.execute(sa.delete(extraction_values).where(where)).rowcount
    return deleted


def get_values(
    engine: Engine | Connection,
    study_ids: Sequence[int] | None = None,
    reviewer: str | None = None,
) -> list[StoredValue]:
    query = sa.select(extraction_values).order_by(
        extraction_values.c.study_id,
        extraction_values.c.field,
        extraction_values.c.arm,
        extraction_values.c.outcome,
        extraction_values.c.timepoint,
        extraction_values.c.reviewer,
    )
    if study_ids is not None:
        query = query.where(extraction_values.c.study_id.in_(list(study_ids)))
    if reviewer is not None:
        query = query.where(extraction_values.c.reviewer == reviewer)
    with connected(engine) as conn:
        rows = conn.execute(query).all()
    return [
        StoredValue(
            r.study_id,
            r.field,
            r.arm,
            r.outcome,
            r.timepoint,
            r.reviewer,
            r.value,
            r.source,
            r.source_detail,
            _aware(r.entered_at),
        )
        for r in rows
    ]


def _aware(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


# --- suggestions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredSuggestion:
    id: int
    study_id: int
    field: str
    arm: str
    outcome: str
    timepoint: str
    value: Any
    text_source: str
    sentence: str
    sentence_start: int
    span_start: int
    span_end: int
    method: str
    confidence: float
    explanation: str
    status: str
    reviewer: str | None
    reviewed_at: dt.datetime | None
    final_value: Any
    # From a stored full text: its checksum, and the position of the part (text_source)
    # among its parts.
    fulltext_sha256: str | None = None
    part_index: int | None = None

    @property
    def cue(self) -> str:
        return self.sentence[
            self.span_start - self.sentence_start : self.span_end - self.sentence_start
        ]

    def provenance(self) -> dict[str, Any]:
        return {
            "suggestion_id": self.id,
            "method": self.method,
            "text_source": self.text_source,
            "sentence": self.sentence,
            "span": [self.span_start, self.span_end],
            "cue": self.cue,
            "suggested": self.value,
            "explanation": self.explanation,
            **(
                {"fulltext_sha256": self.fulltext_sha256, "part_index": self.part_index}
                if self.fulltext_sha256
                else {}
            ),
        }

    def as_dict(self) -> dict[str, Any]:
        """Everything about the suggestion, as JSON can carry it (the CLI's --json, the web)."""
        return {
            "id": self.id,
            "study_id": self.study_id,
            "field": self.field,
            "value": self.value,
            "arm": self.arm,
            "outcome": self.outcome,
            "timepoint": self.timepoint,
            "part": self.text_source,
            "part_index": self.part_index,
            "fulltext_sha256": self.fulltext_sha256,
            "span": [self.span_start, self.span_end],
            "sentence": self.sentence,
            "sentence_start": self.sentence_start,
            "cue": self.cue,
            "method": self.method,
            "confidence": self.confidence,
            "explanation": self.explanation,
            "status": self.status,
            "reviewer": self.reviewer,
            "reviewed_at": self.reviewed_at.isoformat() if self.reviewed_at else None,
            "final_value": self.final_value,
        }


def add_suggestions(
    engine: Engine,
    study_id: int,
    suggestions: Iterable[Suggestion],
    *,
    fulltext_sha256: str | None = None,
    part_index: int | None = None,
) -> int:
    """Store new suggestions; ones already stored (same key) are left as they are.

    Args:
        engine: the project store.
        study_id: the study they are for.
        suggestions: what the suggesters found.
        fulltext_sha256: the full text they were read from, if any.
        part_index: the position among the text's parts of the part they were read from
            (a name such as "Abstract" may repeat).
    """
    added = 0
    when = now()
    with engine.begin() as conn:
        for s in suggestions:
            key = s.key(study_id)
            if fulltext_sha256:
                key = hashlib.sha256(f"{key}:{fulltext_sha256}:{part_index}".encode()).hexdigest()
            exists = conn.execute(
                sa.select(extraction_suggestions.c.id).where(extraction_suggestions.c.key == key)
            ).first()
            if exists:
                continue
            conn.execute(
                sa.insert(extraction_suggestions).values(
                    study_id=study_id,
                    field=s.field,
                    arm=s.arm,
                    outcome=s.outcome,
                    timepoint=s.timepoint,
                    value=s.value,
                    text_source=s.evidence.text_source,
                    sentence=s.evidence.sentence,
                    sentence_start=s.evidence.sentence_start,
                    span_start=s.evidence.start,
                    span_end=s.evidence.end,
                    method=s.method,
                    confidence=s.confidence,
                    explanation=s.explanation,
                    key=key,
                    created_at=when,
                    status="pending",
                    fulltext_sha256=fulltext_sha256,
                    part_index=part_index,
                )
            )
            added += 1
    return added


def get_suggestions(
    engine: Engine | Connection,
    study_ids: Sequence[int] | None = None,
    status: str | Sequence[str] | None = None,
    ids: Sequence[int] | None = None,
    fulltext_sha256: str | None = None,
) -> list[StoredSuggestion]:
    """Stored suggestions, by study, field and place; filtered by any of the arguments.

    Args:
        engine: the project store.
        study_ids: only these studies'.
        status: only these statuses (pending, accepted, edited, rejected).
        ids: only these suggestions.
        fulltext_sha256: only those read from this full text (in reading order).
    """
    t = extraction_suggestions
    query = sa.select(t).order_by(t.c.study_id, t.c.field, t.c.span_start, t.c.id)
    if fulltext_sha256 is not None:
        query = (
            sa.select(t)
            .where(t.c.fulltext_sha256 == fulltext_sha256)
            .order_by(t.c.part_index, t.c.span_start, t.c.id)
        )
    if study_ids is not None:
        query = query.where(t.c.study_id.in_(list(study_ids)))
    if status is not None:
        query = query.where(t.c.status.in_([status] if isinstance(status, str) else list(status)))
    if ids is not None:
        query = query.where(t.c.id.in_(list(ids)))
    with connected(engine) as conn:
        rows = conn.execute(query).all()
    return [
        StoredSuggestion(
            r.id,
            r.study_id,
            r.field,
            r.arm,
            r.outcome,
            r.timepoint,
            r.value,
            r.text_source,
            r.sentence,
            r.sentence_start,
            r.span_start,
            r.span_end,
            r.method,
            r.confidence,
            r.explanation,
            r.status,
            r.reviewer,
            _aware(r.reviewed_at) if r.reviewed_at else None,
            r.final_value,
            r.fulltext_sha256,
            r.part_index,
        )
        for r in rows
    ]


def set_suggestion_status(
    conn: Connection, suggestion_id: int, status: str, reviewer: str, final_value: Any
) -> None:
    conn.execute(
        sa.update(extraction_suggestions)
        .where(extraction_suggestions.c.id == suggestion_id)
        .values(status=status, reviewer=reviewer, reviewed_at=now(), final_value=final_value)
    )


# --- risk of bias -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredJudgement:
    study_id: int
    tool: str
    result: str
    domain: str
    answers: dict[str, str]
    algorithm: str | None
    judgement: str
    support: str
    reviewer: str
    entered_at: dt.datetime


def put_judgement(
    engine: Engine,
    *,
    study_id: int,
    tool: str,
    domain: str,
    answers: dict[str, str],
    algorithm: str | None,
    judgement: str,
    support: str,
    reviewer: str,
    result: str = "",
) -> None:
    t = rob_judgements
    row = {
        "answers": answers,
        "algorithm": algorithm,
        "judgement": judgement,
        "support": support,
        "entered_at": now(),
    }
    where = sa.and_(
        t.c.study_id == study_id,
        t.c.tool == tool,
        t.c.result == result,
        t.c.domain == domain,
        t.c.reviewer == reviewer,
    )
    with engine.begin() as conn:
        if not conn.execute(sa.update(t).where(where).values(**row)).rowcount:
            conn.execute(
                sa.insert(t).values(
                    study_id=study_id,
                    tool=tool,
                    result=result,
                    domain=domain,
                    reviewer=reviewer,
                    **row,
                )
            )


def get_judgements(
    engine: Engine | Connection,
    study_ids: Sequence[int] | None = None,
    tool: str | None = None,
) -> list[StoredJudgement]:
    t = rob_judgements
    query = sa.select(t).order_by(t.c.study_id, t.c.tool, t.c.result, t.c.domain, t.c.reviewer)
    if study_ids is not None:
        query = query.where(t.c.study_id.in_(list(study_ids)))
    if tool is not None:
        query = query.where(t.c.tool == tool)
    with connected(engine) as conn:
        rows = conn.execute(query).all()
    return [
        StoredJudgement(
            r.study_id,
            r.tool,
            r.result,
            r.domain,
            r.answers,
            r.algorithm,
            r.judgement,
            r.support,
            r.reviewer,
            _aware(r.entered_at),
        )
        for r in rows
    ]
