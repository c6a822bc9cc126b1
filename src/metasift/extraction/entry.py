"""A reviewer's forms: the extraction form saved whole, risk-of-bias tools, and their drafts.

What the web app's forms call. The extraction form is checked field by field, each wrong field
with what it expects, and saved only when every field is right (like a template import), so
that a reviewer's values are never half a form. A risk-of-bias tool is saved domain by domain
through :func:`~metasift.extraction.stage.record_rob`; a domain that cannot be recorded says
why and the others are kept. Until a form is saved its draft stays in the store
(:mod:`~metasift.extraction.drafts`), never read as an answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from metasift.errors import ExtractionError
from metasift.extraction import drafts, store
from metasift.extraction import rob as rob_tools
from metasift.extraction.stage import Context, context, record_rob
from metasift.extraction.validation import Value, parse_value
from metasift.protocol import Protocol

VALUES_FORM = "values"
Entry = str | Sequence[str]


@dataclass
class FormCheck:
    """The typed values of a filled-in form (None for an empty field) and, per field, what
    was expected where the text did not fit."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def check_form(ctx: Context, entries: Mapping[str, Entry]) -> FormCheck:
    """Check every study-level field of the form against what was typed or chosen.

    Args:
        ctx: the review's form and its choices (:func:`~metasift.extraction.stage.context`).
        entries: field name -> the text typed, or the choices ticked for a multi-choice field.
    """
    out = FormCheck()
    for spec in ctx.form.fields:
        raw = entries.get(spec.name, "")
        items = [raw] if isinstance(raw, str) else list(raw)
        items = [i.strip() for i in items if i and i.strip()]
        if not items:
            out.values[spec.name] = None
            if spec.required:
                out.errors[spec.name] = "This field is required."
            continue
        choices = ctx.choices.get(spec.name)
        try:
            if spec.type == "multi_choice":
                # Each ticked choice on its own: a choice may itself contain the separator.
                picked = [
                    parse_value(spec.model_copy(update={"type": "choice"}), i, choices)
                    for i in items
                ]
                out.values[spec.name] = list(dict.fromkeys(picked))
            elif len(items) > 1:
                raise ValueError("one value")
            else:
                out.values[spec.name] = parse_value(spec, items[0], choices)
        except ValueError as exc:
            out.errors[spec.name] = f"Expected {exc}."
    return out


def save_form(
    engine: Engine,
    protocol: Protocol,
    study_id: int,
    entries: Mapping[str, Entry],
    reviewer: str,
) -> FormCheck:
    """Save ``reviewer``'s whole extraction form for a study, or nothing if a field is wrong.

    An emptied field deletes the reviewer's earlier value; the form's draft is deleted once
    the values are stored.

    Args:
        engine: the project store.
        protocol: the review's protocol (the form).
        study_id: the study extracted.
        entries: field name -> text, or the choices ticked.
        reviewer: who saves.
    """
    checked = check_form(context(protocol), entries)
    if not checked.ok:
        return checked
    kept = [Value(study_id, name, v) for name, v in checked.values.items() if v is not None]
    emptied = [(study_id, name, "", "", "") for name, v in checked.values.items() if v is None]
    store.put_values(engine, kept, reviewer, "reviewer", {"form": VALUES_FORM})
    store.delete_values(engine, emptied, reviewer)
    drafts.delete_draft(engine, study_id, reviewer, VALUES_FORM)
    return checked


# --- risk of bias -----------------------------------------------------------------------------


@dataclass
class DomainEntry:
    """One domain of a risk-of-bias form: the answers, the reviewer's judgement ("" to take
    the algorithm's) and the support for it."""

    answers: dict[str, str] = field(default_factory=dict)
    judgement: str = ""
    support: str = ""

    @property
    def empty(self) -> bool:
        return not any(v.strip() for v in self.answers.values()) and not self.judgement.strip()


def rob_form(tool: str, result: str = "") -> str:
    """The name a risk-of-bias form's draft is kept under.

    Args:
        tool: rob2, robins-i or syrcle.
        result: the result assessed ("" for the whole study).
    """
    return f"rob:{tool}:{result}" if result else f"rob:{tool}"


def save_rob_form(
    engine: Engine,
    *,
    study_id: int,
    tool: str,
    reviewer: str,
    entries: Mapping[str, DomainEntry],
    result: str = "",
) -> dict[str, str]:
    """Record every domain of a tool that has answers or a judgement; returns, per domain
    that could not be recorded, why. The draft is deleted when every domain was recorded.

    Args:
        engine: the project store.
        study_id: the study assessed.
        tool: rob2, robins-i or syrcle.
        reviewer: who judges.
        entries: domain key -> what the form holds for it.
        result: the result assessed ("" for the whole study).
    """
    if tool not in rob_tools.TOOLS:
        raise ExtractionError(f"unknown tool {tool!r}; use rob2, robins-i or syrcle")
    errors: dict[str, str] = {}
    for domain in rob_tools.TOOLS[tool]:
        entry = entries.get(domain.key)
        if entry is None or entry.empty:
            continue
        proposed, why = rob_tools.proposal(tool, domain.key, entry.answers)
        judgement = entry.judgement.strip()
        if proposed is None and not judgement:
            errors[domain.key] = f"Choose a judgement, or answer the questions ({why})."
            continue
        if proposed and judgement and judgement != proposed and not entry.support.strip():
            errors[domain.key] = (
                f"The algorithm proposes {proposed}; say why you judge {judgement} instead."
            )
            continue
        try:
            record_rob(
                engine,
                study_id=study_id,
                tool=tool,
                domain=domain.key,
                reviewer=reviewer,
                answers={k: v for k, v in entry.answers.items() if v.strip()} or None,
                judgement=judgement or None,
                support=entry.support.strip(),
                result=result,
            )
        except ExtractionError as exc:
            errors[domain.key] = str(exc)
    if not errors:
        drafts.delete_draft(engine, study_id, reviewer, rob_form(tool, result))
    return errors
