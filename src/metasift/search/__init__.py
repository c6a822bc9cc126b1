"""Live searches of PubMed, Europe PMC and OpenAlex, logged for PRISMA-S.

The stage function :func:`search_project` runs the protocol's sources (or an ad hoc query)
and stores each run's records as an import; :func:`metasift.search.log.render_log` exports
the search log.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from metasift.errors import SearchError, SearchUnreachableError
from metasift.search.base import SearchSpec
from metasift.search.config import Credentials, SearchSettings, load_credentials
from metasift.search.reach import Reachability
from metasift.search.runner import (
    Progress,
    SearchOutcome,
    new_record_ids,
    project_specs,
    run_search,
)

if TYPE_CHECKING:
    from metasift.project import Project

logger = logging.getLogger(__name__)


def search_project(
    project: Project,
    *,
    source: str | None = None,
    query: str | None = None,
    fresh: bool = False,
    settings: SearchSettings | None = None,
    on_progress: Progress | None = None,
    reachability: Reachability | None = None,
) -> list[SearchOutcome | SearchError]:
    """Run every selected search of ``project``; one outcome or error per search, in order.

    A failing search does not stop the others; it is stored as failed and resumes on the
    next run. A host found unreachable fails the later searches on it at once, with the same
    diagnosis (a :class:`~metasift.errors.SearchUnreachableError`); pass ``reachability`` to
    share that knowledge with the searches of other calls in the same run.
    """
    specs = project_specs(list(project.protocol.sources), source, query)
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


__all__ = [
    "Credentials",
    "Reachability",
    "SearchError",
    "SearchOutcome",
    "SearchSettings",
    "SearchSpec",
    "SearchUnreachableError",
    "load_credentials",
    "new_record_ids",
    "run_search",
    "search_project",
]
