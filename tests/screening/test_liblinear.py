"""liblinear called directly gives bit for bit the coefficients of scikit-learn's own fit."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from metasift.screening import liblinear
from metasift.screening.classifiers import balance_weights
from metasift.screening.liblinear import fit_linear

# Some settings stop at max_iter on random data: the estimator warns as the direct route does.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ESTIMATORS = [
    LinearSVC(C=0.11, tol=1e-3, max_iter=5000, random_state=0),
    LinearSVC(C=1.0, loss="hinge", random_state=3),
    LinearSVC(C=0.5, dual=False, random_state=1),
    LinearSVC(C=0.5, fit_intercept=False, random_state=1),
    LogisticRegression(solver="liblinear", dual=True, tol=1e-3, max_iter=1000, random_state=0),
    LogisticRegression(solver="liblinear", random_state=7),
    LogisticRegression(solver="liblinear", dual=True, intercept_scaling=2.5, random_state=2),
]


def _data(rows: int, features: int, seed: int, dtype: type) -> tuple[sp.csr_matrix, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = sp.random(rows, features, density=0.05, format="csr", dtype=dtype, random_state=seed)
    X.sort_indices()
    y = (rng.random(rows) < 0.2).astype(np.int64)
    y[:2] = [0, 1]
    return X, y


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=repr)
@pytest.mark.parametrize("shape", [(60, 500), (400, 50)], ids=["wide", "tall"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weighted", [False, True])
def test_direct_fit_equals_the_estimators_fit(estimator, shape, dtype, weighted):
    X, y = _data(*shape, seed=shape[0], dtype=dtype)
    weights = balance_weights(y, 9.8) if weighted else None
    expected = clone(estimator).fit(X, y, sample_weight=weights)
    got = fit_linear(clone(estimator), X, y, weights)
    assert np.array_equal(got.coef_, expected.coef_)
    assert np.array_equal(np.ravel(got.intercept_), np.ravel(expected.intercept_))
    assert list(got.classes_) == list(expected.classes_)
    assert np.array_equal(got.decision_function(X), expected.decision_function(X))


def test_the_direct_route_is_taken_for_the_default_models_settings(monkeypatch):
    X, y = _data(60, 500, seed=1, dtype=np.float32)
    calls = []
    real = liblinear.train_wrap
    monkeypatch.setattr(liblinear, "train_wrap", lambda *a: calls.append(a[3]) or real(*a))
    fit_linear(clone(ESTIMATORS[0]), X, y)
    fit_linear(clone(ESTIMATORS[4]), X, y)
    assert calls == [1, 7]  # liblinear's dual L2-loss SVM and dual logistic regression


@pytest.mark.parametrize(
    ("estimator", "X", "y"),
    [
        # settings, data or labels the direct route does not cover: the estimator's own fit
        (
            LinearSVC(class_weight="balanced", random_state=0),
            _data(50, 80, 2, np.float64)[0],
            None,
        ),
        (LinearSVC(random_state=None), _data(50, 80, 2, np.float64)[0], None),
        (LogisticRegression(random_state=0), _data(50, 80, 2, np.float64)[0], None),
        (LinearSVC(random_state=0), _data(50, 80, 2, np.float64)[0].toarray(), None),
        (LinearSVC(random_state=0), _data(50, 80, 2, np.float64)[0], np.arange(50) % 3),
    ],
)
def test_uncovered_cases_fall_back_to_fit(monkeypatch, estimator, X, y):
    y = _data(50, 80, 2, np.float64)[1] if y is None else y
    expected = clone(estimator).fit(X, y)
    calls = []
    real = liblinear.train_wrap
    monkeypatch.setattr(liblinear, "train_wrap", lambda *a: calls.append(1) or real(*a))
    got = fit_linear(clone(estimator), X, y)
    if estimator.random_state is not None:
        assert np.array_equal(got.coef_, expected.coef_)
    assert calls == []


def test_a_routine_with_other_arguments_falls_back_to_fit(monkeypatch):
    X, y = _data(60, 500, seed=4, dtype=np.float32)
    expected = clone(ESTIMATORS[0]).fit(X, y)

    def other_signature(*args):
        raise TypeError("train_wrap() takes exactly 13 positional arguments (12 given)")

    monkeypatch.setattr(liblinear, "train_wrap", other_signature)
    got = fit_linear(clone(ESTIMATORS[0]), X, y)
    assert np.array_equal(got.coef_, expected.coef_)


def test_fits_in_threads_are_each_their_seeds():
    # liblinear's generator is one per process: fits running at once would share it.
    X, y = _data(400, 2000, seed=5, dtype=np.float32)
    estimators = [clone(ESTIMATORS[4]).set_params(random_state=s, tol=1e-6) for s in range(4)]
    expected = [fit_linear(clone(e), X, y).coef_ for e in estimators]
    for _ in range(5):
        with ThreadPoolExecutor(max_workers=4) as pool:
            got = list(pool.map(lambda e: fit_linear(clone(e), X, y).coef_, estimators))
        assert all(np.array_equal(a, b) for a, b in zip(got, expected, strict=True))
