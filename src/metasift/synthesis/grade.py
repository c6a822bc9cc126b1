"""GRADE certainty of evidence for one outcome: numbers in, proposed judgements out.

The core proposes a judgement for each GRADE domain from the meta-analysis and the risk-of-bias
tables, and says which rule it applied and on which numbers; a reviewer confirms or overrides
each one (with a footnote) before it counts (see :mod:`metasift.workflow.certainty`). The rules,
after the GRADE Handbook and the GRADE guidelines series (J Clin Epidemiol 2011-2022):

* **Risk of bias** (guideline 4): the share of the analysis' weight from studies whose overall
  risk-of-bias judgement is high (RoB 2 "High", ROBINS-I "Serious"/"Critical", SYRCLE "High").
  Half the weight or more at high risk: very serious; half or more at high risk or with some
  concerns (or not assessed): serious; otherwise not serious.
* **Inconsistency** (guideline 7): I2 of 50% or more, or study confidence intervals that do not
  all overlap: serious; I2 of 75% or more with a prediction interval that holds effects on both
  sides of no effect: very serious. A single study: not assessable, not serious.
* **Indirectness** (guideline 8): from the extracted study designs, the share of the weight
  from animal or in-vitro studies (evidence about people drawn from them is indirect): half or
  more: very serious; any: serious. Otherwise the data cannot show indirectness: proposed not
  serious, for the reviewer to judge against the review question.
* **Imprecision** (guidelines 6 and 34): the confidence interval against no effect and the
  decision thresholds (the protocol's, or GRADE's rough guide of RR 0.75 and 1.25 for ratio
  measures). Crossing both thresholds: very serious; crossing no effect or one threshold:
  serious; otherwise serious only when the participants fall short of the optimal information
  size (a trial powered at 80%, two-sided alpha 5%, to detect a 25% relative risk reduction
  from the comparator risk; GRADE's 400 participants for continuous outcomes).
* **Publication bias** (guideline 5): Egger's test only with 10 or more studies (Cochrane
  Handbook 13.3.5.4); p < 0.10 proposes "strongly suspected".
* Upgrading, for non-randomised evidence only (guideline 9): a large effect (RR beyond 2 or
  0.5, very large beyond 5 or 0.2, with the interval excluding no effect); dose-response
  gradient and plausible confounding are proposed "no", for the reviewer to judge.

Certainty starts high for randomised trials and low for non-randomised studies, goes down one
level per level of concern and up per upgrade, and stays between very low and high.

Written by hand: no Python package implements GRADE's rules; they are a few comparisons each.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from metasift.errors import SynthesisError

if TYPE_CHECKING:
    from metasift.synthesis.models import RMAResult
    from metasift.synthesis.plan import AnalysisOutcome

CERTAINTY = {4: "high", 3: "moderate", 2: "low", 1: "very low"}
CONCERN = {0: "not serious", -1: "serious", -2: "very serious"}
# domain -> {level: label}; levels are the change in certainty the judgement makes.
DOMAINS: dict[str, dict[int, str]] = {
    "risk_of_bias": CONCERN,
    "inconsistency": CONCERN,
    "indirectness": CONCERN,
    "imprecision": {**CONCERN, -3: "extremely serious"},
    "publication_bias": {0: "undetected", -1: "strongly suspected"},
    "large_effect": {0: "no", 1: "large", 2: "very large"},
    "dose_response": {0: "no", 1: "gradient"},
    "confounding": {0: "no", 1: "would reduce the demonstrated effect"},
}
DOWNGRADING = ("risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias")
UPGRADING = ("large_effect", "dose_response", "confounding")
TITLES = {
    "risk_of_bias": "Risk of bias",
    "inconsistency": "Inconsistency",
    "indirectness": "Indirectness",
    "imprecision": "Imprecision",
    "publication_bias": "Publication bias",
    "large_effect": "Large effect",
    "dose_response": "Dose-response gradient",
    "confounding": "Plausible confounding",
}
HIGH_RISK = frozenset({"high", "serious", "critical"})
LOW_RISK = frozenset({"low"})
# GRADE's rough guide to appreciable benefit and harm on ratio scales (guideline 6).
RATIO_THRESHOLDS = (0.75, 1.25)
CONTINUOUS_OIS = 400
SMALL_K = 10


@dataclass(frozen=True)
class Evidence:
    """What GRADE's rules read for one outcome (ratio measures on the log scale, as fitted).

    :param outcome: the analysis' name.
    :param measure: metafor's measure (RR, OR, MD, ...).
    :param ratio: whether the estimate is a log ratio.
    :param estimate: pooled estimate; ``ci_lb``/``ci_ub`` its confidence interval.
    :param pi_lb: prediction interval (random-effects models with three studies or more).
    :param i2: I2 in percent.
    :param yi: study effect sizes; ``vi`` their sampling variances; ``weights`` in percent.
    :param rob: each study's overall risk-of-bias judgement (None when not assessed).
    :param randomised: whether the evidence comes from randomised trials.
    :param participants: total participants; ``events`` total events (dichotomous).
    :param control_risk: the comparator group's risk (events / participants), dichotomous.
    :param thresholds: decision thresholds on the natural scale (e.g. (0.75, 1.25) for RR).
    :param egger_p: the p-value of Egger's test (used with 10 studies or more).
    :param ois: an optimal information size given by the protocol, else computed.
    :param designs: each study's extracted design (e.g. "RCT", "animal in vivo"), if known.
    """

    outcome: str
    measure: str
    ratio: bool
    estimate: float
    ci_lb: float
    ci_ub: float
    yi: Sequence[float]
    vi: Sequence[float]
    weights: Sequence[float]
    rob: Sequence[str | None]
    randomised: bool = True
    pi_lb: float | None = None
    pi_ub: float | None = None
    i2: float | None = None
    participants: int | None = None
    events: int | None = None
    control_risk: float | None = None
    thresholds: tuple[float, float] | None = None
    egger_p: float | None = None
    ois: int | None = None
    designs: Sequence[str | None] = ()

    @property
    def k(self) -> int:
        return len(self.yi)


@dataclass(frozen=True)
class Judgement:
    """One domain's judgement: the level (change in certainty), its label and the rule used."""

    domain: str
    level: int
    rule: str

    @property
    def label(self) -> str:
        return DOMAINS[self.domain][self.level]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "label": self.label}


