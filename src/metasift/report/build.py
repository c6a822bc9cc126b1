"""Gather a :class:`ReportContext` from the project store: the report's only data source.

Every number shown is computed here from imports, clusters, decisions, reports, extraction
values and the protocol; nothing is typed in by hand.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from metasift.project import Project
from metasift.protocol import Simulation
from metasift.records.cite import reference, study_labels
from metasift.records.formats import write_records
from metasift.records.model import Record
from metasift.report.context import (
    Analysis,
    Download,
    Figure,
    ReferenceList,
    ReportContext,
    StudyReferences,
    Table,
)
from metasift.report.figures import svg_of
from metasift.report.prisma_diagram import prisma_svg
from metasift.screening.settings import screening_settings
from metasift.store.records import iter_records
from metasift.store.schema import imports, records
from metasift.workflow.counts import import_source
from metasift.workflow.decisions import FULL_TEXT, TITLE_ABSTRACT, agreement
from metasift.workflow.fulltext import (
    CONFLICT,
    NOT_RETRIEVED,
    PENDING,
    exclusion_reason,
    full_text_outcome,
    report_status,
)
from metasift.workflow.prisma import PrismaCounts
from metasift.workflow.state import ReviewState, review_state

if TYPE_CHECKING:
    from metasift.search.log import LogEntry


def _protocol_table(project: Project) -> Table:
    p = project.protocol
    settings = screening_settings(p)
    blind = ", blind" if settings.reviewers_per_record > 1 and settings.blind else ""
    rows = [
        ["Title", p.review.title],
        ["Question", p.review.question],
        ["Registration", p.review.registration],
        ["Population", p.pico.population],
        ["Intervention", p.pico.intervention],
        ["Comparator", p.pico.comparator],
        ["Outcomes", p.pico.outcomes],
        ["Study designs", p.pico.study_designs],
        ["Inclusion criteria", "; ".join(p.criteria.include)],
        ["Exclusion criteria", "; ".join(p.criteria.exclude)],
        ["Exclusion reasons", ", ".join(p.criteria.exclusion_reasons)],
        ["Sources", "; ".join(f"{s.name} ({s.kind}, {s.category})" for s in p.sources)],
        [
            "Screening",
            f"model {settings.model}, seed {settings.seed}, stopping rule "
            f"{settings.stopping_rule} (target recall {settings.target_recall:.0%}, "
            f"confidence {settings.confidence:.0%}), {settings.reviewers_per_record} "
            f"reviewer(s) per record{blind}",
        ],
    ]
    return Table("Protocol", ["item", "value"], [r for r in rows if r[1]])


def _search_table(project: Project) -> Table:
    """One row per import or search run; searches add their exact query (PRISMA-S)."""
    rows = []
    with project.engine.connect() as conn:
        for row in conn.execute(sa.select(imports).order_by(imports.c.id)):
            rows.append(
                [
                    import_source(row),
                    row.file.replace("\\", "/").rsplit("/", 1)[-1],
                    row.format,
                    row.imported_at.strftime("%Y-%m-%d"),
                    str(row.n_read),
                    str(row.n_imported),
                    str(row.n_rejected),
                    str(row.n_merged),
                ]
            )
    return Table(
        "Records identified per source",
        ["source", "file or search", "format", "date", "read", "imported", "rejected", "merged"],
        rows,
    )


def _records(e: LogEntry) -> str:
    """What a search gave: a live run's counts, or an import's."""
    if e.kind == "import":
        return f"read {e.retrieved:,}, imported {e.imported or 0:,}"
    text = "" if e.reported is None else f"reported {e.reported:,}, "
    text += f"retrieved {e.retrieved:,}"
    return text + ("" if e.imported is None else f", new {e.imported:,}")


def _searches(project: Project) -> Table | None:
    """The search appendix: every search, live or imported, in PRISMA-S order."""
    from metasift.search.log import search_log

    entries = search_log(project.engine)
    if not entries:
        return None
    rows = [
        [
            e.database if e.source == e.database else f"{e.source} ({e.database})",
            e.platform or "not stated",
            (e.date[:10] or "not stated"),
            e.query or "not stated",
            e.filters,
            _records(e),
            e.status
            + (f": {e.warning}" if e.warning else "")
            + (f" ({e.flags})" if e.flags else ""),
        ]
        for e in entries
    ]
    return Table(
        "Search appendix (PRISMA-S): every database searched, live or exported and imported",
        [
            "database",
            "platform",
            "date searched",
            "search string",
            "limits and filters",
            "records",
            "status",
        ],
        rows,
    )


def _screening(project: Project, review: ReviewState) -> tuple[Table, list[Figure]]:
    from metasift.screening.plot import progress_figure

    state = review.screening
    rows = [[label, value] for label, value in review.lines() if label != "Records stored"]
    if state.explanation:
        rows.append(["How the stopping rule decides", state.explanation])
    for stage, label in ((TITLE_ABSTRACT, "title/abstract"), (FULL_TEXT, "full text")):
        result = agreement(project.engine, project.protocol, stage)
        if result is not None:
            kappa = "undefined" if result.kappa != result.kappa else f"{result.kappa:.2f}"
            rows.append(
                [
                    f"Agreement, {label}",
                    f"{result.percent_agreement:.0%} agreement, "
                    f"{'Cohen' if result.method == 'cohen' else 'Fleiss'} kappa {kappa} "
                    f"(95% CI {result.ci_lb:.2f} to {result.ci_ub:.2f}), "
                    f"{result.n_subjects} records",
                ]
            )
    figures = []
    if state.n_screened:
        fig = progress_figure(
            state.labels, state.n_records, state.estimated_recall, "Screening progress"
        )
        figures.append(
            Figure(
                "Relevant records found against records screened, in the order they were "
                "screened; the dashed line is what random screening would be expected to find.",
                svg_of(fig),
            )
        )
    return Table("Title/abstract screening", ["", ""], rows), figures


def _extraction(
    project: Project, study_ids: list[int], ctx: ReportContext, studies: dict[int, str]
) -> None:
    from metasift.extraction import plots as xplots
    from metasift.extraction import stage as xstage
    from metasift.extraction.evidence import NOT_REPORTED, evidence_counts
    from metasift.extraction.rob import TOOL_NAMES, TOOLS
    from metasift.extraction.store import get_suggestions

    if not study_ids:
        return
    # Automatic suggestions stand in where no reviewer has entered or accepted a value yet;
    # the report marks them as such.
    suggested: dict[int, dict[str, list[Any]]] = {sid: {} for sid in study_ids}
    for s in get_suggestions(project.engine, study_ids):
        if s.status == "rejected" or s.field == "statistic":
            continue
        values = suggested[s.study_id].setdefault(s.field, [])
        if s.value not in values:
            values.append(s.value)
    table = xstage.characteristics(project.engine, project.protocol, study_ids)
    names = [f.name for f in xstage.context(project.protocol).form.fields]
    rows, filled = [], 0
    for sid, row in zip(study_ids, table.rows, strict=True):
        row = [studies.get(sid, row[0]), *row[1:]]
        for i, name in enumerate(names, start=1):
            if not row[i] and suggested[sid].get(name):
                row[i] = "; ".join(map(str, suggested[sid][name])) + " *"
                filled += 1
        rows.append(row)
    ctx.characteristics = Table(
        "Characteristics of included studies",
        table.columns,
        rows,
        "* automatic suggestion from the title and abstract, not yet verified by a reviewer"
        if filled
        else "",
    )
    emap = xstage.evidence_map(project.engine, project.protocol, study_ids)
    caption = "Studies per disease and intervention, by study type, from extraction data."
    if not any(NOT_REPORTED not in cell[:2] for cell in emap.studies):
        emap = evidence_counts(suggested, emap.fields)
        caption = (
            "Studies per disease and intervention, by study type, from automatic suggestions "
            "that no reviewer has verified yet."
        )
    if emap.studies:
        ctx.evidence_map = Figure(caption, svg_of(xplots.evidence_heatmap(emap)))
        ctx.evidence_table = Table(
            "Evidence map (studies per cell)",
            [*emap.fields, "studies"],
            [[*cell, str(len(ids))] for cell, ids in sorted(emap.studies.items())],
        )
    labels = {sid: row[0] for sid, row in zip(study_ids, rows, strict=True)}
    per_study: dict[int, list[list[str]]] = {sid: [] for sid in study_ids}
    for tool in TOOLS:
        rows = xstage.rob_table(project.engine, study_ids, tool, labels)
        for row in rows:
            judged = ", ".join(f"{d}: {j}" for d, j in sorted(row.domains.items()))
            overall = row.overall or "not assessed (domains missing)"
            per_study[row.study_id].append([TOOL_NAMES[tool], judged, overall])
        if rows:
            name = TOOL_NAMES[tool]
            ctx.risk_of_bias.append(
                Figure(f"{name}: traffic-light plot", svg_of(xplots.traffic_light(rows, tool)))
            )
            ctx.risk_of_bias.append(
                Figure(f"{name}: summary plot", svg_of(xplots.summary_plot(rows, tool)))
            )
    ctx.risk_of_bias_studies = Table(
        "Risk of bias of each included study",
        ["study", "tool", "domains judged", "overall"],
        [
            [labels[sid], *row]
            for sid in study_ids
            for row in per_study[sid] or [["—", "none", "not assessed"]]
        ],
    )
    if not ctx.risk_of_bias:
        n = ctx.prisma.included_studies
        ctx.risk_of_bias_note = (
            f"No risk-of-bias judgement is recorded yet for the {n} included "
            f"stud{'y' if n == 1 else 'ies'}. Record them with 'metasift rob record --study ID "
            "--tool rob2|robins-i|syrcle --domain D1 ...'; the traffic-light and summary plots, "
            "and the dots beside each study of the forest plots, then appear here."
        )


_AWAITING = {
    NOT_RETRIEVED: "not retrieved",
    PENDING: "awaiting a full-text decision",
    CONFLICT: "full-text decisions in conflict",
}


def _study_names(project: Project, review: ReviewState) -> tuple[dict[int, Record], dict[int, str]]:
    """The records of every report sought, and each study's name ("Shin 2020"), the same in
    every section (the study id is its first report's record)."""
    wanted = [r.record_id for r in review.reports]
    if not wanted:
        return {}, {}
    recs = dict(iter_records(project.engine, records.c.id.in_(wanted)))
    return recs, study_labels({r.study_id: recs[r.study_id] for r in review.reports})


def _study_lists(
    review: ReviewState, ctx: ReportContext, recs: dict[int, Record], studies: dict[int, str]
) -> None:
    """The excluded full texts with their reasons, and the reference lists of included,
    excluded and awaiting studies, as workflow sorts the reports sought."""
    outcome = full_text_outcome(review.reports)
    # A report is listed under its study's name.
    label = {r.record_id: studies[r.study_id] for r in review.reports}
    excluded = sorted(
        ([label[r.record_id], exclusion_reason(r)] for r in outcome.excluded),
        key=lambda row: row[0].lower(),
    )
    if excluded:
        ctx.excluded = Table(
            "Excluded full texts with reasons", ["study", "reason for exclusion"], excluded
        )
    # Several reports of one study are listed under the study (RevMan's study references).
    included: dict[int, list[int]] = {}
    for r in outcome.included:
        included.setdefault(r.study_id, []).append(r.record_id)
    lists = [
        (
            "Included studies",
            [
                StudyReferences(label[sid], [reference(recs[rid]) for rid in rids])
                for sid, rids in included.items()
            ],
        ),
        (
            "Excluded studies",
            [
                StudyReferences(label[r.record_id], [reference(recs[r.record_id])])
                for r in outcome.excluded
            ],
        ),
        (
            "Studies awaiting classification",
            [
                StudyReferences(
                    label[r.record_id],
                    [reference(recs[r.record_id])],
                    _AWAITING[report_status(r)]
                    + (f": {r.not_retrieved_reason}" if r.not_retrieved_reason else ""),
                )
                for r in outcome.awaiting
            ],
        ),
    ]
    ctx.references = [
        ReferenceList(title, sorted(items, key=lambda s: s.study.lower()))
        for title, items in lists
        if items
    ]


def _rob_dots(project: Project, study_ids: list[int]) -> Any:
    """The first risk-of-bias tool's judgements of the included studies, as the dots the
    forest plots draw beside each study (None when no study has been judged)."""
    from metasift.extraction.plots import STYLE, rob_by_study, rob_columns
    from metasift.extraction.rob import TOOL_NAMES, TOOLS
    from metasift.extraction.stage import rob_table
    from metasift.synthesis.forestplot import RobDots

    for tool in TOOLS:
        rows = rob_table(project.engine, study_ids, tool)
        if rows:
            columns = rob_columns(tool)
            return RobDots(
                TOOL_NAMES[tool],
                [header for header, _ in columns],
                [f"{header}: {name}" for header, name in columns if header != "Overall"],
                STYLE[tool],
                rob_by_study(rows, tool),
            )
    return None


def _analyses(
    project: Project, study_ids: list[int], ctx: ReportContext, studies: dict[int, str]
) -> None:
    from metasift.extraction.stage import analysis_rows
    from metasift.synthesis.bias import small_k_warning
    from metasift.synthesis.models import SynthesisWarning
    from metasift.synthesis.plan import parse_plan, run_analysis

    plan = parse_plan(project.protocol.analysis)
    if not plan.analyses:
        return
    rows = analysis_rows(project.engine, project.protocol, study_ids)
    # The forest plots name the studies as the rest of the report does ("Shin 2020"), unless
    # the plan labels them with a column of its own.
    rows = [{**row, "study": studies.get(row["study_id"], row["study"])} for row in rows]
    rob = _rob_dots(project, study_ids)
    for analysis in plan.analyses:
        if analysis.slab is None:
            analysis = analysis.model_copy(update={"slab": "study"})
        outcome = run_analysis(rows, analysis)
        summary = outcome.to_dict()
        keys = (
            "k",
            "estimate",
            "se",
            "ci_lb",
            "ci_ub",
            "pval",
            "tau2",
            "I2",
            "QE",
            "QEp",
            "pi_lb",
            "pi_ub",
        )
        cells = [[key, _fmt(summary.get(key), key)] for key in keys if key in summary]
        if "exp" in summary:
            cells += [[f"exp({k})", _fmt(v, k)] for k, v in summary["exp"].items()]
        # the fitted analysis draws its own plots, as the CLI's do
        figures = [Figure(f"{analysis.name}: forest plot", svg_of(outcome.forest(rob=rob)))]
        if outcome.view().k >= 3:
            caption = f"{analysis.name}: funnel plot"
            caution = small_k_warning(outcome.view().k)
            if caution:
                caption += f" ({caution})"
            with warnings.catch_warnings():
                # the caption carries Cochrane's caution
                warnings.simplefilter("ignore", SynthesisWarning)
                figures.append(Figure(caption, svg_of(outcome.funnel())))
        ctx.analyses.append(
            Analysis(
                analysis.name,
                Table(f"{analysis.name} ({analysis.method})", ["statistic", "value"], cells),
                figures,
            )
        )


def _certainty(project: Project, study_ids: list[int], ctx: ReportContext) -> None:
    from metasift.synthesis.grade import TITLES
    from metasift.workflow.certainty import grade_review, summary_of_findings

    graded = grade_review(project.engine, project.protocol, study_ids)
    if not graded:
        return
    for item in graded:
        final = item.final
        rows = []
        for proposal in item.proposed.judgements:
            decided = item.decisions.get(proposal.domain)
            rows.append(
                [
                    TITLES[proposal.domain],
                    proposal.label,
                    final.judgement(proposal.domain).label,
                    decided.reviewer if decided else "not yet judged",
                    item.footnote(proposal.domain),
                ]
            )
        pending = f"; not yet judged by a reviewer: {len(item.pending)}" if item.pending else ""
        ctx.certainty.append(
            Table(
                f"{item.name}: certainty {final.label} "
                f"(starts {'high' if final.randomised else 'low'}{pending})",
                ["domain", "proposed", "judgement", "reviewer", "footnote / rule"],
                rows,
            )
        )
    ctx.summary_of_findings = summary_of_findings(
        project.engine, project.protocol, study_ids, graded
    )


def _fmt(value: Any, key: str = "") -> str:
    """A statistic as metafor prints it: 4 decimals, I2 and H2 with 2, p-values as ``<.0001``
    below the cutoff."""
    from metasift.synthesis.summary import fmtp, fmtx

    if isinstance(value, float):
        if key in ("pval", "QEp", "QMp"):
            return fmtp(value)
        return fmtx(value, 2 if key in ("I2", "H2") else 4)
    return "" if value is None else str(value)


def _downloads(project: Project, included: list[int], counts: PrismaCounts) -> list[Download]:
    import json

    chosen = (
        [r for _, r in iter_records(project.engine, records.c.id.in_(included))] if included else []
    )
    out = []
    for fmt, mime, ext in (
        ("csv", "text/csv", "csv"),
        ("ris", "application/x-research-info-systems", "ris"),
    ):
        buffer = io.StringIO()
        write_records(chosen, buffer, fmt)
        out.append(
            Download(
                f"Included records ({fmt.upper()})", f"included.{ext}", mime, buffer.getvalue()
            )
        )
    out.append(
        Download(
            "PRISMA counts (JSON)",
            "prisma.json",
            "application/json",
            json.dumps(counts.as_json(), indent=2, ensure_ascii=False) + "\n",
        )
    )
    return out


def simulation_notice(simulation: Simulation) -> str:
    full_text = (
        f"full-text decisions from {simulation.full_text}"
        if simulation.full_text
        else "every report sought is included at full text"
    )
    later = []
    if simulation.extraction:
        later.append(f"extracted data are copied from {simulation.extraction}")
    if simulation.risk_of_bias:
        later.append(f"risk-of-bias judgements from {simulation.risk_of_bias}")
    if simulation.confirm_grade:
        later.append("each GRADE proposal is confirmed as proposed, its rule as the footnote")
    more = "".join(f", {item}" for item in later)
    return (
        "Reviewers' decisions in this review were simulated to demonstrate metasift offline: "
        "title/abstract decisions follow the include labels carried by the bundled records, "
        f"{full_text}{more}. They are not a review team's judgements."
    )


def build_report(
    project: Project, *, notices: Sequence[str] = (), generated_at: str | None = None
) -> ReportContext:
    """The whole report of ``project`` as data; a review in progress gives a draft.

    A review whose decisions were simulated says so at the top, whoever builds the report.
    """
    review = review_state(project.engine, project.protocol)
    counts = review.counts
    draft = not review.finished
    simulation = project.protocol.simulation
    all_notices = [simulation_notice(simulation)] if simulation.enabled else []
    all_notices += notices
    if draft:
        todo = "; ".join(review.pending())
        all_notices.append(f"Draft: the review is not finished ({todo}).")
    ctx = ReportContext(
        title=project.protocol.review.title,
        generated_at=generated_at or datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        protocol=_protocol_table(project),
        prisma=counts,
        prisma_svg=prisma_svg(counts, draft=draft),
        search_log=_search_table(project),
        searches=_searches(project),
        notices=all_notices,
    )
    ctx.screening, ctx.screening_figures = _screening(project, review)
    study_ids = review.included_studies
    recs, names = _study_names(project, review)
    _extraction(project, study_ids, ctx, names)
    _study_lists(review, ctx, recs, names)
    _analyses(project, study_ids, ctx, names)
    _certainty(project, study_ids, ctx)
    ctx.downloads = _downloads(project, review.included_records, counts)
    return ctx
