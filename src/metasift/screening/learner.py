"""The active learner: keeps a ranked queue of unlabelled records and retrains as labels come.

The order in which records are proposed is a pure function of the features, the labels given
(in order), the model and the seed: retraining happens at label counts fixed by the schedule
and a new ranking is put in use at a fixed count too (``lag`` decisions later), whether it was
computed synchronously, in the background thread or in a :class:`RetrainProcess`. Only the
waiting time depends on timing.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
from collections import deque
from collections.abc import Container
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import sklearn

from metasift.screening.classifiers import (
    balance_weights,
    make_classifier,
    nearest_relevant_scores,
    relevance_scores,
)
from metasift.screening.liblinear import fit_linear
from metasift.screening.models import ScreeningModel
from metasift.screening.query import make_query, top_k


def _prepare(X: Any) -> Any:
    """CSR with sorted indices, so that row subsets need no re-sorting at every retrain.

    The dtype is kept (float32 halves memory at a million records); classifiers convert only
    the labelled rows they train on.
    """
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        X.sort_indices()
        return X
    return np.ascontiguousarray(X)


def _prepare_all(X: Any) -> Any:
    if isinstance(X, list):
        # Members on the same features share one matrix: keep it one object (memory, and
        # the ensemble then scores with a single product).
        prepared = {id(m): _prepare(m) for m in X}
        return [prepared[id(m)] for m in X]
    return _prepare(X)


@dataclass(frozen=True)
class Ranking:
    """One model state: what the queue was ranked with."""

    index: int
    kind: str  # "cold" (protocol similarity / seeds / random), "similarity" or "classifier"
    n_labelled: int
    n_included: int
    scores: np.ndarray


@dataclass(frozen=True)
class Proposal:
    index: int
    rank: int  # 1-based position in the ranking's queue of unlabelled records
    ranking: Ranking


PARALLEL_FROM = 5_000


def _each_member(function: Any, items: list[Any], n_records: int) -> list[Any]:
    """``[function(item) for item in items]``, on one thread per item from
    :data:`PARALLEL_FROM` records (sparse products release the interpreter lock; on fewer
    records starting threads costs more than it gains). Results come back in item order, and
    liblinear fits take turns (:mod:`.liblinear`), so the outcome does not depend on timing."""
    if len(items) > 1 and n_records >= PARALLEL_FROM:
        with ThreadPoolExecutor(max_workers=len(items)) as pool:
            return list(pool.map(function, items))
    return [function(item) for item in items]


def next_retrain(n_labelled: int, growth: float) -> int:
    """The label count at which the model is next retrained, after training on ``n_labelled``."""
    return n_labelled + max(1, int(n_labelled * growth))


def fit_scores(
    X: Any,
    labelled: np.ndarray,
    y: np.ndarray,
    model: ScreeningModel,
    seed: int,
    cold_scores: np.ndarray | None,
) -> tuple[str, np.ndarray] | None:
    """Relevance scores of every record from the labels so far (pure; no state).

    Both classes labelled: the model's classifier. Only relevant records: similarity to their
    centroid (plus the cold-start scores, to break ties). Only irrelevant ones: ``None``, keep
    the cold-start order.
    """
    if isinstance(X, list):
        if model.fusion == "mean" and (y == 1).any() and (y == 0).any():
            combined = _grouped_ensemble(X, labelled, y, model, seed)
            if combined is not None:
                return "classifier", combined
        jobs = [
            (Xm, labelled, y, m, seed, cold_scores) for Xm, m in zip(X, model.members, strict=True)
        ]
        results = _each_member(lambda job: fit_scores(*job), jobs, X[0].shape[0])
        if results[0] is None:
            return None
        if model.fusion == "rrf":
            return results[0][0], reciprocal_rank_fusion([s for _, s in results], labelled)
        total = np.zeros(len(results[0][1]))
        for _, scores in results:
            total += (scores - scores.mean()) / (scores.std() or 1.0)
        return results[0][0], total / len(results)
    if model.classifier == NEAREST:
        if not (y == 1).any():
            return None
        kind = "classifier" if (y == 0).any() else "similarity"
        return kind, nearest_relevant_scores(X, labelled[y == 1], **model.classifier_params)
    if (y == 1).any() and (y == 0).any():
        return _fit_classifier(X, labelled, y, model, seed)
    if (y == 1).any():
        positives = X[labelled[y == 1]]
        centroid = np.asarray(positives.mean(axis=0)).ravel()
        scores = np.asarray(X @ centroid).ravel().astype(np.float64)
        if cold_scores is not None:
            scale = np.abs(scores).max() or 1.0
            scores = scores + 1e-3 * scale * cold_scores / (np.abs(cold_scores).max() or 1.0)
        return "similarity", scores
    return None


RRF_K = 60  # the constant of Cormack, Clarke & Buettcher (2009), not tuned here


def reciprocal_rank_fusion(scores: list[np.ndarray], labelled: np.ndarray) -> np.ndarray:
    """Reciprocal rank fusion of the members' ``scores``: each ranks the records not in
    ``labelled`` (ties by position) and a record's fused score is the mean over members of
    ``1 / (RRF_K + rank)``, rank 1 the best; labelled records score 0.

    Args:
        scores: one score per record from each member, higher = more relevant.
        labelled: the positions of the labelled records, which no member ranks.
    """
    n = len(scores[0])
    free = np.ones(n, dtype=bool)
    free[labelled] = False
    candidates = np.flatnonzero(free)
    reciprocal = 1.0 / (RRF_K + np.arange(1, len(candidates) + 1))
    total = np.zeros(n)
    for s in scores:
        total[candidates[np.argsort(-s[candidates], kind="stable")]] += reciprocal
    return total / len(scores)


def _train(X: Any, labelled: np.ndarray, y: np.ndarray, model: ScreeningModel, seed: int) -> Any:
    classifier = make_classifier(model.classifier, seed, **model.classifier_params)
    if model.pseudo_negatives:
        rng = np.random.default_rng([seed, len(labelled)])
        free = np.ones(X.shape[0], dtype=bool)
        free[labelled] = False
        pool = np.flatnonzero(free)
        if model.pseudo_negatives_from == "lower-half" and len(pool):
            # A random draw from all unscreened records takes relevant ones as irrelevant in
            # proportion to their share (a quarter of the draw where a quarter is relevant):
            # drawn from the half that the labels alone rank lower, far fewer are.
            plain = dataclasses.replace(model, pseudo_negatives=0)
            # Scored on every row, then indexed: slicing the pool's rows would copy them.
            s = relevance_scores(_train(X, labelled, y, plain, seed), X)[pool]
            pool = pool[s <= np.median(s)]
        size = min(model.pseudo_negatives, len(pool))
        extra = np.sort(rng.choice(pool, size=size, replace=False))
        labelled = np.concatenate([labelled, extra])
        y = np.concatenate([y, np.zeros(len(extra), dtype=y.dtype)])
    # Linear models go to liblinear directly (see .liblinear); for the others, parameter
    # validation, which inspects signatures at every fit, is skipped: the settings were
    # validated when the model was defined.
    with sklearn.config_context(skip_parameter_validation=True, assume_finite=True):
        return fit_linear(classifier, X[labelled], y, balance_weights(y, model.balance))


def _fit_classifier(
    X: Any, labelled: np.ndarray, y: np.ndarray, model: ScreeningModel, seed: int
) -> tuple[str, np.ndarray]:
    return "classifier", relevance_scores(_train(X, labelled, y, model, seed), X)


STATS_ROWS = 20_000
LINEAR = ("logistic", "svm")
# A member that is not trained: it scores records by their similarity to the relevant ones
# (classifiers.nearest_relevant_scores; ``classifier_params={"k": ...}``).
NEAREST = "nearest"


def _ensemble_fit(
    X: Any, labelled: np.ndarray, y: np.ndarray, model: ScreeningModel, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None] | None:
    """The linear members fitted on the labels, and their scores' means and deviations:
    ``(coefs, intercepts, means, sds, sample_scores, rows)``, ``rows`` the sampled rows
    (``None``: every row). ``None`` when a member is not linear.

    Above :data:`STATS_ROWS` records the means and deviations come from evenly spaced rows.
    """
    members = model.members
    if not all(m.classifier in LINEAR for m in members):
        return None
    fitted = _each_member(lambda m: _train(X, labelled, y, m, seed), list(members), X.shape[0])
    n = X.shape[0]
    rows = np.linspace(0, n - 1, STATS_ROWS).astype(np.int64) if n > STATS_ROWS else None
    sample = X if rows is None else X[rows]
    coefs = np.column_stack([np.asarray(c.coef_, dtype=np.float64).ravel() for c in fitted])
    intercepts = np.array([float(c.intercept_[0]) for c in fitted])
    # All members' scores on the sample in one sparse product (one pass over the matrix).
    s = np.asarray(sample @ coefs.astype(X.dtype), dtype=np.float64) + intercepts
    means = s.mean(axis=0)
    sds = s.std(axis=0)
    sds[sds == 0] = 1.0
    return coefs, intercepts, means, sds, s, rows


def linear_ensemble_weights(
    X: Any, labelled: np.ndarray, y: np.ndarray, model: ScreeningModel, seed: int
) -> tuple[np.ndarray, float] | None:
    """The ensemble's standardised mean score as one linear function, ``X @ w + offset``,
    fitted on the labelled rows of ``X`` (see :func:`_linear_ensemble`).

    Args:
        X: the features of every record (the standardisation is over them).
        labelled: the positions of the labelled records in ``X``.
        y: their labels (0/1).
        model: an ensemble whose members are linear.
        seed: the seed of the classifiers and the pseudo-negatives.

    Returns:
        ``(w, offset)``, or ``None`` when a member is not linear.
    """
    fit = _ensemble_fit(X, labelled, y, model, seed)
    if fit is None:
        return None
    coefs, intercepts, means, sds, _, _ = fit
    return _collapse(coefs, intercepts, means, sds)


def _collapse(
    coefs: np.ndarray, intercepts: np.ndarray, means: np.ndarray, sds: np.ndarray
) -> tuple[np.ndarray, float]:
    """The mean of the members' standardised scores as one weight vector and an offset."""
    k = coefs.shape[1]
    weights = (coefs / sds).sum(axis=1) / k
    return weights, float(((intercepts - means) / sds).sum()) / k


