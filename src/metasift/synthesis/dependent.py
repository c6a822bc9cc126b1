"""Dependent effect sizes from a table of rows: effect sizes -> multilevel model -> optional
cluster-robust tests, in one stage function. ``metasift meta FILE --random ... [--cluster ...]``
calls :func:`run_multilevel`; so can the Python API and, later, the analysis plan.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from metasift.synthesis.cluster_robust import RobustResult, robust
from metasift.synthesis.errors import SynthesisError
from metasift.synthesis.models import SynthesisWarning
from metasift.synthesis.multilevel import MVResult, rma_mv
from metasift.synthesis.table import Row, effect_sizes, moderators


@dataclass
class MultilevelOutcome:
    """A multilevel fit, its cluster-robust tests when a cluster was named, and the warnings."""

    fit: MVResult
    robust: RobustResult | None = None
    warnings: list[str] = field(default_factory=list)

    def summary(self, digits: int = 4) -> str:
        """The robust results when there are some (as metafor prints ``robust()``), else the
        model's own summary.

        :param digits: decimals of estimates, tests and p-values.
        """
        return (self.robust or self.fit).summary(digits)

    def to_dict(self) -> dict[str, Any]:
        """The fit's statistics, with a ``robust`` object (se, tval, df, pval, ci_lb, ci_ub)."""
        out = self.fit.to_dict()
        if self.robust is not None:
            out["robust"] = self.robust.to_dict()
        out.pop("warnings", None)
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out


def run_multilevel(
    rows: Sequence[Row],
    *,
    random: str | Sequence[str],
    measure: str | None = None,
    method: str = "REML",
    mods: Sequence[str] = (),
    cluster: str | None = None,
    columns: Mapping[str, str] | None = None,
    slab: str | None = None,
    test: str = "z",
    level: float = 95,
    origin: str = "",
) -> MultilevelOutcome:
    """Fit metafor's ``rma.mv`` to the rows of a table, then ``robust()`` on ``cluster``.

    :param rows: the table, one dict per effect size (metafor's column names, or ``columns``).
    :param random: metafor's random-effects formula(s), e.g. ``"~ 1 | study/esid"``.
    :param measure: the effect measure (MD, SMD, NMD, OR, ...); None when the rows have yi, vi.
    :param method: ``REML`` or ``ML``.
    :param mods: moderator columns.
    :param cluster: column to cluster on for CR2 robust tests (the outermost level, usually).
    :param columns: metafor input name -> column holding it.
    :param slab: column with study labels, for messages.
    :param test: ``z`` or ``t``.
    :param level: confidence level, in percent.
    :param origin: prefix of error messages (the file's name).
    :returns: the fit, its robust tests if ``cluster`` was given, and the warnings raised.
    """
    es = effect_sizes(rows, measure, columns=columns, slab=slab, origin=origin)
    data = {name: [row.get(name) for row in rows] for name in (rows[0] if rows else {})}
    mod_columns = moderators(rows, list(mods), origin) if mods else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SynthesisWarning)
            fit = rma_mv(
                es,
                random=random,
                data=data,
                method=method,
                mods=mod_columns,
                test=test,
                level=level,
            )
            rob = robust(fit, cluster) if cluster is not None else None
    except SynthesisError as exc:
        raise type(exc)(f"{origin}{exc}") from exc
    return MultilevelOutcome(fit=fit, robust=rob, warnings=list(fit.warnings))
