"""The extraction stage: what the CLI (and later the web app) call.

Which studies are extracted comes from the review workflow; every function here takes the
list of study ids. A study id is the record id of the study's report for now (see
:func:`all_study_ids`, which the CLI uses until the workflow stage provides included studies).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from metasift.errors import ExtractionError
from metasift.extraction import rob as rob_tools
from metasift.extraction import store
from metasift.extraction.evidence import (
    CharacteristicsTable,
    EvidenceMap,
    characteristics_table,
    evidence_counts,
)
from metasift.extraction.forms import ExtractionSettings, FieldSpec, Form, extraction_settings
from metasift.extraction.fulltext_values import READERS as _READERS
from metasift.extraction.suggest import DesignModel, suggest_all
from metasift.extraction.template import read_template, write_template
from metasift.extraction.validation import CellError, Value, validate_rows
from metasift.extraction.vocab import Vocabularies, load_vocabularies
from metasift.protocol import Protocol
from metasift.records.model import Record
from metasift.store.audit import record_event
from metasift.store.records import iter_records
from metasift.store.schema import records


@dataclass
class Context:
    settings: ExtractionSettings
    form: Form
    vocab: Vocabularies
    choices: dict[str, list[str]]

    def spec(self, name: str) -> FieldSpec | None:
        return self.form.field(name) or self.form.arm_field(name)


def context(protocol: Protocol) -> Context:
    settings = extraction_settings(protocol.extraction)
    files = [protocol.folder / name for name in settings.vocabulary_files]
    vocab = load_vocabularies(settings.vocabularies, files)
    form = settings.form
    choices: dict[str, list[str]] = {}
    for spec in [*form.fields, *form.arm_fields]:
        if spec.vocabulary:
            if spec.vocabulary not in vocab:
                raise ExtractionError(
                    f"review.toml: field {spec.name!r} uses vocabulary {spec.vocabulary!r}, "
                    f"which does not exist (known: {', '.join(vocab)})"
                )
            choices[spec.name] = [*spec.choices, *vocab[spec.vocabulary].names]
        elif spec.choices:
            choices[spec.name] = list(spec.choices)
    return Context(settings, form, vocab, choices)


# --- studies ----------------------------------------------------------------------------------


def all_study_ids(engine: Engine) -> list[int]:
    """Every record id: the studies to extract until screening decides which are included."""
    with engine.connect() as conn:
        return list(conn.execute(sa.select(records.c.id).order_by(records.c.id)).scalars())


def study_records(engine: Engine, study_ids: Sequence[int]) -> dict[int, Record]:
    wanted = set(study_ids)
    found = {rid: rec for rid, rec in iter_records(engine, records.c.id.in_(list(wanted)))}
    missing = sorted(wanted - set(found))
    if missing:
        shown = ", ".join(map(str, missing[:10]))
        raise ExtractionError(
            f"no record with id {shown}; list the records with 'metasift records'",
            web=f"no record with id {shown}; the Records page lists them.",
        )
    return found


def citation(record: Record) -> str:
    author = (record.first_author or "Anonymous").split(",")[0]
    year = record.year or "n.d."
    return f"{author} {year}: {(record.title or '')[:70]}"


# --- template round trip ------------------------------------------------------------------------


def export_template(
    engine: Engine,
    protocol: Protocol,
    path: Path,
    study_ids: Sequence[int],
    reviewer: str | None = None,
) -> int:
    """Write the template for ``study_ids``, pre-filled with ``reviewer``'s values if given."""
    ctx = context(protocol)
    recs = study_records(engine, study_ids)
    studies = [(sid, citation(recs[sid])) for sid in study_ids]
    values = {}
    if reviewer:
        values = {v.key: v.value for v in store.get_values(engine, study_ids, reviewer)}
    return write_template(path, ctx.form, studies, values, ctx.choices)


@dataclass
class ImportResult:
    values: list[Value]
    errors: list[CellError]
    stored: int = 0


def import_template(
    engine: Engine,
    protocol: Protocol,
    path: Path,
    reviewer: str,
    study_ids: Sequence[int],
) -> ImportResult:
    """Validate a filled-in template; store its values only if every cell is valid."""
    sheet, header, rows = read_template(path)
    detail = {"file": path.name, "sheet": sheet}
    return import_rows(engine, protocol, header, rows, reviewer, study_ids, detail)


