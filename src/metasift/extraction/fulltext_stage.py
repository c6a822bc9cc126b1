"""Suggestions from a record's stored full text: read, suggested, stored; listed for a viewer.

:func:`suggest_from_fulltext` reads the record's full text part by part
(:func:`metasift.fulltext.text_parts`: pages of a PDF, sections and tables of JATS), runs the
rules of :mod:`metasift.extraction.fulltext` and stores what they find as pending suggestions
with the text's checksum and each part's position, so that running it again adds nothing.
:func:`fulltext_suggestions` returns them with their provenance, in reading order, for a viewer
to highlight (``text_source`` is the part, ``span_start:span_end`` the characters in that
part's text). A reviewer accepts, edits or rejects each with
:func:`metasift.extraction.stage.review_suggestion`, which fills the form and keeps the
provenance; who may do so is workflow's rule, asked by the door that calls it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from metasift.errors import ExtractionError
from metasift.extraction import store
from metasift.extraction.fulltext import suggest_fulltext

JATS = "application/jats+xml"


@dataclass(frozen=True)
class TextSuggestions:
    """The suggestions of one full text: the text read, how many were new, and all of them."""

    record_id: int
    study_id: int
    sha256: str
    media_type: str
    parts: list[str]
    added: int
    suggestions: list[store.StoredSuggestion] = field(default_factory=list)


def _chosen(engine: Engine, record_id: int):
    from metasift.fulltext import stored_texts

    texts = stored_texts(engine, [record_id]).get(record_id) or []
    if not texts:
        raise ExtractionError(
            f"record {record_id} has no full text in the project; fetch it "
            f"('metasift fulltext fetch') or attach it ('metasift fulltext attach {record_id} "
            "FILE')"
        )
    # JATS first: its sections and table cells are what the rules read best.
    jats = [t for t in texts if t.media_type == JATS]
    return (jats or texts)[-1]


def suggest_from_fulltext(
    engine: Engine, root: Path, record_id: int, *, study_id: int | None = None
) -> TextSuggestions:
    """Suggest extraction values from the full text of ``record_id`` and store them.

    Args:
        engine: the project store.
        root: the project folder (where the full texts are).
        record_id: the report whose full text is read (its latest JATS text, else its latest).
        study_id: the study the values belong to (default: the record's own id).
    """
    from metasift.fulltext import text_parts

    text = _chosen(engine, record_id)
    parts = text_parts(root, text)
    sid = record_id if study_id is None else study_id
    added = 0
    for index, part in enumerate(parts):
        added += store.add_suggestions(
            engine, sid, suggest_fulltext([part]), fulltext_sha256=text.sha256, part_index=index
        )
    return TextSuggestions(
        record_id,
        sid,
        text.sha256,
        text.media_type,
        [name for name, _ in parts],
        added,
        store.get_suggestions(engine, fulltext_sha256=text.sha256),
    )


def fulltext_suggestions(
    engine: Engine, record_id: int, statuses: Sequence[str] | None = None
) -> list[store.StoredSuggestion]:
    """The stored suggestions of the full text of ``record_id`` that
    :func:`suggest_from_fulltext` reads, in reading order (part, then span): what a viewer
    highlights beside the text. Empty when nothing was suggested from it yet.

    Args:
        engine: the project store.
        record_id: the report.
        statuses: only these (pending, accepted, edited, rejected); default all.
    """
    text = _chosen(engine, record_id)
    found = store.get_suggestions(engine, fulltext_sha256=text.sha256)
    return [s for s in found if statuses is None or s.status in statuses]
