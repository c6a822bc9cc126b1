"""`metasift search` and `metasift searchlog` end to end; credentials never reach any output."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from metasift.cli import app
from metasift.search.config import load_credentials
from metasift.search.http import SearchError
from tests.search.conftest import EMAIL, KEY, OPENALEX_KEY
from tests.search.fakes import Fault, europepmc_result

EPMC_QUERY = '"adipose-derived" AND (psoriasis OR acne)'
PUBMED_QUERY = '"adipose"[tiab] AND psoriasis[mh]'
SECRETS = (KEY, EMAIL, OPENALEX_KEY, quote(EMAIL), quote(EMAIL, safe=""))


def make_project(root: Path, *, pubmed: bool = False) -> Path:
    root.mkdir()
    text = (
        '[review]\ntitle = "ADMSC in skin disease"\n'
        f'[[sources]]\nname = "Europe PMC"\nkind = "europepmc"\nquery = \'{EPMC_QUERY}\'\n'
        'date_from = "2010"\n'
    )
    if pubmed:
        text += f'[[sources]]\nname = "PubMed"\nkind = "pubmed"\nquery = \'{PUBMED_QUERY}\'\n'
    (root / "review.toml").write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def cli_env(isolated_env, services, monkeypatch):
    for name, value in services.environ().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("METASIFT_HTTP_BACKOFF", "0.01")
    monkeypatch.setenv("NCBI_API_KEY", KEY)
    monkeypatch.setenv("METASIFT_EMAIL", EMAIL)
    monkeypatch.setenv("OPENALEX_API_KEY", OPENALEX_KEY)
    return services


def store_dump(project: Path) -> str:
    engine = sa.create_engine(f"sqlite:///{project / 'metasift.sqlite'}")
    out = []
    with engine.connect() as conn:
        for table in sa.inspect(engine).get_table_names():
            out += [repr(tuple(row)) for row in conn.execute(sa.text(f'SELECT * FROM "{table}"'))]
    engine.dispose()
    return "\n".join(out)


def assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"a credential leaked into {where}"


def test_search_command_imports_logs_and_keeps_credentials_private(cli_env, tmp_path, caplog):
    services = cli_env
    composed = f"({EPMC_QUERY}) AND (FIRST_PDATE:[2010-01-01 TO 3000-12-31])"
    services.europepmc.corpora[composed] = [europepmc_result(i) for i in range(12)]
    services.europepmc.extra_hits = 1
    project = make_project(tmp_path / "review")
    runner = CliRunner()
    caplog.set_level(logging.DEBUG)
    result = runner.invoke(app, ["search", "--project", str(project)])
    assert result.exit_code == 0, result.output
    assert "Europe PMC: reported 13, retrieved 12, imported 12 new" in result.output
    assert "WARNING:" in result.output and "reported 13 records but 12 were retrieved" in (
        result.output
    )
    # An ad hoc query is logged the same way.
    services.europepmc.extra_hits = 0
    services.europepmc.corpora["(ad hoc) AND (FIRST_PDATE:[2010-01-01 TO 3000-12-31])"] = []
    adhoc = runner.invoke(
        app, ["search", "-p", str(project), "--source", "Europe PMC", "--query", "ad hoc"]
    )
    assert adhoc.exit_code == 0, adhoc.output
    logs = {
        fmt: runner.invoke(app, ["searchlog", "-p", str(project), "--format", fmt])
        for fmt in ("md", "csv", "json")
    }
    assert all(r.exit_code == 0 for r in logs.values())
    entries = json.loads(logs["json"].output)
    assert [(e["query"], e["reported"], e["retrieved"], e["ad_hoc"]) for e in entries] == [
        (composed, 13, 12, False),
        ("(ad hoc) AND (FIRST_PDATE:[2010-01-01 TO 3000-12-31])", 0, 0, True),
    ]
    # The services did receive the credentials ...
    assert all(r.params.get("email") is None for r in services.europepmc.requests)
    # ... and nothing metasift wrote or said holds them.
    for name, text in [
        ("search output", result.output),
        ("ad hoc output", adhoc.output),
        ("logs", caplog.text),
        ("store", store_dump(project)),
    ] + [(f"searchlog {k}", r.output) for k, r in logs.items()]:
        assert_no_secret(text, name)


def test_errors_and_retry_logs_never_show_credentials(cli_env, tmp_path, caplog):
    services = cli_env
    # PubMed answers 400 and echoes the key in its body, as NCBI's error answers do.
    echo = json.dumps({"error": "API key invalid", "api-key": KEY, "email": EMAIL}).encode()
    services.pubmed.fail(lambda p, q: True, Fault("status", 400, body=echo))
    # Europe PMC keeps failing with 503 until metasift gives up.
    services.europepmc.fail(lambda p, q: True, *[Fault("status", 503)] * 8)
    project = make_project(tmp_path / "review", pubmed=True)
    caplog.set_level(logging.DEBUG)
    result = CliRunner().invoke(app, ["search", "--project", str(project)])
    assert result.exit_code == 1
    assert "gave up after 8 attempts" in result.output
    assert "HTTP 400" in result.output and "API key invalid" in result.output
    assert "api-key" in result.output and "***" in result.output
    assert any(r.params.get("api_key") == KEY for r in services.pubmed.requests)
    for name, text in [
        ("output", result.output),
        ("logs", caplog.text),
        ("store", store_dump(project)),
    ]:
        assert_no_secret(text, name)


def test_openalex_urls_are_masked_in_httpx_logs_and_errors(cli_env, tmp_path, caplog):
    services = cli_env
    services.openalex.fail(lambda p, q: True, *[Fault("status", 502)] * 8)
    project = tmp_path / "review"
    project.mkdir()
    (project / "review.toml").write_text(
        '[review]\ntitle = "t"\n[[sources]]\nname = "OpenAlex"\nkind = "openalex"\nquery = "x"\n',
        encoding="utf-8",
    )
    caplog.set_level(logging.DEBUG)
    result = CliRunner().invoke(app, ["search", "--project", str(project)])
    assert result.exit_code == 1
    assert "mailto=%2A%2A%2A" in result.output or "mailto=***" in result.output
    assert any("HTTP Request: GET" in r.getMessage() for r in caplog.records)
    assert services.openalex.requests[0].params["mailto"] == EMAIL
    for name, text in [
        ("output", result.output),
        ("logs", caplog.text),
        ("messages", "\n".join(r.getMessage() for r in caplog.records)),
        ("store", store_dump(project)),
    ]:
        assert_no_secret(text, name)


def test_credentials_come_from_environment_or_a_config_file_outside_the_project(
    isolated_env, tmp_path, monkeypatch
):
    config = isolated_env / ".config" / "metasift" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'email = "{EMAIL}"\nncbi_api_key = "from-file"\n', encoding="utf-8")
    creds = load_credentials(tmp_path / "project")
    assert (creds.email, creds.ncbi_api_key, creds.openalex_api_key) == (EMAIL, "from-file", None)
    assert KEY not in repr(creds) and EMAIL not in repr(creds)
    monkeypatch.setenv("NCBI_API_KEY", KEY)
    assert load_credentials().ncbi_api_key == KEY
    inside = tmp_path / "project" / "config.toml"
    inside.parent.mkdir()
    inside.write_text('email = "x@example.org"\n', encoding="utf-8")
    monkeypatch.setenv("METASIFT_CONFIG", str(inside))
    with pytest.raises(SearchError, match="inside the project folder"):
        load_credentials(tmp_path / "project")
    config.write_text('api_key = "typo"\n', encoding="utf-8")
    monkeypatch.setenv("METASIFT_CONFIG", str(config))
    with pytest.raises(SearchError, match="unknown setting"):
        load_credentials()


def test_missing_contact_email_is_pointed_out(isolated_env, services, monkeypatch, tmp_path):
    monkeypatch.setenv("METASIFT_EUROPEPMC_URL", services.url("europepmc"))
    monkeypatch.setenv("METASIFT_PUBMED_URL", services.url("pubmed"))
    project = make_project(tmp_path / "review", pubmed=True)
    result = CliRunner().invoke(app, ["search", "-p", str(project), "--source", "PubMed"])
    assert "no contact e-mail" in result.output and "METASIFT_EMAIL" in result.output


def test_searchlog_of_a_project_without_searches(isolated_env, tmp_path):
    project = make_project(tmp_path / "review")
    result = CliRunner().invoke(app, ["searchlog", "-p", str(project)])
    assert result.exit_code == 0
    assert "No searches have been run." in result.output
