"""Shared fixtures: paths to real data, and a real PostgreSQL server on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Property tests assert behaviour, never speed: on a loaded machine Hypothesis' timing checks
# (slow input generation, per-example deadline) would fail tests whose answers are right.
settings.register_profile("metasift", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("metasift")

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
SHARED_DATA = Path(os.environ.get("METASIFT_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(autouse=True, scope="session")
def _cache_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Caches of the tests go to a temporary folder, not the user's cache folder."""
    before = os.environ.get("METASIFT_CACHE_DIR")
    os.environ["METASIFT_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if before is None:
        os.environ.pop("METASIFT_CACHE_DIR", None)
    else:
        os.environ["METASIFT_CACHE_DIR"] = before


@pytest.fixture
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No credentials, service URLs or config file from the machine running the tests: HOME
    and XDG_CONFIG_HOME point into the test's own folder."""
    for name in (
        "NCBI_API_KEY",
        "METASIFT_EMAIL",
        "OPENALEX_API_KEY",
        "METASIFT_CONFIG",
        "METASIFT_PUBMED_URL",
        "METASIFT_EUROPEPMC_URL",
        "METASIFT_OPENALEX_URL",
        "METASIFT_PMC_OA_URL",
        "METASIFT_UNPAYWALL_URL",
        "METASIFT_HTTP_BACKOFF",
        "METASIFT_HTTP_TIMEOUT",
        "METASIFT_DATABASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    return home


def shared(*parts: str) -> Path:
    """A path under ../shared/data; skips the test with the reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path} (set METASIFT_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """Start a throw-away PostgreSQL on 127.0.0.1; yields a server URL without database."""
    from metasift.store.pgserver import pg_bindir, throwaway_server

    if pg_bindir() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL server binaries are missing; .ci/run must install postgresql")
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    with throwaway_server() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A fresh, empty database on the test server for one test."""
    from metasift.store.pgserver import create_database

    return create_database(postgres_server, f"t{int(time.time() * 1e6) % 10**12}")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on SQLite and on a real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    return request.getfixturevalue("postgres_url")


ARTIFACTS = ROOT / "test-artifacts"


def _chromium() -> str | None:
    for candidate in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(candidate)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (no browser download)."""
    executable = _chromium()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing; .ci/run must install the chromium package")
        pytest.skip("Chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def artifacts() -> Path:
    """Where tests keep screenshots for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