def import_rows(
    engine: Engine,
    protocol: Protocol,
    header: list[str],
    rows: list[tuple[int, dict[str, str]]],
    reviewer: str,
    study_ids: Sequence[int],
    detail: dict[str, str],
) -> ImportResult:
    """Validate rows read from a template (:func:`read_template`'s shape); store their values
    only if every cell is valid.

    :param engine: the project store.
    :param protocol: the review's protocol (its extraction form).
    :param header: the template's columns.
    :param rows: (row number, column -> cell text) pairs.
    :param reviewer: who extracted the values.
    :param study_ids: the studies a row may name.
    :param detail: where the rows come from ({"file": ..., "sheet": ...}), kept with each value.
    """
    ctx = context(protocol)
    values, errors = validate_rows(
        ctx.form,
        rows,
        header,
        sheet=detail.get("sheet", ""),
        choices=ctx.choices,
        study_ids=set(study_ids),
    )
    result = ImportResult(values, errors)
    if not errors:
        result.stored = store.put_values(engine, values, reviewer, "import", detail)
    return result


def enter_value(
    engine: Engine,
    protocol: Protocol,
    key: tuple[int, str, str, str, str],
    text: str,
    reviewer: str,
) -> Any:
    """One value typed in by a reviewer, validated like a template cell."""
    ctx = context(protocol)
    study_id, field_name, arm, outcome, timepoint = key
    header = ["study_id", "arm", "outcome", "timepoint", field_name]
    row = {"study_id": str(study_id), "arm": arm, "outcome": outcome, "timepoint": timepoint}
    row[field_name] = text
    values, errors = validate_rows(
        ctx.form, [(1, row)], header, sheet="entry", choices=ctx.choices, cross_checks=False
    )
    if errors:
        raise ExtractionError("; ".join(e.describe() for e in errors))
    store.put_values(engine, values, reviewer, "reviewer", {})
    return values[0].value if values else None


# --- double extraction ------------------------------------------------------------------------


@dataclass(frozen=True)
class Discrepancy:
    key: tuple[int, str, str, str, str]
    values: dict[str, Any]

    def describe(self) -> str:
        study_id, field_name, arm, outcome, timepoint = self.key
        where = " / ".join(x for x in (arm, outcome, timepoint) if x)
        shown = "; ".join(f"{r}: {_show(v)}" for r, v in sorted(self.values.items()))
        return f"study {study_id} {field_name}{f' [{where}]' if where else ''}: {shown}"


def _show(value: Any) -> str:
    if value is None:
        return "(missing)"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "(none)"
    return str(value)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return sorted(map(str, a)) == sorted(map(str, b))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return a == b


def _by_key(values: Iterable[store.StoredValue]) -> dict[tuple, dict[str, store.StoredValue]]:
    out: dict[tuple, dict[str, store.StoredValue]] = defaultdict(dict)
    for v in values:
        out[v.key][v.reviewer] = v
    return out


def discrepancies(engine: Engine, study_ids: Sequence[int]) -> list[Discrepancy]:
    """Keys where the reviewers of a study disagree or one has no value, not yet reconciled."""
    stored = store.get_values(engine, study_ids)
    reviewers_of: dict[int, set[str]] = defaultdict(set)
    for v in stored:
        if v.reviewer != store.CONSENSUS:
            reviewers_of[v.study_id].add(v.reviewer)
    out = []
    for key, by_reviewer in _by_key(stored).items():
        if store.CONSENSUS in by_reviewer:
            continue
        reviewers = reviewers_of[key[0]]
        if len(reviewers) < 2:
            continue
        values = {r: (by_reviewer[r].value if r in by_reviewer else None) for r in reviewers}
        present = [v for v in values.values() if v is not None]
        if len(present) < len(values) or any(not _same(present[0], v) for v in present[1:]):
            out.append(Discrepancy(key, values))
    return out


