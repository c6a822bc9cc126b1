"""The protocol's analysis plan (``[analysis]`` in review.toml) and the stage function that runs
one analysis over a table of study rows. The CLI's ``metasift meta`` and the plan call the same
``run_analysis``.

    [[analysis.analyses]]
    name = "PASI 75 at week 12"
    measure = "RR"
    method = "REML"
    knha = true
    by = "disease"
    slab = "study"
    where = { outcome = "PASI75" }
    columns = { ai = "events_treated", n1i = "n_treated", ci = "events_control", n2i = "n_control" }
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from metasift.protocol import validate_section
from metasift.synthesis.bias import fsn, ranktest, regtest, trimfill, warn_small_k
from metasift.synthesis.effects import (
    INPUT_NAMES,
    MEASURES,
    TWO_BY_TWO,
    EffectSizes,
    unknown_measure,
)
from metasift.synthesis.errors import SynthesisError, describe_rows
from metasift.synthesis.mh import MHResult, rma_mh, rma_peto
from metasift.synthesis.models import METHODS, RMAResult, SynthesisWarning, rma
from metasift.synthesis.subgroup import SubgroupResult, subgroup
from metasift.synthesis.summary import bias_summary
from metasift.synthesis.table import Row, effect_sizes, moderators

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from metasift.synthesis.forestplot import RobDots

POOLING = (*METHODS, "MH", "PETO")


class GradeOptions(BaseModel):
    """How GRADE and the Summary of Findings read one analysis (``grade`` of an analysis).

    ``rate`` false marks a sensitivity analysis: it is pooled and drawn but not rated, and has
    no row in the Summary of Findings (one row per outcome, as GRADEpro has);
    ``randomised`` sets where certainty starts (high for randomised trials, low otherwise);
    ``thresholds`` are the decision thresholds on the natural scale (e.g. [0.75, 1.25] for a
    risk ratio, [-5, 5] points for a mean difference); ``ois`` overrides the computed optimal
    information size; ``outcome`` and ``follow_up`` label the Summary of Findings row.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate: bool = True
    randomised: bool = True
    thresholds: tuple[float, float] | None = None
    ois: int | None = Field(None, gt=0)
    outcome: str = ""
    follow_up: str = ""
    comment: str = ""


