"""Fitting LinearSVC and liblinear LogisticRegression by calling liblinear as they do.

The active learner retrains after almost every label on a few hundred labelled rows, where
scikit-learn's ``fit`` spends some 40% of the time validating, converting and re-encoding
input that is valid by construction (on 300 rows of 121k features: 5.9 ms a fit, 3.6 ms of it
in liblinear). :func:`fit_linear` hands the rows to the same liblinear routine, prepared as
scikit-learn prepares them (labels 0/1 as float64, unit class weights, float64 sample
weights, the seed drawn from ``random_state`` the same way, the intercept as an extra
feature), so the coefficients are bit for bit those of the estimator's own ``fit``
(``tests/screening/test_liblinear.py`` compares them on every supported setting). It is
written by hand because scikit-learn has no public entry point below ``fit``; the routine it
calls (``sklearn.svm._liblinear.train_wrap``) is private, so anything unusual (other
settings, dense or non-binary data, a scikit-learn whose routine is not there) goes through
the estimator's own ``fit``.

Fits take turns (:data:`_ONE_AT_A_TIME`): liblinear's solvers draw the order in which they
visit the rows from one random generator per process (scikit-learn's ``newrand``), seeded at
the start of each fit and used without the interpreter lock, so two fits at once in threads
draw from it in turn and neither gets its seeded order; their coefficients then change from
run to run (``tests/screening/test_liblinear.py`` shows it).
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC
from sklearn.utils import check_random_state

try:
    from sklearn.svm._liblinear import set_verbosity_wrap, train_wrap
except ImportError:  # pragma: no cover - a scikit-learn that moved them: use fit()
    set_verbosity_wrap = train_wrap = None

# liblinear's solver numbers (its linear.h), by (loss, dual), all with an L2 penalty.
_SOLVERS = {
    ("logistic_regression", False): 0,
    ("logistic_regression", True): 7,
    ("squared_hinge", True): 1,
    ("squared_hinge", False): 2,
    ("hinge", True): 3,
}
_UNIT_CLASS_WEIGHTS = np.ones(2)
_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_ONE_AT_A_TIME = threading.Lock()


def _solver(estimator: Any, n_rows: int, n_features: int) -> int | None:
    """liblinear's solver for ``estimator``'s settings, or None when they are not covered.

    Reads the parameters as attributes: ``get_params`` inspects the signature at each call.
    """
    if type(estimator) not in (LinearSVC, LogisticRegression):
        return None
    if estimator.class_weight is not None or not isinstance(
        estimator.random_state, (int, np.integer)
    ):
        return None
    if type(estimator) is LinearSVC:
        if estimator.penalty != "l2" or estimator.multi_class != "ovr":
            return None
        loss, dual = estimator.loss, estimator.dual
        if dual == "auto":
            # scikit-learn's rule: the dual problem when there are fewer rows than features
            # (or when the loss has no primal solver).
            dual = n_rows < n_features or (loss, False) not in _SOLVERS
    else:
        if estimator.solver != "liblinear" or estimator.penalty not in ("l2", "deprecated"):
            return None
        if getattr(estimator, "l1_ratio", None) not in (None, 0, 0.0):
            return None
        loss, dual = "logistic_regression", estimator.dual
    return _SOLVERS.get((loss, bool(dual)))


def _covered(X: Any, y: np.ndarray) -> bool:
    """CSR rows liblinear reads as they are, and labels of both classes, 0 and 1 only."""
    return (
        sp.issparse(X)
        and X.format == "csr"
        and X.dtype in _DTYPES
        and X.indices.dtype == np.int32
        and X.indptr.dtype == np.int32
        and bool((y == 0).any())
        and bool((y == 1).any())
        and not bool(((y != 0) & (y != 1)).any())
    )


def fit_linear(
    estimator: Any, X: Any, y: np.ndarray, sample_weight: np.ndarray | None = None
) -> Any:
    """``estimator.fit(X, y, sample_weight)``, through liblinear directly where covered.

    ``y`` holds 0/1 labels; ``X`` is the labelled rows (CSR, float32 or float64, as the
    learner keeps them: liblinear widens float32 values to double itself, exactly as the
    estimator's float64 copy would). One fit at a time in the process, so that each is its
    seed's (see the module's docstring).

    Args:
        estimator: an unfitted ``LinearSVC``, ``LogisticRegression`` or other classifier.
        X: the labelled rows.
        y: their labels.
        sample_weight: a weight per row, or ``None``.

    Returns:
        ``estimator``, fitted.
    """
    with _ONE_AT_A_TIME:
        return _fit(estimator, X, y, sample_weight)


def _fit(estimator: Any, X: Any, y: np.ndarray, sample_weight: np.ndarray | None) -> Any:
    y = np.asarray(y)
    solver = None
    if train_wrap is not None and _covered(X, y):
        solver = _solver(estimator, X.shape[0], X.shape[1])
    if solver is None:
        return estimator.fit(X, y, sample_weight=sample_weight)
    fit_intercept = estimator.fit_intercept
    scaling = float(estimator.intercept_scaling)
    weights = (
        np.ones(X.shape[0])
        if sample_weight is None
        else np.ascontiguousarray(sample_weight, dtype=np.float64)
    )
    set_verbosity_wrap(estimator.verbose)  # a global of the library, set at every fit
    try:
        raw_coef, n_iter = train_wrap(
            X,
            np.ascontiguousarray(y, dtype=np.float64),
            True,
            solver,
            estimator.tol,
            scaling if fit_intercept else -1.0,
            estimator.C,
            _UNIT_CLASS_WEIGHTS,
            estimator.max_iter,
            check_random_state(estimator.random_state).randint(np.iinfo("i").max),
            0.1,  # epsilon: only the regression losses read it
            weights,
        )
    except (TypeError, ValueError):
        # Another scikit-learn's routine, with other arguments or dtypes (older ones take
        # float64 rows only): the estimator's own fit knows how to call it.
        return estimator.fit(X, y, sample_weight=sample_weight)
    if max(n_iter) >= estimator.max_iter:
        warnings.warn(
            "Liblinear failed to converge, increase the number of iterations.",
            ConvergenceWarning,
            stacklevel=3,  # the caller of fit_linear
        )
    if fit_intercept:
        estimator.coef_ = raw_coef[:, :-1]
        estimator.intercept_ = scaling * raw_coef[:, -1]
    else:
        estimator.coef_ = raw_coef
        estimator.intercept_ = np.zeros(1)
    estimator.classes_ = np.array([0, 1])
    estimator.n_features_in_ = X.shape[1]
    return estimator
