"""The search stage on a project: every search of the protocol (or one ad hoc query), in turn."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from metasift.errors import SearchError, SearchUnreachableError
from metasift.search.config import SearchSettings, load_credentials
from metasift.search.reach import Reachability
from metasift.search.runner import Progress, SearchOutcome, project_specs, run_search

if TYPE_CHECKING:
    from metasift.project import Project

logger = logging.getLogger(__name__)

__all__ = ["SearchError", "SearchUnreachableError", "search_project"]


def search_project(
    project: Project,
    *,
    source: str | None = None,
    query: str | None = None,
    fresh: bool = False,
    settings: SearchSettings | None = None,
    on_progress: Progress | None = None,
    reachability: Reachability | None = None,
    windows: dict[str, tuple[str, str]] | None = None,
) -> list[SearchOutcome | SearchError]:
    """Run every selected search of ``project``; one outcome or error per search, in order.

    A failing search does not stop the others; it is stored as failed and resumes on the
    next run. A host found unreachable fails the later searches on it at once, with the same
    diagnosis (a :class:`~metasift.errors.SearchUnreachableError`).

    :param project: the open project (its protocol's sources, its store).
    :param source: run only this source of the protocol (its name or kind).
    :param query: run this ad hoc query instead of the protocol's.
    :param fresh: start over instead of resuming an interrupted run.
    :param settings: HTTP settings (default: from the environment).
    :param on_progress: called after each stored page with (spec, retrieved, reported).
    :param reachability: what is known of unreachable hosts, shared with the searches of other
        calls in the same run (default: a new record for this call).
    :param windows: a living review's update: per source name, the (from, to) dates of the
        records the database added that the search is limited to (see
        :meth:`SearchSpec.for_update`); a source without a window is not searched.
    """
    specs = project_specs(list(project.protocol.sources), source, query)
    if windows is not None:
        specs = [s.for_update(*windows[s.source]) for s in specs if s.source in windows]
    credentials = load_credentials(project.root)
    if not credentials.email and any(s.kind in ("pubmed", "openalex") for s in specs):
        logger.warning(
            "no contact e-mail: NCBI and OpenAlex ask every client for one; set METASIFT_EMAIL "
            "or 'email' in ~/.config/metasift/config.toml."
        )
    settings = settings or SearchSettings.from_env()
    reachability = reachability or Reachability()
    results: list[SearchOutcome | SearchError] = []
    for spec in specs:
        try:
            results.append(
                run_search(
                    project.engine,
                    spec,
                    credentials=credentials,
                    settings=settings,
                    fresh=fresh,
                    on_progress=on_progress,
                    reachability=reachability,
                )
            )
        except SearchError as exc:
            results.append(exc)
    return results
