"""Rate functions for the point-process stopping rules: how often relevant records turn up at
each rank of the screening order, fitted to the records screened so far.

The rules of :mod:`metasift.screening.stopping` that use them (Sneyd & Stevenson 2021;
Stevenson & Bin-Hezam 2023) model the positions of relevant records in the ranking as an
inhomogeneous Poisson process whose rate falls with the rank. The screened records are cut into
windows; each window gives one point, its middle rank and its share of relevant records; a rate
function is fitted to those points by least squares (scipy's ``curve_fit``, the authors' choice
too); its integral over a span of ranks is the expected number of relevant records there.

Written here because no maintained package implements these rules; the rate functions and the
starting values of the fit are the papers' (and their published code's).

* ``exponential``: ``a * exp(-k x)``;
* ``power``: ``a * x ** k`` (a power law; ``k < 0`` when the rate falls);
* ``hyperbolic``: ``a / (1 + b k x) ** (1 / b)`` with ``0 < b <= 1`` (Stevenson & Bin-Hezam
  2023; ``b -> 0`` is the exponential, ``b = 1`` the harmonic ``a / (1 + k x)``).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

RATES = ("exponential", "power", "hyperbolic")


def _exponential(x: np.ndarray, a: float, k: float) -> np.ndarray:
    return a * np.exp(-k * x)


def _power(x: np.ndarray, a: float, k: float) -> np.ndarray:
    return a * np.power(x, k)


def _hyperbolic(x: np.ndarray, a: float, b: float, k: float) -> np.ndarray:
    return a / np.power(1.0 + b * k * x, 1.0 / b)


_FUNCTIONS = {"exponential": _exponential, "power": _power, "hyperbolic": _hyperbolic}


def rate(name: str, x: np.ndarray | float, params: tuple[float, ...]) -> np.ndarray:
    """The fitted rate (relevant records per record screened) at ranks ``x`` (1 = first).

    Args:
        name: one of :data:`RATES`.
        x: ranks, counted from 1.
        params: the parameters :func:`fit_rate` returned.
    """
    with np.errstate(all="ignore"):
        return _FUNCTIONS[name](np.asarray(x, dtype=float), *params)


def window_points(
    labels: np.ndarray, n_windows: int = 10, name: str = "exponential"
) -> tuple[np.ndarray, np.ndarray]:
    """The points a rate is fitted to: the screened records cut into ``n_windows`` consecutive
    windows of (nearly) equal size; ``y`` is a window's share of relevant records, ``x`` its
    middle rank (counted from 1), where a smooth rate takes its average over the window. For
    the power law ``x`` is the window's first rank, as in both papers' code: the power law
    is integrated from rank 1, where it would run far above the first window's rate if that
    rate were placed at the window's middle.

    Args:
        labels: the labels screened so far, in screening order (1 relevant, 0 not).
        n_windows: how many windows.
        name: the rate function the points are for, one of :data:`RATES`.
    """
    labels = np.asarray(labels, dtype=float)
    windows = np.array_split(np.arange(len(labels)), n_windows)
    if name == "power":
        x = np.array([w[0] + 1.0 for w in windows])
    else:
        x = np.array([(w[0] + w[-1]) / 2 + 1 for w in windows])
    y = np.array([labels[w].mean() for w in windows])
    return x, y


def fit_rate(name: str, x: np.ndarray, y: np.ndarray) -> tuple[float, ...] | None:
    """Least-squares fit of rate ``name`` to the points, None when the fit fails or gives a
    rate that is not a finite number over the points.

    The starting values are the papers': ``a = 0.1, k = 0.001`` for the exponential and the
    power law; ``a`` the highest point, ``b = 0.5``, ``k = 0.001`` for the hyperbolic, with
    ``b`` kept in ``[0, 1]``.

    Args:
        name: one of :data:`RATES`.
        x: the points' ranks.
        y: the rates observed there.
    """
    if name == "hyperbolic":
        p0 = [float(np.max(y)), 0.5, 0.001]
        bounds = ([-np.inf, 0.0, -np.inf], [np.inf, 1.0, np.inf])
    else:
        p0, bounds = [0.1, 0.001], (-np.inf, np.inf)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", OptimizeWarning)
        try:
            params, _ = curve_fit(_FUNCTIONS[name], x, y, p0=p0, bounds=bounds, maxfev=5000)
        except (RuntimeError, ValueError):
            return None
    params = tuple(float(p) for p in params)
    if not np.all(np.isfinite(rate(name, x, params))):
        return None
    return params


def expected_count(name: str, params: tuple[float, ...], lo: float, hi: float) -> float:
    """The integral of the fitted rate from rank ``lo`` to rank ``hi``: the expected number of
    relevant records there if they keep arriving at that rate; NaN where it does not exist.

    Args:
        name: one of :data:`RATES`.
        params: the parameters :func:`fit_rate` returned.
        lo: first rank of the span.
        hi: last rank of the span.
    """
    with np.errstate(all="ignore"):
        if name == "exponential":
            a, k = params
            if k == 0:
                return a * (hi - lo)
            return float(a / k * (math.exp(-k * lo) - math.exp(-k * hi)))
        if name == "power":
            a, k = params
            if math.isclose(k, -1.0):
                return a * math.log(hi / lo)
            return float(a / (k + 1) * (hi ** (k + 1) - lo ** (k + 1)))
        a, b, k = params
        if b < 1e-9:  # the exponential limit
            return expected_count("exponential", (a, k), lo, hi)
        u_lo, u_hi = 1 + b * k * lo, 1 + b * k * hi
        if u_lo <= 0 or u_hi <= 0:
            return math.nan
        if math.isclose(b, 1.0):
            return float(a / k * math.log(u_hi / u_lo)) if k else a * (hi - lo)
        if k == 0:
            return a * (hi - lo)
        e = 1 - 1 / b
        return float(a / (k * (b - 1)) * (u_hi**e - u_lo**e))


def misfit(name: str, params: tuple[float, ...], x: np.ndarray, y: np.ndarray) -> float:
    """Stevenson & Bin-Hezam's check of a fit: the sum of squared residuals divided by the
    range of the points (infinite when every point is the same).

    Args:
        name: one of :data:`RATES`.
        params: the fitted parameters.
        x: the points' ranks.
        y: the rates observed there.
    """
    spread = float(np.max(y) - np.min(y))
    if spread <= 0:
        return math.inf
    return float(np.sum((y - rate(name, x, params)) ** 2) / spread)
