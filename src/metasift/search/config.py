"""Credentials and connection settings of the live sources.

API keys and the contact e-mail come from the environment or from a config file *outside* the
project (``$METASIFT_CONFIG``, else ``$XDG_CONFIG_HOME/metasift/config.toml``, else
``~/.config/metasift/config.toml``), so that they are never committed with review.toml and
never reach the store. The environment wins over the file::

    # ~/.config/metasift/config.toml
    email = "reviewer@example.org"     # or METASIFT_EMAIL
    ncbi_api_key = "..."               # or NCBI_API_KEY
    openalex_api_key = "..."           # or OPENALEX_API_KEY
    pubmed_url = "..."                 # or METASIFT_PUBMED_URL (also europepmc_, openalex_,
                                       # unpaywall_ and pmc_oa_ for full texts)

Credentials go only to the service's own host over https (:data:`SERVICE_HOST`), or to a URL
the user set themselves (environment or config file). A review.toml is shared and may come
from anyone: a ``base_url`` there that names another host gets the search, but not the
credentials (:func:`service_target`, :func:`credentials_for`). Refusing such a search instead
would break reviews that legitimately search through a mirror with nothing secret to send;
the query itself is in review.toml, so sending it leaks nothing that is not already shared.
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from metasift.errors import SearchError
from metasift.search.http import HttpClient, RetryPolicy
from metasift.search.reach import Reachability

log = logging.getLogger(__name__)

CONFIG_ENV = "METASIFT_CONFIG"
BACKOFF_ENV = "METASIFT_HTTP_BACKOFF"
TIMEOUT_ENV = "METASIFT_HTTP_TIMEOUT"
BASE_URL_ENV = {
    "pubmed": "METASIFT_PUBMED_URL",
    "europepmc": "METASIFT_EUROPEPMC_URL",
    "openalex": "METASIFT_OPENALEX_URL",
    # Full-text services (metasift.fulltext); Europe PMC serves both.
    "unpaywall": "METASIFT_UNPAYWALL_URL",
    "pmc_oa": "METASIFT_PMC_OA_URL",
}
DEFAULT_BASE_URL = {
    "pubmed": "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/",
    "europepmc": "https://www.ebi.ac.uk/europepmc/webservices/rest/",
    "openalex": "https://api.openalex.org/",
    "unpaywall": "https://api.unpaywall.org/",
    "pmc_oa": "https://www.ncbi.nlm.nih.gov/pmc/utils/oa/",
}
# The services' own hosts: the only ones credentials go to, over https, unless the user's own
# config names another URL.
SERVICE_HOST = {
    "pubmed": "eutils.ncbi.nlm.nih.gov",
    "europepmc": "www.ebi.ac.uk",
    "openalex": "api.openalex.org",
    "unpaywall": "api.unpaywall.org",
    "pmc_oa": "www.ncbi.nlm.nih.gov",
}
_KEYS = {
    "email": "METASIFT_EMAIL",
    "ncbi_api_key": "NCBI_API_KEY",
    "openalex_api_key": "OPENALEX_API_KEY",
}
# Service URLs the config file may set (the environment's are BASE_URL_ENV).
_URL_KEYS = {f"{kind}_url": kind for kind in BASE_URL_ENV}


@dataclass(frozen=True)
class Credentials:
    """Who is searching: sent to the services, never stored or shown (``repr`` hides them)."""

    email: str | None = field(default=None, repr=False)
    ncbi_api_key: str | None = field(default=None, repr=False)
    openalex_api_key: str | None = field(default=None, repr=False)
    tool: str = "metasift"

    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.email, self.ncbi_api_key, self.openalex_api_key) if s)

    def withheld(self) -> Credentials:
        """The same client with nothing personal: no e-mail, no keys."""
        return Credentials(tool=self.tool)


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV]).expanduser()
    base = environ.get("XDG_CONFIG_HOME") or str(Path(environ.get("HOME", "~")) / ".config")
    return Path(base).expanduser() / "metasift" / "config.toml"


def _user_config(project_root: Path | None, environ: Mapping[str, str]) -> dict[str, str]:
    """The settings of the user's config file (empty if there is none)."""
    path = config_path(environ)
    if not path.is_file():
        return {}
    if project_root is not None and path.resolve().is_relative_to(project_root.resolve()):
        raise SearchError(
            f"{path}: the credentials file is inside the project folder, where it would be "
            "shared with the review; move it to ~/.config/metasift/config.toml."
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SearchError(f"{path}: cannot read the credentials file ({exc}).") from exc
    unknown = sorted(set(data) - set(_KEYS) - set(_URL_KEYS))
    if unknown:
        raise SearchError(
            f"{path}: unknown setting(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted([*_KEYS, *_URL_KEYS]))}."
        )
    return {k: str(v) for k, v in data.items() if v}


def load_credentials(
    project_root: Path | None = None, environ: Mapping[str, str] | None = None
) -> Credentials:
    """Credentials from the environment, else from the user's config file.

    A config file inside the project folder is refused: the project is meant to be shared.
    """
    environ = os.environ if environ is None else environ
    values = {k: v for k, v in _user_config(project_root, environ).items() if k in _KEYS}
    for key, env in _KEYS.items():
        if environ.get(env):
            values[key] = environ[env]
    return Credentials(**values)


@dataclass(frozen=True)
class ServiceTarget:
    """Where a source's requests go, and whether the user's credentials may go with them.

    ``origin`` says who chose the URL: ``environment``, ``config`` (the user's file),
    ``protocol`` (review.toml) or ``default`` (the public service).
    """

    kind: str
    url: str
    origin: str

    @property
    def official(self) -> bool:
        """Whether the URL is the service's own host over https."""
        parsed = httpx.URL(self.url)
        return (
            parsed.scheme == "https"
            and parsed.host == SERVICE_HOST[self.kind]
            and parsed.port in (None, 443)
        )

    @property
    def sends_credentials(self) -> bool:
        return self.official or self.origin in ("environment", "config")


def service_target(
    kind: str,
    protocol_url: str = "",
    environ: Mapping[str, str] | None = None,
    project_root: Path | None = None,
) -> ServiceTarget:
    """The service URL of ``kind``: $METASIFT_<KIND>_URL, else the user's config file's
    ``<kind>_url``, else the protocol's ``base_url``, else the public service.

    Args:
        kind: ``pubmed``, ``europepmc``, ``openalex``, ``unpaywall`` or ``pmc_oa``.
        protocol_url: the ``base_url`` of the source in review.toml, if any.
        environ: the environment (default: the process's).
        project_root: the project folder; a config file inside it is refused.
    """
    environ = os.environ if environ is None else environ
    configured = _user_config(project_root, environ).get(f"{kind}_url")
    if environ.get(BASE_URL_ENV[kind]):
        url, origin = environ[BASE_URL_ENV[kind]], "environment"
    elif configured:
        url, origin = configured, "config"
    elif protocol_url:
        url, origin = protocol_url, "protocol"
    else:
        url, origin = DEFAULT_BASE_URL[kind], "default"
    return ServiceTarget(kind, url if url.endswith("/") else url + "/", origin)


def credentials_for(target: ServiceTarget, credentials: Credentials) -> Credentials:
    """``credentials`` if they may go to ``target``; else none, with a warning that says how
    to send them if the host is trusted."""
    if target.sends_credentials:
        return credentials
    if credentials.secrets():
        shown = httpx.URL(target.url).copy_with(username=None, password=None, query=None)
        log.warning(
            "review.toml sends the %s search to %s, not to the service's own host "
            "(https://%s): it runs without your API key and e-mail. If you trust that host, "
            "set %s or %s_url in ~/.config/metasift/config.toml.",
            target.kind,
            shown,
            SERVICE_HOST[target.kind],
            BASE_URL_ENV[target.kind],
            target.kind,
        )
    return credentials.withheld()


@dataclass(frozen=True)
class SearchSettings:
    """Knobs of the HTTP layer and paging; the defaults suit the public services.

    ``rate`` overrides the per-source polite rate (requests/s) and exists for tests against a
    local server; leave it unset for real services.
    """

    backoff_base: float = 1.0
    attempts: int = 8
    timeout: float = 60.0
    rate: float | None = None
    pubmed_batch: int = 500
    pubmed_fetch_limit: int = 10_000
    europepmc_page: int = 1000
    openalex_page: int = 200

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: object
    ) -> SearchSettings:
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for key, env in (("backoff_base", BACKOFF_ENV), ("timeout", TIMEOUT_ENV)):
            if environ.get(env):
                try:
                    values[key] = float(environ[env])
                except ValueError as exc:
                    raise SearchError(f"${env} must be a number of seconds.") from exc
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


def service_client(
    base_url: str,
    service: str,
    rate: float,
    credentials: Credentials,
    settings: SearchSettings,
    sleep: Callable[[float], None] | None = None,
    reachability: Reachability | None = None,
    guard: Callable[[httpx.URL], None] | None = None,
) -> HttpClient:
    """The HTTP client of one source: its polite rate unless the settings override it.

    ``reachability`` is the run's record of hosts that cannot be reached, shared by its clients;
    ``guard`` refuses URLs before they are requested (:mod:`metasift.search.guard`).
    """
    extra = {"sleep": sleep} if sleep else {}
    return HttpClient(
        base_url,
        service=service,
        rate=settings.rate or rate,
        retry=RetryPolicy(attempts=settings.attempts, backoff_base=settings.backoff_base),
        timeout=settings.timeout,
        secrets=credentials.secrets(),
        reachability=reachability,
        guard=guard,
        **extra,
    )
