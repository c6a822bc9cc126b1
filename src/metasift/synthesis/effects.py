"""Effect sizes and sampling variances, as metafor's ``escalc()`` computes them.

Written on numpy because no Python library reproduces escalc's measures with its exact
conventions (Hedges' exact bias correction, the large-sample variances it uses by default, the
``add``/``to``/``drop00`` continuity-correction rules for zero cells); PyMARE and statsmodels
cover a few measures with different defaults. Names follow metafor: the arguments (ai, bi, ci,
di, n1i, n2i, m1i, m2i, sd1i, sd2i, x1i, x2i, t1i, t2i, xi, mi, ni, ri, yi, vi) and the output
``yi``/``vi``. Missing inputs give missing effect sizes (NaN); the model drops them and says which.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import gammaln

from metasift.synthesis.errors import SynthesisError, describe_rows

# measure -> (description, required arguments, log-scale ratio measure?)
MEASURES: dict[str, tuple[str, tuple[tuple[str, ...], ...], bool]] = {
    "MD": ("mean difference", (("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),), False),
    "SMD": (
        "standardised mean difference (Hedges' g)",
        (("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),),
        False,
    ),
    "ROM": ("log ratio of means", (("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),), True),
    "NMD": (
        "normalised mean difference (% of the control-sham difference)",
        (("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i", "m0i"),),
        False,
    ),
    "OR": ("log odds ratio", (("ai", "bi", "ci", "di"), ("ai", "n1i", "ci", "n2i")), True),
    "RR": ("log risk ratio", (("ai", "bi", "ci", "di"), ("ai", "n1i", "ci", "n2i")), True),
    "RD": ("risk difference", (("ai", "bi", "ci", "di"), ("ai", "n1i", "ci", "n2i")), False),
    "PETO": (
        "log odds ratio (Peto)",
        (("ai", "bi", "ci", "di"), ("ai", "n1i", "ci", "n2i")),
        True,
    ),
    "COR": ("correlation coefficient", (("ri", "ni"),), False),
    "ZCOR": ("Fisher's r-to-z transformed correlation", (("ri", "ni"),), False),
    "PR": ("proportion", (("xi", "ni"), ("xi", "mi")), False),
    "PLO": ("logit-transformed proportion", (("xi", "ni"), ("xi", "mi")), False),
    "PAS": ("arcsine square root transformed proportion", (("xi", "ni"), ("xi", "mi")), False),
    "IRR": ("log incidence rate ratio", (("x1i", "t1i", "x2i", "t2i"),), True),
    "GEN": ("generic effect size (yi, vi given)", (("yi", "vi"), ("yi", "sei")), False),
}
TWO_BY_TWO = ("OR", "RR", "RD", "PETO")


def unknown_measure(measure: object) -> str:
    """What to say of a measure metasift does not know: the allowed ones, and the way out
    for any other effect (hazard ratios, adjusted estimates): give yi and vi (or sei).

    :param measure: the measure asked for, as given.
    """
    allowed = ", ".join(m for m in MEASURES if m != "GEN")
    return (
        f"unknown measure {measure!r}: use one of {allowed}, or give yi/vi (or yi/sei) "
        "columns for any other effect (e.g. log hazard ratios)"
    )


INPUT_NAMES = (
    "ai",
    "bi",
    "ci",
    "di",
    "n1i",
    "n2i",
    "x1i",
    "x2i",
    "t1i",
    "t2i",
    "m1i",
    "m2i",
    "sd1i",
    "sd2i",
    "m0i",
    "xi",
    "mi",
    "ni",
    "ri",
    "yi",
    "vi",
    "sei",
)


@dataclass
class EffectSizes:
    """Observed effect sizes ``yi`` with sampling variances ``vi`` (NaN where not computable)."""

    yi: np.ndarray
    vi: np.ndarray
    measure: str = "GEN"
    slab: list[str] | None = None
    ni: np.ndarray | None = None
    # The (uncorrected) 2x2 tables or rate data, kept for Mantel-Haenszel and Peto, and each
    # arm's means, SDs and sizes: what the forest plot shows per arm.
    tables: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.yi)

    @property
    def ratio(self) -> bool:
        """True when yi is a log ratio, so results are shown back-transformed (exp)."""
        return MEASURES.get(self.measure, ("", (), False))[2]


def _arr(value: Any, name: str, k: int | None) -> np.ndarray | None:
    if value is None:
        return None
    out = np.asarray([np.nan if v is None else v for v in np.atleast_1d(value)], dtype=float)
    if k is not None and len(out) != k:
        raise SynthesisError(f"'{name}' has {len(out)} values, the other inputs {k}.")
    return out


def _check(bad: np.ndarray, message: str, slab: list[str] | None) -> None:
    rows = np.flatnonzero(bad).tolist()
    if rows:
        raise SynthesisError(f"{message}: {describe_rows(rows, slab)}.")


def _continuity(
    cells: list[np.ndarray], zero_cells: list[np.ndarray], add: float, to: str
) -> list[np.ndarray]:
    """metafor's ``to``: add to all tables, tables with a zero, every table if any has a zero."""
    if to == "none" or add == 0:
        return cells
    if to == "all":
        return [c + add for c in cells]
    has0 = np.zeros(len(cells[0]), dtype=bool)
    for c in zero_cells:
        has0 |= c == 0
    if to == "only0":
        return [np.where(has0, c + add, c) for c in cells]
    if to == "if0all":
        return [c + add for c in cells] if has0.any() else cells
    raise SynthesisError(f"to={to!r}: use 'only0', 'all', 'if0all' or 'none'.")