@dataclass
class Certainty:
    """An outcome's certainty from its judgements (start, levels down, levels up)."""

    outcome: str
    randomised: bool
    judgements: list[Judgement] = field(default_factory=list)

    @property
    def start(self) -> int:
        return 4 if self.randomised else 2

    @property
    def level(self) -> int:
        down = sum(j.level for j in self.judgements if j.domain in DOWNGRADING)
        up = sum(j.level for j in self.judgements if j.domain in UPGRADING)
        # upgrading applies to non-randomised evidence only (GRADE guideline 9)
        return max(1, min(4, self.start + down + (0 if self.randomised else up)))

    @property
    def label(self) -> str:
        return CERTAINTY[self.level]

    def judgement(self, domain: str) -> Judgement | None:
        for j in self.judgements:
            if j.domain == domain:
                return j
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "randomised": self.randomised,
            "certainty": self.label,
            "judgements": [j.to_dict() for j in self.judgements],
        }


def level_of(domain: str, label: str) -> int:
    """The level of a judgement named by its label (``serious`` -> -1).

    :param domain: one of :data:`DOMAINS`.
    :param label: the judgement's label, or its level as a number ("-1").
    """
    if domain not in DOMAINS:
        raise SynthesisError(f"unknown GRADE domain {domain!r}: use one of {', '.join(DOMAINS)}")
    for level, name in DOMAINS[domain].items():
        if label.strip().lower() in (name, str(level)):
            return level
    allowed = ", ".join(repr(n) for n in DOMAINS[domain].values())
    raise SynthesisError(f"{domain}: {label!r} is not a judgement; use one of {allowed}")


def _pct(x: float) -> str:
    return f"{x:.0f}%"


def _nat(ev: Evidence, x: float) -> str:
    value = math.exp(x) if ev.ratio else x
    return f"{value:.2f}"


def _ci(ev: Evidence) -> str:
    name = (ev.measure if ev.measure != "PETO" else "OR") if ev.ratio else ev.measure
    return f"{name} {_nat(ev, ev.estimate)} (95% CI {_nat(ev, ev.ci_lb)} to {_nat(ev, ev.ci_ub)})"


def risk_of_bias(ev: Evidence) -> Judgement:
    """Share of the weight from studies at high risk, or with concerns, or not assessed."""
    total = float(sum(ev.weights)) or 1.0
    high = some = missing = 0.0
    for weight, judged in zip(ev.weights, ev.rob, strict=True):
        name = (judged or "").strip().lower()
        if not name:
            missing += weight
        elif name in HIGH_RISK:
            high += weight
        elif name not in LOW_RISK:
            some += weight
    high, some, missing = high / total * 100, some / total * 100, missing / total * 100
    numbers = (
        f"{_pct(high)} of the weight from studies at high risk of bias, {_pct(some)} with some "
        f"concerns, {_pct(missing)} not assessed"
    )
    if high >= 50:
        return Judgement(
            "risk_of_bias", -2, f"{numbers}: half the weight or more from studies at high risk"
        )
    if high + some + missing >= 50:
        return Judgement(
            "risk_of_bias",
            -1,
            f"{numbers}: half the weight or more from studies at high risk, with some concerns "
            "or not assessed",
        )
    return Judgement("risk_of_bias", 0, f"{numbers}: most of the weight from studies at low risk")


