"""The Summary of Findings table as GRADEpro lays it out: numbers in, the table's cells out.

Per outcome: № of participants (studies), certainty of the evidence with its symbols and
footnote letters, relative effect (95% CI), and the anticipated absolute effects: for
dichotomous outcomes the risk with the comparator (GRADEpro's "study population" risk: the
comparator groups' events over their participants) and the risk difference per 1,000 with the
intervention, derived from the pooled relative effect and its confidence limits as GRADEpro
derives them (RR: risk x RR; OR: risk x OR / (1 - risk + risk x OR); RD: risk + RD); for
continuous outcomes the comparator groups' mean and the mean difference (or SMD). Footnotes
explain every domain rated down or up, in the reviewer's words when they wrote them, else the
rule behind metasift's proposal.

Rendering (HTML, Markdown, .docx) is the report's (:mod:`metasift.report.sof`).
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from metasift.synthesis.grade import DOMAINS, TITLES, UPGRADING, Certainty, arm_totals
from metasift.synthesis.plan import AnalysisOutcome

SYMBOLS = {4: "⨁⨁⨁⨁", 3: "⨁⨁⨁◯", 2: "⨁⨁◯◯", 1: "⨁◯◯◯"}
ABSOLUTE_NOTE = (
    "The risk in the intervention group (and its 95% confidence interval) is based on the "
    "assumed risk in the comparison group and the relative effect of the intervention (and "
    "its 95% CI)."
)
GRADE_LEGEND = (
    "GRADE Working Group grades of evidence. High certainty: we are very confident that the "
    "true effect lies close to that of the estimate of the effect. Moderate certainty: we are "
    "moderately confident in the effect estimate: the true effect is likely to be close to the "
    "estimate of the effect, but there is a possibility that it is substantially different. Low "
    "certainty: our confidence in the effect estimate is limited: the true effect may be "
    "substantially different from the estimate of the effect. Very low certainty: we have very "
    "little confidence in the effect estimate: the true effect is likely to be substantially "
    "different from the estimate of effect."
)
HEADERS = (
    "Outcomes",
    "№ of participants (studies)",
    "Certainty of the evidence (GRADE)",
    "Relative effect (95% CI)",
    "Risk with comparator",
    "Risk difference with intervention",
    "Comments",
)


@dataclass
class SofRow:
    """One outcome's row; every cell as GRADEpro prints it."""

    outcome: str
    participants: str
    certainty: str
    relative: str
    comparator_risk: str
    difference: str
    comments: str
    footnotes: list[str] = field(default_factory=list)
    level: int = 4

    def cells(self) -> list[str]:
        """The row's cells in :data:`HEADERS` order (footnote letters after the certainty)."""
        marks = " " + " ".join(self.footnotes) if self.footnotes else ""
        return [
            self.outcome,
            self.participants,
            self.certainty + marks,
            self.relative,
            self.comparator_risk,
            self.difference,
            self.comments,
        ]


@dataclass
class SummaryOfFindings:
    """The table: a title, rows and lettered footnotes."""

    title: str
    rows: list[SofRow] = field(default_factory=list)
    footnotes: list[tuple[str, str]] = field(default_factory=list)
    intervention: str = "intervention"
    comparator: str = "comparator"

    @property
    def headers(self) -> list[str]:
        return [
            HEADERS[0],
            HEADERS[1],
            HEADERS[2],
            HEADERS[3],
            f"Risk with {self.comparator}",
            f"Risk difference with {self.intervention}",
            HEADERS[6],
        ]

    @property
    def notes(self) -> list[str]:
        """The explanations under the table: the absolute-effect note and GRADE's legend."""
        return ["* " + ABSOLUTE_NOTE, GRADE_LEGEND]

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "headers": self.headers,
            "rows": [asdict(r) for r in self.rows],
            "footnotes": [{"mark": m, "text": t} for m, t in self.footnotes],
            "notes": self.notes,
        }


