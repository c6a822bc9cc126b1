"""`metasift run`: a protocol end to end, resuming where it stopped.

Each stage looks at the store, does what is left, and says what it did: files already
imported are not imported again, a closed screening stage is not reopened, decisions already
made are kept. Stages that need people (screening, full text) are simulated only when the
protocol's ``[simulation]`` says so; otherwise the run stops there and says what is pending.
A live search that cannot run (no network, the service refusing) fails at once and is said to
be "failed", with the reason; the run goes on with the records already in the project.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa

from metasift.errors import MetasiftError, SearchUnreachableError
from metasift.project import Project
from metasift.protocol import Simulation
from metasift.records.formats import ReadOptions
from metasift.records.importing import file_checksum, import_file
from metasift.records.model import Record
from metasift.records.normalize import clean_text, normalize_doi, normalize_pmid
from metasift.records.provenance import source_details
from metasift.store.schema import imports
from metasift.workflow.decisions import (
    FULL_TEXT,
    TITLE_ABSTRACT,
    check_decision,
    decide,
    stage_closed,
    verdicts,
)
from metasift.workflow.fulltext import list_reports, set_location
from metasift.workflow.reviewers import ensure_simulated_reviewer

Progress = Callable[[str, int, int], None]


@dataclass
class StageResult:
    """What one step of a run did.

    ``status`` is "done", "skipped", "pending" (waiting on people: screening, full text) or
    "failed" (a live search that could not run; ``subject`` names its source).
    """

    stage: str
    status: str
    detail: str
    subject: str = ""


@dataclass
class RunResult:
    stages: list[StageResult] = field(default_factory=list)
    report: Path | None = None

    def add(self, stage: str, status: str, detail: str, subject: str = "") -> StageResult:
        result = StageResult(stage, status, detail, subject)
        self.stages.append(result)
        return result

    def failed(self) -> list[StageResult]:
        """The steps that could not run (live searches), in run order."""
        return [s for s in self.stages if s.status == "failed"]

    def pending(self) -> list[StageResult]:
        """The steps waiting on people, in run order."""
        return [s for s in self.stages if s.status == "pending"]


def _noop(step: str, done: int, total: int) -> None:
    return None


# --- identification ---------------------------------------------------------------------------


class Announce(Protocol):
    def __call__(self, stage: str, status: str, detail: str, subject: str = "") -> None: ...


def identify(project: Project, offline: bool, progress: Progress, announce: Announce) -> None:
    """Import the protocol's files not imported yet and run its live searches (unless
    ``offline``), announcing each as done, skipped or failed.

    The searches share one :class:`~metasift.search.Reachability`, so that once a host cannot
    be reached the other searches on it fail at once with the same diagnosis.
    """
    reachability = None
    with project.engine.connect() as conn:
        done = set(conn.execute(sa.select(imports.c.checksum)).scalars())
    for source in project.protocol.sources:
        if source.kind == "file":
            for name in source.files:
                path = project.root / name
                if not path.exists():
                    raise MetasiftError(
                        f"review.toml: source {source.name!r} lists {name}, which is not in "
                        f"{project.root}; fix the path in 'files'."
                    )
                if file_checksum(path) in done:
                    announce("import", "skipped", f"{source.name}: {name} already imported")
                    continue
                summary = import_file(
                    project.engine,
                    path,
                    fmt=source.format or None,
                    options=ReadOptions(source_database=source.name),
                    on_record=lambda n, name=name: progress(f"importing {name}", n, 0),
                    name=name,
                    details=source_details(source, project.root),
                )
                announce("import", "done", f"{source.name}: {name}: {summary.line()}")
        elif offline:
            announce("search", "skipped", f"{source.name}: live search skipped (offline run)")
        else:
            from metasift.search import Reachability, search_project

            reachability = reachability or Reachability()
            for outcome in search_project(project, source=source.name, reachability=reachability):
                if isinstance(outcome, SearchUnreachableError):
                    why = outcome.reason
                    announce("search", "failed", f"{source.name}: not searched: {why}", source.name)
                elif isinstance(outcome, MetasiftError):
                    detail = f"{source.name}: search failed: {outcome}"
                    announce("search", "failed", detail, source.name)
                else:
                    announce("search", "done", outcome.line())


# --- simulated reviewers ----------------------------------------------------------------------


def _reason(record: Record, simulation: Simulation, allowed: list[str]) -> str | None:
    if not simulation.reason_field:
        return None
    reason = clean_text(str(record.raw.get(simulation.reason_field) or ""))
    return reason if reason in allowed else None


def simulate_screening(project: Project, progress: Progress) -> str:
    """Screen in the learner's order, deciding from each record's label, until the stopping
    rule recommends stopping (then close the stage) or every record is screened."""
    from metasift.screening.features import feature_progress
    from metasift.screening.session import ScreeningSession
    from metasift.workflow.closure import close_screening

    simulation = project.protocol.simulation
    allowed = project.protocol.criteria.exclusion_reasons
    with feature_progress(progress):
        session = ScreeningSession(
            project.engine, project.protocol, simulation.reviewer, background=False
        )
    try:
        while True:
            shown = session.current()
            status = session.status()
            if shown is None:
                return f"all {status.n_records} records screened, {status.n_included} included"
            if simulation.stop_with_rule and status.stop:
                state = close_screening(project.engine, project.protocol, simulation.reviewer)
                return (
                    f"{state.n_screened} of {state.n_records} records screened, "
                    f"{state.n_included} included; screening closed: {state.describe()}"
                )
            record_id, record, proposal = shown
            if record.label is None:
                raise MetasiftError(
                    f"simulated screening needs an include label on every record; record "
                    f"{record.source_file}:{record.source_position} has none."
                )
            decision = "include" if record.label else "exclude"
            reason = None if record.label else _reason(record, simulation, allowed)
            shown_with = (proposal.rank, session.model_run(proposal))

            def guard(conn, record_id=record_id, decision=decision, reason=reason, at=shown_with):
                # The simulated reviewer's decisions pass the same checks as anyone's.
                check_decision(
                    conn,
                    project.protocol,
                    record_id=record_id,
                    reviewer=simulation.reviewer,
                    decision=decision,
                    reason=reason,
                )
                return at

            session.decide(decision, reason=reason, record_id=record_id, guard=guard)
            progress("screening (simulated)", status.n_screened + 1, status.n_records)
    finally:
        session.close()


def _full_text_plan(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for i, row in enumerate(rows, start=2):
        if row.get("decision") not in ("include", "exclude"):
            raise MetasiftError(f"{path}, line {i}: decision must be include or exclude.")
    return rows


def _matches(row: dict[str, str], record: Record) -> bool:
    doi, pmid = normalize_doi(row.get("doi")), normalize_pmid(row.get("pmid"))
    title = clean_text(row.get("title"))
    return bool(
        (doi and doi == record.doi)
        or (pmid and pmid == record.pmid)
        or (title and record.title and title.lower() == record.title.lower())
    )


def simulate_full_text(project: Project, progress: Progress) -> str:
    from metasift.store.records import iter_records
    from metasift.store.schema import records as records_table

    simulation = project.protocol.simulation
    plan = _full_text_plan(project.root / simulation.full_text) if simulation.full_text else []
    reports = list_reports(project.engine, project.protocol)
    wanted = [r.record_id for r in reports if r.verdict is None]
    by_id = dict(iter_records(project.engine, records_table.c.id.in_(wanted))) if wanted else {}
    for i, record_id in enumerate(wanted, start=1):
        record = by_id[record_id]
        row = next((r for r in plan if _matches(r, record)), None)
        location = record.url or (f"https://doi.org/{record.doi}" if record.doi else None)
        set_location(
            project.engine,
            project.protocol,
            record_id,
            location or "retrieved (simulated)",
            simulation.reviewer,
        )
        decide(
            project.engine,
            project.protocol,
            record_id=record_id,
            reviewer=simulation.reviewer,
            decision=row["decision"] if row else "include",
            reason=(row.get("reason") or None) if row and row["decision"] == "exclude" else None,
            note=(row.get("note") or None) if row else None,
            stage=FULL_TEXT,
        )
        progress("full text (simulated)", i, len(wanted))
    final = verdicts(project.engine, project.protocol, FULL_TEXT)
    included = sum(1 for v in final.values() if v.included)
    return f"{len(final)} reports assessed, {included} included"


# --- simulated extraction, risk of bias and certainty -------------------------------------------


def _included_records(project: Project) -> dict[int, Record]:
    """Each study included at full text by its id, with its record."""
    from metasift.store.records import iter_records
    from metasift.store.schema import records as records_table
    from metasift.workflow.state import extraction_studies

    studies = extraction_studies(project.engine, project.protocol)
    if not studies:
        return {}
    return dict(iter_records(project.engine, records_table.c.id.in_(studies)))


# Columns of a simulation file that name a study's record, as the full-text plan's do.
_RECORD_KEYS = ("doi", "pmid", "title")


def _rows_by_study(
    path: Path, studies: dict[int, Record]
) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """A simulation CSV's header and rows, each row's ``study_id`` set to the id of the study
    whose record it names: by its source id in ``study_id``, or by DOI, PMID or title (columns
    then dropped); rows of studies not included are left out."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        if "study_id" not in header and not set(_RECORD_KEYS) & set(header):
            raise MetasiftError(
                f"{path}, line 1: a study_id column (records' source ids), or doi, pmid or "
                "title, is needed to name each row's study."
            )
        rows = []
        for line, row in enumerate(reader, start=2):
            key = row.get("study_id") or ""
            sid = next(
                (
                    sid
                    for sid, record in studies.items()
                    if (key and key == record.source_id) or _matches(row, record)
                ),
                None,
            )
            if sid is not None:
                cells = {k: v for k, v in row.items() if k not in _RECORD_KEYS}
                rows.append((line, {**cells, "study_id": str(sid)}))
    columns = [c for c in header if c not in _RECORD_KEYS and c != "study_id"]
    return ["study_id", *columns], rows