def _linear_ensemble(
    X: Any, labelled: np.ndarray, y: np.ndarray, model: ScreeningModel, seed: int
) -> np.ndarray | None:
    """The ensemble's standardised mean score as one linear model over a shared matrix.

    Each member's score is standardised with its mean and standard deviation; for linear
    members the mean of standardised scores is itself linear, ``X @ sum(w_i / sd_i) + c``, so
    the whole collection is scored with one sparse product instead of one per member. Above
    :data:`STATS_ROWS` records the means and deviations come from evenly spaced rows.
    ``None`` when a member is not linear.
    """
    fit = _ensemble_fit(X, labelled, y, model, seed)
    if fit is None:
        return None
    coefs, intercepts, means, sds, s, rows = fit
    k = coefs.shape[1]
    if rows is None:
        # The sample is the whole collection: its scores are at hand.
        return ((s - means) / sds).sum(axis=1) / k
    weights, offset = _collapse(coefs, intercepts, means, sds)
    return np.asarray(X @ weights.astype(X.dtype), dtype=np.float64).ravel() + offset


def _grouped_ensemble(
    X: list[Any], labelled: np.ndarray, y: np.ndarray, model: ScreeningModel, seed: int
) -> np.ndarray | None:
    """The ensemble's mean standardised score, each group of members that share a matrix
    scored as one linear model (:func:`_linear_ensemble`): members on word and on stem
    features cost two sparse products, not four. A nearest-relevant member is scored on its
    own. ``None`` when another member is not linear."""
    groups: dict[int, list[int]] = {}
    total = np.zeros(X[0].shape[0])
    for i, Xm in enumerate(X):
        member = model.members[i]
        if member.classifier == NEAREST:
            _, s = fit_scores(Xm, labelled, y, member, seed, None)
            total += (s - s.mean()) / (s.std() or 1.0)
        else:
            groups.setdefault(id(Xm), []).append(i)
    for members in groups.values():
        group = dataclasses.replace(model, members=tuple(model.members[i] for i in members))
        mean = _linear_ensemble(X[members[0]], labelled, y, group, seed)
        if mean is None:
            return None
        total += mean * len(members)
    return total / len(X)


