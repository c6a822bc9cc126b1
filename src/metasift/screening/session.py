"""A reviewer's screening session: the learner, the store and the stopping rule together.

The session is what the CLI (and later the web app) drives: ``current()`` is the record to
show, ``decide()`` stores a decision with the reviewer, the time and the model run that
proposed the record, ``undo()`` retracts the last one, ``status()`` gives progress and the
stopping rule's verdict. Decisions already in the store (from earlier sessions, in the order
they were made) are replayed into the learner on start, so a session can be resumed.

A record whose decision was undone is shown again at once (stored with rank 0).

A team screening in a browser shares the work differently: :func:`build_corpus` makes the
features once per project, and several sessions use them. With one reviewer per record the
team shares one session (``reviewer=""``; each decision names its reviewer, ``exclude`` keeps
records another reviewer is reading out of the proposals); with dual screening each reviewer
has their own session over the same corpus, and the sessions retrain in one
:class:`RetrainProcess` over the corpus's features. ``lock`` serialises the learner between
threads.

At title/abstract stage a "maybe" counts as relevant for the learner and the stopping rules:
such records go on to full-text screening, like includes.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from sqlalchemy import Connection, Engine

from metasift.errors import MetasiftError
from metasift.protocol import Protocol
from metasift.records.model import Record
from metasift.records.normalize import normalize_doi, normalize_pmid
from metasift.screening import stopping
from metasift.screening.bm25 import bm25_scores
from metasift.screening.features import record_texts
from metasift.screening.learner import Learner, Proposal, RetrainProcess
from metasift.screening.models import get_model
from metasift.screening.settings import ScreeningSettings, protocol_query, screening_settings
from metasift.screening.store import (
    TITLE_ABSTRACT,
    add_decision,
    add_model_run,
    not_offered,
    retract_last,
    standing_decisions,
)
from metasift.store.records import iter_screenable

KEYS = {"i": "include", "e": "exclude", "m": "maybe"}


@dataclass(frozen=True)
class Status:
    n_records: int
    n_screened: int
    n_included: int
    estimated_recall: float | None
    recall_lower_bound: float | None
    stop: bool
    rule: str


def make_rule(settings: ScreeningSettings):
    if settings.stopping_rule == "biased-urn":
        return stopping.BiasedUrnStop(settings.target_recall, settings.confidence)
    if settings.stopping_rule == "hypergeometric":
        return stopping.HypergeometricStop(settings.target_recall, settings.confidence)
    if settings.stopping_rule == "knee":
        return stopping.KneeStop()
    if settings.stopping_rule == "safe":
        return stopping.SafeStop(consecutive=settings.consecutive_irrelevant)
    return stopping.ConsecutiveIrrelevantStop(settings.consecutive_irrelevant)


def seed_positions(records: list[Record], seeds: list[str]) -> list[int]:
    """Positions of the records matching the protocol's seed studies (DOIs or PMIDs)."""
    dois = {d for d in (normalize_doi(s) for s in seeds) if d}
    pmids = {p for p in (normalize_pmid(s) for s in seeds if not normalize_doi(s)) if p}
    return [
        i
        for i, r in enumerate(records)
        if (r.doi and r.doi in dois) or (r.pmid and r.pmid in pmids)
    ]


@dataclass(frozen=True)
class Corpus:
    """The records to screen and their features: built once, shared by sessions."""

    record_ids: list[int]
    records: list[Record]
    position: dict[int, int]
    X: Any
    cold_scores: np.ndarray | None


def no_records_to_screen() -> MetasiftError:
    """The error of a project with no records to screen, worded for the terminal and the web."""
    return MetasiftError(
        "the project has no records to screen; run 'metasift import'.",
        web="the project has no records to screen yet: an owner imports them on the Import page.",
    )


