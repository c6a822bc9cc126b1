"""The review's state in one object: what every door shows about where the review stands.

``metasift status``, the web app's overview, the report's screening table and ``metasift
prisma`` all read :func:`review_state`, so that they cannot disagree: the counts are the
PRISMA tally (:mod:`metasift.workflow.counts`), the stopping rule's view is
:func:`~metasift.workflow.closure.stop_state`, and the lines shown are :meth:`ReviewState.lines`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Engine

from metasift.protocol import Protocol
from metasift.screening.store import standing_decisions
from metasift.store.records import count_records
from metasift.workflow.closure import StopState, stop_state
from metasift.workflow.counts import included_studies, load_snapshot, tally
from metasift.workflow.decisions import STAGE_NAMES, STAGES, stage_closed
from metasift.workflow.fulltext import Report, included_reports, list_reports
from metasift.workflow.prisma import PrismaCounts
from metasift.workflow.reviewers import Reviewer, list_reviewers


@dataclass(frozen=True)
class StageState:
    """Whether a stage is open, and the closure in force when it is not."""

    stage: str
    closure: dict | None = None

    @property
    def closed(self) -> bool:
        return self.closure is not None

    def describe(self) -> str:
        """ "open", or when, by whom and by which rule the stage was closed."""
        if self.closure is None:
            return "open"
        c = self.closure
        return f"closed on {c['closed_at']:%Y-%m-%d} by {c['closed_by']} ({c['rule']})"


@dataclass
class ReviewState:
    """Where the review stands: PRISMA counts, stages, the stopping rule and the team."""

    n_records: int
    n_screenable: int
    counts: PrismaCounts
    screening: StopState
    stages: dict[str, StageState]
    team: list[Reviewer]
    # reviewer -> stage -> standing decisions
    decisions_by_reviewer: dict[str, dict[str, int]] = field(default_factory=dict)
    included_studies: list[int] = field(default_factory=list)
    # The records whose reports are included (a study may have several).
    included_records: list[int] = field(default_factory=list)
    # Imports whose database nobody stated: reported under their file names (PRISMA-S item 1).
    unstated_sources: list[str] = field(default_factory=list)
    # Every report sought for retrieval, with its study and full-text verdict.
    reports: list[Report] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        """No work pending: the PRISMA diagram is final."""
        return not self.counts.pending

    def lines(self, *, web: bool = False) -> list[tuple[str, str]]:
        """The review's state as (label, value) lines, the same wherever they are shown.

        Args:
            web: say what to do in the web app rather than which option to give.
        """
        out = [
            ("Records stored", f"{self.n_records:,}"),
            ("Records after de-duplication", f"{self.n_screenable:,}"),
        ]
        out += [(label, f"{n:,}") for label, n in self.counts.rows()]
        if self.unstated_sources:
            out.append(
                (
                    "Source not stated",
                    ", ".join(self.unstated_sources)
                    + (
                        " (reported by file name: import again naming the database it comes "
                        "from, or name it in review.toml)"
                        if web
                        else " (reported by file name: import again with --source, or name "
                        "the database in review.toml)"
                    ),
                )
            )
        out.append(("Stopping rule", self.screening.describe()))
        for stage in STAGES:
            out.append((STAGE_NAMES[stage].capitalize(), self.stages[stage].describe()))
        return out

    def as_json(self) -> dict:
        """The state as plain data (``metasift status --json``)."""
        return {
            "lines": dict(self.lines()),
            "pending": dict(self.counts.pending),
            "prisma": self.counts.as_json(),
            "stages": {s: {"closed": st.closed} for s, st in self.stages.items()},
            "team": [{"name": m.name, "role": m.role} for m in self.team],
            "decisions_by_reviewer": self.decisions_by_reviewer,
            "included_studies": self.included_studies,
        }

    def pending(self) -> list[str]:
        """The work left, one line each ("12 records awaiting title/abstract screening")."""
        return [f"{n:,} {what}" for what, n in self.counts.pending.items()]


def review_state(engine: Engine, protocol: Protocol) -> ReviewState:
    """Read the review's state from the store.

    Args:
        engine: the project store.
        protocol: the review's protocol.
    """
    snap = load_snapshot(engine, protocol)
    by_reviewer: dict[str, Counter[str]] = {}
    with engine.connect() as conn:
        stages = {s: StageState(s, stage_closed(conn, s)) for s in STAGES}
        for stage in STAGES:
            for d in standing_decisions(conn, stage=stage):
                by_reviewer.setdefault(d.reviewer, Counter())[stage] += 1
    return ReviewState(
        n_records=count_records(engine),
        n_screenable=len(snap.screenable),
        counts=tally(snap),
        screening=stop_state(engine, protocol),
        stages=stages,
        team=list_reviewers(engine),
        decisions_by_reviewer={k: dict(v) for k, v in sorted(by_reviewer.items())},
        included_studies=included_studies(snap.reports),
        included_records=[r.record_id for r in included_reports(snap.reports)],
        unstated_sources=[i.source for i in snap.imports if not i.stated],
        reports=snap.reports,
    )


def extraction_studies(engine: Engine, protocol: Protocol) -> list[int]:
    """The studies that go to extraction, risk of bias and synthesis: those included at full
    text (:func:`~metasift.workflow.counts.included_studies`), by study id. The CLI, the web
    app, ``metasift run`` and the report all take them from here.

    Args:
        engine: the project store.
        protocol: the review's protocol.
    """
    return included_studies(list_reports(engine, protocol))
