"""Notes and labels on records, and each reviewer's highlight terms (Rayyan's way of reading).

The rule of who may write them lives here, and only here: members who may decide (owners and
reviewers) write notes and labels and keep highlight terms; viewers read notes and labels. A
note is kept as written (a reviewer's reasoning is part of the record of the review); labels
are added and removed; every change is in the audit log, in the change's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from metasift.errors import ReviewError
from metasift.store.audit import record_event
from metasift.store.schema import highlight_terms, record_labels, record_notes, records
from metasift.workflow.reviewers import require

KINDS = ("include", "exclude")
MAX_NOTE = 5000
MAX_LABEL = 64
MAX_TERM = 128


@dataclass(frozen=True)
class Note:
    id: int
    record_id: int
    reviewer: str
    text: str
    written_at: datetime


@dataclass(frozen=True)
class Highlights:
    """A reviewer's highlight terms: words to mark green (include) and red (exclude)."""

    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)


def _may_annotate(conn: Connection, reviewer: str, record_id: int | None = None) -> None:
    """The rule: who may write notes, labels and highlight terms."""
    require(conn, reviewer, "decide")
    if record_id is not None:
        found = conn.execute(sa.select(records.c.id).where(records.c.id == record_id)).first()
        if found is None:
            raise ReviewError(f"record {record_id} does not exist in this project.")


def add_note(engine: Engine, record_id: int, reviewer: str, text: str) -> Note:
    """Write a note on a record (audited).

    Args:
        engine: the project store.
        record_id: the record the note is about.
        reviewer: who writes it; must be a member who may decide.
        text: the note (at most 5,000 characters).
    """
    text = text.strip()
    if not text:
        raise ReviewError("the note is empty; write something to keep.")
    if len(text) > MAX_NOTE:
        raise ReviewError(f"the note is longer than {MAX_NOTE:,} characters; shorten it.")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        _may_annotate(conn, reviewer, record_id)
        note_id = conn.execute(
            record_notes.insert().values(
                record_id=record_id, reviewer=reviewer, text=text, written_at=now
            )
        ).inserted_primary_key[0]
        record_event(
            conn,
            actor=reviewer,
            action="record.note",
            entity="record",
            entity_id=record_id,
            value={"note": text},
        )
    return Note(note_id, record_id, reviewer, text, now)


