"""Live searches of PubMed, Europe PMC and OpenAlex, logged for PRISMA-S.

Entry points: :func:`search_project` runs the protocol's sources (or an ad hoc query) and
stores each run's records as an import; :func:`run_search` runs one :class:`SearchSpec`
against a store (resumable, one import per finished run); :func:`search_log` and
:func:`render_log` give the search log (Markdown, CSV or JSON) for the report.
Names load on first use, so importing the package does not import the HTTP client.
"""

from metasift.lazy import attach

__all__, __getattr__, __dir__ = attach(
    __name__,
    base=["SearchSpec"],
    reach=["Reachability"],
    config=["Credentials", "SearchSettings", "load_credentials"],
    log=["LogEntry", "last_searched", "render_log", "search_log"],
    runner=["SearchOutcome", "new_record_ids", "run_search"],
    # SearchError is defined in metasift.errors; the stage module re-exports it.
    stage=["SearchError", "SearchUnreachableError", "search_project"],
)
