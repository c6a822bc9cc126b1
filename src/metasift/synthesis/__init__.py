"""Synthesis: effect sizes -> fitted model -> plots, following metafor's flow and names.

es = escalc("RR", ai=..., bi=..., ci=..., di=...)
res = rma(es, method="REML", test="knha")
forest(res, "forest.png")
"""

from metasift.synthesis.bias import fsn, ranktest, regtest, trimfill
from metasift.synthesis.effects import (
    MEASURES,
    EffectSizes,
    escalc,
    hedges_correction,
    mean_from_median,
    sd_from_ci,
    sd_from_median,
    sd_from_se,
)
from metasift.synthesis.errors import ConvergenceError, SynthesisError
from metasift.synthesis.mh import MHResult, rma_mh, rma_peto
from metasift.synthesis.models import (
    METHODS,
    Control,
    RMAResult,
    SynthesisWarning,
    design_matrix,
    predict,
    rma,
)
from metasift.synthesis.sensitivity import cumul, leave1out
from metasift.synthesis.subgroup import SubgroupResult, subgroup
from metasift.synthesis.table import effect_sizes, moderators, read_csv

__all__ = [
    "MEASURES",
    "METHODS",
    "Control",
    "ConvergenceError",
    "EffectSizes",
    "MHResult",
    "RMAResult",
    "SubgroupResult",
    "SynthesisError",
    "SynthesisWarning",
    "cumul",
    "design_matrix",
    "effect_sizes",
    "escalc",
    "fsn",
    "hedges_correction",
    "leave1out",
    "mean_from_median",
    "moderators",
    "predict",
    "ranktest",
    "read_csv",
    "regtest",
    "rma",
    "rma_mh",
    "rma_peto",
    "sd_from_ci",
    "sd_from_median",
    "sd_from_se",
    "subgroup",
    "trimfill",
]