def notes_on(engine: Engine, record_id: int) -> list[Note]:
    """The notes on a record, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(record_notes)
            .where(record_notes.c.record_id == record_id)
            .order_by(record_notes.c.id)
        )
        return [Note(r.id, r.record_id, r.reviewer, r.text, r.written_at) for r in rows]


def _label(label: str) -> str:
    label = " ".join(label.split())
    if not label:
        raise ReviewError("the label is empty; give it a name.")
    if len(label) > MAX_LABEL:
        raise ReviewError(f"a label has at most {MAX_LABEL} characters.")
    return label


def add_label(engine: Engine, record_id: int, label: str, reviewer: str) -> bool:
    """Put ``label`` on a record (audited); False when it was there already.

    Args:
        engine: the project store.
        record_id: the record.
        label: the label's name (e.g. "animal study", "ask the team").
        reviewer: who adds it; must be a member who may decide.
    """
    label = _label(label)
    with engine.begin() as conn:
        _may_annotate(conn, reviewer, record_id)
        there = conn.execute(
            sa.select(record_labels.c.id).where(
                record_labels.c.record_id == record_id, record_labels.c.label == label
            )
        ).first()
        if there is not None:
            return False
        conn.execute(
            record_labels.insert().values(
                record_id=record_id, label=label, added_by=reviewer, added_at=datetime.now(UTC)
            )
        )
        record_event(
            conn,
            actor=reviewer,
            action="record.label",
            entity="record",
            entity_id=record_id,
            value={"label": label},
        )
    return True


def remove_label(engine: Engine, record_id: int, label: str, reviewer: str) -> bool:
    """Take ``label`` off a record (audited); False when it was not there.

    Args:
        engine: the project store.
        record_id: the record.
        label: the label's name.
        reviewer: who removes it; must be a member who may decide.
    """
    label = _label(label)
    with engine.begin() as conn:
        _may_annotate(conn, reviewer, record_id)
        gone = conn.execute(
            record_labels.delete().where(
                record_labels.c.record_id == record_id, record_labels.c.label == label
            )
        ).rowcount
        if gone:
            record_event(
                conn,
                actor=reviewer,
                action="record.unlabel",
                entity="record",
                entity_id=record_id,
                previous={"label": label},
            )
    return bool(gone)


def labels_on(engine: Engine, record_id: int) -> list[str]:
    """The labels on a record, in the order they were added."""
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(record_labels.c.label)
                .where(record_labels.c.record_id == record_id)
                .order_by(record_labels.c.id)
            ).scalars()
        )


def labels_of(engine: Engine, ids: list[int]) -> dict[int, list[str]]:
    """The labels on each record of ``ids`` that carries any, in the order they were added
    (what a list of records shows beside each).

    Args:
        engine: the project store.
        ids: the records, read a thousand at a time.
    """
    found: dict[int, list[str]] = {}
    with engine.connect() as conn:
        for start in range(0, len(ids), 1000):
            query = (
                sa.select(record_labels.c.record_id, record_labels.c.label)
                .where(record_labels.c.record_id.in_(ids[start : start + 1000]))
                .order_by(record_labels.c.id)
            )
            for row in conn.execute(query):
                found.setdefault(row.record_id, []).append(row.label)
    return found


def labelled_ids(engine: Engine, labels: list[str]) -> set[int]:
    """The records that carry every one of ``labels`` (names as :func:`add_label` keeps them).

    Args:
        engine: the project store.
        labels: the labels a record must carry; at least one.
    """
    wanted = sorted({" ".join(label.split()) for label in labels} - {""})
    if not wanted:
        raise ReviewError("choose a label to filter by.")
    query = (
        sa.select(record_labels.c.record_id)
        .where(record_labels.c.label.in_(wanted))
        .group_by(record_labels.c.record_id)
        # A record carries a label at most once (uq_record_labels_record_id).
        .having(sa.func.count() == len(wanted))
    )
    with engine.connect() as conn:
        return set(conn.execute(query).scalars())


def project_labels(engine: Engine) -> list[str]:
    """Every label in use in the project, by name (offered when labelling a record)."""
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(record_labels.c.label).distinct().order_by(record_labels.c.label)
            ).scalars()
        )


def _term(term: str) -> str:
    """A highlight term as stored and compared: spaces collapsed, lower case."""
    return " ".join(term.split()).lower()


def _highlight_row(conn: Connection, reviewer: str, term: str) -> sa.Row | None:
    """The stored highlight ``term`` (normalised) of ``reviewer``: its id and kind, or None."""
    return conn.execute(
        sa.select(highlight_terms.c.id, highlight_terms.c.kind).where(
            highlight_terms.c.reviewer == reviewer, highlight_terms.c.term == term
        )
    ).first()


def set_highlight(engine: Engine, reviewer: str, term: str, kind: str) -> None:
    """Highlight ``term`` for ``reviewer`` from now on, green (include) or red (exclude);
    a term highlighted already changes colour (audited).

    Args:
        engine: the project store.
        reviewer: whose highlight terms these are; must be a member who may decide.
        term: a word or phrase, matched without regard to case.
        kind: ``include`` or ``exclude``.
    """
    term = _term(term)
    if not term or len(term) > MAX_TERM:
        raise ReviewError(f"a highlight term has 1 to {MAX_TERM} characters.")
    if kind not in KINDS:
        raise ReviewError(f"highlight as {' or '.join(KINDS)}, not {kind!r}.")
    with engine.begin() as conn:
        _may_annotate(conn, reviewer)
        before = _highlight_row(conn, reviewer, term)
        if before is not None and before.kind == kind:
            return
        if before is None:
            conn.execute(highlight_terms.insert().values(reviewer=reviewer, term=term, kind=kind))
        else:
            conn.execute(
                highlight_terms.update().where(highlight_terms.c.id == before.id).values(kind=kind)
            )
        record_event(
            conn,
            actor=reviewer,
            action="highlight.set",
            entity="highlight",
            entity_id=term,
            previous=None if before is None else {"kind": before.kind},
            value={"kind": kind},
        )


def remove_highlight(engine: Engine, reviewer: str, term: str) -> bool:
    """Stop highlighting ``term`` for ``reviewer`` (audited); False when it was not one.

    Args:
        engine: the project store.
        reviewer: whose highlight term it is; must be a member who may decide.
        term: the word or phrase, matched without regard to case.
    """
    term = _term(term)
    with engine.begin() as conn:
        _may_annotate(conn, reviewer)
        row = _highlight_row(conn, reviewer, term)
        if row is None:
            return False
        conn.execute(highlight_terms.delete().where(highlight_terms.c.id == row.id))
        record_event(
            conn,
            actor=reviewer,
            action="highlight.remove",
            entity="highlight",
            entity_id=term,
            previous={"kind": row.kind},
        )
    return True


def highlights_of(engine: Engine, reviewer: str) -> Highlights:
    """The reviewer's own highlight terms (the protocol's terms are added by the page)."""
    found = Highlights()
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(highlight_terms.c.term, highlight_terms.c.kind)
            .where(highlight_terms.c.reviewer == reviewer)
            .order_by(highlight_terms.c.term)
        )
        for row in rows:
            (found.include if row.kind == "include" else found.exclude).append(row.term)
    return found