def simulate_extraction(project: Project) -> str:
    """Store the simulation's extraction file as the simulated reviewer's values (once).

    :param project: the review; its ``[simulation] extraction`` names the file.
    """
    from metasift.extraction.stage import import_rows
    from metasift.extraction.store import get_values

    simulation = project.protocol.simulation
    path = project.root / simulation.extraction
    included = _included_records(project)
    studies = sorted(included)
    if get_values(project.engine, studies, simulation.reviewer):
        return "values of the simulated reviewer already stored"
    header, rows = _rows_by_study(path, included)
    detail = {"file": simulation.extraction, "sheet": path.name}
    result = import_rows(
        project.engine, project.protocol, header, rows, simulation.reviewer, studies, detail
    )
    if result.errors:
        problems = "; ".join(e.describe() for e in result.errors[:5])
        raise MetasiftError(f"{path}: {len(result.errors)} invalid cells: {problems}")
    extracted = len({v.study_id for v in result.values})
    return f"{result.stored} values for {extracted} studies from {simulation.extraction}"


def simulate_risk_of_bias(project: Project) -> str:
    """Record the simulation's risk-of-bias file as the simulated reviewer's judgements, each
    from its signalling answers by the tool's algorithm (or as given, with its support), once.

    :param project: the review; its ``[simulation] risk_of_bias`` names the file.
    """
    from metasift.extraction.stage import record_rob
    from metasift.extraction.store import get_judgements

    simulation = project.protocol.simulation
    path = project.root / simulation.risk_of_bias
    included = _included_records(project)
    judged = get_judgements(project.engine, sorted(included))
    if any(j.reviewer == simulation.reviewer for j in judged):
        return "judgements of the simulated reviewer already recorded"
    _, rows = _rows_by_study(path, included)
    for line, row in rows:
        answers = dict(
            item.split("=", 1) for item in (row.get("answers") or "").split(";") if "=" in item
        )
        try:
            record_rob(
                project.engine,
                study_id=int(row["study_id"]),
                tool=row["tool"],
                domain=row["domain"],
                reviewer=simulation.reviewer,
                answers={k.strip(): v.strip() for k, v in answers.items()},
                judgement=row.get("judgement") or None,
                support=row.get("support") or "",
            )
        except MetasiftError as exc:
            raise MetasiftError(f"{path}, line {line}: {exc}") from exc
    studies = len({row["study_id"] for _, row in rows})
    return f"{len(rows)} judgements for {studies} studies from {simulation.risk_of_bias}"


