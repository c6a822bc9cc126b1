"""Title/abstract screening for a team: which record each member reads next, over
:class:`ScreeningSession`. The web app and the terminal screener (``metasift screen``) both
hand records out here, with leases, so that a member screening in a terminal and one in the
browser never get the same record unless the protocol asks for it.

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
from collections import Counter, deque
from contextlib import nullcontext
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from metasift.errors import MetasiftError
from metasift.protocol import Protocol
from metasift.records.model import Record
from metasift.screening.learner import Proposal, RetrainProcess
from metasift.screening.session import (
    Corpus,
    ScreeningSession,
    build_corpus,
    no_records_to_screen,
    quick_terms,
)
from metasift.screening.settings import screening_settings
from metasift.screening.store import add_decision, add_model_run, retract_last, title_order
from metasift.store.records import screenable_clause, screenable_record
from metasift.store.schema import assignments as assignments_table
from metasift.store.schema import records
from metasift.workflow import assignments
from metasift.workflow.closure import StopState, stop_state
from metasift.workflow.decisions import TITLE_ABSTRACT, check_decision, require_open, stage_closed
from metasift.workflow.reviewers import require

log = logging.getLogger("metasift.screening")

# How many proposals a reviewer may find taken by others before being told to come back.
MAX_TRIES = 50
STATUS_SECONDS = 3.0


@dataclass(frozen=True)
class Shown:
    record_id: int
    record: Record
    rank: int | None


@dataclass(frozen=True)
class _Handed:
    shown: Shown
    claimed: bool = False
    proposal: Proposal | None = None  # a new lease, with the ranking's stored model run
    run_id: int | None = None


class _NoneToShow(MetasiftError):
    """No record is shown, for the reason in the message (the stage is closed, or every
    record proposed is held by other reviewers right now)."""


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
        # Records being leased by threads of this server whose transactions are not yet
        # committed (how many threads each), passed over by the others: threads racing for
        # the same best record would otherwise each lose the race to the store in turn. Only
        # the proposal is made under the lock, the writes are not. The store's constraints
        # still settle every race, with other servers too.
        self._claims_lock = threading.Lock()
        self._claims: Counter[int] = Counter()
        # The claims released last, numbered: a thread that read the store's leases before
        # a release passes over that record too (its lease may be committed after the read).
        # Missing an old one costs a retry, never a wrong hand-out: the store decides.
        self._released: deque[tuple[int, int]] = deque(maxlen=1024)
        self._released_count = 0
        # SQLite has one writer at a time, and a writer that finds the database locked
        # sleeps in steps of up to 100 ms; queueing the writes here hands over at once.
        self._sqlite = engine.dialect.name == "sqlite"
        self._writes = threading.RLock() if self._sqlite else nullcontext()
        self._corpus: Corpus | None = None
        # The features are built in a thread of their own (:meth:`start`): no page waits
        # for them. Until then records go out in the quick cold order of titles.
        self._build_lock = threading.Lock()
        self._building: threading.Thread | None = None
        self._build_error: Exception | None = None
        self._quick_terms = quick_terms(protocol)
        self._quick_run: int | None = None
        self._closed = False
        # Retraining runs in a process of its own: in a thread it would hold the interpreter
        # lock for much of its time, and slow every request.
        self._retrain: RetrainProcess | None = None
        self._sessions: dict[str, ScreeningSession] = {}
        self._status: tuple[float, StopState] | None = None
        self._status_lock = threading.Lock()

    # -- set-up ----------------------------------------------------------------------------
    def corpus(self) -> Corpus:
        """The features of every record, built on first use (see :meth:`start`)."""
        corpus = self._corpus
        if corpus is not None:
            return corpus
        # Built outside ``_lock``: requests served in the quick order meanwhile need it.
        with self._build_lock:
            if self._corpus is None:
                started = time.perf_counter()
                corpus = build_corpus(self.engine, self.protocol)
                retrain = RetrainProcess(corpus.X)
                assignments.sync_decided(self.engine, TITLE_ABSTRACT, self.slots)
                with self._lock:
                    if self._closed:
                        # The project was closed (or its records changed) meanwhile.
                        retrain.close()
                        raise MetasiftError("screening was closed while it started.")
                    self._retrain = retrain
                    self._corpus = corpus
                log.info(
                    "screening features for %d records built in %.1f s",
                    len(corpus.record_ids),
                    time.perf_counter() - started,
                )
            return self._corpus

    def start(self) -> None:
        """Build the features and start the learner in a thread of their own, once; until they
        are ready, records are handed out in the quick order (:meth:`ready` is False)."""
        with self._lock:
            if self._corpus is not None or self._building is not None:
                return
            self._building = threading.Thread(
                target=self._build, name="metasift-screening-build", daemon=True
            )
            self._building.start()

    def _build(self) -> None:
        try:
            self.corpus()
        except Exception as exc:
            # Said to the reviewer at their next request (e.g. there is nothing to screen).
            self._build_error = exc
            log.warning("screening features could not be built: %s", exc)

    @property
    def ready(self) -> bool:
        """Whether the learner ranks the records (False while its features are being built)."""
        return self._corpus is not None

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until the features are built (or failed); whether they are ready."""
        thread = self._building
        if thread is not None:
            thread.join(timeout)
        return self.ready

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
            self._closed = True
            for session in self._sessions.values():
                session.close()
            self._sessions.clear()
            if self._retrain is not None:
                self._retrain.close()
                self._retrain = None

    # -- the loop --------------------------------------------------------------------------
    def next(self, reviewer: str) -> Shown | None:
        """The record ``reviewer`` holds, or the best free one, leased to them."""
        return self.decide_and_next(reviewer)[1]

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
        if not self.ready:
            self.start()
        if not self.ready:
            with self._writes, self.engine.begin() as conn:
                stored = self._store_quick(conn, reviewer, record_id, decision, reason, note)
            if stored:
                self._teach_built(reviewer, record_id, decision)
            return stored
        session = self.session(reviewer)
        with self._writes, self.engine.begin() as conn:
            stored = self._store(conn, session, reviewer, record_id, decision, reason, note)
        if stored:
            session.learn(record_id, decision)
        return stored

    def decide_and_next(
        self,
        reviewer: str,
        record_id: int | None = None,
        decision: str = "",
        *,
        reason: str | None = None,
        note: str | None = None,
    ) -> tuple[bool, Shown | None, str]:
        """Store the reviewer's decision on ``record_id`` (when given) and lease them the
        next record, in one transaction; returns whether the decision was stored (False: it
        had been already), the record to show next, and why none is shown when every free
        record is held by others.

        One transaction rather than two: on SQLite, where writes queue one at a time, each
        request then takes its turn once.
        """
        if not self.ready:
            if self._build_error is not None:
                raise MetasiftError(str(self._build_error))
            if self._building is None:
                # The first page comes before the build starts: the build would hold the
                # interpreter for much of the time this request needs.
                answer = self._quick_decide_and_next(reviewer, record_id, decision, reason, note)
                self.start()
                return answer
            if not self.ready:
                return self._quick_decide_and_next(reviewer, record_id, decision, reason, note)
        session = self.session(reviewer)
        stored, handed, message = False, None, ""
        if record_id is not None:
            # Passed over by the other threads until the learner is taught the decision
            # (after the commit), so that none proposes it meanwhile and finds it taken.
            with self._claims_lock:
                self._claims[record_id] += 1
        try:
            with self._writes, self.engine.begin() as conn:
                if record_id is not None:
                    stored = self._store(conn, session, reviewer, record_id, decision, reason, note)
                try:
                    handed = self._hand_out(conn, session, reviewer, decided=record_id)
                except _NoneToShow as exc:
                    message = str(exc)
            if stored:
                session.learn(record_id, decision)
            if handed is not None and handed.proposal is not None:
                session.remember_run(handed.proposal, handed.run_id)
        finally:
            if handed is not None and handed.claimed:
                self._release(handed.shown.record_id)
            if record_id is not None:
                self._release(record_id)
        return stored, None if handed is None else handed.shown, message

    def _check_and_complete(
        self, conn: Connection, reviewer: str, record_id: int, decision: str, reason: str | None
    ) -> assignments.Lease | None:
        """Whether ``reviewer`` may make this decision now (raises when not), and the lease it
        completes; ``None`` when the record is no longer theirs to decide (sent twice)."""
        check_decision(
            conn,
            self.protocol,
            record_id=record_id,
            reviewer=reviewer,
            decision=decision,
            reason=reason,
        )
        return assignments.complete(conn, record_id, TITLE_ABSTRACT, reviewer, self.slots)

    def _store(
        self,
        conn: Connection,
        session: ScreeningSession,
        reviewer: str,
        record_id: int,
        decision: str,
        reason: str | None,
        note: str | None,
    ) -> bool:
        def guard(conn: Connection) -> tuple[int | None, int | None] | None:
            lease = self._check_and_complete(conn, reviewer, record_id, decision, reason)
            return None if lease is None else (lease.rank, lease.model_run_id)

        stored = session.store(
            conn,
            decision,
            record_id=record_id,
            reviewer=reviewer,
            reason=reason,
            note=note,
            guard=guard,
        )
        return stored is not None

    def _hand_out(
        self, conn: Connection, session: ScreeningSession, reviewer: str, decided: int | None
    ) -> _Handed | None:
        """The record ``reviewer`` holds, or the best free one, leased to them in ``conn``'s
        transaction."""
        require(conn, reviewer, "decide")
        if stage_closed(conn, TITLE_ABSTRACT):
            raise _NoneToShow("Title/abstract screening is closed.")
        # The record just decided: taught to the learner only once this is committed.
        exclude = set() if decided is None else {decided}
        for attempt in range(MAX_TRIES):
            # Leases committed after this are not seen by the read below; the claims they
            # held are then among the recently released ones, and passed over too.
            since = self._released_count
            held, others = assignments.open_leases(conn, TITLE_ABSTRACT, reviewer)
            if attempt == 0 and held is not None and held.record_id != decided:
                index = session.position(held.record_id)
                if index is not None and session.learner.labels[index] < 0:
                    return _Handed(Shown(held.record_id, session.records[index], held.rank))
            with self._claims_lock:
                for rid, n in self._claims.items():
                    others[rid] = others.get(rid, 0) + n
                for seq, rid in reversed(self._released):
                    if seq <= since:
                        break
                    others[rid] = others.get(rid, 0) + 1
                busy = {rid for rid, n in others.items() if n >= self.slots}
                shown = session.current(exclude | busy)
                if shown is None:
                    # Nothing left for this reviewer, or only records held by others (leases,
                    # requests in flight) right now, which may come back to them.
                    if session.current(exclude) is not None:
                        break
                    return None
                record_id, record, proposal = shown
                self._claims[record_id] += 1
            try:
                run_id = session.model_run(proposal, conn if self._sqlite else None)
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
                done = (
                    not taken
                    and not self.shared
                    and (assignments.decided_count(conn, record_id, TITLE_ABSTRACT) >= self.slots)
                )
            except BaseException:
                self._release(record_id)
                raise
            if taken:
                return _Handed(Shown(record_id, record, proposal.rank), True, proposal, run_id)
            self._release(record_id)
            exclude.add(record_id)
            if done:
                session.block(record_id)
        raise _NoneToShow(
            "other reviewers hold every record proposed to you right now; reload in a moment."
        )

    # -- while the features are built ---------------------------------------------------------
    def _quick_decide_and_next(
        self,
        reviewer: str,
        record_id: int | None,
        decision: str,
        reason: str | None,
        note: str | None,
    ) -> tuple[bool, Shown | None, str]:
        """:meth:`decide_and_next` before the learner is ready: the same checks and leases,
        the records in the quick order of their titles (:func:`title_order`)."""
        run_id = self._quick_run_id()
        stored, shown, message, claimed = False, None, "", []
        if record_id is not None:
            # Held until the commit, as in the learner's hand-out: another thread of this
            # server leasing the same record at once could deadlock with this one.
            with self._claims_lock:
                self._claims[record_id] += 1
            claimed.append(record_id)
        try:
            with self._writes, self.engine.begin() as conn:
                if record_id is not None:
                    stored = self._store_quick(conn, reviewer, record_id, decision, reason, note)
                try:
                    shown = self._quick_hand_out(conn, reviewer, record_id, run_id, claimed)
                except _NoneToShow as exc:
                    message = str(exc)
        finally:
            for rid in claimed:
                self._release(rid)
        if stored:
            self._teach_built(reviewer, record_id, decision)
        return stored, shown, message

    def _quick_run_id(self) -> int:
        """The model run the quick order is stored as (one per start), for the decisions'
        record of what proposed each record."""
        if self._quick_run is None:
            with self._writes, self.engine.begin() as conn:
                n_records = conn.execute(
                    sa.select(sa.func.count()).select_from(records).where(screenable_clause())
                ).scalar_one()
                self._quick_run = add_model_run(
                    conn,
                    model="title terms",
                    params={"terms": self._quick_terms},
                    seed=self.settings.seed,
                    kind="cold",
                    n_records=n_records,
                    n_labelled=0,
                    n_included=0,
                    stage=TITLE_ABSTRACT,
                )
        return self._quick_run

    def _store_quick(
        self,
        conn: Connection,
        reviewer: str,
        record_id: int,
        decision: str,
        reason: str | None,
        note: str | None,
    ) -> bool:
        if screenable_record(conn, record_id) is None:
            raise MetasiftError(f"record {record_id} is not among the records to screen.")
        lease = self._check_and_complete(conn, reviewer, record_id, decision, reason)
        if lease is None:
            return False
        add_decision(
            conn,
            record_id=record_id,
            decision=decision,
            reviewer=reviewer,
            stage=TITLE_ABSTRACT,
            model_run_id=lease.model_run_id,
            rank=lease.rank,
            reason=reason,
            note=note,
        )
        return True

    def _quick_hand_out(
        self, conn: Connection, reviewer: str, decided: int | None, run_id: int, claimed: list
    ) -> Shown | None:
        """The record the reviewer holds, or the first free one in the quick order, leased in
        ``conn``'s transaction; the records it tries are claimed (added to ``claimed``) for
        the caller to release after the commit."""
        require(conn, reviewer, "decide")
        if stage_closed(conn, TITLE_ABSTRACT):
            raise _NoneToShow("Title/abstract screening is closed.")
        held, _ = assignments.open_leases(conn, TITLE_ABSTRACT, reviewer)
        if held is not None and held.record_id != decided:
            record = screenable_record(conn, held.record_id)
            if record is not None:
                return Shown(held.record_id, record, held.rank)
        skip = assignments.passed_over(TITLE_ABSTRACT, reviewer, self.slots)
        tried: set[int] = set()
        for _ in range(3):
            candidates = title_order(conn, self._quick_terms, skip, limit=16)
            if not candidates:
                if self._held_by_others(conn, reviewer):
                    break  # they may come back to this reviewer: say so
                if conn.execute(sa.select(records.c.id).where(screenable_clause())).first() is None:
                    raise no_records_to_screen()
                return None
            for record_id in candidates:
                if record_id in tried:
                    continue
                with self._claims_lock:
                    if self._claims[record_id]:
                        continue  # another thread of this server is leasing it right now
                    self._claims[record_id] += 1
                claimed.append(record_id)
                tried.add(record_id)
                rank = self._quick_rank(conn, reviewer)
                if assignments.take(
                    conn,
                    record_id,
                    TITLE_ABSTRACT,
                    reviewer,
                    self.slots,
                    rank=rank,
                    model_run_id=run_id,
                    ttl=self.ttl,
                ):
                    return Shown(record_id, screenable_record(conn, record_id), rank)
        raise _NoneToShow(
            "other reviewers hold every record proposed to you right now; reload in a moment."
        )

    def _held_by_others(self, conn: Connection, reviewer: str) -> bool:
        """Whether records the reviewer has not decided are being read by others now."""
        _, others = assignments.open_leases(conn, TITLE_ABSTRACT, reviewer)
        if not others:
            return False
        mine = set(
            conn.execute(
                sa.select(assignments_table.c.record_id).where(
                    assignments_table.c.stage == TITLE_ABSTRACT,
                    assignments_table.c.reviewer == reviewer,
                    assignments_table.c.record_id.in_(list(others)),
                )
            ).scalars()
        )
        return bool(set(others) - mine)

    def _quick_rank(self, conn: Connection, reviewer: str) -> int:
        """The place of the next record in the reviewer's quick order: one after the records
        they were handed in it."""
        return (
            1
            + conn.execute(
                sa.select(sa.func.count()).where(
                    assignments_table.c.stage == TITLE_ABSTRACT,
                    assignments_table.c.reviewer == reviewer,
                    assignments_table.c.model_run_id == self._quick_run,
                )
            ).scalar_one()
        )

    def _teach_built(self, reviewer: str, record_id: int, decision: str | None) -> None:
        """Teach a decision stored in the quick order to a learner built meanwhile (one built
        after the decision was committed read it from the store); ``decision`` None: undone."""
        with self._lock:
            session = self._sessions.get("" if self.shared else reviewer)
        if session is None:
            return
        if decision is not None:
            session.learn(record_id, decision)
            return
        with session.lock:
            index = session.position(record_id)
            if index is not None and session.learner.labels[index] >= 0:
                if not session._still_decided(record_id, reviewer):
                    session.learner.undo(index)

    def _release(self, record_id: int) -> None:
        with self._claims_lock:
            self._claims[record_id] -= 1
            if self._claims[record_id] <= 0:
                del self._claims[record_id]
            self._released_count += 1
            self._released.append((self._released_count, record_id))

    def undo(self, reviewer: str) -> int | None:
        """Take back the reviewer's last decision (refused on a closed stage); the record is
        theirs again. Returns its id, or None when there is nothing to undo."""
        with self.engine.connect() as conn:
            require(conn, reviewer, "decide")
            require_open(conn, TITLE_ABSTRACT)
        if not self.ready:
            with self._writes, self.engine.begin() as conn:
                record_id = retract_last(conn, reviewer=reviewer, stage=TITLE_ABSTRACT)
                if record_id is not None:
                    assignments.reopen(conn, record_id, TITLE_ABSTRACT, reviewer, self.ttl)
            if record_id is not None:
                self._teach_built(reviewer, record_id, None)
            return record_id
        session = self.session(reviewer)
        with self._writes:
            record_id = session.undo(reviewer)
            if record_id is not None:
                with self.engine.begin() as conn:
                    assignments.reopen(conn, record_id, TITLE_ABSTRACT, reviewer, self.ttl)
        return record_id

    def status(self) -> StopState:
        """The stopping rule's verdict on the store's decisions, recomputed every few
        seconds at most (it reads every decision, and the rule's bound takes about a second
        at tens of thousands of decisions). One thread recomputes at a time;
        meanwhile the others answer with the verdict before."""
        cached = self._status
        if cached is not None and time.monotonic() - cached[0] < STATUS_SECONDS:
            return cached[1]
        if not self._status_lock.acquire(blocking=cached is None):
            return cached[1]
        try:
            cached = self._status
            if cached is not None and time.monotonic() - cached[0] < STATUS_SECONDS:
                return cached[1]
            state = stop_state(self.engine, self.protocol)
            # The pause counts from the end of the computation, so that a slow one does not
            # start the next at once.
            self._status = (time.monotonic(), state)
            return state
        finally:
            self._status_lock.release()

    def forget_status(self) -> None:
        self._status = None
