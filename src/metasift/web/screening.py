"""Title/abstract screening for a team in the browser, over :class:`ScreeningSession`.

One :class:`TeamScreening` per served project keeps the features (built once) and the learners
in memory. With one reviewer per record the team shares one learner: everyone's decisions
train it, and records another reviewer is reading are passed over. Under dual screening each
reviewer has their own learner over the same features, trained on their own decisions only,
so that judgements stay independent. Who reads which record is settled in the store by
:mod:`metasift.workflow.assignments`, never in memory, so that the store stays the only
shared state.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from metasift.errors import MetasiftError
from metasift.protocol import Protocol
from metasift.records.model import Record
from metasift.screening.learner import RetrainProcess
from metasift.screening.session import Corpus, ScreeningSession, build_corpus
from metasift.screening.settings import screening_settings
from metasift.workflow import assignments
from metasift.workflow.closure import StopState, stop_state
from metasift.workflow.decisions import TITLE_ABSTRACT, stage_closed

log = logging.getLogger("metasift.web")

# How many proposals a reviewer may find taken by others before being told to come back.
MAX_TRIES = 50
STATUS_SECONDS = 3.0


@dataclass(frozen=True)
class Shown:
    record_id: int
    record: Record
    rank: int | None


class TeamScreening:
    def __init__(
        self, engine: Engine, protocol: Protocol, *, ttl: float = assignments.LEASE_SECONDS
    ) -> None:
        self.engine = engine
        self.ttl = ttl
        self.protocol = protocol
        self.settings = screening_settings(protocol)
        self.slots = self.settings.reviewers_per_record
        self.shared = self.slots == 1
        self._lock = threading.Lock()
        # Records are handed out one reviewer at a time within this server: threads racing
        # for the same best record would otherwise each lose the race to the store in turn.
        # The store's constraints still settle races with other servers.
        self._hand_out = threading.Lock()
        # SQLite has one writer at a time, and a writer that finds the database locked
        # sleeps in steps of up to 100 ms; queueing the writes here hands over at once.
        self._writes = threading.RLock() if engine.dialect.name == "sqlite" else nullcontext()
        self._corpus: Corpus | None = None
        # Retraining runs in a process of its own: in a thread it would hold the interpreter
        # lock for much of its time, and slow every request.
        self._retrain: RetrainProcess | None = None
        self._sessions: dict[str, ScreeningSession] = {}
        self._status: tuple[float, StopState] | None = None

    # -- set-up ----------------------------------------------------------------------------
    def corpus(self) -> Corpus:
        with self._lock:
            if self._corpus is None:
                started = time.perf_counter()
                self._corpus = build_corpus(self.engine, self.protocol)
                self._retrain = RetrainProcess(self._corpus.X)
                assignments.sync_decided(self.engine, TITLE_ABSTRACT, self.slots)
                log.info(
                    "screening features for %d records built in %.1f s",
                    len(self._corpus.record_ids),
                    time.perf_counter() - started,
                )
            return self._corpus

    def session(self, reviewer: str) -> ScreeningSession:
        corpus = self.corpus()
        key = "" if self.shared else reviewer
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                session = ScreeningSession(
                    self.engine,
                    self.protocol,
                    key,
                    corpus=corpus,
                    background=True,
                    wait=False,
                    process=self._retrain,
                )
                self._sessions[key] = session
            return session

    def close(self) -> None:
        with self._lock:
            for session in self._sessions.values():
                session.close()
            self._sessions.clear()
            if self._retrain is not None:
                self._retrain.close()
                self._retrain = None

    # -- the loop --------------------------------------------------------------------------
    def next(self, reviewer: str) -> Shown | None:
        """The record ``reviewer`` holds, or the best free one, leased to them."""
        session = self.session(reviewer)
        # Who reads what is read under the lock, so that it includes what the threads before
        # this one handed out.
        with self._hand_out, self._writes:
            with self.engine.connect() as conn:
                held, others = assignments.open_leases(conn, TITLE_ABSTRACT, reviewer)
                if held is not None:
                    index = session.position(held.record_id)
                    if index is not None and session.learner.labels[index] < 0:
                        return Shown(held.record_id, session.records[index], held.rank)
                if stage_closed(conn, TITLE_ABSTRACT):
                    return None
            return self._hand_out_next(session, reviewer, others)

    def _hand_out_next(
        self, session: ScreeningSession, reviewer: str, others: dict[int, int]
    ) -> Shown | None:
        exclude = {rid for rid, n in others.items() if n >= self.slots}
        for _ in range(MAX_TRIES):
            shown = session.current(exclude)
            if shown is None:
                return None
            record_id, record, proposal = shown
            run_id = session.model_run(proposal)
            with self.engine.begin() as conn:
                taken = assignments.take(
                    conn,
                    record_id,
                    TITLE_ABSTRACT,
                    reviewer,
                    self.slots,
                    rank=proposal.rank,
                    model_run_id=run_id,
                    ttl=self.ttl,
                )
                # Enough others decided it: this reviewer's learner need not propose it again.
                done = not taken and not self.shared and (
                    assignments.decided_count(conn, record_id, TITLE_ABSTRACT) >= self.slots
                )
            if taken:
                return Shown(record_id, record, proposal.rank)
            exclude.add(record_id)
            if done:
                session.block(record_id)
        raise MetasiftError(
            "other reviewers hold every record proposed to you right now; reload in a moment."
        )

    def decide(
        self,
        reviewer: str,
        record_id: int,
        decision: str,
        *,
        reason: str | None = None,
        note: str | None = None,
    ) -> bool:
        """Store the reviewer's decision on the record they were shown; False when the same
        decision had already been stored (a request sent twice)."""
        session = self.session(reviewer)

        def guard(conn: Connection) -> tuple[int | None, int | None] | None:
            lease = assignments.complete(conn, record_id, TITLE_ABSTRACT, reviewer, self.slots)
            return None if lease is None else (lease.rank, lease.model_run_id)

        with self._writes:
            stored = session.decide(
                decision,
                reason=reason,
                note=note,
                record_id=record_id,
                reviewer=reviewer,
                guard=guard,
            )
        return stored is not None

    def undo(self, reviewer: str) -> int | None:
        session = self.session(reviewer)
        record_id = session.undo(reviewer)
        if record_id is not None:
            with self.engine.begin() as conn:
                assignments.reopen(conn, record_id, TITLE_ABSTRACT, reviewer, self.ttl)
        return record_id

    def status(self) -> StopState:
        """The stopping rule's verdict on the store's decisions, recomputed every few
        seconds at most (it reads every decision)."""
        now = time.monotonic()
        cached = self._status
        if cached is not None and now - cached[0] < STATUS_SECONDS:
            return cached[1]
        state = stop_state(self.engine, self.protocol)
        self._status = (now, state)
        return state

    def forget_status(self) -> None:
        self._status = None
