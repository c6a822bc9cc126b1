"""Credentials and connection settings of the live sources.

API keys and the contact e-mail come from the environment or from a config file *outside* the
project (``$METASIFT_CONFIG``, else ``$XDG_CONFIG_HOME/metasift/config.toml``, else
``~/.config/metasift/config.toml``), so that they are never committed with review.toml and
never reach the store. The environment wins over the file::

    # ~/.config/metasift/config.toml
    email = "reviewer@example.org"     # or METASIFT_EMAIL
    ncbi_api_key = "..."               # or NCBI_API_KEY
    openalex_api_key = "..."           # or OPENALEX_API_KEY
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from metasift.errors import SearchError
from metasift.search.http import HttpClient, RetryPolicy
from metasift.search.reach import Reachability

CONFIG_ENV = "METASIFT_CONFIG"
BACKOFF_ENV = "METASIFT_HTTP_BACKOFF"
TIMEOUT_ENV = "METASIFT_HTTP_TIMEOUT"
BASE_URL_ENV = {
    "pubmed": "METASIFT_PUBMED_URL",
    "europepmc": "METASIFT_EUROPEPMC_URL",
    "openalex": "METASIFT_OPENALEX_URL",
}
DEFAULT_BASE_URL = {
    "pubmed": "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/",
    "europepmc": "https://www.ebi.ac.uk/europepmc/webservices/rest/",
    "openalex": "https://api.openalex.org/",
}
_KEYS = {
    "email": "METASIFT_EMAIL",
    "ncbi_api_key": "NCBI_API_KEY",
    "openalex_api_key": "OPENALEX_API_KEY",
}


@dataclass(frozen=True)
class Credentials:
    """Who is searching: sent to the services, never stored or shown (``repr`` hides them)."""

    email: str | None = field(default=None, repr=False)
    ncbi_api_key: str | None = field(default=None, repr=False)
    openalex_api_key: str | None = field(default=None, repr=False)
    tool: str = "metasift"

    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.email, self.ncbi_api_key, self.openalex_api_key) if s)


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV]).expanduser()
    base = environ.get("XDG_CONFIG_HOME") or str(Path(environ.get("HOME", "~")) / ".config")
    return Path(base).expanduser() / "metasift" / "config.toml"


def load_credentials(
    project_root: Path | None = None, environ: Mapping[str, str] | None = None
) -> Credentials:
    """Credentials from the environment, else from the user's config file.

    A config file inside the project folder is refused: the project is meant to be shared.
    """
    environ = os.environ if environ is None else environ
    path = config_path(environ)
    values: dict[str, str] = {}
    if path.is_file():
        if project_root is not None and path.resolve().is_relative_to(project_root.resolve()):
            raise SearchError(
                f"{path}: the credentials file is inside the project folder, where it would be "
                "shared with the review; move it to ~/.config/metasift/config.toml."
            )
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SearchError(f"{path}: cannot read the credentials file ({exc}).") from exc
        unknown = sorted(set(data) - set(_KEYS))
        if unknown:
            raise SearchError(
                f"{path}: unknown setting(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(_KEYS))}."
            )
        values = {k: str(v) for k, v in data.items() if v}
    for key, env in _KEYS.items():
        if environ.get(env):
            values[key] = environ[env]
    return Credentials(**values)


def base_url(kind: str, protocol_url: str = "", environ: Mapping[str, str] | None = None) -> str:
    """The service URL: $METASIFT_<KIND>_URL, else the protocol's, else the public service."""
    environ = os.environ if environ is None else environ
    url = environ.get(BASE_URL_ENV[kind]) or protocol_url or DEFAULT_BASE_URL[kind]
    return url if url.endswith("/") else url + "/"


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
) -> HttpClient:
    """The HTTP client of one source: its polite rate unless the settings override it.

    ``reachability`` is the run's record of hosts that cannot be reached, shared by its clients.
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
        **extra,
    )
