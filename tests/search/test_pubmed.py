"""PubMed E-utilities client against a real HTTP server speaking esearch/efetch XML."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from metasift.search import SearchError, SearchSpec, run_search
from metasift.search.config import SearchSettings
from metasift.store.records import iter_records
from metasift.store.schema import imports, search_records, searches
from tests.conftest import FIXTURES
from tests.search.conftest import EMAIL, KEY
from tests.search.fakes import Fault, real_articles, synthetic_corpus

QUERY = '("adipose-derived stem cell*"[tiab] OR ADSC[tiab]) AND psoriasis[mh]'


def spec(query: str = QUERY, **kw) -> SearchSpec:
    return SearchSpec(source="PubMed", kind="pubmed", query=query, **kw)


def pmids(engine) -> list[str]:
    return [r.pmid for _, r in iter_records(engine)]


def efetches(services) -> list:
    return [r for r in services.pubmed.requests if r.path == "efetch.fcgi"]


def test_12000_records_batched_through_history_server_and_split_by_date(
    services, engine, creds, corpus_12k, monkeypatch
):
    monkeypatch.setenv("METASIFT_PUBMED_URL", services.url("pubmed"))
    services.pubmed.corpora[QUERY] = corpus_12k
    progress = []
    outcome = run_search(
        engine,
        spec(),
        credentials=creds,
        settings=SearchSettings(backoff_base=0.01, timeout=5.0, rate=200.0),
        on_progress=lambda s, done, total: progress.append((done, total)),
    )
    assert (outcome.reported, outcome.retrieved, outcome.imported, outcome.merged) == (
        12_000,
        12_000,
        12_000,
        0,
    )
    assert outcome.warning is None
    stored = pmids(engine)
    assert len(stored) == 12_000
    assert set(stored) == {a.pmid for a in corpus_12k}
    # Every efetch stayed within the history server's 10,000 and used batches of 500.
    fetches = efetches(services)
    assert all(int(f.params["retstart"]) + int(f.params["retmax"]) <= 10_000 for f in fetches)
    assert sum(int(f.params["retmax"]) for f in fetches) == 12_000
    sizes = Counter(f.params["retmax"] for f in fetches)
    assert sizes["500"] >= 22 and all(int(n) <= 500 for n in sizes)
    assert all(
        f.params["WebEnv"].startswith("MCID_") and f.params["query_key"] == "1" for f in fetches
    )
    # The date split: the full search, then halves of the range until each part fits.
    searches_sent = [r.params for r in services.pubmed.requests if r.path == "esearch.fcgi"]
    assert searches_sent[0]["term"] == QUERY and "mindate" not in searches_sent[0]
    assert all(p["usehistory"] == "y" and p["term"] == QUERY for p in searches_sent)
    assert all(p["datetype"] == "pdat" for p in searches_sent[1:])
    assert all(
        p["tool"] == "metasift" and p["email"] == EMAIL and p["api_key"] == KEY
        for p in searches_sent + [f.params for f in fetches]
    )
    assert progress[-1] == (12_000, 12_000)
    # Record content came through the PubMed XML reader.
    first = next(r for _, r in iter_records(engine) if r.pmid == "30000000")
    assert first.title == "Adipose-derived stem cell exosomes in model 30000000 of psoriasis."
    assert first.doi == "10.5555/ms.30000000"
    assert first.authors[0] == "Müller, A."
    assert first.source_database == "PubMed"
    with engine.connect() as conn:
        row = conn.execute(sa.select(searches)).one()
        imp = conn.execute(sa.select(imports)).one()
        assert conn.execute(sa.select(sa.func.count()).select_from(search_records)).scalar() == 0
    assert (row.status, row.n_reported, row.n_retrieved, row.n_imported) == (
        "complete",
        12_000,
        12_000,
        12_000,
    )
    assert row.import_id == imp.id and imp.n_read == 12_000 and imp.format == "pubmed-xml"
    assert row.query == QUERY and row.n_batches == len(fetches)


def test_bursts_of_429_and_5xx_are_retried_honouring_retry_after(services, engine, creds, fast):
    corpus = synthetic_corpus(240)
    services.pubmed.corpora[QUERY] = corpus
    burst = [Fault("status", 429, {"Retry-After": "0"}, b'{"error":"API rate limit exceeded"}')]
    services.pubmed.fail(lambda p, q: p == "efetch.fcgi" and q["retstart"] == "100", *burst * 4)
    services.pubmed.fail(
        lambda p, q: p == "esearch.fcgi", Fault("status", 503), Fault("status", 502)
    )
    services.pubmed.fail(
        lambda p, q: p == "efetch.fcgi" and q["retstart"] == "200",
        Fault("status", 429, {"Retry-After": "1"}),
    )
    outcome = run_search(
        engine, spec(base_url=services.url("pubmed")), credentials=creds, settings=fast
    )
    assert (outcome.retrieved, outcome.imported) == (240, 240)
    assert sorted(pmids(engine)) == sorted(a.pmid for a in corpus)
    fetches = efetches(services)
    assert [f.params["retstart"] for f in fetches] == ["0"] + ["100"] * 5 + ["200"] * 2
    # Retry-After: 1 was honoured: the retry came at least a second later.
    third = [f.at for f in fetches if f.params["retstart"] == "200"]
    assert third[1] - third[0] >= 1.0


def test_connection_dropped_mid_batch_and_timeout_are_retried(services, engine, creds):
    corpus = synthetic_corpus(200)
    services.pubmed.corpora[QUERY] = corpus
    services.pubmed.fail(
        lambda p, q: p == "efetch.fcgi" and q["retstart"] == "100",
        Fault("drop"),
        Fault("sleep", seconds=1.0),
    )
    settings = SearchSettings(backoff_base=0.01, timeout=0.3, rate=200.0, pubmed_batch=100)
    outcome = run_search(
        engine, spec(base_url=services.url("pubmed")), credentials=creds, settings=settings
    )
    assert outcome.imported == 200
    assert len(set(pmids(engine))) == 200
    assert [f.params["retstart"] for f in efetches(services)] == ["0", "100", "100", "100"]


def test_malformed_page_names_the_batch_and_imports_nothing_then_resumes(
    services, engine, creds, fast
):
    corpus = synthetic_corpus(300)
    services.pubmed.corpora[QUERY] = corpus
    services.pubmed.fail(
        lambda p, q: p == "efetch.fcgi" and q["retstart"] == "200", Fault("malformed")
    )
    with pytest.raises(SearchError) as caught:
        run_search(engine, spec(base_url=services.url("pubmed")), credentials=creds, settings=fast)
    message = str(caught.value)
    assert "PubMed batch 3 (records 201-300)" in message
    assert "malformed XML" in message and "nothing from this batch was stored" in message
    assert pmids(engine) == []  # nothing half-imported
    with engine.connect() as conn:
        row = conn.execute(sa.select(searches)).one()
        staged = conn.execute(sa.select(sa.func.count()).select_from(search_records)).scalar()
    assert (row.status, row.n_retrieved, staged) == ("failed", 200, 200)
    assert "PubMed batch 3" in row.error
    # The next run resumes at the broken batch and completes without duplicates.
    outcome = run_search(
        engine, spec(base_url=services.url("pubmed")), credentials=creds, settings=fast
    )
    assert outcome.resumed and (outcome.retrieved, outcome.imported) == (300, 300)
    assert sorted(pmids(engine)) == sorted(a.pmid for a in corpus)
    assert [f.params["retstart"] for f in efetches(services)] == ["0", "100", "200", "200"]


def test_empty_result_is_a_complete_search_with_zero_records(services, engine, creds, fast):
    outcome = run_search(
        engine,
        spec("xyzzy[ti] AND qwerty[au]", base_url=services.url("pubmed")),
        credentials=creds,
        settings=fast,
    )
    assert (outcome.reported, outcome.retrieved, outcome.imported) == (0, 0, 0)
    assert outcome.warning is None
    assert efetches(services) == []
    with engine.connect() as conn:
        row = conn.execute(sa.select(searches)).one()
        imp = conn.execute(sa.select(imports)).one()
    assert row.status == "complete" and row.import_id == imp.id and imp.n_read == 0


def test_special_characters_and_quotes_are_sent_and_logged_exactly(services, engine, creds, fast):
    query = (
        '("Mesenchymal Stem Cells"[MeSH] OR "adipose-derived"[tiab] OR ASC\'s[tiab]) '
        'AND (psoriasis OR "atopic dermatitis" OR eczema*) NOT (rat[ti] & mouse[ti]) '
        'AND 50%[ti] AND <b>ü/é ≥ 2 + #1; \\"x\\"'
    )
    articles = real_articles(str(FIXTURES / "formats/pubmed_xml/asreview/pubmed.xml"))
    services.pubmed.corpora[query] = articles
    outcome = run_search(
        engine,
        spec(query, base_url=services.url("pubmed"), date_from="1900", date_to="2030/12"),
        credentials=creds,
        settings=fast,
    )
    assert outcome.imported == len(articles) == 10
    sent = [r.params for r in services.pubmed.requests if r.path == "esearch.fcgi"]
    assert [p["term"] for p in sent] == [query]
    assert (sent[0]["mindate"], sent[0]["maxdate"]) == ("1900/01/01", "2030/12/31")
    with engine.connect() as conn:
        row = conn.execute(sa.select(searches)).one()
    assert row.query == query and row.query_input == query
    assert row.filters["params"]["mindate"] == "1900/01/01"
    assert sorted(pmids(engine)) == sorted(a.pmid for a in articles)


def test_more_than_10000_records_on_one_day_is_a_clear_error(services, engine, creds, fast):
    from datetime import date

    services.pubmed.corpora[QUERY] = synthetic_corpus(
        60, start=date(2020, 5, 5), end=date(2020, 5, 5)
    )
    settings = SearchSettings(backoff_base=0.01, rate=200.0, pubmed_fetch_limit=50, pubmed_batch=20)
    with pytest.raises(SearchError, match=r"60 records were published on 2020/05/05 alone"):
        run_search(
            engine,
            spec(base_url=services.url("pubmed"), date_from="2020", date_to="2020"),
            credentials=creds,
            settings=settings,
        )


def test_expired_history_is_renewed_and_the_batch_refetched(services, engine, creds, fast):
    corpus = synthetic_corpus(180)
    services.pubmed.corpora[QUERY] = corpus

    def expire(pages: int) -> None:
        if pages == 1:
            services.pubmed.history.clear()  # the server forgot every WebEnv

    outcome = run_search(
        engine,
        spec(base_url=services.url("pubmed")),
        credentials=creds,
        settings=fast,
        on_page=expire,
    )
    assert outcome.imported == 180 and len(set(pmids(engine))) == 180
    assert [r.path for r in services.pubmed.requests] == [
        "esearch.fcgi",
        "efetch.fcgi",
        "efetch.fcgi",
        "esearch.fcgi",
        "efetch.fcgi",
    ]


def test_killed_search_resumes_with_every_record_exactly_once(services, tmp_path: Path, creds):
    """A search process killed mid-batch (SIGKILL) resumes where it stopped."""
    import os
    import signal
    import subprocess
    import sys

    corpus = synthetic_corpus(1_000)
    services.pubmed.corpora[QUERY] = corpus
    hang = services.pubmed.fail(
        lambda p, q: p == "efetch.fcgi" and q["retstart"] == "500", Fault("hang")
    )[0]
    project = tmp_path / "project"
    project.mkdir()
    (project / "review.toml").write_text(
        '[review]\ntitle = "t"\n[[sources]]\nname = "PubMed"\nkind = "pubmed"\n'
        f"query = '''{QUERY}'''\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        **services.environ(),
        "NCBI_API_KEY": KEY,
        "METASIFT_EMAIL": EMAIL,
        "METASIFT_HTTP_BACKOFF": "0.01",
        "HOME": str(tmp_path),
        "METASIFT_CONFIG": "",
    }
    env.pop("METASIFT_DATABASE_URL", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from metasift.cli import main; main()",
            "search",
            "--project",
            str(project),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert hang.reached.wait(60), proc.stderr.read() if proc.poll() is not None else ""
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        hang.release.set()
    from metasift.project import Project

    with Project.open(project) as proj:
        with proj.engine.connect() as conn:
            row = conn.execute(sa.select(searches)).one()
        assert (row.status, row.n_retrieved, row.n_batches) == ("running", 500, 1)
        assert pmids(proj.engine) == []
        outcome = run_search(
            proj.engine,
            spec(base_url=services.url("pubmed")),
            credentials=creds,
            settings=SearchSettings(backoff_base=0.01, rate=200.0),
        )
        stored = pmids(proj.engine)
    assert outcome.resumed and outcome.search_id == row.id
    assert (outcome.reported, outcome.retrieved, outcome.imported) == (1_000, 1_000, 1_000)
    assert len(stored) == 1_000 and set(stored) == {a.pmid for a in corpus}
    starts = [f.params["retstart"] for f in efetches(services)]
    assert starts == ["0", "500", "500"]