def build_corpus(engine: Engine, protocol: Protocol) -> Corpus:
    """Read the screenable records and compute the screening model's features for them."""
    settings = screening_settings(protocol)
    pairs = list(iter_screenable(engine))
    model = get_model(settings.model, len(pairs))
    if not pairs:
        raise no_records_to_screen()
    record_ids = [rid for rid, _ in pairs]
    records = [r for _, r in pairs]
    texts = record_texts(records, model.text_fields)
    if not any(text.strip() for text in texts):
        # Citations without title or abstract (the trials of a published meta-analysis' data
        # set): nothing to learn from, so every record looks alike and is shown in the order
        # it was imported.
        X = sparse.csr_matrix(np.ones((len(records), 1)))
        return Corpus(record_ids, records, {rid: i for i, rid in enumerate(record_ids)}, X, None)
    try:
        X = model.make_features().fit_transform(texts)
    except ValueError as exc:
        # scikit-learn's words for "no term occurs often enough": too few records.
        raise MetasiftError(
            f"the {len(records)} record(s) to screen have too few words in common to rank "
            f"them ({exc}); import more records first."
        ) from exc
    cold = _cold_scores(protocol, settings, records, texts, X)
    return Corpus(record_ids, records, {rid: i for i, rid in enumerate(record_ids)}, X, cold)


def _cold_scores(
    protocol: Protocol, settings: ScreeningSettings, records: list[Record], texts: list[str], X
) -> np.ndarray | None:
    query = protocol_query(protocol)
    scores = bm25_scores(texts, query) if query.strip() else np.zeros(len(texts))
    seeds = seed_positions(records, settings.seed_studies)
    if seeds:
        view = X[0] if isinstance(X, list) else X
        centroid = np.asarray(view[seeds].mean(axis=0)).ravel()
        similarity = np.asarray(view @ centroid).ravel()
        top = scores.max() or 1.0
        scores = scores / top + similarity / (similarity.max() or 1.0)
    return scores if scores.any() else None


QUICK_TERMS = 12


