"""Fixtures for the live-search tests: fake services on 127.0.0.1 and a fresh store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from metasift.search.config import Credentials, SearchSettings
from metasift.store import create_db_engine, migrate
from tests.search.fakes import Article, FakeServices, synthetic_corpus

KEY = "NCBIKEY-0123456789abcdef"
EMAIL = "private.reviewer@example.org"
OPENALEX_KEY = "OAKEY-fedcba9876543210"


@pytest.fixture
def services() -> Iterator[FakeServices]:
    server = FakeServices().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def fast() -> SearchSettings:
    """Short retry waits, timeouts and pages, so that fault tests take milliseconds."""
    return SearchSettings(
        backoff_base=0.01,
        timeout=2.0,
        rate=200.0,
        pubmed_batch=100,
        europepmc_page=100,
        openalex_page=50,
    )


@pytest.fixture
def creds() -> Credentials:
    return Credentials(email=EMAIL, ncbi_api_key=KEY, openalex_api_key=OPENALEX_KEY)


@pytest.fixture
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No credentials or service URLs from the machine running the tests."""
    for name in (
        "NCBI_API_KEY",
        "METASIFT_EMAIL",
        "OPENALEX_API_KEY",
        "METASIFT_CONFIG",
        "METASIFT_PUBMED_URL",
        "METASIFT_EUROPEPMC_URL",
        "METASIFT_OPENALEX_URL",
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


@pytest.fixture(scope="session")
def corpus_12k() -> list[Article]:
    return synthetic_corpus(12_000)