def reconcile(
    engine: Engine,
    protocol: Protocol,
    key: tuple[int, str, str, str, str],
    by: str,
    *,
    take: str | None = None,
    value_text: str | None = None,
) -> Any:
    """Settle one key: take a reviewer's value (``take``) or a new one (``value_text``)."""
    stored = _by_key(store.get_values(engine, [key[0]])).get(key, {})
    candidates = {r: v.value for r, v in stored.items() if r != store.CONSENSUS}
    if (take is None) == (value_text is None):
        raise ExtractionError("reconcile: give either --take REVIEWER or --value VALUE")
    if take is not None:
        if take not in candidates:
            known = ", ".join(sorted(candidates)) or "none"
            raise ExtractionError(
                f"reconcile: {take!r} has no value for this key (reviewers with one: {known})"
            )
        value = candidates[take]
    else:
        ctx = context(protocol)
        study_id, field_name, arm, outcome, timepoint = key
        header = ["study_id", "arm", "outcome", "timepoint", field_name]
        row = {"study_id": str(study_id), "arm": arm, "outcome": outcome, "timepoint": timepoint}
        row[field_name] = value_text or ""
        values, errors = validate_rows(
            ctx.form,
            [(1, row)],
            header,
            sheet="reconcile",
            choices=ctx.choices,
            cross_checks=False,
        )
        if errors:
            raise ExtractionError("; ".join(e.describe() for e in errors))
        value = values[0].value
    detail = {"by": by, "reviewer_values": candidates, "took": take}
    with engine.begin() as conn:
        store.put_value(conn, key, value, store.CONSENSUS, "reconciled", detail)
    return value


def reconcile_agreements(engine: Engine, study_ids: Sequence[int], by: str) -> int:
    """Record the consensus wherever all reviewers (at least two) entered the same value."""
    stored = store.get_values(engine, study_ids)
    reviewers_of: dict[int, set[str]] = defaultdict(set)
    for v in stored:
        if v.reviewer != store.CONSENSUS:
            reviewers_of[v.study_id].add(v.reviewer)
    n = 0
    with engine.begin() as conn:
        for key, by_reviewer in _by_key(stored).items():
            if store.CONSENSUS in by_reviewer:
                continue
            own = [v for r, v in by_reviewer.items() if r != store.CONSENSUS]
            if len(own) < 2 or len(own) < len(reviewers_of[key[0]]):
                continue
            if all(_same(own[0].value, v.value) for v in own[1:]):
                detail = {"by": by, "agreement": sorted(v.reviewer for v in own)}
                store.put_value(conn, key, own[0].value, store.CONSENSUS, "reconciled", detail)
                n += 1
    return n


def final_values(
    engine: Engine, study_ids: Sequence[int], reviewers_required: int = 2
) -> dict[tuple[int, str, str, str, str], store.StoredValue]:
    """The accepted value of every key: the consensus; or, where one reviewer suffices
    (``reviewers_required == 1``) or only one reviewer extracted the study, that value; or the
    value all reviewers agree on."""
    stored = store.get_values(engine, study_ids)
    reviewers_of: dict[int, set[str]] = defaultdict(set)
    for v in stored:
        if v.reviewer != store.CONSENSUS:
            reviewers_of[v.study_id].add(v.reviewer)
    out = {}
    for key, by_reviewer in _by_key(stored).items():
        if store.CONSENSUS in by_reviewer:
            out[key] = by_reviewer[store.CONSENSUS]
            continue
        own = list(by_reviewer.values())
        if len(reviewers_of[key[0]]) == 1 or reviewers_required == 1:
            if all(_same(own[0].value, v.value) for v in own[1:]):
                out[key] = own[0]
        elif len(own) == len(reviewers_of[key[0]]) and all(
            _same(own[0].value, v.value) for v in own[1:]
        ):
            out[key] = own[0]
    return out


# --- suggestions ------------------------------------------------------------------------------


def study_texts(record: Record) -> dict[str, str | None]:
    return {"title": record.title, "abstract": record.abstract}


def design_model(engine: Engine, protocol: Protocol, min_studies: int = 10) -> DesignModel:
    """A design classifier fitted on the titles and abstracts of studies whose design has been
    accepted; needs ``min_studies`` such studies and at least two designs."""
    ctx = context(protocol)
    ids = all_study_ids(engine)
    designs = {
        key[0]: v.value
        for key, v in final_values(engine, ids, ctx.settings.reviewers).items()
        if key[1] == "design" and not key[2] and isinstance(v.value, str)
    }
    if len(designs) < min_studies or len(set(designs.values())) < 2:
        raise ExtractionError(
            f"--learn-design needs at least {min_studies} studies with an accepted design, of at "
            f"least two kinds; there are {len(designs)}"
        )
    recs = study_records(engine, list(designs))
    texts = [" ".join(t for t in study_texts(recs[sid]).values() if t) for sid in designs]
    return DesignModel().fit(texts, list(designs.values()))


