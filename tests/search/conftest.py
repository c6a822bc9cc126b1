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


@pytest.fixture(scope="session")
def corpus_12k() -> list[Article]:
    return synthetic_corpus(12_000)
