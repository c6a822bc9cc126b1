"""Europe PMC REST client against a real HTTP server speaking core JSON with cursorMark."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from metasift.search import SearchError, SearchSpec, run_search
from metasift.search.config import SearchSettings
from metasift.search.europepmc import record_from_result
from metasift.store import create_db_engine, migrate
from metasift.store.records import iter_records
from metasift.store.schema import search_records, searches
from tests.search.fakes import Fault, europepmc_result

QUERY = '("adipose-derived stem cells" OR ADSC) AND (psoriasis OR "atopic dermatitis")'


def spec(services, **kw) -> SearchSpec:
    return SearchSpec(source="Europe PMC", kind="europepmc", query=QUERY,
                      base_url=services.url("europepmc"), **kw)  # fmt: skip


def pages(services) -> list:
    return [r for r in services.europepmc.requests if r.params.get("resultType") == "core"]


def test_core_result_maps_to_a_record():
    record = record_from_result(europepmc_result(3))
    assert record.title == "Exosomes from adipose-derived stem cells in psoriasis, cohort 3."
    assert record.abstract == "Adipose-derived stem cell exosomes reduced IL-17 in study 3."
    assert record.authors == ["Smith, J.", "Müller, A."]
    assert record.authors_raw == ["Smith J", "Müller A"]
    assert (record.pmid, record.pmcid, record.doi) == ("35000003", "PMC9000003", "10.5555/epmc.3")
    assert record.source_id == "MED:35000003"
    assert (record.journal, record.journal_abbrev) == (
        "Journal of Dermatological Science",
        "J Dermatol Sci",
    )
    assert record.issn == ["0923-1811", "1873-569X"]
    assert (record.year, record.volume, record.issue, record.pages) == (2021, "4", "4", "4-11")
    assert record.keywords == ["Psoriasis", "Exosomes"]
    assert record.mesh_terms == ["Psoriasis", "Humans"]
    assert record.publication_types == ["research-article", "Journal Article"]
    assert record.language == "eng"
    assert record.url == "https://doi.org/10.5555/epmc.3"
    assert record.raw["citedByCount"] == 3
    preprint = record_from_result(europepmc_result(49))
    assert (preprint.source_id, preprint.pmid, preprint.year) == ("PPR:PPR700049", None, 2024)
    assert preprint.abstract == "Background: Preprint 49 abstract."
    assert preprint.authors == ["Kowalska, A.", "Nowak, B."]


def test_cursor_paging_retrieves_every_record_once(services, engine, creds):
    corpus = [europepmc_result(i) for i in range(1_100)]
    services.europepmc.corpora[QUERY] = corpus
    settings = SearchSettings(backoff_base=0.01, rate=200.0)  # the default page of 1000
    outcome = run_search(engine, spec(services), credentials=creds, settings=settings)
    assert (outcome.reported, outcome.retrieved, outcome.imported) == (1_100, 1_100, 1_100)
    sent = pages(services)
    assert sent[0].params["cursorMark"] == "*"
    assert [r.params["pageSize"] for r in sent] == ["1000"] * 2
    assert all(r.params["query"] == QUERY and r.params["format"] == "json" for r in sent)
    ids = [r.source_id for _, r in iter_records(engine)]
    assert len(ids) == len(set(ids)) == 1_100
    assert ids[0] == "MED:35000000" and ids[-1] == "PPR:PPR701099"


def test_exact_multiple_of_page_size_ends_on_the_repeated_cursor(services, engine, creds, fast):
    services.europepmc.corpora[QUERY] = [europepmc_result(i) for i in range(200)]
    outcome = run_search(engine, spec(services), credentials=creds, settings=fast)
    assert outcome.imported == 200
    # Two full pages, then an empty one whose nextCursorMark repeats the cursor sent.
    assert len(pages(services)) == 3


def test_dates_are_folded_into_the_query_sent_and_logged(services, engine, creds, fast):
    composed = f"({QUERY}) AND (FIRST_PDATE:[2015-01-01 TO 2024-06-30])"
    services.europepmc.corpora[composed] = [europepmc_result(i) for i in range(10)]
    outcome = run_search(engine, spec(services, date_from="2015", date_to="2024/06"),
                         credentials=creds, settings=fast)  # fmt: skip
    assert outcome.imported == 10
    assert {r.params["query"] for r in services.europepmc.requests} == {composed}
    with engine.connect() as conn:
        row = conn.execute(sa.select(searches)).one()
    assert (row.query, row.query_input) == (composed, QUERY)
    assert row.filters["params"] == {"resultType": "core", "format": "json"}


def test_429_burst_drop_and_malformed_page_then_resume(services, engine, creds, fast):
    corpus = [europepmc_result(i) for i in range(250)]
    services.europepmc.corpora[QUERY] = corpus
    second = lambda p, q: q.get("cursorMark", "*") != "*" and q.get("resultType") == "core"  # noqa: E731
    services.europepmc.fail(second, Fault("status", 429, {"Retry-After": "0"}),
                            Fault("status", 429), Fault("drop"), Fault("malformed"),
                            *[Fault("malformed")] * 8)  # fmt: skip
    with pytest.raises(SearchError, match=r"Europe PMC page 2 \(from record 101\)"):
        run_search(engine, spec(services), credentials=creds, settings=fast)
    assert list(iter_records(engine)) == []
    with engine.connect() as conn:
        staged = conn.execute(sa.select(sa.func.count()).select_from(search_records)).scalar()
        status = conn.execute(sa.select(searches.c.status)).scalar()
    assert (staged, status) == (100, "failed")
    services.europepmc._rules.clear()
    outcome = run_search(engine, spec(services), credentials=creds, settings=fast)
    assert outcome.resumed and outcome.imported == 250
    ids = [r.source_id for _, r in iter_records(engine)]
    assert len(ids) == len(set(ids)) == 250
    # The first page was fetched once: the resume started from the stored cursor.
    assert sum(1 for r in pages(services) if r.params["cursorMark"] == "*") == 1


def test_interrupted_by_a_hook_resumes_without_loss(services, db_url, creds, fast):
    engine = create_db_engine(db_url)
    migrate(engine)
    services.europepmc.corpora[QUERY] = [europepmc_result(i) for i in range(230)]

    def stop(pages: int) -> None:
        if pages == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_search(engine, spec(services), credentials=creds, settings=fast, on_page=stop)
    with engine.connect() as conn:
        assert conn.execute(sa.select(searches.c.status)).scalar() == "interrupted"
    outcome = run_search(engine, spec(services), credentials=creds, settings=fast)
    assert outcome.resumed and (outcome.retrieved, outcome.imported) == (230, 230)
    assert len({r.source_id for _, r in iter_records(engine)}) == 230
    assert len(pages(services)) == 3
    engine.dispose()


def test_empty_result_and_error_envelope(services, engine, creds, fast):
    outcome = run_search(engine, spec(services), credentials=creds, settings=fast)
    assert (outcome.reported, outcome.retrieved, outcome.imported) == (0, 0, 0)
    envelope = b'{"errCode":404,"errMsg":"Invalid page size provided."}'
    services.europepmc.fail(lambda p, q: True, Fault("status", 200, body=envelope))
    with pytest.raises(SearchError, match="Europe PMC refused the search: Invalid page size"):
        run_search(engine, spec(services), credentials=creds, settings=fast)
