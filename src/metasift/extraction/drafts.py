"""Drafts of a reviewer's forms in the project store: typed, not yet saved, never an answer.

A draft is whatever the form held when the browser last sent it (field -> text, or the answers
of a risk-of-bias tool), stored per study, reviewer and form. Nothing reads a draft but the
form that restores it; saving the form deletes it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from metasift.errors import ExtractionError
from metasift.store.schema import extraction_drafts

MAX_DRAFT_CHARS = 200_000


@dataclass(frozen=True)
class Draft:
    """One unsaved form: its contents and when the browser last sent them."""

    form: str
    data: dict[str, Any]
    saved_at: dt.datetime


def _where(study_id: int, reviewer: str, form: str) -> sa.ColumnElement[bool]:
    t = extraction_drafts
    return sa.and_(t.c.study_id == study_id, t.c.reviewer == reviewer, t.c.form == form)


def put_draft(
    engine: Engine, study_id: int, reviewer: str, form: str, data: dict[str, Any]
) -> Draft:
    """Store (or replace) ``reviewer``'s draft of ``form`` for a study.

    Args:
        engine: the project store.
        study_id: the study the form is about.
        reviewer: whose draft it is.
        form: which form ("values", or "rob:<tool>" with the result assessed).
        data: what the form holds, as plain JSON data.
    """
    if len(repr(data)) > MAX_DRAFT_CHARS:
        raise ExtractionError(f"the draft is larger than {MAX_DRAFT_CHARS:,} characters.")
    when = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        changed = conn.execute(
            sa.update(extraction_drafts)
            .where(_where(study_id, reviewer, form))
            .values(data=data, saved_at=when)
        ).rowcount
        if not changed:
            conn.execute(
                sa.insert(extraction_drafts).values(
                    study_id=study_id, reviewer=reviewer, form=form, data=data, saved_at=when
                )
            )
    return Draft(form, data, when)


def get_drafts(engine: Engine, study_id: int, reviewer: str) -> dict[str, Draft]:
    """``reviewer``'s drafts of a study, by form.

    Args:
        engine: the project store.
        study_id: the study.
        reviewer: whose drafts.
    """
    t = extraction_drafts
    query = sa.select(t).where(t.c.study_id == study_id, t.c.reviewer == reviewer)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return {
        r.form: Draft(
            r.form, r.data, r.saved_at if r.saved_at.tzinfo else r.saved_at.replace(tzinfo=dt.UTC)
        )
        for r in rows
    }


def delete_draft(engine: Engine, study_id: int, reviewer: str, form: str) -> None:
    """Forget ``reviewer``'s draft of ``form`` (saved, or discarded by them).

    Args:
        engine: the project store.
        study_id: the study.
        reviewer: whose draft.
        form: which form.
    """
    with engine.begin() as conn:
        conn.execute(sa.delete(extraction_drafts).where(_where(study_id, reviewer, form)))