def run_suggestions(
    engine: Engine,
    protocol: Protocol,
    study_ids: Sequence[int],
    *,
    pasted: tuple[str, str] | None = None,
    model: DesignModel | None = None,
    on_study: Callable[[int], None] | None = None,
) -> int:
    """Suggest values for each study from its title and abstract (or, with ``pasted``
    = (name, text), from that text for the one study given); returns suggestions added."""
    ctx = context(protocol)
    if pasted is not None and len(study_ids) != 1:
        raise ExtractionError("pasted result text belongs to one study: give exactly one --study")
    recs = study_records(engine, study_ids)
    added = 0
    for i, sid in enumerate(study_ids, start=1):
        texts = {f"text:{pasted[0]}": pasted[1]} if pasted else study_texts(recs[sid])
        added += store.add_suggestions(engine, sid, suggest_all(texts, ctx.vocab, model))
        if on_study:
            on_study(i)
    return added


def review_suggestion(
    engine: Engine,
    protocol: Protocol,
    suggestion_id: int,
    action: str,
    reviewer: str,
    *,
    value_text: str | None = None,
    arm: str | None = None,
    outcome: str | None = None,
    timepoint: str | None = None,
    field_name: str | None = None,
) -> store.StoredSuggestion:
    """Accept, edit or reject a suggestion; accepting or editing records the value for
    ``reviewer`` with the suggestion's provenance as its source."""
    found = store.get_suggestions(engine, ids=[suggestion_id])
    if not found:
        raise ExtractionError(f"no suggestion with id {suggestion_id} ('metasift extract review')")
    s = found[0]
    if action not in ("accept", "edit", "reject"):
        raise ExtractionError(f"action must be accept, edit or reject, not {action!r}")
    if action == "reject":
        with engine.begin() as conn:
            store.set_suggestion_status(conn, s.id, "rejected", reviewer, None)
            _audit(conn, s, "reject", reviewer, None)
        return store.get_suggestions(engine, ids=[s.id])[0]
    ctx = context(protocol)
    if action == "edit" and value_text is None:
        raise ExtractionError("edit needs the corrected value (--value)")
    if field_name is None and s.field in _READERS:
        # Values read from a full text fill the form's own fields (see fulltext_values).
        values = _READERS[s.field](ctx, s, value_text, arm, outcome, timepoint)
    elif s.field == "statistic":
        values = _statistic_values(ctx, s, value_text, arm, outcome, timepoint)
    else:
        target = field_name or s.field
        spec = ctx.spec(target)
        if spec is None:
            raise ExtractionError(
                f"the form has no field {target!r}; add it to [extraction] in review.toml or "
                f"record the value under another field (--field)"
            )
        text = value_text if value_text is not None else _text_of(s.value)
        values = _field_values(
            ctx, spec, s.study_id, text, engine, reviewer, merge=action == "accept"
        )
    detail = {"suggestion": s.provenance()}
    status = "accepted" if action == "accept" else "edited"
    with engine.begin() as conn:
        for v in values:
            store.put_value(conn, v.key, v.value, reviewer, "suggestion", detail)
        final = values[0].value if len(values) == 1 else {v.field: v.value for v in values}
        store.set_suggestion_status(conn, s.id, status, reviewer, final)
        _audit(conn, s, action, reviewer, final)
    return store.get_suggestions(engine, ids=[s.id])[0]


def _audit(conn, s: store.StoredSuggestion, action: str, reviewer: str, final: Any) -> None:
    record_event(
        conn,
        actor=reviewer,
        action=f"extraction.suggestion.{action}",
        entity="extraction_suggestion",
        entity_id=s.id,
        previous=s.value,
        value=final,
        note=f"{s.field} from {s.text_source} [{s.span_start}:{s.span_end}]: {s.cue[:200]}",
    )


def _text_of(value: Any) -> str:
    return "; ".join(map(str, value)) if isinstance(value, list) else str(value)


def _field_values(
    ctx: Context,
    spec: FieldSpec,
    study_id: int,
    text: str,
    engine: Engine,
    reviewer: str,
    merge: bool,
) -> list[Value]:
    values, errors = validate_rows(
        ctx.form,
        [(1, {"study_id": str(study_id), spec.name: text})],
        ["study_id", spec.name],
        sheet="review",
        choices=ctx.choices,
    )
    if errors:
        raise ExtractionError("; ".join(e.describe() for e in errors))
    value = values[0]
    if spec.type == "multi_choice" and merge:
        # Accepting one concept adds it to what the reviewer already recorded for the field.
        current = [
            v.value
            for v in store.get_values(engine, [study_id], reviewer)
            if v.field == spec.name and not v.arm
        ]
        merged = list(current[0]) if current else []
        merged += [x for x in value.value if x not in merged]
        value = Value(study_id, spec.name, merged)
    return [value]


