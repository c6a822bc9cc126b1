"""Extraction suggestions from a report's full text, under the review's rule of who may.

The suggestions themselves are the extraction stage's
(:func:`~metasift.extraction.fulltext_stage.suggest_from_fulltext`,
:func:`~metasift.extraction.stage.review_suggestion`); what this module adds is the review's
part: only a member who may decide computes or reviews them, a report's values go to its study
(the smallest record id of its group), a suggestion is reviewed only through the report whose
text it was read from, and only once its study is included (:func:`extraction_studies`). The
web reader calls these; so may any other door.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from metasift.errors import ExtractionError
from metasift.extraction.fulltext_stage import (
    TextSuggestions,
    fulltext_suggestions,
    suggest_from_fulltext,
)
from metasift.extraction.stage import review_suggestion
from metasift.extraction.store import StoredSuggestion
from metasift.protocol import Protocol
from metasift.workflow.fulltext import list_reports
from metasift.workflow.reviewers import require
from metasift.workflow.state import extraction_studies


def study_of_report(engine: Engine, protocol: Protocol, record_id: int) -> int:
    """The study a report's extracted values belong to (the record itself when ungrouped).

    Args:
        engine: the project store.
        protocol: the review's protocol.
        record_id: the report.
    """
    reports = list_reports(engine, protocol)
    return next((r.study_id for r in reports if r.record_id == record_id), record_id)


def suggest_report(
    engine: Engine, protocol: Protocol, root: Path, record_id: int, actor: str
) -> TextSuggestions:
    """Compute and store the suggestions of a report's full text, if ``actor`` may decide.

    Args:
        engine: the project store.
        protocol: the review's protocol.
        root: the project folder (where the full texts are).
        record_id: the report whose full text is read.
        actor: who asks.
    """
    require(engine, actor, "decide")
    study = study_of_report(engine, protocol, record_id)
    return suggest_from_fulltext(engine, root, record_id, study_id=study)


def review_report_suggestion(
    engine: Engine,
    protocol: Protocol,
    record_id: int,
    suggestion_id: int,
    action: str,
    actor: str,
    **options: Any,
) -> StoredSuggestion:
    """Accept, edit or reject one suggestion read from the full text of ``record_id``.

    Args:
        engine: the project store.
        protocol: the review's protocol.
        record_id: the report the suggestion was read from.
        suggestion_id: the suggestion.
        action: ``accept``, ``edit`` or ``reject``.
        actor: who reviews it (a member who may decide).
        options: what :func:`~metasift.extraction.stage.review_suggestion` takes besides
            (``value_text``, ``arm``, ``outcome``, ``timepoint``, ``field_name``).
    """
    require(engine, actor, "decide")
    found = {s.id: s for s in fulltext_suggestions(engine, record_id)}
    if suggestion_id not in found:
        raise ExtractionError(
            f"suggestion {suggestion_id} was not read from the full text of record {record_id}"
        )
    if found[suggestion_id].study_id not in extraction_studies(engine, protocol):
        # Values are extracted from included studies only, as the forms are.
        raise ExtractionError(
            f"study {found[suggestion_id].study_id} is not included at full text: include it "
            "before recording values from its text"
        )
    return review_suggestion(engine, protocol, suggestion_id, action, actor, **options)
