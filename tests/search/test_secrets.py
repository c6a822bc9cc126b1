"""Credentials go only to the services' own hosts, or to hosts the user named themselves; a
shared review.toml cannot steer them elsewhere, nor can a redirect."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from typer.testing import CliRunner

from metasift.cli import app
from metasift.search import SearchSpec, run_search
from metasift.search.config import service_target
from tests.search.conftest import EMAIL, KEY, OPENALEX_KEY
from tests.search.fakes import FakeServices, Fault, synthetic_corpus
from tests.search.test_openalex import fixture_works

QUERY = "adipose AND psoriasis"
SECRETS = {KEY, EMAIL, OPENALEX_KEY}


def _carries_secret(params: dict[str, str]) -> bool:
    return bool(SECRETS & set(params.values())) or bool(
        {"api_key", "email", "mailto"} & set(params)
    )


@pytest.fixture
def elsewhere() -> Iterator[FakeServices]:
    """Another origin (another port) that records what reaches it."""
    server = FakeServices().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("kind", "url", "sends"),
    [
        ("pubmed", "", True),
        ("pubmed", "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/", True),
        ("pubmed", "https://eutils.ncbi.nlm.nih.gov:443/entrez/eutils", True),
        ("pubmed", "http://eutils.ncbi.nlm.nih.gov/entrez/eutils/", False),
        ("pubmed", "https://eutils.ncbi.nlm.nih.gov:8443/entrez/eutils/", False),
        ("pubmed", "https://eutils.ncbi.nlm.nih.gov.attacker.example/", False),
        ("pubmed", "https://api.openalex.org/", False),
        ("openalex", "https://api.openalex.org/", True),
        ("europepmc", "https://www.ebi.ac.uk/europepmc/webservices/rest/", True),
        ("openalex", "http://127.0.0.1:9/", False),
    ],
)
def test_only_the_services_own_https_host_gets_credentials_from_review_toml(
    isolated_env, kind, url, sends
):
    assert service_target(kind, url).sends_credentials is sends


def test_the_users_own_config_may_name_another_host(isolated_env, monkeypatch):
    target = service_target("pubmed", "http://attacker.example/")
    assert (target.origin, target.sends_credentials) == ("protocol", False)
    config = isolated_env / ".config" / "metasift" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('pubmed_url = "http://127.0.0.1:8080/eutils"\n', encoding="utf-8")
    target = service_target("pubmed", "http://attacker.example/")
    assert (target.url, target.origin, target.sends_credentials) == (
        "http://127.0.0.1:8080/eutils/",
        "config",
        True,
    )
    monkeypatch.setenv("METASIFT_PUBMED_URL", "http://127.0.0.1:9000/")
    target = service_target("pubmed", "http://attacker.example/")
    assert (target.url, target.origin) == ("http://127.0.0.1:9000/", "environment")


def test_a_review_toml_pointing_elsewhere_gets_the_search_but_no_secrets(
    isolated_env, elsewhere, tmp_path, monkeypatch
):
    elsewhere.pubmed.corpora[QUERY] = synthetic_corpus(30)
    monkeypatch.setenv("NCBI_API_KEY", KEY)
    monkeypatch.setenv("METASIFT_EMAIL", EMAIL)
    monkeypatch.setenv("METASIFT_HTTP_BACKOFF", "0.01")
    project = tmp_path / "review"
    project.mkdir()
    (project / "review.toml").write_text(
        '[review]\ntitle = "t"\n[[sources]]\nname = "PubMed"\nkind = "pubmed"\n'
        f'query = "{QUERY}"\nbase_url = "{elsewhere.url("pubmed")}"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["search", "--project", str(project)])
    assert result.exit_code == 0, result.output
    assert "PubMed: reported 30, retrieved 30, imported 30 new" in result.output
    said = " ".join(result.output.split())  # the console wraps the warning
    assert "runs without your API key and e-mail" in said and "METASIFT_PUBMED_URL" in said
    sent = elsewhere.pubmed.requests
    assert sent and all(r.params["term"] == QUERY for r in sent if r.path == "esearch.fcgi")
    assert not any(_carries_secret(r.params) for r in sent)


def test_a_cross_origin_307_does_not_repost_the_key(
    services, elsewhere, engine, creds, fast, monkeypatch, caplog
):
    monkeypatch.setenv("METASIFT_PUBMED_URL", services.url("pubmed"))
    services.pubmed.corpora[QUERY] = elsewhere.pubmed.corpora[QUERY] = synthetic_corpus(30)
    moved = Fault("status", 307, headers={"Location": elsewhere.url("pubmed") + "esearch.fcgi"})
    services.pubmed.fail(lambda path, params: path == "esearch.fcgi", moved)
    caplog.set_level(logging.INFO)
    spec = SearchSpec(source="PubMed", kind="pubmed", query=QUERY)
    outcome = run_search(engine, spec, credentials=creds, settings=fast)
    assert outcome.retrieved == 30
    # The key and e-mail went home, the search (and only the search) went to the other origin.
    assert all(r.params["api_key"] == KEY for r in services.pubmed.requests)
    (redirected,) = elsewhere.pubmed.requests
    assert redirected.method == "POST" and redirected.params["term"] == QUERY
    assert not _carries_secret(redirected.params)
    assert "following it without credentials" in caplog.text
    assert not any(secret in caplog.text for secret in SECRETS)


def test_a_same_origin_redirect_keeps_the_key(services, engine, creds, fast, monkeypatch):
    monkeypatch.setenv("METASIFT_PUBMED_URL", services.url("pubmed"))
    services.pubmed.corpora[QUERY] = synthetic_corpus(10)
    moved = Fault("status", 308, headers={"Location": services.url("pubmed") + "esearch.fcgi"})
    services.pubmed.fail(lambda path, params: path == "esearch.fcgi", moved)
    spec = SearchSpec(source="PubMed", kind="pubmed", query=QUERY)
    assert run_search(engine, spec, credentials=creds, settings=fast).retrieved == 10
    searches = [r for r in services.pubmed.requests if r.path == "esearch.fcgi"]
    assert len(searches) >= 2 and all(r.params["api_key"] == KEY for r in searches)


def test_a_redirect_echoing_the_key_to_another_host_is_stripped(
    services, elsewhere, engine, creds, fast, monkeypatch
):
    monkeypatch.setenv("METASIFT_OPENALEX_URL", services.url("openalex"))
    services.openalex.corpora[QUERY] = elsewhere.openalex.corpora[QUERY] = fixture_works()
    echoed = urlencode({"search": QUERY, "api_key": OPENALEX_KEY, "mailto": EMAIL, "x": KEY})
    moved = Fault(
        "status", 302, headers={"Location": elsewhere.url("openalex") + "works?" + echoed}
    )
    services.openalex.fail(lambda path, params: True, moved)
    spec = SearchSpec(source="OpenAlex", kind="openalex", query=QUERY)
    run_search(engine, spec, credentials=creds, settings=fast)
    (redirected,) = elsewhere.openalex.requests
    assert redirected.params == {"search": QUERY}