def simulate_grade(project: Project) -> str:
    """The simulated reviewer confirms each GRADE proposal not judged yet, the proposal's rule
    as the footnote.

    :param project: the review (its analysis plan, extraction and risk of bias in the store).
    """
    from metasift.workflow.certainty import grade_review, record_grade

    reviewer = project.protocol.simulation.reviewer
    graded = {g.name: g for g in grade_review(project.engine, project.protocol)}
    confirmed = 0
    for item in graded.values():
        for domain in item.pending:
            rule = item.proposed.judgement(domain)
            record_grade(
                project.engine,
                project.protocol,
                analysis=item.name,
                domain=domain,
                reviewer=reviewer,
                footnote=rule.rule if rule else "",
                graded=graded,
            )
            confirmed += 1
    certainty = ", ".join(f"{name}: {g.proposed.label}" for name, g in graded.items())
    return f"{confirmed} GRADE judgements confirmed ({certainty or 'no analysis'})"


# --- the run ----------------------------------------------------------------------------------


def run_review(
    project: Project,
    *,
    offline: bool = False,
    out: Path | None = None,
    progress: Progress = _noop,
    on_stage: Callable[[StageResult], None] | None = None,
) -> RunResult:
    from metasift.dedup.settings import parse_settings
    from metasift.dedup.store import run_dedup
    from metasift.report.build import build_report
    from metasift.report.render import write_report
    from metasift.workflow.closure import unscreened_ids

    result = RunResult()

    def announce(stage: str, status: str, detail: str, subject: str = "") -> None:
        item = result.add(stage, status, detail, subject)
        if on_stage:
            on_stage(item)

    identify(project, offline, progress, announce)

    summary = run_dedup(
        project.engine,
        parse_settings(project.protocol.dedup),
        lambda step, done, total: progress(f"de-duplication: {step}", done, total),
    )
    announce(
        "dedup",
        "done",
        f"{summary.records_in} records, {summary.duplicates_removed} duplicates removed, "
        f"{summary.manual_queue} pairs for manual review",
    )

    simulation = project.protocol.simulation
    if simulation.enabled:
        ensure_simulated_reviewer(project.engine, simulation.reviewer)
    if stage_closed(project.engine, TITLE_ABSTRACT):
        announce("screening", "skipped", "title/abstract screening already closed")
    elif simulation.enabled:
        announce("screening", "done", simulate_screening(project, progress))
    else:
        left = len(unscreened_ids(project.engine))
        status = "pending" if left else "done"
        announce("screening", status, f"{left} records await title/abstract screening")

    reports = list_reports(project.engine, project.protocol)
    waiting = [r for r in reports if r.verdict is None and r.retrieval != "not_retrieved"]
    if waiting and simulation.enabled:
        announce("full text", "done", simulate_full_text(project, progress))
    elif waiting:
        announce("full text", "pending", f"{len(waiting)} reports await full-text assessment")
    else:
        announce("full text", "skipped", f"{len(reports)} reports already assessed")

    suggested = suggest_for_included(project, progress)
    announce("extraction", "done", f"{suggested} automatic suggestions for reviewers to verify")
    if simulation.enabled and simulation.extraction:
        announce("extraction", "done", simulate_extraction(project))
    if simulation.enabled and simulation.risk_of_bias:
        announce("risk of bias", "done", simulate_risk_of_bias(project))
    if simulation.enabled and simulation.confirm_grade:
        announce("certainty", "done", simulate_grade(project))

    ctx = build_report(project)
    result.report = write_report(ctx, out or project.root / "report")
    announce("report", "done", str(result.report))
    return result


def suggest_for_included(project: Project, progress: Progress) -> int:
    """Automatic extraction suggestions for included studies that have none yet."""
    from metasift.extraction.stage import run_suggestions
    from metasift.extraction.store import get_suggestions
    from metasift.workflow.state import extraction_studies

    studies = extraction_studies(project.engine, project.protocol)
    have = {s.study_id for s in get_suggestions(project.engine, studies)} if studies else set()
    todo = [sid for sid in studies if sid not in have]
    if not todo:
        return 0
    return run_suggestions(
        project.engine,
        project.protocol,
        todo,
        on_study=lambda i: progress("extraction suggestions", i, len(todo)),
    )