def _statistic_values(ctx, s, value_text, arm, outcome, timepoint) -> list[Value]:
    if not outcome or not (arm or s.arm):
        raise ExtractionError(
            "a statistic needs the outcome and arm it belongs to: --outcome NAME --arm NAME "
            "(and --timepoint if the outcome has time points)"
        )
    stats = dict(s.value)
    if value_text:
        for part in value_text.split(","):
            name, _, number = part.partition("=")
            stats[name.strip()] = number.strip()
    stats.pop("unit", None)
    if stats.get("se") not in ("", None):
        raise ExtractionError(
            "the suggestion is mean ± SE: convert it to SD (SD = SE × √n) and give "
            "--value 'sd=...,se='"
        )
    stats.pop("se", None)
    stats = {k: v for k, v in stats.items() if v not in ("", None)}
    row = {"study_id": str(s.study_id), "arm": arm or s.arm, "outcome": outcome}
    row["timepoint"] = timepoint or ""
    row.update({k: str(v) for k, v in stats.items()})
    header = list(row)
    values, errors = validate_rows(
        ctx.form, [(1, row)], header, sheet="review", choices=ctx.choices
    )
    if errors:
        raise ExtractionError("; ".join(e.describe() for e in errors))
    return values


# --- risk of bias -----------------------------------------------------------------------------


def record_rob(
    engine: Engine,
    *,
    study_id: int,
    tool: str,
    domain: str,
    reviewer: str,
    answers: Mapping[str, str] | None = None,
    judgement: str | None = None,
    support: str = "",
    result: str = "",
) -> tuple[str | None, str]:
    """Record a domain judgement; returns (the algorithm's judgement, the judgement stored).

    With signalling answers the tool's algorithm proposes the judgement; a different judgement
    may be given, but then the support text must say why. Questions that do not apply given
    the earlier answers are stored as NA (:func:`~metasift.extraction.rob.settled_answers`).
    """
    if tool not in rob_tools.TOOLS:
        raise ExtractionError(f"unknown tool {tool!r}; use rob2, robins-i or syrcle")
    try:
        answers = rob_tools.settled_answers(tool, domain, answers) if answers else {}
        proposed = (
            rob_tools.domain_judgement(tool, domain, answers) if answers or tool != "rob2" else None
        )
    except rob_tools.RobError as exc:
        raise ExtractionError(f"{rob_tools.TOOL_NAMES[tool]} {domain}: {exc}") from exc
    allowed = rob_tools.JUDGEMENTS[tool]
    if judgement is not None:
        matched = [j for j in allowed if j.lower() == judgement.strip().lower()]
        if not matched:
            raise ExtractionError(f"judgement must be one of: {', '.join(allowed)}")
        judgement = matched[0]
    final = judgement or proposed
    if final is None:
        raise ExtractionError(
            f"{rob_tools.TOOL_NAMES[tool]} {domain}: give the signalling answers "
            f"(--answer 1.1=Y ...) or the judgement (--judgement)"
        )
    if proposed is not None and final != proposed and not support.strip():
        raise ExtractionError(
            f"the algorithm says {proposed!r} for {domain}; to record {final!r} instead, "
            f"explain why with --support"
        )
    store.put_judgement(
        engine,
        study_id=study_id,
        tool=tool,
        domain=domain,
        answers=dict(answers),
        algorithm=proposed,
        judgement=final,
        support=support,
        reviewer=reviewer,
        result=result,
    )
    return proposed, final


@dataclass
class RobRow:
    study_id: int
    label: str
    result: str
    domains: dict[str, str]
    overall: str | None
    reviewers: list[str] = field(default_factory=list)


