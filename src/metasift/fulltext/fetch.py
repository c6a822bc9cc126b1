"""Fetching the open-access full texts of records, and attaching a file by hand.

For each record the services are asked in turn, each only if the ones before it offered no
copy that could be stored: Europe PMC (the PMC JATS XML first: structured text is what
extraction reads best, then the PDFs it lists), the PMC OA service (PDF), Unpaywall (the best
open-access PDF by DOI). The first copy that downloads whole and passes the checks of
:mod:`metasift.fulltext.files` is stored; every look-up and download is recorded as a
:class:`~metasift.fulltext.store.Try`, so the records without a full text are listed with what
each source said.

A fetch is resumable: records with a stored full text are skipped, so are those every source
answered without a copy (unless ``again``), and a download cut short resumes where it stopped.
Which records to fetch is not decided here: the caller (workflow) passes them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from metasift.errors import AddressRefusedError, FileRefusedError, SearchError
from metasift.fulltext.download import Incomplete, download
from metasift.fulltext.files import FileStore, Limits, check_file, copy_limited
from metasift.fulltext.sources import (
    EUROPEPMC,
    PMC_OA,
    UNPAYWALL,
    Candidate,
    lookup_europepmc,
    lookup_pmc_oa,
    lookup_unpaywall,
)
from metasift.fulltext.store import (
    LastFetch,
    StoredText,
    Try,
    last_fetches,
    next_fetch_run,
    record_text,
    record_tries,
    stored_texts,
)
from metasift.records.model import Record
from metasift.search.config import (
    Credentials,
    SearchSettings,
    credentials_for,
    load_credentials,
    service_client,
    service_target,
)
from metasift.search.guard import AddressGuard
from metasift.search.http import HttpClient
from metasift.search.reach import Reachability

log = logging.getLogger(__name__)

# Polite rates (requests/s): Europe PMC and NCBI as for searching; Unpaywall asks for at most
# 100,000 calls a day; downloads from publishers' servers go slowly, one client for them all.
RATES = {EUROPEPMC: 5.0, PMC_OA: 3.0, UNPAYWALL: 5.0, "download": 2.0}
RESUME_HINT = "Run 'metasift fulltext fetch' again later: it resumes where it stopped."

# (done, total, record id, outcome of that record)
FetchProgress = Callable[[int, int, int, str], None]


@dataclass
class Services:
    """The HTTP clients of a fetch: one per service, and one for downloads from elsewhere.

    Only the Unpaywall client may carry the e-mail, and only when
    :func:`~metasift.search.config.credentials_for` lets it; the download client carries none.
    No client requests an internal address (loopback, private, link-local) that a service's
    answer or redirect names, unless the user set a base URL on that host
    (:class:`~metasift.search.guard.AddressGuard`).
    """

    europepmc: HttpClient
    pmc_oa: HttpClient
    unpaywall: HttpClient
    web: HttpClient
    email: str | None = None

    def close(self) -> None:
        for client in (self.europepmc, self.pmc_oa, self.unpaywall, self.web):
            client.close()

    @classmethod
    def from_config(
        cls,
        root: Path | None = None,
        *,
        settings: SearchSettings | None = None,
        credentials: Credentials | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Services:
        """Clients for the services at the URLs of $METASIFT_*_URL, the user's config file,
        or the public services.

        Args:
            root: the project folder (a credentials file inside it is refused).
            settings: HTTP settings (default: from the environment).
            credentials: who is fetching (default: the environment and config file).
            environ: the environment (default: the process's).
        """
        environ = os.environ if environ is None else environ
        settings = settings or SearchSettings.from_env(environ)
        credentials = credentials or load_credentials(root, environ)
        reach = Reachability()
        clients = {}
        email = None
        kinds = ((EUROPEPMC, "Europe PMC"), (PMC_OA, "PMC OA"), (UNPAYWALL, "Unpaywall"))
        targets = {
            kind: service_target(kind, environ=environ, project_root=root) for kind, _ in kinds
        }
        # Links the services offer reach internal addresses only on hosts the user set.
        guard = AddressGuard.for_base_urls(
            t.url for t in targets.values() if t.origin in ("environment", "config")
        )
        for kind, name in kinds:
            target = targets[kind]
            # Only Unpaywall asks for the e-mail; the others get no credentials at all.
            allowed = credentials_for(target, credentials) if kind == UNPAYWALL else Credentials()
            email = allowed.email if kind == UNPAYWALL else email
            clients[kind] = service_client(
                target.url, name, RATES[kind], allowed, settings, reachability=reach, guard=guard
            )
        web = service_client(
            "https://localhost/",
            "the full text's server",
            RATES["download"],
            Credentials(),
            settings,
            reachability=reach,
            guard=guard,
        )
        for client in (*clients.values(), web):
            client.resume_hint = RESUME_HINT
        return cls(clients[EUROPEPMC], clients[PMC_OA], clients[UNPAYWALL], web, email)


@dataclass(frozen=True)
class RecordFetch:
    """What one fetch did for one record: ``stored`` (with the text), ``not_found``,
    ``failed`` (try again later) or ``skipped`` (stored or not found before)."""

    record_id: int
    outcome: str
    text: StoredText | None = None
    tries: tuple[Try, ...] = ()

    def summary(self) -> str:
        return LastFetch(self.record_id, 0, self.tries).summary()


@dataclass
class FetchReport:
    """The outcome of a fetch, record by record, with counts for people."""

    fetch_run: int
    records: list[RecordFetch] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(r.outcome == outcome for r in self.records)

    def __str__(self) -> str:
        return (
            f"fetch {self.fetch_run}: {len(self.records)} record(s); stored "
            f"{self.count('stored')}, not found {self.count('not_found')}, failed "
            f"{self.count('failed')} (fetch again to retry), skipped {self.count('skipped')}"
        )


def fetch_texts(
    engine: Engine,
    root: Path,
    targets: Sequence[tuple[int, Record]],
    *,
    actor: str,
    again: bool = False,
    services: Services | None = None,
    limits: Limits | None = None,
    on_progress: FetchProgress | None = None,
) -> FetchReport:
    """Find, download, check and store an open-access full text for each of ``targets``.

    Args:
        engine: the project store.
        root: the project folder (full texts go to ``root/fulltexts``).
        targets: ``(record id, Record)`` of the records to fetch (chosen by the caller).
        actor: who fetches (recorded with each stored text).
        again: ask again about records that every source answered without a copy.
        services: the HTTP clients (default: :meth:`Services.from_config`).
        limits: size and PDF limits (default :class:`~metasift.fulltext.files.Limits`).
        on_progress: called after each record with (done, total, record id, outcome).
    """
    store = FileStore(root)
    limits = limits or Limits()
    own = services is None
    services = services or Services.from_config(root)
    if not services.email:
        log.warning(
            "no contact e-mail: Unpaywall is not asked (set METASIFT_EMAIL or 'email' in "
            "~/.config/metasift/config.toml); Europe PMC and PMC OA are."
        )
    run = next_fetch_run(engine)
    report = FetchReport(run)
    have = stored_texts(engine, [rid for rid, _ in targets])
    before = last_fetches(engine)
    try:
        for done, (record_id, record) in enumerate(targets, start=1):
            last = before.get(record_id)
            if record_id in have or (not again and last and last.outcome == "not_found"):
                result = RecordFetch(record_id, "skipped", (have.get(record_id) or [None])[0])
            else:
                result = _fetch_one(engine, store, services, limits, run, record_id, record, actor)
            report.records.append(result)
            if on_progress:
                on_progress(done, len(targets), record_id, result.outcome)
    finally:
        if own:
            services.close()
    return report


def _fetch_one(
    engine: Engine,
    store: FileStore,
    services: Services,
    limits: Limits,
    run: int,
    record_id: int,
    record: Record,
    actor: str,
) -> RecordFetch:
    tries: list[Try] = []
    tried: set[str] = set()
    pmcid = record.pmcid
    for source in (EUROPEPMC, PMC_OA, UNPAYWALL):
        if source == EUROPEPMC:
            found = lookup_europepmc(services.europepmc, record)
            pmcid = found.pmcid or pmcid  # PMC OA is asked by PMCID, which Europe PMC knows
        elif source == PMC_OA:
            found = lookup_pmc_oa(services.pmc_oa, pmcid)
        else:
            found = lookup_unpaywall(services.unpaywall, record.doi, services.email)
        if not found.candidates:
            outcome = "failed" if found.failed else "not_found"
            tries.append(Try(found.source, outcome, found.detail, found.url))
        for candidate in found.candidates:
            if candidate.url in tried:
                continue
            tried.add(candidate.url)
            text, attempt = _try_copy(engine, store, services, limits, record_id, candidate, actor)
            tries.append(attempt)
            if text is not None:
                record_tries(engine, run, record_id, tries, datetime.now(UTC))
                return RecordFetch(record_id, "stored", text, tuple(tries))
    record_tries(engine, run, record_id, tries, datetime.now(UTC))
    return RecordFetch(
        record_id, LastFetch(record_id, run, tuple(tries)).outcome, None, tuple(tries)
    )


def _try_copy(
    engine: Engine,
    store: FileStore,
    services: Services,
    limits: Limits,
    record_id: int,
    candidate: Candidate,
    actor: str,
) -> tuple[StoredText | None, Try]:
    http = services.europepmc if candidate.own else services.web
    shown = http.shown_url(candidate.url)
    try:
        got = download(http, candidate, store, limits)
    except (FileRefusedError, AddressRefusedError) as exc:
        return None, Try(candidate.source, "refused", exc.reason, shown)
    except Incomplete as exc:
        return None, Try(candidate.source, "failed", str(exc), shown)
    except SearchError as exc:
        status = getattr(exc, "status", None)
        # A 404 or 410 for an offered copy: the service has none (after all).
        outcome = "not_found" if status in (404, 410) else "failed"
        return None, Try(candidate.source, outcome, str(exc), shown)
    store.put(got.path, got.checked)
    got.path.unlink(missing_ok=True)
    text = record_text(
        engine,
        record_id,
        got.checked,
        source=candidate.source,
        url=shown,
        licence=candidate.licence,
        actor=actor,
        at=datetime.now(UTC),
    )
    what = "JATS XML" if got.checked.media_type.endswith("xml") else "PDF"
    return text, Try(candidate.source, "stored", f"{what}, {got.checked.size:,} bytes", shown)


def attach_text(
    engine: Engine,
    root: Path,
    record_id: int,
    path: Path,
    *,
    actor: str,
    limits: Limits | None = None,
) -> StoredText:
    """Store the file at ``path`` as a full text of ``record_id``: checked, named by its hash.

    The file is read once, into a private copy in the store (at most the size limit), and that
    copy is checked and stored: nothing of ``path`` but its bytes reaches the project folder.

    Args:
        engine: the project store.
        root: the project folder.
        record_id: whose report the file is (the caller checks that it is sought).
        path: the file to attach.
        actor: who attaches it.
        limits: size and PDF limits (default :class:`~metasift.fulltext.files.Limits`).
    """
    limits = limits or Limits()
    store = FileStore(root)
    shown = str(path)
    if not path.is_file():
        raise FileRefusedError(shown, "no such file")
    part = store.partial(f"attach-{os.getpid()}-{record_id}")
    try:
        copy_limited(path, part, limits.max_bytes, shown)
        checked = check_file(part, limits, shown=shown)
        store.put(part, checked)
    finally:
        part.unlink(missing_ok=True)
    return record_text(
        engine,
        record_id,
        checked,
        source="upload",
        url=None,
        licence=None,
        actor=actor,
        at=datetime.now(UTC),
    )