class Analysis(BaseModel):
    """One meta-analysis of the plan."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    measure: str | None = None
    method: str = "REML"
    knha: bool = False
    mods: list[str] = []
    by: str | None = None
    slab: str | None = None
    # the intervention and comparator arms of extracted data: metafor's inputs are then read
    # from "<arm>.<statistic>" columns (see arm_columns); ``columns`` still overrides any
    arms: tuple[str, str] | None = None
    # metafor input name -> column of the extracted data holding it
    columns: dict[str, str] = {}
    # only rows whose columns have these values (e.g. one outcome at one time point)
    where: dict[str, str | int | float] = {}
    add: float | None = None
    to: Literal["only0", "all", "if0all", "none"] = "only0"
    drop00: bool = False
    level: float = Field(95, gt=0, lt=100)
    bias: bool = False
    forest: str | None = None
    funnel: str | None = None
    # What either side of the line of no effect favours in the forest plot (RevMan's
    # "Favours [experimental]" and "Favours [control]"); by default the arms' names.
    favours: tuple[str, str] | None = None
    grade: GradeOptions = GradeOptions()

    @field_validator("measure")
    @classmethod
    def _measure(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.upper() not in MEASURES:
            raise ValueError(unknown_measure(value))
        return value.upper()

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        if value.upper() not in POOLING:
            raise ValueError(f"unknown method {value!r}: use one of {', '.join(POOLING)}")
        return value.upper()

    @classmethod
    def build(cls, **options: Any) -> Analysis:
        """An analysis from options given on a command line or in code; an invalid option is a
        :class:`SynthesisError` that says what is allowed (not pydantic's report).

        :param options: the fields of :class:`Analysis`.
        """
        try:
            return cls(**options)
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                where = ".".join(str(p) for p in error["loc"])
                message = str(error["msg"]).removeprefix("Value error, ")
                problems.append(message if where in message else f"{where}: {message}")
            raise SynthesisError("; ".join(problems) + ".") from None

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(INPUT_NAMES))
        if unknown:
            raise ValueError(
                f"{', '.join(unknown)} not metafor input names ({', '.join(INPUT_NAMES)})"
            )
        return value


class AnalysisPlan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    analyses: list[Analysis] = []

    @field_validator("analyses")
    @classmethod
    def _unique(cls, value: list[Analysis]) -> list[Analysis]:
        names = [a.name for a in value]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"analysis names must be unique; repeated: {', '.join(twice)}")
        return value


def parse_plan(section: Mapping[str, Any], origin: str = "review.toml") -> AnalysisPlan:
    """Validate the protocol's ``[analysis]`` table; errors name the key path."""
    return validate_section(AnalysisPlan, section, "analysis", origin)


@dataclass
class AnalysisOutcome:
    """What one analysis produced: effect sizes, the pooled fit, subgroups, bias tests."""

    analysis: Analysis
    effects: EffectSizes
    fit: RMAResult | MHResult
    subgroups: SubgroupResult | None = None
    bias: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    # The rows analysed, one per effect size, in order (their study ids name the studies).
    rows: list[Row] = field(default_factory=list)

    def summary(self, digits: int = 4) -> str:
        """The fit's own summary (as metafor prints it), then the subgroups and bias tests.

        :param digits: decimals of estimates, tests and p-values.
        """
        parts = [self.fit.summary(digits)]
        if self.subgroups is not None:
            parts.append(self.subgroups.summary(digits))
        if self.bias:
            parts.append(bias_summary(self.bias, digits))
        return "\n\n".join(parts)

    def view(self) -> RMAResult:
        """The model the plots draw: the fit, or for Mantel-Haenszel and Peto pooling the
        same studies (rows, yi, vi) with that pooled estimate and its own study weights."""
        if isinstance(self.fit, RMAResult):
            return self.fit
        return self.fit.view(rma(self.effects, method="EE", tau2_ci=False))

    def arm_labels(self) -> tuple[str, str]:
        """The two arms' names: the analysis' ``arms``, else from the columns it reads
        ("ADSC.mean" -> "ADSC"), else RevMan's "Experimental" and "Control"."""
        if self.analysis.arms:
            return self.analysis.arms
        names = []
        for inputs, default in (
            (("n1i", "ai", "m1i", "x1i", "sd1i", "t1i"), "Experimental"),
            (("n2i", "ci", "m2i", "x2i", "sd2i", "t2i"), "Control"),
        ):
            columns = [self.analysis.columns.get(name, "") for name in inputs]
            arms = [c.rsplit(".", 1)[0] for c in columns if "." in c]
            names.append(arms[0] if arms else default)
        return names[0], names[1]

    def forest(
        self,
        path: Path | str | None = None,
        *,
        title: str | None = None,
        rob: RobDots | None = None,
    ) -> Figure:
        """The fit's forest plot in RevMan's layout (each arm's data, weights, subtotals,
        heterogeneity and "Favours" labels), in subgroup blocks when the analysis has them.

        :param path: also write the figure there (.svg, .png or .pdf).
        :param title: printed above the plot.
        :param rob: risk-of-bias judgements to draw beside each study, keyed by the rows'
            ``study_id`` (else by the study labels).
        """
        options: dict[str, Any] = {
            "title": title,
            "arms": self.effects.tables,
            "arm_labels": self.arm_labels(),
            "favours": self.analysis.favours,
            "rob": rob,
        }
        if rob is not None and self.rows and all("study_id" in row for row in self.rows):
            options["keys"] = [row["study_id"] for row in self.rows]
        if self.subgroups is not None:
            overall = self.fit if isinstance(self.fit, RMAResult) else None
            return self.subgroups.forest(path, overall=overall, **options)
        return self.view().forest(path, **options)

    def funnel(self, path: Path | str | None = None) -> Figure:
        """The fit's contour-enhanced funnel plot, with the trim-and-fill studies when the
        analysis asks for bias tests.

        :param path: also write the figure there (.svg, .png or .pdf).
        """
        fit = self.view()
        if fit.k < 2:
            raise SynthesisError("a funnel plot needs at least two studies.")
        warn_small_k(fit.k)
        fill = fit.int_only and fit.k > 2 and self.analysis.bias
        return fit.funnel(path, trimfill=fill, contours=True)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.analysis.name, **self.fit.to_dict()}
        if self.effects.ratio and isinstance(out.get("estimate"), float):
            keys = ("estimate", "ci_lb", "ci_ub", "pi_lb", "pi_ub")
            out["exp"] = {
                key: math.exp(out[key]) for key in keys if isinstance(out.get(key), float)
            }
        if self.subgroups is not None:
            out["subgroups"] = self.subgroups.to_dict()
        if self.bias:
            out["bias"] = self.bias
        if self.warnings:
            out["warnings"] = list(dict.fromkeys(self.warnings))
        studies = self.studies()
        if studies:
            out["studies"] = studies
        return out

    def studies(self) -> list[dict[str, Any]]:
        """Each pooled effect with where it came from: the study (its record id), its label,
        yi, vi, weight and who extracted it; empty when the rows do not name their studies.
        """
        if not self.rows or "study_id" not in self.rows[0]:
            return []
        fit = self.view()
        kept = [int(i) for i in fit.rows] if fit.rows is not None else range(len(self.effects))
        out = []
        for j, i in enumerate(kept):
            row = self.rows[i]
            out.append(
                {
                    "study_id": row.get("study_id"),
                    "study": self.effects.slab[i] if self.effects.slab else None,
                    "yi": float(fit.yi[j]),
                    "vi": float(fit.vi[j]),
                    "weight": float(fit.weights[j]),
                    "extracted_by": row.get("extracted_by"),
                }
            )
        return out