def quick_terms(protocol: Protocol) -> list[str]:
    """The words of the protocol's query that rank titles while the features are built
    (:func:`metasift.screening.store.title_order`): the reviewer's include terms first, then
    the query's longer words, stop words left out."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    terms = [t.strip().lower() for t in protocol.criteria.include_terms if t.strip()]
    for word in re.findall(r"[a-z][a-z-]{3,}", protocol_query(protocol).lower()):
        if word not in ENGLISH_STOP_WORDS and word not in terms:
            terms.append(word)
    return terms[:QUICK_TERMS]


class ScreeningSession:
    def __init__(
        self,
        engine: Engine,
        protocol: Protocol,
        reviewer: str,
        *,
        stage: str = TITLE_ABSTRACT,
        background: bool = True,
        corpus: Corpus | None = None,
        wait: bool = True,
        process: RetrainProcess | None = None,
    ) -> None:
        self.engine = engine
        self.protocol = protocol
        self.reviewer = reviewer
        self.stage = stage
        self.settings = screening_settings(protocol)
        self.rule = make_rule(self.settings)
        corpus = corpus or build_corpus(engine, protocol)
        self.model = get_model(self.settings.model, len(corpus.record_ids))
        self.corpus = corpus
        self.record_ids = corpus.record_ids
        self.records = corpus.records
        self._position = corpus.position
        self.learner = Learner(
            corpus.X,
            self.model,
            seed=self.settings.seed,
            cold_scores=corpus.cold_scores,
            background=background,
            wait=wait,
            process=process,
        )
        self.lock = threading.RLock()
        self._runs: dict[int, int] = {}  # learner ranking index -> model_runs.id
        self._again: int | None = None  # a record whose decision was undone is shown again
        self._replay()

    def _replay(self) -> None:
        """Teach the learner the decisions already stored.

        With one reviewer per record the team shares one model: everyone's decisions train it
        and a record decided by anyone is done. With several reviewers per record (dual
        screening) each reviewer's model learns only from their own decisions, so that their
        judgements stay independent, and records already decided by enough others are skipped.
        """
        decided = standing_decisions(self.engine, stage=self.stage)
        required = self.settings.reviewers_per_record
        if required > 1:
            others: dict[int, set[str]] = {}
            for d in decided:
                if d.reviewer != self.reviewer:
                    others.setdefault(d.record_id, set()).add(d.reviewer)
            mine = {d.record_id for d in decided if d.reviewer == self.reviewer}
            self.learner.block(
                [
                    self._position[rid]
                    for rid, names in others.items()
                    if len(names) >= required and rid not in mine and rid in self._position
                ]
            )
            decided = [d for d in decided if d.reviewer == self.reviewer]
        latest: dict[int, str] = {}
        for d in decided:
            latest.pop(d.record_id, None)
            latest[d.record_id] = d.decision
        items = [(rid, dec) for rid, dec in latest.items() if rid in self._position]
        self.learner.teach_many(
            [self._position[rid] for rid, _ in items], [int(d != "exclude") for _, d in items]
        )
        with self.engine.connect() as conn:
            earlier = conn.execute(not_offered()).scalars().all()
        self._earlier = {self._position[rid] for rid in earlier if rid in self._position}
        self.learner.block([i for i in self._earlier if self.learner.labels[i] < 0])

    # -- the loop --------------------------------------------------------------------------
    def current(self, exclude: Iterable[int] = ()) -> tuple[int, Record, Proposal] | None:
        """The record to show: the best unscreened one, passing over the ``exclude`` ids."""
        with self.lock:
            skip = {self._position[r] for r in exclude if r in self._position}
            proposal = self.learner.propose(skip)
            if proposal is None:
                return None
            again = self._again
            if again is not None and self.learner.labels[again] < 0 and again not in skip:
                proposal = Proposal(again, 0, proposal.ranking)
            return self.record_ids[proposal.index], self.records[proposal.index], proposal

    def block(self, record_id: int) -> None:
        """Never propose ``record_id`` again in this session (e.g. enough others decided it)."""
        with self.lock:
            index = self._position.get(record_id)
            if index is not None and self.learner.labels[index] < 0:
                self.learner.block([index])

    def position(self, record_id: int) -> int | None:
        return self._position.get(record_id)

    def model_run(self, proposal: Proposal, conn: Connection | None = None) -> int:
        """The stored model run of the ranking that made ``proposal``.

        With ``conn`` a new run is stored in that connection's transaction (on SQLite a
        transaction of its own would wait for the caller's to end) and is remembered only
        when the caller calls :meth:`remember_run` after the commit: a run rolled back with
        the caller's transaction must not be reused.
        """
        with self.lock:
            run_id = self._runs.get(proposal.ranking.index)
            if run_id is not None:
                return run_id
            if conn is not None:
                return self._store_run(proposal, conn)
            with self.engine.begin() as own:
                run_id = self._store_run(proposal, own)
            self._runs[proposal.ranking.index] = run_id
            return run_id

    def remember_run(self, proposal: Proposal, run_id: int) -> None:
        with self.lock:
            self._runs.setdefault(proposal.ranking.index, run_id)

    def _store_run(self, proposal: Proposal, conn: Connection) -> int:
        ranking = proposal.ranking
        return add_model_run(
            conn,
            model=self.model.name,
            params=self.model.params(),
            seed=self.settings.seed,
            kind=ranking.kind,
            n_records=len(self.records),
            n_labelled=ranking.n_labelled,
            n_included=ranking.n_included,
            stage=self.stage,
        )

    def decide(
        self,
        decision: str,
        *,
        reason: str | None = None,
        note: str | None = None,
        record_id: int | None = None,
        reviewer: str | None = None,
        rank: int | None = None,
        model_run_id: int | None = None,
        guard: Callable[[Connection], tuple[int | None, int | None] | None] | None = None,
    ) -> int | None:
        """Store ``decision`` on the current record, or on ``record_id`` (the record a reviewer
        of a shared session was shown, with the ``rank`` and ``model_run_id`` it was shown
        with); returns the decision's id.

        ``guard`` runs first in the decision's transaction and gives the ``(rank,
        model_run_id)`` the record was shown with; when it returns None nothing is stored and
        None is returned (e.g. the same decision was already submitted).
        """
        reviewer = reviewer or self.reviewer
        if record_id is None:
            shown = self.current()
            if shown is None:
                raise MetasiftError("every record is screened.")
            record_id, _, proposal = shown
            rank, model_run_id = proposal.rank, self.model_run(proposal)
        with self.engine.begin() as conn:
            decision_id = self.store(
                conn,
                decision,
                record_id=record_id,
                reviewer=reviewer,
                rank=rank,
                model_run_id=model_run_id,
                reason=reason,
                note=note,
                guard=guard,
            )
        if decision_id is not None:
            self.learn(record_id, decision)
        return decision_id

    def store(
        self,
        conn: Connection,
        decision: str,
        *,
        record_id: int,
        reviewer: str,
        rank: int | None = None,
        model_run_id: int | None = None,
        reason: str | None = None,
        note: str | None = None,
        guard: Callable[[Connection], tuple[int | None, int | None] | None] | None = None,
    ) -> int | None:
        """The store's half of :meth:`decide`, in the caller's transaction; the learner is
        taught with :meth:`learn` once that transaction is committed."""
        if record_id not in self._position:
            raise MetasiftError(f"record {record_id} is not among the records to screen.")
        if guard is not None:
            shown_with = guard(conn)
            if shown_with is None:
                return None
            rank, model_run_id = shown_with
        return add_decision(
            conn,
            record_id=record_id,
            decision=decision,
            reviewer=reviewer,
            stage=self.stage,
            model_run_id=model_run_id,
            rank=rank,
            reason=reason,
            note=note,
        )

    def learn(self, record_id: int, decision: str) -> None:
        """Teach the learner a stored decision."""
        index = self._position[record_id]
        with self.lock:
            if self.learner.labels[index] < 0:
                self.learner.teach(index, decision != "exclude")
            if self._again == index:
                self._again = None

    def undo(self, reviewer: str | None = None) -> int | None:
        """Retract the reviewer's last decision; the record is proposed again."""
        if reviewer is None and not self.learner.history:
            return None
        with self.engine.begin() as conn:
            record_id = retract_last(conn, reviewer=reviewer or self.reviewer, stage=self.stage)
        if record_id is None:
            return None
        with self.lock:
            if reviewer is not None:
                # A shared session: the reviewer's last decision need not be the learner's.
                index = self._position.get(record_id)
                if index is not None and self._still_decided(record_id, reviewer):
                    return record_id
                if index is not None:
                    self._again = self.learner.undo(index)
                return record_id
            last = self.record_ids[self.learner.history[-1]]
            if last != record_id:
                raise MetasiftError(
                    f"the last decision in the store (record {record_id}) is not this "
                    "session's last one; another reviewer is screening the same records - "
                    "restart the session."
                )
            self._again = self.learner.undo()
        return record_id

    def _still_decided(self, record_id: int, reviewer: str) -> bool:
        """Whether a standing decision still labels the record for this session's learner:
        anyone's when the team shares it, the reviewer's own under dual screening."""
        own = reviewer if self.settings.reviewers_per_record > 1 else None
        return bool(
            standing_decisions(self.engine, stage=self.stage, record_id=record_id, reviewer=own)
        )

    def status(self) -> Status:
        """Progress and the stopping rule's verdict on the current round's records."""
        history = [i for i in self.learner.history if i not in self._earlier]
        labels = self.learner.labels[np.asarray(history, dtype=np.int64)]
        n_records = len(self.records) - len(self._earlier)
        estimate = self.rule.evaluate(labels, n_records)
        return Status(
            n_records=n_records,
            n_screened=len(history),
            n_included=int(labels.sum()),
            estimated_recall=estimate.estimated_recall,
            recall_lower_bound=estimate.recall_lower_bound,
            stop=estimate.stop,
            rule=self.rule.name,
        )

    def close(self) -> None:
        self.learner.close()