def _crosses(lb: float, ub: float, value: float) -> bool:
    return lb < value < ub


def inconsistency(ev: Evidence) -> Judgement:
    """I2, the prediction interval and the overlap of the studies' confidence intervals."""
    if ev.k < 2:
        return Judgement("inconsistency", 0, "a single study: inconsistency cannot be assessed")
    z = float(stats.norm.isf(0.025))
    lows = [y - z * math.sqrt(v) for y, v in zip(ev.yi, ev.vi, strict=True)]
    highs = [y + z * math.sqrt(v) for y, v in zip(ev.yi, ev.vi, strict=True)]
    apart = max(lows) > min(highs)
    i2 = ev.i2 if ev.i2 is not None and not math.isnan(ev.i2) else 0.0
    pi_both = (
        ev.pi_lb is not None
        and ev.pi_ub is not None
        and _crosses(ev.pi_lb, ev.pi_ub, 0.0)
        and not _crosses(ev.ci_lb, ev.ci_ub, 0.0)
    )
    parts = [f"I2 = {i2:.0f}%"]
    if ev.pi_lb is not None and ev.pi_ub is not None:
        parts.append(
            f"prediction interval {_nat(ev, ev.pi_lb)} to {_nat(ev, ev.pi_ub)}"
            + (" (effects in both directions)" if pi_both else "")
        )
    parts.append("study CIs do not all overlap" if apart else "study CIs overlap")
    numbers = "; ".join(parts)
    if i2 >= 75 and pi_both:
        return Judgement(
            "inconsistency",
            -2,
            f"{numbers}: I2 >= 75% and the prediction interval crosses no effect",
        )
    if i2 >= 50 or apart:
        return Judgement("inconsistency", -1, f"{numbers}: I2 >= 50% or non-overlapping CIs")
    return Judgement("inconsistency", 0, f"{numbers}: I2 < 50% and overlapping CIs")


NON_HUMAN = frozenset({"animal in vivo", "in vitro"})


def indirectness(ev: Evidence) -> Judgement:
    """The weight of animal and in-vitro studies; otherwise for the reviewer to judge."""
    if ev.designs and any(ev.designs):
        total = float(sum(ev.weights)) or 1.0
        share = sum(
            w
            for w, d in zip(ev.weights, ev.designs, strict=True)
            if (d or "").strip().lower() in NON_HUMAN
        )
        share = share / total * 100
        numbers = f"{_pct(share)} of the weight from animal or in-vitro studies"
        if share >= 50:
            return Judgement("indirectness", -2, f"{numbers}: half or more")
        if share > 0:
            return Judgement("indirectness", -1, numbers)
    return Judgement(
        "indirectness",
        0,
        "the data cannot show indirectness: compare the studies' populations, interventions, "
        "comparators and outcomes with the review question",
    )


