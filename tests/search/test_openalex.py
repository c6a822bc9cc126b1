"""OpenAlex works client against a real HTTP server serving real works JSON."""

from __future__ import annotations

import json
import zipfile

import pytest
import sqlalchemy as sa

from metasift.search import SearchError, SearchSpec, run_search
from metasift.store.records import iter_records
from metasift.store.schema import rejections, searches
from tests.conftest import FIXTURES, shared
from tests.search.conftest import EMAIL, OPENALEX_KEY
from tests.search.fakes import Fault

QUERY = 'estrogen "hormone replacement" coronary'


def spec(services, **kw) -> SearchSpec:
    return SearchSpec(
        source="OpenAlex", kind="openalex", query=QUERY, base_url=services.url("openalex"), **kw
    )


def fixture_works() -> list[dict]:
    return json.loads((FIXTURES / "search" / "openalex_works.json").read_text(encoding="utf-8"))


def synergy_works(name: str) -> list[dict]:
    works: list[dict] = []
    with zipfile.ZipFile(shared("synergy", name, "works_1.zip")) as archive:
        for member in sorted(archive.namelist(), key=lambda n: int(n.split("_")[1])):
            works.extend(json.loads(archive.read(member)))
    return works


def work_pages(services) -> list:
    return [r for r in services.openalex.requests if r.params.get("select") != "id"]


def test_real_works_paged_by_cursor_with_polite_pool(services, engine, creds, fast, monkeypatch):
    # The user's own setting: the credentials may go to this host.
    monkeypatch.setenv("METASIFT_OPENALEX_URL", services.url("openalex"))
    works = fixture_works()
    services.openalex.corpora[QUERY] = works
    settings = type(fast)(**{**fast.__dict__, "openalex_page": 5})
    outcome = run_search(engine, spec(services), credentials=creds, settings=settings)
    assert (outcome.reported, outcome.retrieved, outcome.imported) == (12, 12, 12)
    sent = work_pages(services)
    assert sent[0].params["cursor"] == "*"
    assert [r.params["per-page"] for r in sent] == ["5", "5", "5"]
    assert all(
        r.params["mailto"] == EMAIL and r.params["api_key"] == OPENALEX_KEY
        for r in services.openalex.requests
    )
    assert all(r.params["search"] == QUERY for r in services.openalex.requests)
    stored = [r for _, r in iter_records(engine)]
    assert [r.source_id for r in stored] == [w["id"].rsplit("/", 1)[1] for w in works]
    first = stored[0]
    assert first.title == works[0]["title"]
    assert first.doi == "10.1001/jama.273.3.199"
    # The abstract is rebuilt from the inverted index: every word at its position.
    index = works[0]["abstract_inverted_index"]
    words = sorted((p, w) for w, ps in index.items() for p in ps)
    assert first.abstract.split() == [w for _, w in words]


def test_all_works_of_a_synergy_dataset_through_faults_and_resume(services, engine, creds, fast):
    works = synergy_works("Nelson_2002")
    services.openalex.corpora[QUERY] = works
    third = lambda p, q: q.get("cursor") not in (None, "*") and q.get("select") != "id"  # noqa: E731
    services.openalex.fail(
        third, Fault("status", 429, {"Retry-After": "0"}), Fault("status", 500), Fault("drop")
    )

    def stop(pages: int) -> None:
        if pages == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_search(engine, spec(services), credentials=creds, settings=fast, on_page=stop)
    assert list(iter_records(engine)) == []
    outcome = run_search(engine, spec(services), credentials=creds, settings=fast)
    assert outcome.resumed
    # One of the 366 real works (W1593382203) has no title but a DOI: kept, to be screened
    # untitled, so that it stays in the identification counts.
    assert (outcome.reported, outcome.retrieved, outcome.imported, outcome.rejected) == (
        366,
        366,
        366,
        0,
    )
    records = {r.source_id: r for _, r in iter_records(engine)}
    assert len(records) == 366 and records["W1593382203"].title is None
    assert records["W1593382203"].doi
    with engine.connect() as conn:
        assert conn.execute(sa.select(rejections.c.reason)).first() is None
    cursors = [r.params["cursor"] for r in work_pages(services)]
    assert len(set(cursors)) == 8  # pages of 50: each cursor fetched, retries aside


def test_dates_and_filters_become_an_openalex_filter(services, engine, creds, fast):
    services.openalex.corpora[QUERY] = fixture_works()[:3]
    run_search(
        engine,
        spec(services, date_from="1990", date_to="2001/06", filters={"type": "article"}),
        credentials=creds,
        settings=fast,
    )
    filters = {r.params["filter"] for r in services.openalex.requests}
    assert filters == {
        "type:article,from_publication_date:1990-01-01,to_publication_date:2001-06-30"
    }
    with engine.connect() as conn:
        row = conn.execute(sa.select(searches)).one()
    assert row.query == QUERY
    assert row.filters["params"]["filter"] == next(iter(filters))


def test_malformed_page_and_empty_result(services, engine, creds, fast):
    services.openalex.corpora[QUERY] = fixture_works()
    services.openalex.fail(lambda p, q: q.get("select") != "id", Fault("malformed"))
    with pytest.raises(
        SearchError, match=r"OpenAlex page 1 \(from record 1\): OpenAlex sent malformed JSON"
    ):
        run_search(engine, spec(services), credentials=creds, settings=fast)
    assert list(iter_records(engine)) == []
    empty = SearchSpec(
        source="OpenAlex", kind="openalex", query="no such words", base_url=services.url("openalex")
    )
    outcome = run_search(engine, empty, credentials=creds, settings=fast)
    assert (outcome.reported, outcome.retrieved, outcome.imported) == (0, 0, 0)