ARM_INPUTS = {
    "two_by_two": (("ai", 0, "events"), ("n1i", 0, "n"), ("ci", 1, "events"), ("n2i", 1, "n")),
    "means": (
        ("m1i", 0, "mean"),
        ("sd1i", 0, "sd"),
        ("n1i", 0, "n"),
        ("m2i", 1, "mean"),
        ("sd2i", 1, "sd"),
        ("n2i", 1, "n"),
    ),
}


def arm_columns(measure: str | None, arms: tuple[str, str]) -> dict[str, str]:
    """metafor's inputs read from extracted arms (escalc from arms): events/total give OR, RR,
    RD and Peto's OR; mean/SD/N give MD, SMD and ROM; without a measure, an outcome extracted
    as effect and standard error gives yi and sei.

    :param measure: the analysis' measure (None: generic effect/SE).
    :param arms: (intervention arm, comparator arm) as named in the extraction data.
    """
    if measure is None or measure == "GEN":
        return {"yi": "effect", "sei": "se"}
    if measure in TWO_BY_TWO:
        kind = "two_by_two"
    elif measure in ("MD", "SMD", "ROM"):
        kind = "means"
    else:
        raise SynthesisError(
            f"arms give events/total (OR, RR, RD, PETO) or mean/SD/N (MD, SMD, ROM), not "
            f"{measure}; map its inputs with 'columns' instead."
        )
    return {arg: f"{arms[side]}.{stat}" for arg, side, stat in ARM_INPUTS[kind]}


def _select(rows: Sequence[Row], where: Mapping[str, Any], name: str) -> list[Row]:
    if not where:
        return list(rows)
    for column in where:
        if rows and column not in rows[0]:
            raise SynthesisError(f"analysis {name!r}: 'where' names no column {column!r}.")
    chosen = [row for row in rows if all(str(row.get(c)) == str(v) for c, v in where.items())]
    if not chosen:
        raise SynthesisError(f"analysis {name!r}: no rows match {dict(where)}.")
    return chosen


