"""GRADE in the review: the plan's analyses run over the extracted data, metasift's proposals
(:mod:`metasift.synthesis.grade` owns the rules), and the reviewers' confirmed or overridden
judgements, stored (revision 0012_grade) and audited.

Who may judge is the review's one rule (:func:`~metasift.workflow.reviewers.require`,
``decide``). A judgement that differs from the proposal needs a footnote saying why; a
confirmed proposal keeps the rule as its footnote unless the reviewer writes one. The CLI
(``metasift grade``), the report and the Summary of Findings all read :func:`grade_review`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from metasift.errors import GradeError, SynthesisError
from metasift.extraction.rob import TOOLS
from metasift.extraction.stage import analysis_rows, rob_table
from metasift.protocol import Protocol
from metasift.store.audit import record_event
from metasift.store.schema import grade_judgements
from metasift.synthesis.grade import (
    DOMAINS,
    Certainty,
    Judgement,
    decide,
    evidence,
    level_of,
    propose,
)
from metasift.synthesis.plan import AnalysisOutcome, parse_plan, run_analysis
from metasift.synthesis.sof import SummaryOfFindings
from metasift.synthesis.sof import summary_of_findings as build_sof
from metasift.workflow.reviewers import require
from metasift.workflow.state import extraction_studies

# Overall risk-of-bias judgements of the three tools, from best to worst.
_ROB_ORDER = {
    "low": 0,
    "some concerns": 1,
    "moderate": 1,
    "unclear": 1,
    "no information": 1,
    "high": 2,
    "serious": 2,
    "critical": 3,
}


@dataclass(frozen=True)
class StoredJudgement:
    """A reviewer's judgement of one domain, as stored."""

    analysis: str
    domain: str
    level: int
    proposed_level: int
    proposed_rule: str
    footnote: str
    reviewer: str
    decided_at: datetime

    @property
    def label(self) -> str:
        return DOMAINS[self.domain][self.level]

    @property
    def overridden(self) -> bool:
        return self.level != self.proposed_level


@dataclass
class Graded:
    """One analysis of the plan with its proposed and its reviewed certainty."""

    outcome: AnalysisOutcome
    proposed: Certainty
    decisions: dict[str, StoredJudgement] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.outcome.analysis.name

    @property
    def final(self) -> Certainty:
        """The certainty with the reviewers' judgements in place of the proposals."""
        overrides = {
            d: Judgement(d, s.level, s.footnote or s.proposed_rule)
            for d, s in self.decisions.items()
            if d in DOMAINS
        }
        return decide(self.proposed, overrides)

    @property
    def pending(self) -> list[str]:
        """Domains no reviewer has confirmed or overridden yet."""
        return [j.domain for j in self.proposed.judgements if j.domain not in self.decisions]

    def footnote(self, domain: str) -> str:
        """What the Summary of Findings says of a domain: the reviewer's footnote, else the
        rule behind the proposal."""
        stored = self.decisions.get(domain)
        if stored is not None and stored.footnote:
            return stored.footnote
        judged = self.proposed.judgement(domain)
        return judged.rule if judged else ""

    def to_dict(self) -> dict[str, object]:
        final = self.final
        return {
            "analysis": self.name,
            "certainty": final.label,
            "proposed_certainty": self.proposed.label,
            "randomised": final.randomised,
            "pending": self.pending,
            "domains": [
                {
                    "domain": p.domain,
                    "proposed": p.label,
                    "rule": p.rule,
                    "judgement": final.judgement(p.domain).label,
                    "footnote": self.footnote(p.domain),
                    "reviewer": self.decisions[p.domain].reviewer
                    if p.domain in self.decisions
                    else None,
                }
                for p in self.proposed.judgements
            ],
        }


def study_rob(engine: Engine, study_ids: Sequence[int]) -> dict[int, str | None]:
    """Each study's overall risk of bias: the worst over the tools and results assessed.

    :param engine: the project store.
    :param study_ids: the studies.
    """
    worst: dict[int, str | None] = {}
    for tool in TOOLS:
        for row in rob_table(engine, study_ids, tool):
            if row.overall is None:
                continue
            rank = _ROB_ORDER.get(row.overall.lower(), 1)
            now = worst.get(row.study_id)
            if now is None or rank > _ROB_ORDER.get(now.lower(), 1):
                worst[row.study_id] = row.overall
    return worst


def _stored(conn: Connection) -> dict[tuple[str, str], StoredJudgement]:
    out = {}
    for row in conn.execute(sa.select(grade_judgements)).mappings():
        out[(row["analysis"], row["domain"])] = StoredJudgement(
            row["analysis"],
            row["domain"],
            row["level"],
            row["proposed_level"],
            row["proposed_rule"],
            row["footnote"],
            row["reviewer"],
            row["decided_at"],
        )
    return out


def grade_review(
    engine: Engine, protocol: Protocol, study_ids: Sequence[int] | None = None
) -> list[Graded]:
    """Every analysis of the plan (meta-regressions and sensitivity analyses aside) with
    metasift's proposals and the reviewers' judgements.

    :param engine: the project store.
    :param protocol: the review's protocol (its ``[analysis]`` plan).
    :param study_ids: the studies to pool (default: those included at full text).
    """
    plan = parse_plan(protocol.analysis)
    if not plan.analyses:
        return []
    ids = list(study_ids) if study_ids is not None else extraction_studies(engine, protocol)
    rows = analysis_rows(engine, protocol, ids)
    rob = study_rob(engine, ids)
    with engine.connect() as conn:
        stored = _stored(conn)
    out = []
    for analysis in plan.analyses:
        if analysis.mods or not analysis.grade.rate:
            continue  # GRADE rates pooled estimates, not meta-regressions or sensitivity analyses
        outcome = run_analysis(rows, analysis)
        proposed = propose(evidence(outcome, rob))
        decisions = {d: s for (a, d), s in stored.items() if a == analysis.name}
        out.append(Graded(outcome, proposed, decisions))
    return out


