"""Synthesis: effect sizes -> fitted model -> summary and plots, following metafor's flow and names.

    es = escalc("RR", ai=..., bi=..., ci=..., di=...)
    fit = rma(es, method="REML", test="knha")
    print(fit)                    # metafor's summary: heterogeneity, tests, model results
    fit.forest("forest.png")      # and fit.funnel(...)

Entry points: :func:`escalc` / :func:`effect_sizes` (effect sizes from arrays or table rows),
:func:`rma` (equal-, random- and mixed-effects models), :func:`rma_mv` (multilevel models of
dependent effect sizes) with :func:`robust` (CR2 cluster-robust tests), :func:`rma_mh` /
:func:`rma_peto`, :func:`subgroup`, the bias tests (:func:`regtest`, :func:`ranktest`,
:func:`trimfill`, :func:`fsn`), :func:`leave1out` / :func:`cumul`, and :func:`run_analysis` /
:func:`run_plan`, which run the protocol's analysis plan (what ``metasift meta`` and the
report call).
Names load on first use, so importing the package does not import scipy or matplotlib.
"""

from metasift.lazy import attach

__all__, __getattr__, __dir__ = attach(
    __name__,
    bias=["fsn", "ranktest", "regtest", "trimfill"],
    cluster_robust=["RobustResult", "robust"],
    effects=[
        "MEASURES",
        "EffectSizes",
        "escalc",
        "hedges_correction",
        "mean_from_median",
        "sd_from_ci",
        "sd_from_median",
        "sd_from_se",
    ],
    dependent=["MultilevelOutcome", "run_multilevel"],
    errors=["ConvergenceError", "SynthesisError"],
    mh=["MHResult", "rma_mh", "rma_peto"],
    multilevel=["MVResult", "RandomTerm", "parse_random", "rma_mv"],
    models=[
        "METHODS",
        "Control",
        "RMAResult",
        "SynthesisWarning",
        "design_matrix",
        "predict",
        "rma",
    ],
    forestplot=["RobDots"],
    grade=["Certainty", "Evidence", "Judgement", "decide", "evidence", "level_of", "propose"],
    plan=[
        "Analysis",
        "AnalysisOutcome",
        "AnalysisPlan",
        "GradeOptions",
        "arm_columns",
        "parse_plan",
        "run_analysis",
        "run_plan",
    ],
    plots=["forest", "funnel"],
    sensitivity=["cumul", "leave1out"],
    subgroup=["SubgroupResult", "subgroup"],
    table=["effect_sizes", "moderators", "read_csv"],
)