def _double_zero(es: EffectSizes) -> list[int]:
    t = es.tables
    if "ai" in t:
        both = ((t["ai"] == 0) & (t["ci"] == 0)) | ((t["bi"] == 0) & (t["di"] == 0))
    elif "x1i" in t:
        both = (t["x1i"] == 0) & (t["x2i"] == 0)
    else:
        return []
    return [i for i, flag in enumerate(both) if flag]


def run_analysis(
    rows: Sequence[Row], analysis: Analysis, *, origin: str = "", outdir: Path | None = None
) -> AnalysisOutcome:
    """Effect sizes -> model (or MH/Peto) -> subgroups, bias tests and plots for one analysis."""
    messages: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SynthesisWarning)
        outcome = _run(rows, analysis, origin, outdir, messages)
    for warning in caught:
        if issubclass(warning.category, SynthesisWarning):
            messages.append(str(warning.message))
    outcome.warnings = list(dict.fromkeys(messages))
    return outcome


def _run(
    rows: Sequence[Row],
    analysis: Analysis,
    origin: str,
    outdir: Path | None,
    messages: list[str],
) -> AnalysisOutcome:
    rows = _select(rows, analysis.where, analysis.name)
    options: dict[str, Any] = {"to": analysis.to, "drop00": analysis.drop00}
    if analysis.add is not None:
        options["add"] = analysis.add
    columns = dict(analysis.columns)
    if analysis.arms:
        columns = {**arm_columns(analysis.measure, analysis.arms), **columns}
    measure = analysis.measure or ("GEN" if analysis.arms else None)
    es = effect_sizes(
        rows,
        measure,
        columns=columns,
        # extracted arms carry each study's citation in 'study'
        slab=analysis.slab or ("study" if analysis.arms and rows and "study" in rows[0] else None),
        origin=origin,
        **options,
    )
    zero = _double_zero(es)
    if zero:
        if len(zero) == len(es):
            messages.append(
                f"no study has events in either group ({es.measure}): every estimate rests on "
                "the continuity correction; the risk difference (RD) is informative here."
            )
        else:
            messages.append(
                "studies without events in either group carry no information on "
                f"{es.measure} beyond the continuity correction: {describe_rows(zero, es.slab)}."
            )
    method = analysis.method
    test = "knha" if analysis.knha else "z"
    if method in ("MH", "PETO"):
        fit = _pooled_tables(es, method, analysis, rows)
    else:
        mods = moderators(rows, analysis.mods, origin) if analysis.mods else None
        fit = rma(es, method=method, test=test, mods=mods, level=analysis.level)
        messages.extend(fit.warnings)
        if fit.k > 1 and fit.random and fit.tau2 == 0:
            messages.append(
                "tau2 is estimated at its lower bound 0: the random-effects estimate equals the "
                "equal-effects one."
            )
        if fit.k > 1 and float(fit.yi.max() - fit.yi.min()) == 0:
            messages.append("all effect sizes are identical: there is no heterogeneity to model.")
        if fit.k == 1:
            messages.append("only one study: its own estimate is reported; nothing is pooled.")
    outcome = AnalysisOutcome(analysis, es, fit, rows=list(rows))
    if analysis.by:
        groups = [row.get(analysis.by) for row in rows]
        if rows and analysis.by not in rows[0]:
            raise SynthesisError(f"{origin}no column {analysis.by!r} to group by.")
        pooled = method if method in METHODS else "REML"
        outcome.subgroups = subgroup(
            es, groups, by=analysis.by, method=pooled, test=test, level=analysis.level
        )
        base = rma(es, method=pooled, test=test, level=analysis.level, tau2_ci=False)
        outcome.subgroups.overall = base
    if analysis.bias and isinstance(fit, RMAResult):
        outcome.bias = _bias(fit, messages)
    if analysis.forest or analysis.funnel:
        outcome.files = draw(outcome, analysis.forest, analysis.funnel, outdir)
    return outcome


