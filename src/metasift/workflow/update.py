"""A living review's update: new searches, a new round, its duplicates, scores and listing.

:func:`run_update` is what ``metasift update`` does:

1. It starts a round (owners only; the current round's title/abstract screening must be
   closed, so that the previous version of the review is settled) with, per live source of
   the protocol, the window of dates its search covers: from the day the search log last shows
   that source searched (that day included, so that nothing added on it is missed) to today.
   The round keeps which reports had a final full-text verdict then; the others (not retrieved,
   or still to assess) are carried over into the round's PRISMA flow.
   A round whose searches did not all finish is resumed instead, with the same windows, so that
   each search resumes from its last stored page.
2. It runs the protocol's searches limited to those windows; every import made now belongs to
   the round. Records a search of the same database already imported are counted as seen
   before and not imported again.
3. It de-duplicates the whole project; the round's records that duplicate earlier ones (or
   each other) are not new: earlier records stay their clusters' primaries.
4. It scores the round's new records with the project's model
   (:func:`metasift.screening.score_new_records`) and lists those at or above the inclusion
   threshold, with the expected number of relevant records among them.

With ``offline`` no search runs: the round is made of what was imported into it (exports of
searches run by hand, ``metasift import``), and steps 3 and 4 run on it. The new records are
then screened as usual, in a round of their own (see :mod:`metasift.workflow.counts`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from metasift.errors import ReviewError, SearchError
from metasift.store.audit import record_event
from metasift.store.records import screenable_ids
from metasift.store.rounds import current_round, latest_round, mark_searched, record_rounds
from metasift.store.rounds import start_round as add_round
from metasift.workflow.counts import settled_reports
from metasift.workflow.decisions import TITLE_ABSTRACT, stage_closed
from metasift.workflow.fulltext import list_reports
from metasift.workflow.reviewers import require

if TYPE_CHECKING:
    from metasift.project import Project
    from metasift.screening.update import NewScores
    from metasift.search.config import SearchSettings
    from metasift.search.runner import SearchOutcome

# (what is being done, done so far, total or None)
Step = Callable[[str, int, int | None], None]


def _quiet(step: str, done: int, total: int | None) -> None:
    return None


@dataclass
class UpdateResult:
    """What an update found, and the counts its listing shows."""

    round: int
    resumed: bool
    windows: dict[str, dict[str, str]]
    # The searches run by this call (a resumed round's completed ones are not run again).
    searches: list[SearchOutcome | SearchError] = field(default_factory=list)
    round_records: int = 0  # records imported into the round
    duplicates: int = 0  # of them, duplicates of earlier records or of each other
    new_ids: list[int] = field(default_factory=list)
    scores: NewScores | None = None

    @property
    def failed(self) -> list[SearchError]:
        return [s for s in self.searches if isinstance(s, SearchError)]

    @property
    def seen_before(self) -> int:
        """Records the searches found that an earlier search of the same database imported."""
        return sum(s.merged for s in self.searches if not isinstance(s, SearchError))

    def listing(self) -> list[tuple[int, float]]:
        """(record id, calibrated probability) of the new records at or above the inclusion
        threshold, most likely relevant first."""
        return self.scores.above_threshold() if self.scores else []


def update_windows(
    project: Project, *, since: str | None = None, today: str | None = None
) -> dict[str, dict[str, str]]:
    """Per live source of the protocol, the dates an update's search covers.

    Args:
        project: the open project.
        since: start every window on this day instead of the search log's.
        today: the window's last day (default: today, UTC).
    """
    from metasift.search.base import KINDS
    from metasift.search.log import last_searched

    today = today or datetime.now(UTC).date().isoformat()
    windows: dict[str, dict[str, str]] = {}
    for source in project.protocol.sources:
        if source.kind not in KINDS:
            continue
        start = since or last_searched(project.engine, source.name)
        if start is None:
            raise ReviewError(
                f"source {source.name!r} has never been searched (the search log has no "
                "complete run of it, nor an export with its search date): run 'metasift "
                "search' first, or give the first day to search from with --since YYYY-MM-DD."
            )
        windows[source.name] = {"from": start, "to": today}
    if not windows:
        raise ReviewError(
            "review.toml has no live source to update from (kind pubmed, europepmc or "
            "openalex); import the new exports and run 'metasift update --offline'."
        )
    return windows


def _open_round(
    project: Project, by: str, offline: bool, since: str | None, today: str | None
) -> tuple[int, dict[str, dict[str, str]], bool, set[str]]:
    """The round to work on, the unfinished one or a new one: (number, windows, resumed, the
    sources whose searches of the round are complete)."""
    from metasift.search.log import completed_sources

    engine = project.engine
    with engine.connect() as conn:
        latest = latest_round(conn)
    if latest is not None and (latest["status"] == "searching" or offline):
        done = completed_sources(engine, latest["started_at"])
        return latest["number"], dict(latest["windows"]), True, done
    require(engine, by, "manage")
    if stage_closed(engine, TITLE_ABSTRACT) is None:
        raise ReviewError(
            f"title/abstract screening of round {current_round(engine)} is still open: an "
            "update starts a new round once the current one is settled. Finish screening and "
            "close it ('metasift close title_abstract'), then run the update."
        )
    windows = {} if offline else update_windows(project, since=since, today=today)
    # The previous version's assessed reports; the round's PRISMA flow takes over the others.
    settled = settled_reports(list_reports(engine, project.protocol))
    with engine.begin() as conn:
        number = add_round(
            conn, kind="update", started_by=by, windows=windows, settled_reports=settled
        )
        if offline:
            mark_searched(conn, number)
        record_event(
            conn,
            actor=by,
            action="round.start",
            entity="round",
            entity_id=number,
            value={"windows": windows, "offline": offline, "settled_reports": len(settled)},
        )
    return number, windows, False, set()


def run_update(
    project: Project,
    by: str,
    *,
    offline: bool = False,
    since: str | None = None,
    today: str | None = None,
    progress: Step = _quiet,
    settings: SearchSettings | None = None,
) -> UpdateResult:
    """Run a living review's update (see the module docstring) and say what it found.

    Args:
        project: the open project.
        by: who runs it (an owner, to start a round).
        offline: run no search; work on what was imported into the round.
        since: start every source's window on this day (YYYY-MM-DD) instead of the day the
            search log last shows it searched.
        today: the windows' last day (default: today, UTC).
        progress: called with (step, done, total) as the searches page and the later steps
            run, for a progress bar.
        settings: HTTP settings of the searches (default: from the environment).
    """
    from metasift.dedup import run_dedup
    from metasift.screening.update import score_new_records
    from metasift.search.stage import search_project

    number, windows, resumed, done = _open_round(project, by, offline, since, today)
    result = UpdateResult(round=number, resumed=resumed, windows=windows)
    pending = {name: w for name, w in windows.items() if name not in done}
    if pending and not offline:

        def on_search(spec, retrieved: int, reported: int | None) -> None:
            progress(f"Searching {spec.source}", retrieved, reported)

        result.searches = search_project(
            project,
            windows={name: (w["from"], w["to"]) for name, w in pending.items()},
            on_progress=on_search,
            settings=settings,
        )
        if result.failed:
            return result  # the round stays open: the next update resumes its searches
    if windows and not offline:
        with project.engine.begin() as conn:
            mark_searched(conn, number)

    def on_dedup(step: str, done: int, total: int) -> None:
        progress(f"De-duplicating ({step})", done, total or None)

    run_dedup(project.engine, progress=on_dedup)
    with project.engine.connect() as conn:
        round_of = record_rounds(conn)
        screenable = set(screenable_ids(conn))
    in_round = sorted(rid for rid, r in round_of.items() if r == number)
    result.round_records = len(in_round)
    result.new_ids = [rid for rid in in_round if rid in screenable]
    result.duplicates = result.round_records - len(result.new_ids)
    if result.new_ids:
        progress("Scoring the new records", 0, len(result.new_ids))
        result.scores = score_new_records(project, result.new_ids)
        progress("Scoring the new records", len(result.new_ids), len(result.new_ids))
    return result