# The features, in a retraining process only: sent once by its initializer, so that each
# retrain sends the labels alone.
_PROCESS_FEATURES: Any = None


def _load_features(X: Any) -> None:
    global _PROCESS_FEATURES
    _PROCESS_FEATURES = _prepare_all(X)


def _fit_loaded(
    labelled: np.ndarray,
    y: np.ndarray,
    model: ScreeningModel,
    seed: int,
    cold_scores: np.ndarray | None,
) -> tuple[str, np.ndarray] | None:
    return fit_scores(_PROCESS_FEATURES, labelled, y, model, seed, cold_scores)


class RetrainProcess:
    """Retraining in a process of its own, for learners that share features ``X``.

    A retrain in a thread holds the interpreter lock for much of its time, and a server
    answering requests from the same process then answers slowly; in a process of its own it
    runs on another core. The features go to the process once, when it starts; each retrain
    sends the labels and gets the scores back. Retrains run one at a time, in the order given.
    """

    def __init__(self, X: Any) -> None:
        self.X = X
        self._executor = ProcessPoolExecutor(
            max_workers=1,
            # Not forked: the serving process runs threads, which a fork would copy mid-step.
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_load_features,
            initargs=(X,),
        )
        # Start the process now rather than at the first retrain, which a reviewer waits for.
        self._executor.submit(int)

    def submit(
        self,
        labelled: np.ndarray,
        y: np.ndarray,
        model: ScreeningModel,
        seed: int,
        cold_scores: np.ndarray | None,
    ) -> Future:
        return self._executor.submit(_fit_loaded, labelled, y, model, seed, cold_scores)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


