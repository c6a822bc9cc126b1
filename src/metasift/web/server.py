"""Running the app: open the projects, build their screening features, start uvicorn."""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

from metasift.errors import MetasiftError
from metasift.project import Project

log = logging.getLogger("metasift.web")


def open_projects(roots: list[Path]) -> list[Project]:
    projects = [Project.open(root) for root in roots]
    for project in projects:
        from metasift.web.users import list_users

        if not list_users(project.engine):
            log.warning(
                "%s has no users: add one with 'metasift user add NAME --role owner --project %s'",
                project.root,
                project.root,
            )
    return projects


def warm_up(app) -> list[threading.Thread]:
    """Build each project's screening features in the background, so that the first
    reviewer does not wait for them."""

    def build(served) -> None:
        from metasift.screening.features import feature_progress

        def report(step: str, done: int, total: int) -> None:
            log.info("%s: %s: %d of %d", served.slug, step, done, total)

        try:
            with feature_progress(report):
                served.screening().corpus()
        except MetasiftError as exc:
            log.info("%s: screening not ready: %s", served.slug, exc)
        except Exception:
            log.exception("%s: building the screening features failed", served.slug)

    threads = []
    for served in app.state.served.projects.values():
        thread = threading.Thread(target=build, args=(served,), daemon=True)
        thread.start()
        threads.append(thread)
    return threads


def serve(
    roots: list[Path],
    host: str = "127.0.0.1",
    port: int = 8000,
    lease_seconds: float | None = None,
    allowed_hosts: list[str] | None = None,
) -> None:
    """Serve ``roots`` on ``host``:``port`` until interrupted.

    Args:
        roots: the project folders.
        host: the address to listen on.
        port: the port to listen on.
        lease_seconds: how long a record shown but not decided stays with its reviewer.
        allowed_hosts: the names the server answers to, besides 127.0.0.1, localhost and
            ``host``; requests naming another host are refused.
    """
    import uvicorn

    from metasift.web.app import create_app

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Request threads hand the interpreter to each other at every database call; with the
    # default 5 ms switch interval a thread may wait that long each time, several calls a
    # request. Measured with benchmarks/web_load.py (20 reviewers, no pause): 0.5 ms gives
    # about 8% more decisions/s and a lower p95.
    sys.setswitchinterval(0.0005)
    options: dict = {} if lease_seconds is None else {"lease_seconds": lease_seconds}
    hosts = dict.fromkeys(["127.0.0.1", "localhost", host, *(allowed_hosts or [])])
    options["allowed_hosts"] = list(hosts)
    app = create_app(open_projects(roots), **options)
    warm_up(app)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