def _pooled_tables(
    es: EffectSizes, method: str, analysis: Analysis, rows: Sequence[Row]
) -> MHResult:
    if es.measure not in (*TWO_BY_TWO, "IRR") or not es.tables:
        raise SynthesisError(
            f"method {method} pools 2x2 tables (OR, RR, RD) or rates (IRR); "
            f"measure {es.measure} has none. Use an inverse-variance method (e.g. REML)."
        )
    t = es.tables
    if method == "PETO":
        if es.measure not in ("OR", "PETO"):
            raise SynthesisError("Peto's method pools odds ratios; use --measure OR or PETO.")
        fit = rma_peto(t["ai"], t["bi"], t["ci"], t["di"], slab=es.slab, level=analysis.level)
    elif es.measure == "IRR":
        fit = rma_mh(
            x1i=t["x1i"],
            x2i=t["x2i"],
            t1i=t["t1i"],
            t2i=t["t2i"],
            measure="IRR",
            slab=es.slab,
            level=analysis.level,
        )
    else:
        measure = "OR" if es.measure == "PETO" else es.measure
        fit = rma_mh(
            t["ai"], t["bi"], t["ci"], t["di"], measure=measure, slab=es.slab, level=analysis.level
        )
    if math.isnan(fit.b):
        raise SynthesisError(
            f"the Mantel-Haenszel {fit.measure} is undefined: one group has no events in any "
            "study. Use the risk difference (--measure RD) or an inverse-variance method."
        )
    return fit


def _bias(fit: RMAResult, messages: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not fit.int_only or fit.k < 3:
        messages.append("bias tests need an intercept-only model with at least 3 studies.")
        return out
    try:
        eg = regtest(fit)
        out["regtest"] = {"zval": eg.zval, "pval": eg.pval, "est": eg.est, "k": eg.k}
        if eg.ddf is not None:
            out["regtest"]["ddf"] = eg.ddf
        rk = ranktest(fit.yi, fit.vi)
        out["ranktest"] = {"tau": rk.tau, "pval": rk.pval, "k": rk.k}
        tf = trimfill(fit)
        out["trimfill"] = {
            "k0": tf.k0,
            "side": tf.side,
            "estimate": float(tf.fit.b[0]),
            "ci_lb": float(tf.fit.ci_lb[0]),
            "ci_ub": float(tf.fit.ci_ub[0]),
        }
        fs = fsn(fit.yi, fit.vi)
        out["fsn"] = {"type": fs.type, "fsnum": fs.fsnum, "pval": fs.pval}
    except SynthesisError as exc:
        messages.append(f"bias tests: {exc}")
    return out


def draw(
    outcome: AnalysisOutcome,
    forest_out: str | None,
    funnel_out: str | None,
    outdir: Path | None = None,
) -> list[str]:
    """Write the outcome's forest and funnel plots (paths relative to ``outdir``)."""
    files = []
    base = outdir or Path(".")
    title = outcome.analysis.name if outcome.analysis.name != "meta" else None
    if forest_out:
        outcome.forest(base / forest_out, title=title)
        files.append(str(base / forest_out))
    if funnel_out:
        outcome.funnel(base / funnel_out)
        files.append(str(base / funnel_out))
    return files


def run_plan(
    plan: AnalysisPlan | Mapping[str, Any],
    rows: Sequence[Row],
    *,
    outdir: Path | None = None,
) -> list[AnalysisOutcome]:
    """Run every analysis of the plan over the extracted data (one row per study arm-pair and
    outcome; analyses pick their rows with ``where``)."""
    if not isinstance(plan, AnalysisPlan):
        plan = parse_plan(plan)
    results = []
    for analysis in plan.analyses:
        try:
            results.append(run_analysis(rows, analysis, outdir=outdir))
        except SynthesisError as exc:
            raise SynthesisError(f"analysis {analysis.name!r}: {exc}") from exc
    return results