def optimal_information_size(
    control_risk: float, rrr: float = 0.25, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Participants a two-arm trial needs to detect a relative risk reduction ``rrr`` from
    ``control_risk`` (two-sided ``alpha``, ``power``), both arms together.

    :param control_risk: the comparator group's risk, between 0 and 1.
    :param rrr: the relative risk reduction to detect (GRADE uses 25%).
    :param alpha: two-sided type I error.
    :param power: 1 - type II error.
    """
    if not 0 < control_risk < 1:
        raise SynthesisError(f"control risk {control_risk} is not between 0 and 1")
    p2 = control_risk
    p1 = p2 * (1 - rrr)
    z = float(stats.norm.isf(alpha / 2) + stats.norm.isf(1 - power))
    per_arm = z**2 * (p1 * (1 - p1) + p2 * (1 - p2)) / (p1 - p2) ** 2
    return 2 * math.ceil(per_arm)


def _thresholds(ev: Evidence) -> tuple[float, float] | None:
    pair = ev.thresholds
    if pair is None and ev.ratio:
        pair = RATIO_THRESHOLDS
    if pair is None:
        return None
    low, high = sorted(pair)
    return (math.log(low), math.log(high)) if ev.ratio else (low, high)


def imprecision(ev: Evidence) -> Judgement:
    """The CI against no effect and the decision thresholds, then the optimal information
    size."""
    ci = _ci(ev)
    pair = _thresholds(ev)
    if pair is not None:
        shown = f"thresholds {_nat(ev, pair[0])} and {_nat(ev, pair[1])}"
        below, above = (_crosses(ev.ci_lb, ev.ci_ub, t) for t in pair)
        if below and above:
            return Judgement("imprecision", -2, f"{ci} crosses both {shown}")
        if below or above:
            return Judgement("imprecision", -1, f"{ci} crosses one of the {shown}")
    if _crosses(ev.ci_lb, ev.ci_ub, 0.0):
        return Judgement("imprecision", -1, f"{ci} includes no effect")
    ois, basis = ev.ois, "given by the protocol"
    if ois is None and ev.control_risk is not None and 0 < ev.control_risk < 1:
        ois = optimal_information_size(ev.control_risk)
        basis = f"25% relative risk reduction from a comparator risk of {ev.control_risk:.1%}"
    elif ois is None and not ev.ratio:
        ois, basis = CONTINUOUS_OIS, "GRADE's rule of thumb for continuous outcomes"
    if ois is None or ev.participants is None:
        return Judgement("imprecision", 0, f"{ci} excludes no effect; no information size known")
    size = f"{ev.participants} participants against an optimal information size of {ois} ({basis})"
    if ev.participants < ois:
        return Judgement("imprecision", -1, f"{ci} excludes no effect but {size}")
    return Judgement("imprecision", 0, f"{ci} excludes no effect; {size}")


def publication_bias(ev: Evidence) -> Judgement:
    """Egger's test, only with 10 studies or more."""
    if ev.k < SMALL_K:
        return Judgement(
            "publication_bias",
            0,
            f"{ev.k} studies: too few for a funnel plot test (10 or more, Cochrane Handbook "
            "13.3.5.4); judge from the search's reach",
        )
    if ev.egger_p is None:
        return Judgement("publication_bias", 0, "Egger's test could not be run on these data")
    p = f"Egger's test p = {ev.egger_p:.4f}" if ev.egger_p >= 1e-4 else "Egger's test p < .0001"
    if ev.egger_p < 0.10:
        return Judgement("publication_bias", -1, f"{p} (k = {ev.k}): funnel asymmetry")
    return Judgement("publication_bias", 0, f"{p} (k = {ev.k}): no funnel asymmetry detected")


def large_effect(ev: Evidence) -> Judgement:
    """A ratio beyond 2 or 0.5 (very large: 5 or 0.2) with the CI excluding no effect."""
    if not ev.ratio:
        return Judgement("large_effect", 0, "not a ratio measure: judge against the outcome")
    ci = _ci(ev)
    size = abs(ev.estimate)
    if _crosses(ev.ci_lb, ev.ci_ub, 0.0):
        return Judgement("large_effect", 0, f"{ci} includes no effect")
    if size >= math.log(5):
        return Judgement("large_effect", 2, f"{ci}: beyond 5 (or 0.2)")
    if size >= math.log(2):
        return Judgement("large_effect", 1, f"{ci}: beyond 2 (or 0.5)")
    return Judgement("large_effect", 0, f"{ci}: within 0.5 to 2")


def dose_response(ev: Evidence) -> Judgement:
    """Not judged from the data (it needs a dose-response analysis)."""
    return Judgement("dose_response", 0, "needs a dose-response analysis: reviewer's judgement")


def confounding(ev: Evidence) -> Judgement:
    """Not judged from the data."""
    return Judgement(
        "confounding", 0, "whether residual confounding would reduce the effect: reviewer's call"
    )


def arm_totals(outcome: AnalysisOutcome) -> dict[str, float | None]:
    """Participants, events and risks of the studies an analysis pooled (from its 2x2 tables,
    or the sample sizes of continuous outcomes).

    :param outcome: a run analysis.
    :returns: participants, events, control_risk (comparator events / participants, GRADEpro's
        "study population" risk) and intervention_risk; None where the data do not say.
    """
    es = outcome.effects
    kept = _kept(outcome)
    out: dict[str, float | None] = dict.fromkeys(
        ("participants", "events", "control_risk", "intervention_risk")
    )
    t = es.tables
    if "ai" in t:
        ai, bi, ci, di = (np.asarray(t[c], dtype=float)[kept] for c in ("ai", "bi", "ci", "di"))
        n1, n2 = ai + bi, ci + di
        out["participants"] = float(np.nansum(n1 + n2))
        out["events"] = float(np.nansum(ai + ci))
        out["control_risk"] = float(np.nansum(ci) / np.nansum(n2)) if np.nansum(n2) else None
        out["intervention_risk"] = float(np.nansum(ai) / np.nansum(n1)) if np.nansum(n1) else None
    elif es.ni is not None and not np.isnan(es.ni[kept]).all():
        out["participants"] = float(np.nansum(es.ni[kept]))
    return out


def _kept(outcome: AnalysisOutcome) -> list[int]:
    fit = outcome.view()
    if fit.rows is not None:
        return [int(i) for i in fit.rows]
    return list(range(len(outcome.effects)))


def _egger(fit: RMAResult) -> float | None:
    """Egger's test p-value (metafor's regtest under the fitted model), None if it cannot run."""
    from metasift.synthesis.bias import regtest

    try:
        return regtest(fit).pval
    except SynthesisError:
        return None


def evidence(outcome: AnalysisOutcome, rob: Mapping[int, str | None] | None = None) -> Evidence:
    """The numbers GRADE's rules read, from a run analysis and each study's overall risk of
    bias.

    :param outcome: the analysis as :func:`metasift.synthesis.plan.run_analysis` ran it.
    :param rob: study id -> overall risk-of-bias judgement (rows name their study in
        ``study_id``).
    """
    fit = outcome.view()
    if not fit.int_only:
        raise SynthesisError(
            f"analysis {outcome.analysis.name!r} is a meta-regression; GRADE rates a pooled "
            "estimate (an intercept-only model)."
        )
    pooled = outcome.fit
    if hasattr(pooled, "b") and not isinstance(pooled.b, float):
        est, lb, ub = float(pooled.b[0]), float(pooled.ci_lb[0]), float(pooled.ci_ub[0])
    else:
        est, lb, ub = float(pooled.b), float(pooled.ci_lb), float(pooled.ci_ub)
    kept = _kept(outcome)
    ids = [outcome.rows[i].get("study_id") if i < len(outcome.rows) else None for i in kept]
    rob = rob or {}
    judged = [rob.get(int(i)) if i is not None else None for i in ids]
    designs = [
        str(outcome.rows[i].get("design") or "") or None if i < len(outcome.rows) else None
        for i in kept
    ]
    totals = arm_totals(outcome)
    options = outcome.analysis.grade
    egger = outcome.bias.get("regtest", {}).get("pval")
    if egger is None and fit.k >= SMALL_K:
        egger = _egger(fit)
    return Evidence(
        outcome=outcome.analysis.name,
        measure=outcome.effects.measure,
        ratio=outcome.effects.ratio,
        estimate=est,
        ci_lb=lb,
        ci_ub=ub,
        yi=[float(y) for y in fit.yi],
        vi=[float(v) for v in fit.vi],
        weights=[float(w) for w in fit.weights],
        rob=judged,
        randomised=options.randomised,
        pi_lb=getattr(pooled, "pi_lb", None),
        pi_ub=getattr(pooled, "pi_ub", None),
        i2=float(pooled.I2),
        participants=None if totals["participants"] is None else int(totals["participants"]),
        events=None if totals["events"] is None else int(totals["events"]),
        control_risk=totals["control_risk"],
        thresholds=options.thresholds,
        egger_p=egger,
        ois=options.ois,
        designs=designs,
    )


RULES = {
    "risk_of_bias": risk_of_bias,
    "inconsistency": inconsistency,
    "indirectness": indirectness,
    "imprecision": imprecision,
    "publication_bias": publication_bias,
    "large_effect": large_effect,
    "dose_response": dose_response,
    "confounding": confounding,
}


def propose(ev: Evidence) -> Certainty:
    """Each domain's proposed judgement with its rule; upgrading domains only for
    non-randomised evidence.

    :param ev: the outcome's numbers.
    """
    domains = DOWNGRADING if ev.randomised else DOWNGRADING + UPGRADING
    return Certainty(ev.outcome, ev.randomised, [RULES[d](ev) for d in domains])


def decide(proposed: Certainty, overrides: Mapping[str, Judgement]) -> Certainty:
    """The certainty once reviewers' judgements replace the proposals they override.

    :param proposed: what :func:`propose` gave.
    :param overrides: domain -> the reviewer's judgement.
    """
    judgements = [overrides.get(j.domain, j) for j in proposed.judgements]
    return Certainty(proposed.outcome, proposed.randomised, judgements)


__all__ = [
    "CERTAINTY",
    "DOMAINS",
    "DOWNGRADING",
    "TITLES",
    "UPGRADING",
    "Certainty",
    "Evidence",
    "Judgement",
    "arm_totals",
    "decide",
    "evidence",
    "level_of",
    "optimal_information_size",
    "propose",
]