def record_grade(
    engine: Engine,
    protocol: Protocol,
    *,
    analysis: str,
    domain: str,
    reviewer: str,
    judgement: str | None = None,
    footnote: str = "",
    study_ids: Sequence[int] | None = None,
    graded: Mapping[str, Graded] | None = None,
) -> StoredJudgement:
    """Confirm metasift's proposal for one domain (``judgement`` None) or set another one.

    :param engine: the project store.
    :param protocol: the review's protocol.
    :param analysis: the analysis' name in the plan.
    :param domain: a GRADE domain (risk_of_bias, inconsistency, ...).
    :param reviewer: who judges; their role must allow deciding.
    :param judgement: the judgement's label (e.g. "serious"); None confirms the proposal.
    :param footnote: why; required when the judgement differs from the proposal.
    :param study_ids: the studies pooled (default: those included at full text).
    :param graded: :func:`grade_review`'s result by analysis name, when already computed.
    """
    # checked first so that a stranger is refused before the plan's analyses are run
    require(engine, reviewer, "decide")
    if graded is None:
        graded = {g.name: g for g in grade_review(engine, protocol, study_ids)}
    if analysis not in graded:
        known = ", ".join(repr(n) for n in graded) or "none (add [[analysis.analyses]])"
        raise GradeError(f"no analysis named {analysis!r} in review.toml; analyses: {known}")
    item = graded[analysis]
    proposal = item.proposed.judgement(domain)
    if proposal is None:
        applicable = ", ".join(j.domain for j in item.proposed.judgements)
        raise GradeError(f"{analysis}: domain {domain!r} does not apply; domains: {applicable}")
    level = proposal.level if judgement is None else _level(domain, judgement)
    footnote = footnote.strip()
    if level != proposal.level and not footnote:
        raise GradeError(
            f"{analysis}, {domain}: metasift proposes {proposal.label!r} ({proposal.rule}); to "
            f"record {DOMAINS[domain][level]!r} instead, say why with --footnote"
        )
    now = datetime.now(UTC)
    values = {
        "level": level,
        "proposed_level": proposal.level,
        "proposed_rule": proposal.rule,
        "footnote": footnote,
        "reviewer": reviewer,
        "decided_at": now,
    }
    key = (grade_judgements.c.analysis == analysis) & (grade_judgements.c.domain == domain)
    with engine.begin() as conn:
        require(conn, reviewer, "decide")
        before = conn.execute(sa.select(grade_judgements).where(key)).mappings().first()
        if before is None:
            conn.execute(
                grade_judgements.insert().values(analysis=analysis, domain=domain, **values)
            )
        else:
            conn.execute(grade_judgements.update().where(key).values(**values))
        record_event(
            conn,
            actor=reviewer,
            action="grade.judge",
            entity="grade",
            entity_id=f"{analysis}/{domain}",
            previous=None
            if before is None
            else {"level": before["level"], "footnote": before["footnote"]},
            value={
                "level": level,
                "judgement": DOMAINS[domain][level],
                "proposed": proposal.label,
                "footnote": footnote,
            },
        )
    return StoredJudgement(analysis, domain, **values)


def summary_of_findings(
    engine: Engine,
    protocol: Protocol,
    study_ids: Sequence[int] | None = None,
    graded: Sequence[Graded] | None = None,
) -> SummaryOfFindings:
    """The Summary of Findings of the review's analyses, with the reviewed certainty (a
    domain no reviewer has judged yet counts with metasift's proposal).

    :param engine: the project store.
    :param protocol: the review's protocol (PICO for the title, the analysis plan).
    :param study_ids: the studies pooled (default: those included at full text).
    :param graded: :func:`grade_review`'s result, when already computed.
    """
    if graded is None:
        graded = grade_review(engine, protocol, study_ids)
    pico = protocol.pico
    intervention = _short(pico.intervention) or "intervention"
    comparator = _short(pico.comparator) or "comparator"
    title = protocol.review.title
    if pico.intervention and pico.comparator and pico.population:
        title = f"{intervention} compared to {comparator} for {_short(pico.population)}"
    items = [(g.outcome, g.final, _notes(g)) for g in graded]
    return build_sof(items, title=title, intervention=intervention, comparator=comparator)


def _notes(item: Graded) -> dict[str, str]:
    """The footnotes of an outcome: every domain rated down or up, and every proposal a
    reviewer overrode (with their reason)."""
    final = item.final
    out = {}
    for judged in final.judgements:
        stored = item.decisions.get(judged.domain)
        if judged.level != 0 or (stored is not None and stored.overridden):
            out[judged.domain] = item.footnote(judged.domain)
    return out


def _short(text: str) -> str:
    """The PICO element's first sentence, as a column header or title can hold it."""
    first = text.strip().split(". ")[0].rstrip(".")
    return first[:120]


def _level(domain: str, judgement: str) -> int:
    try:
        return level_of(domain, judgement)
    except SynthesisError as exc:
        raise GradeError(str(exc)) from exc


__all__ = [
    "Graded",
    "StoredJudgement",
    "grade_review",
    "record_grade",
    "study_rob",
    "summary_of_findings",
]