def _round(x: float) -> int:
    """Half away from zero, as GRADEpro rounds (not Python's half to even)."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def _n(x: float) -> str:
    return f"{x:,.0f}"


def _per_1000(diff: float) -> str:
    value = _round(diff * 1000)
    return f"{abs(value):,} {'more' if value > 0 else 'fewer'}"


def risk_with_intervention(measure: str, risk: float, effect: float) -> float:
    """The intervention group's risk from the comparator's and a relative effect (natural
    scale: RR, OR; or a risk difference).

    :param measure: RR, OR (or PETO) or RD.
    :param risk: the comparator group's risk.
    :param effect: the relative effect (exp of the log ratio) or the risk difference.
    """
    if measure == "RR":
        return risk * effect
    if measure in ("OR", "PETO"):
        return risk * effect / (1 - risk + risk * effect)
    if measure == "RD":
        return risk + effect
    raise ValueError(f"no absolute effect for measure {measure}")


def _pooled(outcome: AnalysisOutcome) -> tuple[float, float, float]:
    fit = outcome.fit
    b = fit.b
    if isinstance(b, float):
        return b, float(fit.ci_lb), float(fit.ci_ub)
    return float(b[0]), float(fit.ci_lb[0]), float(fit.ci_ub[0])


def _design(randomised: bool, k: int) -> str:
    if randomised:
        return f"{k} RCT" + ("s" if k != 1 else "")
    return f"{k} non-randomised stud" + ("ies" if k != 1 else "y")


def _comparator_means(outcome: AnalysisOutcome) -> list[float]:
    column = None
    if outcome.analysis.arms:
        column = f"{outcome.analysis.arms[1]}.mean"
    column = outcome.analysis.columns.get("m2i", column or "m2i")
    fit = outcome.view()
    kept = [int(i) for i in fit.rows] if fit.rows is not None else range(len(outcome.rows))
    values = []
    for i in kept:
        if i < len(outcome.rows):
            try:
                value = float(outcome.rows[i].get(column))
            except (TypeError, ValueError):
                continue
            if not math.isnan(value):
                values.append(value)
    return values


def _fmt(x: float) -> str:
    return f"{x:.2f}"


def _direction(x: float) -> str:
    return f"{_fmt(abs(x))} {'higher' if x > 0 else 'lower'}"


def sof_row(
    outcome: AnalysisOutcome,
    certainty: Certainty,
    marks: Sequence[str] = (),
) -> SofRow:
    """One outcome's row from its analysis and its (reviewed) certainty.

    :param outcome: the analysis as run.
    :param certainty: its certainty after the reviewers' judgements.
    :param marks: the footnote letters of this row.
    """
    options = outcome.analysis.grade
    name = options.outcome or outcome.analysis.name
    if options.follow_up:
        name += f" (follow-up: {options.follow_up})"
    fit = outcome.view()
    k = fit.k
    totals = arm_totals(outcome)
    people = totals["participants"]
    participants = (
        f"{_n(people)} ({_design(certainty.randomised, k)})"
        if people
        else f"({_design(certainty.randomised, k)})"
    )
    level = certainty.level
    certainty_cell = f"{SYMBOLS[level]} {certainty.label.upper()}"
    est, lb, ub = _pooled(outcome)
    measure = outcome.effects.measure
    relative = comparator = difference = "-"
    if outcome.effects.ratio:
        shown = "OR" if measure == "PETO" else measure
        relative = f"{shown} {_fmt(math.exp(est))} ({_fmt(math.exp(lb))} to {_fmt(math.exp(ub))})"
    risk = totals["control_risk"]
    if risk is not None and measure in ("RR", "OR", "PETO", "RD"):
        transform = (lambda x: x) if measure == "RD" else math.exp
        comparator = f"{_round(risk * 1000):,} per 1,000"
        diffs = [risk_with_intervention(measure, risk, transform(x)) - risk for x in (est, lb, ub)]
        difference = (
            f"{_per_1000(diffs[0])} per 1,000 (from {_per_1000(diffs[1])} to {_per_1000(diffs[2])})"
        )
    elif measure in ("MD", "SMD"):
        means = _comparator_means(outcome)
        if measure == "MD" and means:
            lo, hi = min(means), max(means)
            comparator = (
                f"The mean was {_fmt(lo)}"
                if np.isclose(lo, hi)
                else f"The mean ranged from {_fmt(lo)} to {_fmt(hi)}"
            )
        unit = " SD" if measure == "SMD" else ""
        difference = f"{measure} {_direction(est)}{unit} ({_direction(lb)} to {_direction(ub)})"
    elif not outcome.effects.ratio:
        relative = f"{measure} {_fmt(est)} ({_fmt(lb)} to {_fmt(ub)})"
    return SofRow(
        outcome=name,
        participants=participants,
        certainty=certainty_cell,
        relative=relative,
        comparator_risk=comparator,
        difference=difference,
        comments=options.comment,
        footnotes=list(marks),
        level=level,
    )


def _letters() -> Any:
    n = 0
    while True:
        q, r = divmod(n, 26)
        yield (string.ascii_lowercase[q - 1] if q else "") + string.ascii_lowercase[r]
        n += 1


def summary_of_findings(
    items: Sequence[tuple[AnalysisOutcome, Certainty, Mapping[str, str]]],
    *,
    title: str,
    intervention: str = "intervention",
    comparator: str = "comparator",
) -> SummaryOfFindings:
    """The table from each outcome's analysis, certainty and footnotes.

    :param items: per outcome: the analysis as run, its certainty, and domain -> footnote
        text. A footnote explains every domain rated down or up, and any other domain that has
        a note (e.g. a reviewer's reason for not rating down where metasift proposed it).
    :param title: "[intervention] compared to [comparator] for [population]".
    :param intervention: how the intervention arm is named in the column headers.
    :param comparator: how the comparator arm is named.
    """
    table = SummaryOfFindings(title, intervention=intervention, comparator=comparator)
    letters = _letters()
    for outcome, certainty, notes in items:
        marks = []
        for judgement in certainty.judgements:
            if judgement.level == 0 and judgement.domain not in notes:
                continue
            mark = next(letters)
            marks.append(mark)
            label = DOMAINS[judgement.domain][judgement.level]
            if judgement.level == 0:
                way = "up" if judgement.domain in UPGRADING else "down"
                change = f"not rated {way}"
            else:
                way = "down" if judgement.level < 0 else "up"
                amount = {1: "one level", 2: "two levels", 3: "three levels"}
                change = f"rated {way} {amount[abs(judgement.level)]}"
            text = notes.get(judgement.domain) or judgement.rule
            table.footnotes.append(
                (mark, f"{TITLES[judgement.domain]}: {change} ({label}). {text}")
            )
        table.rows.append(sof_row(outcome, certainty, marks))
    return table


__all__ = [
    "HEADERS",
    "SofRow",
    "SummaryOfFindings",
    "risk_with_intervention",
    "sof_row",
    "summary_of_findings",
]
