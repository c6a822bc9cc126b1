"""Subgroup analysis: a model per group and the test for subgroup differences.

Two tests, as metafor users compute them: ``QM`` from the meta-regression on the grouping
factor (``rma(yi, vi, mods = ~ group)``, one tau2 shared by the groups), and ``Qb`` from
separate fits (an equal-effects model over the group estimates, i.e. RevMan's test with a tau2
per group).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from metasift.synthesis.effects import EffectSizes
from metasift.synthesis.errors import SynthesisError, describe_rows
from metasift.synthesis.models import Control, RMAResult, SynthesisWarning, rma
from metasift.synthesis.summary import subgroup_summary

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass
class SubgroupResult:
    by: str
    fits: dict[str, RMAResult]
    rows: dict[str, np.ndarray]
    QM: float
    QMp: float
    QMdf: tuple[int, int | None]
    Qb: float
    Qbp: float
    Qb_df: int
    overall: RMAResult | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def I2b(self) -> float:
        """I² of the test for subgroup differences, as RevMan reports it: the share of the
        variability between subgroup estimates beyond chance, max(0, (Qb - df) / Qb)."""
        if not self.Qb or math.isnan(self.Qb):
            return 0.0
        return max(0.0, (self.Qb - self.Qb_df) / self.Qb) * 100

    def summary(self, digits: int = 4) -> str:
        """One row per subgroup and the two tests for subgroup differences, formatted as
        metafor formats numbers.

        :param digits: decimals of estimates, tests and p-values (I^2 has 2).
        """
        return subgroup_summary(self, digits)

    def __str__(self) -> str:
        return self.summary()

    def forest(
        self, path: Path | str | None = None, *, overall: RMAResult | None = None, **options: Any
    ) -> Figure:
        """Forest plot in subgroup blocks with subtotals and the test for differences.

        :param path: also write the figure there (.svg, .png or .pdf).
        :param overall: the model over all studies, drawn last (default: :attr:`overall`).
        :param options: as :func:`metasift.synthesis.plots.forest`.
        :returns: the matplotlib figure.
        """
        from metasift.synthesis import plots

        return plots.forest(self, path, overall=overall or self.overall, **options)

    def to_dict(self) -> dict[str, Any]:
        def num(v: float) -> float | None:
            return None if v is None or math.isnan(v) else float(v)

        return {
            "by": self.by,
            "groups": {name: fit.to_dict() for name, fit in self.fits.items()},
            "QM": num(self.QM),
            "QMp": num(self.QMp),
            "QMdf": list(self.QMdf),
            "Qb": num(self.Qb),
            "Qbp": num(self.Qbp),
            "Qb_df": self.Qb_df,
            **({"overall": self.overall.to_dict()} if self.overall is not None else {}),
        }


def subgroup(
    es: EffectSizes,
    groups: Sequence[Any],
    *,
    by: str = "group",
    method: str = "REML",
    test: str = "z",
    level: float = 95,
    control: Control | None = None,
) -> SubgroupResult:
    """Per-group fits (groups in sorted order) and the tests for subgroup differences."""
    if len(groups) != len(es):
        raise SynthesisError(f"{len(groups)} group labels for {len(es)} studies.")
    messages: list[str] = []
    labels = [
        None if g is None or (isinstance(g, float) and math.isnan(g)) or g == "" else str(g)
        for g in groups
    ]
    missing = [i for i, g in enumerate(labels) if g is None]
    if missing:
        text = (
            f"studies without a value of {by!r} left out of the subgroups: "
            + describe_rows(missing, es.slab)
            + "."
        )
        messages.append(text)
        warnings.warn(text, SynthesisWarning, stacklevel=2)
    names = sorted({g for g in labels if g is not None})
    if len(names) < 2:
        raise SynthesisError(f"{by!r} has fewer than two groups; nothing to compare.")
    fits: dict[str, RMAResult] = {}
    rows: dict[str, np.ndarray] = {}
    for name in names:
        idx = np.array([i for i, g in enumerate(labels) if g == name])
        sub = EffectSizes(
            es.yi[idx],
            es.vi[idx],
            es.measure,
            [es.slab[i] for i in idx] if es.slab else None,
            es.ni[idx] if es.ni is not None else None,
        )
        fits[name] = rma(sub, method=method, test=test, level=level, control=control)
        rows[name] = idx
    keep = np.array([g is not None for g in labels])
    sub = EffectSizes(es.yi[keep], es.vi[keep], es.measure)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SynthesisWarning)
            joint = rma(
                sub,
                method=method,
                test=test,
                level=level,
                control=control,
                mods={by: [g for g in labels if g is not None]},
                tau2_ci=False,
            )
        QM, QMp, QMdf = joint.QM, joint.QMp, joint.QMdf
    except SynthesisError as exc:
        QM, QMp, QMdf = math.nan, math.nan, (len(names) - 1, None)
        messages.append(f"no joint moderator test: {exc}")
    b = np.array([fit.b[0] for fit in fits.values()])
    se = np.array([fit.se[0] for fit in fits.values()])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SynthesisWarning)
        between = rma(b, sei=se, method="FE", tau2_ci=False)
    return SubgroupResult(
        by, fits, rows, QM, QMp, QMdf, between.QE, between.QEp, len(names) - 1, warnings=messages
    )
