"""Runs, the living review, the search log and rate limits, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json

import pytest
import sqlalchemy as sa

from metasift.project import Project
from metasift.protocol import Source
from metasift.search import (
    SearchError,
    SearchOutcome,
    SearchSpec,
    SearchUnreachableError,
    new_record_ids,
    run_search,
    search_project,
)
from metasift.search.config import SearchSettings
from metasift.search.log import render_log, search_log
from metasift.search.runner import project_specs
from metasift.store import create_db_engine, migrate
from metasift.store.records import iter_records
from metasift.store.schema import imports, records, searches
from tests.search.fakes import closed_port, europepmc_result, max_in_window, synthetic_corpus

QUERY = 'adipose AND ("stem cell" OR exosome*)'


def epmc(services, query: str = QUERY) -> SearchSpec:
    return SearchSpec(
        source="Europe PMC", kind="europepmc", query=query, base_url=services.url("europepmc")
    )


def test_living_review_rerun_imports_only_unseen_records(services, db_url, creds, fast):
    engine = create_db_engine(db_url)
    migrate(engine)
    first = [europepmc_result(i) for i in range(150)]
    services.europepmc.corpora[QUERY] = first
    run1 = run_search(engine, epmc(services), credentials=creds, settings=fast)
    assert (run1.retrieved, run1.imported, run1.merged) == (150, 150, 0)
    # Later: 30 new records, one of them carrying the DOI of an old record (seen by DOI),
    # one the PMID of another (seen by PMID), the rest of the old ones as before.
    renamed_doi = {**europepmc_result(1_000), "doi": first[5]["doi"]}
    renamed_pmid = {**europepmc_result(1_001), "pmid": first[6]["pmid"]}
    new = [europepmc_result(i) for i in range(2_000, 2_028)]
    services.europepmc.corpora[QUERY] = [*first, renamed_doi, renamed_pmid, *new]
    run2 = run_search(engine, epmc(services), credentials=creds, settings=fast)
    assert not run2.resumed and run2.search_id != run1.search_id
    assert (run2.reported, run2.retrieved, run2.imported, run2.merged) == (180, 180, 28, 152)
    fresh_ids = new_record_ids(engine, run2.search_id)
    assert len(fresh_ids) == 28
    with engine.connect() as conn:
        fresh = {r.source_id for _, r in iter_records(conn, records.c.id.in_(fresh_ids))}
        imported = conn.execute(sa.select(imports).order_by(imports.c.id)).all()
        runs = conn.execute(sa.select(searches).order_by(searches.c.id)).all()
    assert fresh == {f"MED:{35_000_000 + i}" for i in range(2_000, 2_028)}
    assert [(i.n_read, i.n_imported, i.n_merged) for i in imported] == [
        (150, 150, 0),
        (180, 28, 152),
    ]
    assert [(r.status, r.n_imported, r.n_merged) for r in runs] == [
        ("complete", 150, 0),
        ("complete", 28, 152),
    ]
    assert sum(1 for _ in iter_records(engine)) == 178
    log = search_log(engine)
    assert [(e.run, e.reported, e.imported, e.merged) for e in log] == [
        (run1.search_id, 150, 150, 0),
        (run2.search_id, 180, 28, 152),
    ]
    engine.dispose()


def test_seen_before_is_judged_per_database(services, engine, creds, fast):
    services.europepmc.corpora[QUERY] = [europepmc_result(i) for i in range(20)]
    run_search(engine, epmc(services), credentials=creds, settings=fast)
    # PubMed returns the same PMIDs: they are PubMed's records, imported for the PRISMA
    # per-database counts; matching them across databases is the de-duplication stage's job.
    services.pubmed.corpora[QUERY] = synthetic_corpus(20, first_pmid=35_000_000)
    pubmed = SearchSpec(
        source="PubMed", kind="pubmed", query=QUERY, base_url=services.url("pubmed")
    )
    outcome = run_search(engine, pubmed, credentials=creds, settings=fast)
    assert (outcome.imported, outcome.merged) == (20, 0)


def test_count_mismatch_is_a_loud_warning_in_outcome_store_and_log(
    services, engine, creds, fast, caplog
):
    services.europepmc.corpora[QUERY] = [europepmc_result(i) for i in range(40)]
    services.europepmc.extra_hits = 2
    outcome = run_search(engine, epmc(services), credentials=creds, settings=fast)
    assert (outcome.reported, outcome.retrieved) == (42, 40)
    expected = "Europe PMC reported 42 records but 40 were retrieved (-2)"
    assert outcome.warning.startswith(expected)
    assert any(expected in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)
    with engine.connect() as conn:
        assert conn.execute(sa.select(searches.c.warning)).scalar().startswith(expected)
    assert f"**Warning:** {expected}" in render_log(engine, "md")


def test_changed_query_abandons_the_unfinished_run(services, engine, creds, fast):
    services.europepmc.corpora[QUERY] = [europepmc_result(i) for i in range(250)]
    services.europepmc.corpora["other"] = [europepmc_result(i) for i in range(5)]

    def stop(pages: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_search(engine, epmc(services), credentials=creds, settings=fast, on_page=stop)
    outcome = run_search(engine, epmc(services, "other"), credentials=creds, settings=fast)
    assert not outcome.resumed and outcome.imported == 5
    assert [(e.status, e.query) for e in search_log(engine)] == [
        ("abandoned", QUERY),
        ("complete", "other"),
    ]
    # --fresh starts over even when the query is unchanged.
    with pytest.raises(KeyboardInterrupt):
        run_search(engine, epmc(services), credentials=creds, settings=fast, on_page=stop)
    again = run_search(engine, epmc(services), credentials=creds, settings=fast, fresh=True)
    # Its records are new to the query but 5 were imported by the "other" run: merged.
    assert not again.resumed and (again.imported, again.merged) == (245, 5)
    assert [e.status for e in search_log(engine)] == [
        "abandoned",
        "complete",
        "abandoned",
        "complete",
    ]


def test_search_log_formats_hold_the_exact_query_and_counts(services, engine, creds, fast):
    query = 'TITLE:"psoriasis" AND (adipose | "stem cell*") AND AUTH:"O\'Brien"'
    services.europepmc.corpora[f"({query}) AND (FIRST_PDATE:[2010-01-01 TO 2020-12-31])"] = [
        europepmc_result(i) for i in range(7)
    ]
    spec = SearchSpec(
        source="Europe PMC",
        kind="europepmc",
        query=query,
        date_from="2010",
        date_to="2020",
        filters={"synonym": "false"},
        base_url=services.url("europepmc"),
    )
    run_search(engine, spec, credentials=creds, settings=fast)
    sent = f"({query}) AND (FIRST_PDATE:[2010-01-01 TO 2020-12-31])"
    rows = list(csv.DictReader(io.StringIO(render_log(engine, "csv"))))
    assert len(rows) == 1
    row = rows[0]
    assert (row["database"], row["platform"], row["query"], row["query_as_written"]) == (
        "Europe PMC",
        "Europe PMC RESTful API",
        sent,
        query,
    )
    assert (row["reported"], row["retrieved"], row["imported"], row["merged"]) == (
        "7",
        "7",
        "7",
        "0",
    )
    assert row["filters"] == "dates 2010 to 2020; synonym=false; resultType=core; format=json"
    entries = json.loads(render_log(engine, "json"))
    assert entries[0]["query"] == sent and entries[0]["status"] == "complete"
    assert entries[0]["url"] == services.url("europepmc")
    md = render_log(engine, "md")
    assert f"```\n{sent}\n```" in md
    assert "| Europe PMC | Europe PMC RESTful API |" in md
    with pytest.raises(SearchError, match="unknown search log format 'xml'"):
        render_log(engine, "xml")


def test_project_specs_select_sources_and_ad_hoc_queries():
    sources = [
        Source(name="PubMed", kind="pubmed", query="a[tiab]", date_from="2000", platform="PubMed"),
        Source(name="Europe PMC", kind="europepmc", query="b"),
        Source(name="Embase export", kind="file", files=["embase.ris"]),
    ]
    assert [(s.source, s.query, s.adhoc) for s in project_specs(sources)] == [
        ("PubMed", "a[tiab]", False),
        ("Europe PMC", "b", False),
    ]
    assert [
        (s.source, s.query, s.date_from, s.adhoc) for s in project_specs(sources, "pubmed", "c")
    ] == [("PubMed", "c", "2000", True)]
    assert [s.platform for s in project_specs(sources)] == ["PubMed", "Europe PMC RESTful API"]
    ad_hoc = project_specs(sources, "openalex", 'x "y"')
    assert [(s.source, s.kind, s.query, s.adhoc) for s in ad_hoc] == [
        ("OpenAlex", "openalex", 'x "y"', True)
    ]
    with pytest.raises(SearchError, match="no live source named 'Scopus'"):
        project_specs(sources, "Scopus")
    with pytest.raises(SearchError, match="has no live source"):
        project_specs(sources[2:])
    with pytest.raises(SearchError, match="filters api_key look like credentials"):
        SearchSpec(source="P", kind="pubmed", query="q", filters={"api_key": "x"})
    with pytest.raises(SearchError, match="'2020-13' is not a valid date"):
        SearchSpec(source="P", kind="pubmed", query="q", date_from="2020-13")
    with pytest.raises(SearchError, match="no query"):
        SearchSpec(source="P", kind="pubmed", query="  ")


def _times(service, path: str | None = None) -> list[float]:
    return [r.at for r in service.requests if path is None or r.path == path]


@pytest.mark.parametrize(("key", "limit", "n"), [(None, 3, 7), ("k", 10, 15)])
def test_pubmed_rate_limit_measured_at_the_server(
    services, engine, creds, key, limit, n, monkeypatch
):
    from metasift.search.config import Credentials

    # The user's own setting: the key may go to this host (and raise the rate).
    monkeypatch.setenv("METASIFT_PUBMED_URL", services.url("pubmed"))

    services.pubmed.corpora[QUERY] = synthetic_corpus(20 * (n - 1))
    settings = SearchSettings(backoff_base=0.01, pubmed_batch=20)  # the real rates
    credentials = Credentials(email=creds.email, ncbi_api_key=key)
    spec = SearchSpec(source="PubMed", kind="pubmed", query=QUERY, base_url=services.url("pubmed"))
    run_search(engine, spec, credentials=credentials, settings=settings)
    times = _times(services.pubmed)
    assert len(times) == n
    # At most `limit` requests in any second (minus 50 ms for the loopback's jitter) ...
    assert max_in_window(times, 0.95) <= limit
    # ... and the client does use its allowance: n requests take about (n - 1) / limit s.
    assert times[-1] - times[0] < (n - 1) / limit + 1.5


@pytest.mark.parametrize(("kind", "limit"), [("europepmc", 5), ("openalex", 10)])
def test_polite_rates_of_europepmc_and_openalex(services, engine, creds, kind, limit):
    if kind == "openalex":
        from tests.search.test_openalex import fixture_works

        services.openalex.corpora[QUERY] = fixture_works()
        service = services.openalex
    else:
        services.europepmc.corpora[QUERY] = [europepmc_result(i) for i in range(12)]
        service = services.europepmc
    settings = SearchSettings(backoff_base=0.01, europepmc_page=1, openalex_page=1)
    spec = SearchSpec(source=kind, kind=kind, query=QUERY, base_url=services.url(kind))
    outcome = run_search(engine, spec, credentials=creds, settings=settings)
    assert outcome.imported == 12
    times = _times(service)
    assert len(times) == 14  # the count, 12 pages of 1, and the empty page ending it
    assert max_in_window(times, 0.95) <= limit


def test_flagship_protocol_sources_are_searchable(services, engine, creds, fast):
    from metasift.protocol import load_protocol
    from tests.conftest import ROOT

    protocol = load_protocol(ROOT / "examples" / "admsc-skin" / "review.toml")
    specs = project_specs(list(protocol.sources))
    assert [(s.kind, s.date_range()[1].isoformat()) for s in specs] == [
        ("pubmed", "2025-03-31"),
        ("europepmc", "2025-03-31"),
        ("openalex", "2025-03-31"),
    ]
    epmc_spec = SearchSpec(**{**specs[1].__dict__, "base_url": services.url("europepmc")})
    sent = f"({epmc_spec.query}) AND (FIRST_PDATE:[1000-01-01 TO 2025-03-31])"
    services.europepmc.corpora[sent] = [europepmc_result(i) for i in range(3)]
    assert run_search(engine, epmc_spec, credentials=creds, settings=fast).imported == 3


def test_unreachable_sources_fail_at_once_and_others_are_searched(
    isolated_env, services, tmp_path, fast
):
    """Two searches on a host that refuses: the first tries once, the second not at all; the
    source on a host that answers is searched; the log keeps both failures with their reason."""
    dead = f"http://127.0.0.1:{closed_port()}/eutils/"
    services.europepmc.corpora[QUERY] = [europepmc_result(i) for i in range(5)]
    root = tmp_path / "review"
    root.mkdir()
    (root / "review.toml").write_text(
        '[review]\ntitle = "t"\n'
        f'[[sources]]\nname = "PubMed"\nkind = "pubmed"\nquery = "a"\nbase_url = "{dead}"\n'
        f'[[sources]]\nname = "PubMed 2"\nkind = "pubmed"\nquery = "b"\nbase_url = "{dead}"\n'
        f'[[sources]]\nname = "Europe PMC"\nkind = "europepmc"\nquery = \'{QUERY}\'\n'
        f'base_url = "{services.url("europepmc")}"\n',
        encoding="utf-8",
    )
    with Project.open(root) as project:
        first, second, third = search_project(project, settings=fast)
        log = search_log(project.engine)
    assert isinstance(first, SearchUnreachableError) and first.attempts == 1
    assert isinstance(second, SearchUnreachableError) and second.attempts == 0
    assert first.reason == second.reason and "refused the connection" in first.reason
    assert isinstance(third, SearchOutcome) and third.imported == 5
    assert [(e.source, e.status) for e in log] == [
        ("PubMed", "failed"),
        ("PubMed 2", "failed"),
        ("Europe PMC", "complete"),
    ]
    assert "refused the connection" in log[0].error