class Learner:
    """Proposes the next record and learns from each decision.

    ``cold_scores`` rank records before the first relevant label (e.g. BM25 similarity to the
    protocol); without them the cold order is a random permutation drawn from ``seed``.
    With ``background=True`` retraining runs in a worker thread while the reviewer reads, or
    in ``process`` (a :class:`RetrainProcess` over the same ``X``) when one is given.
    ``wait=False`` (for a team sharing one learner, where the order depends on who decides
    first anyway) never waits for a retrain: a new ranking is put in use once it is ready,
    and decisions that come meanwhile are taken into the next retrain.
    """

    def __init__(
        self,
        X: Any,
        model: ScreeningModel,
        *,
        seed: int = 0,
        cold_scores: np.ndarray | None = None,
        background: bool = False,
        wait: bool = True,
        process: RetrainProcess | None = None,
    ) -> None:
        if process is not None and process.X is not X:
            raise ValueError("the retraining process holds other features than the learner's")
        self.wait = wait
        self._process = process
        self._stale = False
        self.X = _prepare_all(X)
        self.n = (self.X[0] if isinstance(self.X, list) else self.X).shape[0]
        self.lag = model.lag_for(self.n)
        self.model = model
        self.seed = seed
        self.cold_scores = None if cold_scores is None else np.asarray(cold_scores, float)
        self.labels = np.full(self.n, -1, dtype=np.int8)
        # Records this learner must not propose (e.g. enough other reviewers decided them).
        self.blocked = np.zeros(self.n, dtype=bool)
        self.history: list[int] = []
        self._query = make_query(model.query, model.exploration)
        background = background and process is None
        self._executor = ThreadPoolExecutor(max_workers=1) if background else None
        self._pending: tuple[int, Future | tuple | None, int, int] | None = None
        self._next_retrain = 1
        self._queue: deque[tuple[int, int]] = deque()
        self._served = 0
        if self.cold_scores is not None:
            cold = self.cold_scores
        else:
            cold = np.random.default_rng(seed).permutation(self.n).astype(float)
        self.ranking = Ranking(0, "cold", 0, 0, cold)

    # -- state -----------------------------------------------------------------------------
    @property
    def n_labelled(self) -> int:
        return len(self.history)

    @property
    def n_included(self) -> int:
        return int((self.labels == 1).sum())

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    # -- the loop --------------------------------------------------------------------------
    def propose(self, exclude: Container[int] = ()) -> Proposal | None:
        """The next record to screen, or ``None`` when every record is labelled.

        ``exclude``: records to pass over this time only (e.g. another reviewer is reading
        them); they keep their place in the queue.
        """
        if not self.wait:
            self._install_ready()
        elif self._pending is not None and self.n_labelled >= self._pending[0]:
            self._install()
        skipped = 0
        while True:
            if len(self._queue) <= skipped:
                if not self._refill(skipped):
                    return None
            index, rank = self._queue[skipped]
            if self.labels[index] >= 0 or self.blocked[index]:
                del self._queue[skipped]
            elif index in exclude:
                skipped += 1
            else:
                return Proposal(index, rank, self.ranking)

    def block(self, indices: list[int]) -> None:
        """Never propose these records (they stay unlabelled and out of training)."""
        self.blocked[np.asarray(indices, dtype=np.int64)] = True

    def teach(self, index: int, label: int, *, retrain: bool = True) -> None:
        """Record decision ``label`` (1 relevant, 0 irrelevant) for record ``index``."""
        if self.labels[index] >= 0:
            raise ValueError(f"record {index} is already labelled")
        self.labels[index] = 1 if label else 0
        self.history.append(index)
        if self._queue and self._queue[0][0] == index:
            self._queue.popleft()
        due = self.n_labelled >= self._next_retrain or (label and self.model.retrain_on_relevant)
        if retrain and due:
            self._schedule()

    def teach_many(self, indices: list[int], labels: list[int]) -> None:
        """Record earlier decisions at once (resuming a session) and retrain on all of them;
        the new ranking is used from the next proposal on."""
        for index, label in zip(indices, labels, strict=True):
            self.teach(index, label, retrain=False)
        if indices:
            self._wait_pending()
            self._pending = None
            self._schedule(lag=0)

    def undo(self, index: int | None = None) -> int | None:
        """Forget the last decision (or the one on record ``index``); the ranking is
        recomputed from the remaining labels."""
        if not self.history:
            return None
        if index is None:
            index = self.history.pop()
        elif self.labels[index] < 0:
            return None
        else:
            self.history.remove(index)
        self.labels[index] = -1
        if self.wait:
            self._wait_pending()
            self._pending = None
        self._next_retrain = self.n_labelled
        self._schedule(lag=0)
        return index

    # -- retraining ------------------------------------------------------------------------
    def _install_ready(self) -> None:
        """Without waiting: put a finished retrain in use, and start the one that was due
        while it ran."""
        if self._pending is not None:
            job = self._pending[1]
            if isinstance(job, Future) and not job.done():
                return
            self._install()
        if self._stale:
            self._stale = False
            self._schedule(lag=0)

    def _schedule(self, lag: int | None = None) -> None:
        if not self.wait and self._pending is not None:
            job = self._pending[1]
            if isinstance(job, Future) and not job.done():
                self._stale = True
                return
            self._install()
        n = self.n_labelled
        labelled = np.asarray(self.history, dtype=np.int64)
        y = self.labels[labelled].astype(np.int64)
        self._wait_pending(install_ready=True)
        args = (self.X, labelled, y, self.model, self.seed, self.cold_scores)
        if self._process is not None:
            job: Future | tuple | None = self._process.submit(*args[1:])
        elif self._executor is not None:
            job = self._executor.submit(fit_scores, *args)
        else:
            job = fit_scores(*args)
        self._pending = (n + (self.lag if lag is None else lag), job, n, int(y.sum()))
        self._next_retrain = next_retrain(n, self.model.retrain_growth)

    def _wait_pending(self, install_ready: bool = False) -> None:
        if self._pending is None:
            return
        if install_ready and self.n_labelled >= self._pending[0]:
            self._install()
            return
        job = self._pending[1]
        if isinstance(job, Future):
            job.result()

    def _install(self) -> None:
        _, job, n_labelled, n_included = self._pending
        self._pending = None
        result = job.result() if isinstance(job, Future) else job
        if result is None:
            return
        kind, scores = result
        self.ranking = Ranking(self.ranking.index + 1, kind, n_labelled, n_included, scores)
        self._queue.clear()
        self._served = 0

    def _refill(self, skipped: int = 0) -> bool:
        """Queue the next best records after those queued; False when none is left."""
        free = (self.labels < 0) & ~self.blocked
        if skipped and self._queue:
            # A mask rather than np.setdiff1d, which sorts every record at each refill (a
            # team's proposals refill often while others hold the records queued first).
            free[np.fromiter((i for i, _ in self._queue), dtype=np.int64)] = False
        candidates = np.flatnonzero(free)
        if not len(candidates):
            return False
        size = max(64, int(self.n_labelled * self.model.retrain_growth) + self.lag + 16)
        rng = np.random.default_rng([self.seed, self.ranking.index, self._served])
        scores = self.ranking.scores[candidates]
        if self.ranking.kind == "cold":
            order = top_k(-scores, size)
        else:
            order = self._query.order(scores, size, rng)
        start = self._served
        self._queue.extend((int(candidates[i]), start + r + 1) for r, i in enumerate(order))
        self._served += len(order)
        return True