def rob_table(
    engine: Engine, study_ids: Sequence[int], tool: str, labels: Mapping[int, str] | None = None
) -> list[RobRow]:
    """One row per study (and result): each domain's judgement and the overall one.

    With several reviewers, the consensus reviewer's judgement wins; otherwise a domain on
    which reviewers disagree is left out (and the overall is not computed).
    """
    labels = labels or {}
    judged: dict[tuple[int, str], dict[str, dict[str, str]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for j in store.get_judgements(engine, study_ids, tool):
        judged[(j.study_id, j.result)][j.domain][j.reviewer] = j.judgement
    rows = []
    for (study_id, result), per_domain in sorted(judged.items()):
        chosen: dict[str, str] = {}
        reviewers: set[str] = set()
        for domain, by in per_domain.items():
            reviewers |= set(by)
            if store.CONSENSUS in by:
                chosen[domain] = by[store.CONSENSUS]
            elif len(set(by.values())) == 1:
                chosen[domain] = next(iter(by.values()))
        overall = rob_tools.overall_so_far(tool, chosen)
        label = labels.get(study_id, f"study {study_id}")
        rows.append(RobRow(study_id, label, result, chosen, overall, sorted(reviewers)))
    return rows


# --- evidence map and characteristics --------------------------------------------------------


def study_values(
    engine: Engine, study_ids: Sequence[int], reviewers_required: int = 2
) -> dict[int, dict[str, Any]]:
    """Accepted study-level values per study, falling back to accepted suggestions."""
    out: dict[int, dict[str, Any]] = {sid: {} for sid in study_ids}
    for key, v in final_values(engine, study_ids, reviewers_required).items():
        study_id, field_name, arm, outcome, _ = key
        if not arm and not outcome:
            out[study_id][field_name] = v.value
    for s in store.get_suggestions(engine, study_ids, status=("accepted", "edited")):
        if s.field == "statistic" or s.field in out[s.study_id]:
            continue
        value = s.final_value if s.final_value is not None else s.value
        out[s.study_id].setdefault(f"_suggested:{s.field}", []).append(value)
    for values in out.values():
        for name in [k for k in values if k.startswith("_suggested:")]:
            field_name = name.split(":", 1)[1]
            items = values.pop(name)
            flat: list[Any] = []
            for item in items:
                for x in item if isinstance(item, list) else [item]:
                    if x not in flat:
                        flat.append(x)
            values[field_name] = flat if len(flat) != 1 or field_name != "design" else flat[0]
    return out


def evidence_map(engine: Engine, protocol: Protocol, study_ids: Sequence[int]) -> EvidenceMap:
    ctx = context(protocol)
    values = study_values(engine, study_ids, ctx.settings.reviewers)
    return evidence_counts(values, ctx.settings.map_fields)


def characteristics(
    engine: Engine, protocol: Protocol, study_ids: Sequence[int]
) -> CharacteristicsTable:
    ctx = context(protocol)
    recs = study_records(engine, study_ids)
    values = study_values(engine, study_ids, ctx.settings.reviewers)
    arms: dict[int, dict[str, dict[str, Any]]] = defaultdict(lambda: defaultdict(dict))
    for key, v in final_values(engine, study_ids, ctx.settings.reviewers).items():
        study_id, field_name, arm, outcome, _ = key
        if arm and not outcome:
            arms[study_id][arm][field_name] = v.value
    studies = [(sid, citation(recs[sid])) for sid in study_ids]
    return characteristics_table(studies, values, ctx.form, {k: dict(v) for k, v in arms.items()})


def analysis_rows(
    engine: Engine, protocol: Protocol, study_ids: Sequence[int]
) -> list[dict[str, Any]]:
    """Extracted outcome data as the rows the analysis plan reads.

    One row per study, outcome and time point; each arm's statistics are columns named
    "<arm>.<statistic>" (e.g. "ADSC.mean", "control.sd"), beside the study's label, id (its
    record id) and study-level fields, so that an analysis reads metafor's inputs from its
    ``arms`` (or maps them with ``columns``) and picks its rows with ``where``. Each row says
    who extracted its numbers (``extracted_by``: reviewers, or "consensus"), so that every
    pooled effect traces back to a record and its extractors.
    """
    ctx = context(protocol)
    recs = study_records(engine, study_ids)
    studies = study_values(engine, study_ids, ctx.settings.reviewers)
    rows: dict[tuple[int, str, str], dict[str, Any]] = {}
    extractors: dict[tuple[int, str, str], set[str]] = {}
    for key, value in final_values(engine, study_ids, ctx.settings.reviewers).items():
        study_id, statistic, arm, outcome, timepoint = key
        if not outcome:
            continue
        row = rows.get((study_id, outcome, timepoint))
        if row is None:
            level = {
                name: "; ".join(map(str, v)) if isinstance(v, list) else v
                for name, v in studies.get(study_id, {}).items()
            }
            row = rows[(study_id, outcome, timepoint)] = {
                **level,
                "study": citation(recs[study_id]),
                "study_id": study_id,
                "outcome": outcome,
                "timepoint": timepoint,
            }
        row[f"{arm}.{statistic}" if arm else statistic] = value.value
        extractors.setdefault((study_id, outcome, timepoint), set()).add(value.reviewer)
    for key, names in extractors.items():
        rows[key]["extracted_by"] = "; ".join(sorted(names))
    return [rows[k] for k in sorted(rows)]