def hedges_correction(mi: np.ndarray) -> np.ndarray:
    """Exact small-sample bias correction c(m) = Γ(m/2) / (√(m/2) Γ((m-1)/2))."""
    mi = np.asarray(mi, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.exp(gammaln(mi / 2) - np.log(np.sqrt(mi / 2)) - gammaln((mi - 1) / 2))
    return np.where(mi <= 1, np.nan, out)


def escalc(
    measure: str,
    *,
    add: float | None = None,
    to: str = "only0",
    drop00: bool = False,
    vtype: str = "LS",
    slab: Sequence[Any] | None = None,
    **columns: Any,
) -> EffectSizes:
    """Effect sizes ``yi`` and sampling variances ``vi`` for ``measure``.

    ``columns`` take metafor's argument names. For 2x2 tables (OR, RR, RD, PETO), IRR and
    proportions (PR, PLO), ``add`` (default 1/2; 0 for PAS) is added to the cells of tables
    with a zero cell (``to="only0"``, metafor's default; or "all", "if0all", "none");
    ``drop00=True`` gives studies with no events (or only events) in both groups a missing
    effect size.
    """
    measure = measure.upper()
    if add is None:
        # metafor adds nothing for the arcsine transformation unless asked to.
        add = 0.0 if measure == "PAS" else 0.5
    if measure not in MEASURES:
        raise SynthesisError(unknown_measure(measure) + ".")
    if vtype != "LS":
        raise SynthesisError("only vtype='LS' (metafor's default) is implemented.")
    unknown = set(columns) - set(INPUT_NAMES)
    if unknown:
        raise SynthesisError(
            f"unknown input {', '.join(sorted(unknown))}; inputs use metafor's names "
            f"({', '.join(INPUT_NAMES)})."
        )
    given = {name: value for name, value in columns.items() if value is not None}
    options = MEASURES[measure][1]
    if not any(all(name in given for name in option) for option in options):
        need = " or ".join("(" + ", ".join(o) + ")" for o in options)
        raise SynthesisError(f"measure {measure} needs the inputs {need}.")
    k = len(np.atleast_1d(next(iter(given.values()))))
    arr = {name: _arr(value, name, k) for name, value in given.items()}
    labels = [str(s) for s in slab] if slab is not None else None
    if labels is not None and len(labels) != k:
        raise SynthesisError(f"{len(labels)} study labels for {k} studies.")
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure in TWO_BY_TWO:
            yi, vi, ni, tables = _two_by_two(measure, arr, add, to, drop00, labels)
        elif measure == "IRR":
            yi, vi, ni, tables = _irr(arr, add, to, drop00, labels)
        elif measure in ("MD", "SMD", "ROM"):
            yi, vi, ni = _means(measure, arr, labels)
            tables = {n: arr[n].copy() for n in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")}
        elif measure == "NMD":
            from metasift.synthesis.nmd import nmd

            yi, vi, ni = nmd(arr, labels)
            tables = {}
        elif measure in ("COR", "ZCOR"):
            yi, vi, ni = _correlations(measure, arr, labels)
            tables = {}
        elif measure in ("PR", "PLO", "PAS"):
            yi, vi, ni = _proportions(measure, arr, add, to, labels)
            tables = {}
        else:
            yi = arr["yi"]
            vi = arr["vi"] if "vi" in arr else arr["sei"] ** 2
            ni = arr.get("ni")
            tables = {}
    yi = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    bad = ~np.isfinite(yi) | ~np.isfinite(vi)
    yi = np.where(bad, np.nan, yi)
    vi = np.where(bad, np.nan, vi)
    if measure != "GEN":
        vi = np.where(vi < 0, np.nan, vi)
    return EffectSizes(yi=yi, vi=vi, measure=measure, slab=labels, ni=ni, tables=tables)


def _two_by_two(
    measure: str,
    arr: dict[str, np.ndarray],
    add: float,
    to: str,
    drop00: bool,
    labels: list[str] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    ai, ci = arr["ai"], arr["ci"]
    if "bi" in arr and "n1i" in arr:
        _check(arr["n1i"] != ai + arr["bi"], "n1i is not ai + bi", labels)
    if "di" in arr and "n2i" in arr:
        _check(arr["n2i"] != ci + arr["di"], "n2i is not ci + di", labels)
    bi = arr["bi"] if "bi" in arr else arr["n1i"] - ai
    di = arr["di"] if "di" in arr else arr["n2i"] - ci
    _check(
        (ai < 0) | (bi < 0) | (ci < 0) | (di < 0),
        "negative counts (or more events than the group size)",
        labels,
    )
    tables = {"ai": ai.copy(), "bi": bi.copy(), "ci": ci.copy(), "di": di.copy()}
    ni = ai + bi + ci + di
    if drop00:
        both = ((ai == 0) & (ci == 0)) | ((bi == 0) & (di == 0))
        ai, bi, ci, di = (np.where(both, np.nan, x) for x in (ai, bi, ci, di))
    ai, bi, ci, di = _continuity([ai, bi, ci, di], [ai, bi, ci, di], add, to)
    n1i, n2i = ai + bi, ci + di
    p1i, p2i = ai / n1i, ci / n2i
    if measure == "RR":
        yi = np.log(p1i) - np.log(p2i)
        vi = 1 / ai - 1 / n1i + 1 / ci - 1 / n2i
    elif measure == "OR":
        yi = np.log(p1i / (1 - p1i)) - np.log(p2i / (1 - p2i))
        vi = 1 / ai + 1 / bi + 1 / ci + 1 / di
    elif measure == "RD":
        yi = p1i - p2i
        vi = p1i * (1 - p1i) / n1i + p2i * (1 - p2i) / n2i
    else:  # PETO
        n = n1i + n2i
        xt, yt = ai + ci, bi + di
        ei = xt * n1i / n
        var = xt * yt * (n1i / n) * (n2i / n) / (n - 1)
        yi = (ai - ei) / var
        vi = 1 / var
    return yi, vi, ni, tables


def _irr(
    arr: dict[str, np.ndarray], add: float, to: str, drop00: bool, labels: list[str] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    x1i, x2i, t1i, t2i = arr["x1i"], arr["x2i"], arr["t1i"], arr["t2i"]
    _check((x1i < 0) | (x2i < 0), "negative event counts", labels)
    _check((t1i <= 0) | (t2i <= 0), "person-times must be > 0", labels)
    tables = {"x1i": x1i.copy(), "x2i": x2i.copy(), "t1i": t1i.copy(), "t2i": t2i.copy()}
    if drop00:
        both = (x1i == 0) & (x2i == 0)
        x1i, x2i = np.where(both, np.nan, x1i), np.where(both, np.nan, x2i)
    x1i, x2i = _continuity([x1i, x2i], [x1i, x2i], add, to)
    yi = np.log(x1i / t1i) - np.log(x2i / t2i)
    vi = 1 / x1i + 1 / x2i
    return yi, vi, t1i + t2i, tables


def _means(
    measure: str, arr: dict[str, np.ndarray], labels: list[str] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m1i, m2i, sd1i, sd2i, n1i, n2i = (arr[n] for n in ("m1i", "m2i", "sd1i", "sd2i", "n1i", "n2i"))
    _check((sd1i < 0) | (sd2i < 0), "negative standard deviations", labels)
    _check((n1i <= 0) | (n2i <= 0), "group sizes must be > 0", labels)
    ni = n1i + n2i
    if measure == "MD":
        return m1i - m2i, sd1i**2 / n1i + sd2i**2 / n2i, ni
    if measure == "ROM":
        yi = np.log(m1i / m2i)
        vi = sd1i**2 / (n1i * m1i**2) + sd2i**2 / (n2i * m2i**2)
        return yi, vi, ni
    mi = ni - 2
    sdpi = np.sqrt(((n1i - 1) * sd1i**2 + (n2i - 1) * sd2i**2) / mi)
    yi = hedges_correction(mi) * (m1i - m2i) / sdpi
    vi = 1 / n1i + 1 / n2i + yi**2 / (2 * ni)
    return yi, vi, ni


def _correlations(
    measure: str, arr: dict[str, np.ndarray], labels: list[str] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ri, ni = arr["ri"], arr["ni"]
    _check(np.abs(ri) > 1, "correlations must lie in [-1, 1]", labels)
    _check(ni <= 0, "sample sizes must be > 0", labels)
    if measure == "COR":
        yi, vi = ri.copy(), (1 - ri**2) ** 2 / (ni - 1)
    else:
        yi, vi = np.arctanh(ri), 1 / (ni - 3)
    return yi, np.where(ni <= 3, np.nan, vi), ni


def _proportions(
    measure: str, arr: dict[str, np.ndarray], add: float, to: str, labels: list[str] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xi = arr["xi"]
    if "mi" in arr and "ni" in arr:
        _check(arr["ni"] != xi + arr["mi"], "ni is not xi + mi", labels)
    mi = arr["mi"] if "mi" in arr else arr["ni"] - xi
    _check((xi < 0) | (mi < 0), "negative counts (or xi > ni)", labels)
    _check(xi + mi <= 0, "group sizes must be > 0", labels)
    ni_u = xi + mi
    xi, mi = _continuity([xi, mi], [xi, mi], add, to)
    ni = xi + mi
    pri = xi / ni
    if measure == "PR":
        return pri, pri * (1 - pri) / ni, ni_u
    if measure == "PLO":
        return np.log(pri / (1 - pri)), 1 / xi + 1 / mi, ni_u
    return np.arcsin(np.sqrt(pri)), 1 / (4 * ni), ni_u


# ---- standard deviations (and means) from what papers report -------------------------------


def sd_from_se(se: float, n: float) -> float:
    """SD of a group mean from its standard error: SE·√n."""
    return float(se) * math.sqrt(n)


def sd_from_ci(lower: float, upper: float, n: float, level: float = 0.95, t: bool = True) -> float:
    """SD from a confidence interval of a group mean (Cochrane Handbook 6.5.2.2).

    Uses the t quantile with n−1 df (``t=True``, right for small groups) or the normal one.
    """
    from scipy import stats

    q = stats.t.ppf(0.5 + level / 2, n - 1) if t else stats.norm.ppf(0.5 + level / 2)
    return math.sqrt(n) * (upper - lower) / (2 * q)


def _xi(n: float) -> float:
    from scipy import stats

    return 2 * stats.norm.ppf((n - 0.375) / (n + 0.25))


def _eta(n: float) -> float:
    from scipy import stats

    return 2 * stats.norm.ppf((0.75 * n - 0.125) / (n + 0.25))


def sd_from_median(
    n: float,
    *,
    minimum: float | None = None,
    q1: float | None = None,
    q3: float | None = None,
    maximum: float | None = None,
) -> float:
    """SD from the range, the IQR, or both (Wan et al. 2014, BMC Med Res Methodol 14:135).

    Scenario S1 (min, max): (b−a)/ξ(n); S2 (q1, q3): (q3−q1)/η(n); S3 (all five numbers):
    (b−a)/(2ξ(n)) + (q3−q1)/(2η(n)), with ξ(n) = 2Φ⁻¹((n−0.375)/(n+0.25)) and
    η(n) = 2Φ⁻¹((0.75n−0.125)/(n+0.25)).
    """
    has_range = minimum is not None and maximum is not None
    has_iqr = q1 is not None and q3 is not None
    if has_range and has_iqr:
        return (maximum - minimum) / (2 * _xi(n)) + (q3 - q1) / (2 * _eta(n))
    if has_range:
        return (maximum - minimum) / _xi(n)
    if has_iqr:
        return (q3 - q1) / _eta(n)
    raise SynthesisError("sd_from_median needs minimum and maximum, q1 and q3, or all four.")


def mean_from_median(
    median: float,
    n: float,
    *,
    minimum: float | None = None,
    q1: float | None = None,
    q3: float | None = None,
    maximum: float | None = None,
) -> float:
    """Mean from the median with the range, the IQR or both (Luo et al. 2018, SMMR 27:1785)."""
    has_range = minimum is not None and maximum is not None
    has_iqr = q1 is not None and q3 is not None
    if has_range and has_iqr:
        w1 = 2.2 / (2.2 + n**0.75)
        w2 = 0.7 - 0.72 / n**0.55
        return w1 * (minimum + maximum) / 2 + w2 * (q1 + q3) / 2 + (1 - w1 - w2) * median
    if has_range:
        w = 4 / (4 + n**0.75)
        return w * (minimum + maximum) / 2 + (1 - w) * median
    if has_iqr:
        w = 0.7 + 0.39 / n
        return w * (q1 + q3) / 2 + (1 - w) * median
    raise SynthesisError("mean_from_median needs minimum and maximum, q1 and q3, or all four.")
