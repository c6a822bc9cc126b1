"""A living review's update end to end: a finished first round of real records (SYNERGY's
Sep_2021 works in tests/fixtures/synergy_mini), then `metasift update` against PubMed,
Europe PMC and OpenAlex served in their real formats on 127.0.0.1, with records seen before,
duplicates of earlier records and new ones; the listing's and the PRISMA diagram's counts."""

from __future__ import annotations

import csv
import json
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from metasift.cli import app
from metasift.project import Project
from metasift.report.prisma_diagram import prisma_svg
from metasift.screening.session import ScreeningSession
from metasift.search import search_project
from metasift.search.config import SearchSettings
from metasift.store.rounds import current_round, record_rounds
from metasift.store.schema import imports, records
from metasift.workflow import decisions as wd
from metasift.workflow.closure import close_full_text, close_screening
from metasift.workflow.counts import prisma_counts
from metasift.workflow.fulltext import list_reports, set_location
from metasift.workflow.reviewers import add_reviewer
from metasift.workflow.update import run_update
from tests.search.fakes import Article, FakeServices, europepmc_result

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "synergy_mini"
OPENALEX_QUERY = "depression rodent models"
PUBMED_QUERY = "depression[tiab] AND rats[mh]"
EPMC_QUERY = "depression AND rodent"
FIRST_ROUND = 28  # works 0-27 are the first round; 28-39 arrive with the update


def works() -> list[dict]:
    with zipfile.ZipFile(MINI / "works_1.zip") as z:
        return [w for name in sorted(z.namelist()) for w in json.loads(z.read(name))]


def labels() -> dict[str, int]:
    with (MINI / "labels.csv").open(encoding="utf-8") as f:
        return {row["openalex_id"]: int(row["label_included"]) for row in csv.DictReader(f)}


def abstract(work: dict) -> str:
    index = work.get("abstract_inverted_index") or {}
    words = sorted((p, w) for w, ps in index.items() for p in ps)
    return " ".join(w for _, w in words)


def pubmed_article(work: dict, entered: date) -> Article:
    """The work as efetch serves a PubmedArticle (same PMID, DOI, title, abstract)."""
    pmid = work["ids"]["pmid"].rsplit("/", 1)[-1]
    doi = work["doi"].removeprefix("https://doi.org/")
    year = work["publication_year"]
    journal = escape((work.get("host_venue") or {}).get("display_name") or "Journal")
    xml = f"""<PubmedArticle>
    <MedlineCitation Status="MEDLINE" Owner="NLM">
        <PMID Version="1">{pmid}</PMID>
        <Article PubModel="Print">
            <Journal>
                <JournalIssue CitedMedium="Internet">
                    <PubDate><Year>{year}</Year></PubDate>
                </JournalIssue>
                <Title>{journal}</Title>
            </Journal>
            <ArticleTitle>{escape(work["title"])}</ArticleTitle>
            <ELocationID EIdType="doi" ValidYN="Y">{escape(doi)}</ELocationID>
            <Abstract><AbstractText>{escape(abstract(work))}</AbstractText></Abstract>
            <Language>eng</Language>
            <PublicationTypeList>
                <PublicationType UI="D016428">Journal Article</PublicationType>
            </PublicationTypeList>
        </Article>
    </MedlineCitation>
    <PubmedData>
        <ArticleIdList>
            <ArticleId IdType="pubmed">{pmid}</ArticleId>
            <ArticleId IdType="doi">{escape(doi)}</ArticleId>
        </ArticleIdList>
    </PubmedData>
</PubmedArticle>
"""
    return Article(pmid, date(year, 1, 1), xml.encode("utf-8"), doi, entered=entered)


PROTOCOL = f"""
[review]
title = "Rodent models of depression"
question = "Which rodent models of depression respond to antidepressants?"
[criteria]
exclusion_reasons = ["wrong population"]
[screening]
# The four word and stem members: the default's character member adds nothing on 28 records.
model = "svm+logistic-bmi/words+stems+mesh"
stopping_rule = "consecutive"
consecutive_irrelevant = 5
[[sources]]
name = "OpenAlex"
kind = "openalex"
query = "{OPENALEX_QUERY}"
[[sources]]
name = "PubMed"
kind = "pubmed"
query = "{PUBMED_QUERY}"
[[sources]]
name = "Europe PMC"
kind = "europepmc"
query = "{EPMC_QUERY}"
"""


@pytest.fixture
def services(isolated_env, monkeypatch):
    server = FakeServices().start()
    for name, value in server.environ().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("METASIFT_HTTP_BACKOFF", "0.01")
    monkeypatch.setenv("METASIFT_EMAIL", "reviewer@example.org")
    try:
        yield server
    finally:
        server.stop()


FAST = SearchSettings(backoff_base=0.01, timeout=5.0, rate=200.0, openalex_page=10)


def screen_round(project: Project, relevant: dict[int, int], ids: list[int]) -> None:
    """Title/abstract and full-text decisions as the labels say, then both stages closed."""
    engine, protocol = project.engine, project.protocol
    for rid in ids:
        decision = "include" if relevant[rid] else "exclude"
        wd.decide(engine, protocol, record_id=rid, reviewer="ana", decision=decision)
    close_screening(engine, protocol, "ana")
    for report in list_reports(engine, protocol):
        if report.verdict is None:
            set_location(engine, protocol, report.record_id, f"pdfs/{report.record_id}.pdf", "ana")
            wd.decide(
                engine,
                protocol,
                record_id=report.record_id,
                reviewer="ana",
                decision="include",
                stage=wd.FULL_TEXT,
            )
    close_full_text(engine, protocol, "ana")


def relevance(project: Project) -> dict[int, int]:
    """Record id -> its label (1 included in Sep 2021), by OpenAlex id, DOI or PMID."""
    label = labels()
    by_key: dict[str, int] = {}
    for w in works():
        for key in (w["id"], w["doi"].removeprefix("https://doi.org/").lower()):
            by_key[key] = label[w["id"]]
        by_key[w["ids"]["pmid"].rsplit("/", 1)[-1]] = label[w["id"]]
    out = {}
    with project.engine.connect() as conn:
        for row in conn.execute(sa.select(records.c.id, records.c.source_id, records.c.doi)):
            keys = [row.source_id or "", (row.doi or "").lower()]
            out[row.id] = next((by_key[k] for k in keys if k in by_key), 0)
    return out


@pytest.fixture
def first_round(services, tmp_path):
    """A review whose first round is finished: 28 real works found by OpenAlex (7 included),
    PubMed and Europe PMC finding nothing then; both stages closed."""
    root = tmp_path / "review"
    root.mkdir()
    (root / "review.toml").write_text(PROTOCOL, encoding="utf-8")
    all_works = works()
    services.openalex.corpora[OPENALEX_QUERY] = all_works[:FIRST_ROUND]
    services.pubmed.corpora[PUBMED_QUERY] = []
    services.europepmc.corpora[EPMC_QUERY] = []
    project = Project.open(root)
    add_reviewer(project.engine, "ana", "owner")
    outcomes = search_project(project, settings=FAST)
    assert [o.imported for o in outcomes] == [28, 0, 0]
    from metasift.dedup import run_dedup

    run_dedup(project.engine)
    with project.engine.connect() as conn:
        ids = list(conn.execute(sa.select(records.c.id).order_by(records.c.id)).scalars())
    screen_round(project, relevance(project), ids)
    yield project, services, all_works
    project.close()


def serve_update(services, all_works: list[dict]) -> str:
    """What the databases added since the first round's searches (today)."""
    today = datetime.now(UTC).date()
    served = [dict(w) for w in all_works]
    # OpenAlex: the 12 new works, and two works of the first round it re-created (seen before).
    for i in [*range(FIRST_ROUND, 40), 1, 2]:
        served[i]["created_date"] = today.isoformat()
    services.openalex.corpora[OPENALEX_QUERY] = served
    # PubMed: two works of the first round and one of the new ones, as PubmedArticles.
    services.pubmed.corpora[PUBMED_QUERY] = [
        pubmed_article(all_works[i], today) for i in (0, 3, 30)
    ]
    # Europe PMC: two preprints on another topic, limited to what it published in the window.
    window = f"FIRST_PDATE:[{today.isoformat()} TO {today.isoformat()}]"
    services.europepmc.corpora[f"({EPMC_QUERY}) AND ({window})"] = [
        europepmc_result(49),
        europepmc_result(99),
    ]
    return today.isoformat()


def test_update_lists_new_records_and_prisma_shows_the_round(first_round):
    project, services, all_works = first_round
    today = serve_update(services, all_works)
    before = prisma_counts(project.engine, project.protocol)
    assert (before.included_studies, before.updated) == (7, False)

    result = run_update(project, "ana", settings=FAST)

    assert result.round == 2 and not result.resumed
    assert result.windows == {
        name: {"from": today, "to": today} for name in ("OpenAlex", "PubMed", "Europe PMC")
    }
    by_source = {s.spec.source: s for s in result.searches}
    assert (by_source["OpenAlex"].retrieved, by_source["OpenAlex"].imported) == (14, 12)
    assert by_source["OpenAlex"].merged == 2  # seen before by an OpenAlex search
    assert (by_source["PubMed"].retrieved, by_source["PubMed"].imported) == (3, 3)
    assert (by_source["Europe PMC"].retrieved, by_source["Europe PMC"].imported) == (2, 2)
    assert (result.round_records, result.duplicates, len(result.new_ids)) == (17, 3, 14)
    # The dates sent: PubMed by Entrez date, OpenAlex by creation date.
    esearch = [r.params for r in services.pubmed.requests if r.path == "esearch.fcgi"][-1]
    assert (esearch["datetype"], esearch["mindate"], esearch["maxdate"]) == (
        "edat",
        today.replace("-", "/"),
        today.replace("-", "/"),
    )
    sent = [r.params for r in services.openalex.requests if "cursor" in r.params][-1]
    assert f"from_created_date:{today}" in sent["filter"]

    # Every new record is scored; the listing is those at or above the threshold.
    scores = result.scores
    assert scores is not None and scores.record_ids == result.new_ids
    listed = result.listing()
    assert [p for _, p in listed] == sorted((p for _, p in listed), reverse=True)
    assert all(p >= scores.threshold for _, p in listed)
    assert len(listed) == int((scores.probabilities >= scores.threshold).sum()) == 5
    relevant = relevance(project)
    assert sum(relevant[r] for r in result.new_ids) == 3
    assert sum(relevant[r] for r, _ in listed) == 3  # the listing holds every relevant one
    e = scores.expected
    assert e.low <= e.mean <= e.high <= 14
    assert e.mean == pytest.approx(float(scores.probabilities.sum()))

    # The round in the PRISMA diagram for updated reviews, before its screening.
    counts = prisma_counts(project.engine, project.protocol)
    assert counts.updated
    assert counts.databases == {"OpenAlex": 12, "PubMed": 3, "Europe PMC": 2}
    assert (counts.previous_studies, counts.previous_reports) == (7, 7)
    assert counts.duplicates == 3
    assert counts.pending == {"records awaiting title/abstract screening": 14}
    assert counts.screened == 0 and counts.included_studies == 0
    counts.check(final=False)

    # The reviewer screens the new round's records, and only them, in the usual session.
    session = ScreeningSession(project.engine, project.protocol, "ana", background=False)
    shown = session.current()
    assert shown is not None and shown[0] in result.new_ids
    status = session.status()
    assert (status.n_records, status.n_screened) == (14, 0)
    session.close()

    screen_round(project, relevant, result.new_ids)
    counts = prisma_counts(project.engine, project.protocol)
    counts.check(final=True)
    assert (counts.identified, counts.duplicates, counts.screened) == (17, 3, 14)
    assert (counts.excluded_screening, counts.sought, counts.assessed) == (11, 3, 3)
    assert (counts.included_studies, counts.previous_studies, counts.total_studies) == (3, 7, 10)
    # The report draws the template for updated reviews.
    svg = prisma_svg(counts)
    for text in (
        "Studies included in previous version of",  # wrapped: "review (n = 7)" below
        "review (n = 7)",
        "Records screened (n = 14)",
        "Duplicate records removed (n = 3)",
        "New studies included in review (n = 3)",
        "Total studies included in review (n = 10)",
    ):
        assert text in svg, text
    rows = dict(counts.rows())
    assert rows["Studies included in previous version of review"] == 7
    assert rows["New studies included in review"] == 3
    assert rows["Total studies included in review"] == 10
    with project.engine.connect() as conn:
        assert current_round(conn) == 2
        rounds = record_rounds(conn)
        assert sorted(set(rounds.values())) == [1, 2]
        assert (
            conn.execute(
                sa.select(sa.func.count()).select_from(imports).where(imports.c.round == 2)
            ).scalar_one()
            == 3
        )


def test_update_command_lists_as_json_and_refuses_a_second_round_while_one_is_open(first_round):
    project, services, all_works = first_round
    serve_update(services, all_works)
    runner = CliRunner()
    args = ["update", "-p", str(project.root), "-r", "ana"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    listing = json.loads(result.stdout)
    assert (listing["round"], listing["round_records"], listing["duplicates"]) == (2, 17, 3)
    assert listing["new_records"] == 14 and len(listing["listed"]) == 5
    assert [s["seen_before"] for s in listing["searches"]] == [2, 0, 0]
    assert all(item["title"] for item in listing["listed"])
    expected = listing["expected_relevant"]
    assert expected["low"] <= expected["mean"] <= expected["high"]
    # Round 2 is being screened: no round 3 yet.
    again = runner.invoke(app, args)
    assert again.exit_code != 0
    assert "title/abstract screening of round 2 is still open" in str(again.exception)


def test_an_interrupted_update_resumes_its_searches_with_the_same_windows(first_round):
    from tests.search.fakes import Fault

    project, services, all_works = first_round
    today = serve_update(services, all_works)
    once = SearchSettings(backoff_base=0.01, timeout=5.0, rate=200.0, openalex_page=10, attempts=1)
    services.openalex.fail(
        lambda path, params: params.get("cursor") not in (None, "*"), Fault("status", status=503)
    )
    failed = run_update(project, "ana", settings=once)
    assert len(failed.failed) == 1 and "OpenAlex" in str(failed.failed[0])
    assert failed.new_ids == [] and failed.scores is None
    resumed = run_update(project, "ana", settings=once)
    assert resumed.round == 2 and resumed.resumed and not resumed.failed
    assert resumed.windows["OpenAlex"] == {"from": today, "to": today}
    # Only the search that failed runs again, from its last stored page.
    assert [s.spec.source for s in resumed.searches] == ["OpenAlex"]
    openalex = resumed.searches[0]
    assert openalex.resumed and (openalex.retrieved, openalex.imported) == (14, 12)
    assert (resumed.round_records, resumed.duplicates, len(resumed.new_ids)) == (17, 3, 14)


def test_offline_update_takes_the_exports_imported_into_its_round(first_round, tmp_path):
    from metasift.records.formats import ReadOptions
    from metasift.records.importing import import_file

    project, _services, all_works = first_round
    started = run_update(project, "ana", offline=True)
    assert (started.round, started.windows, started.searches) == (2, {}, [])
    assert started.new_ids == [] and started.scores is None
    # An export of a search run by hand: 6 new works and 2 already in the review.
    export = tmp_path / "openalex_export.json"
    export.write_text(json.dumps([*all_works[FIRST_ROUND:34], *all_works[4:6]]), "utf-8")
    import_file(project.engine, export, options=ReadOptions(source_database="OpenAlex"))
    result = run_update(project, "ana", offline=True)
    assert result.round == 2 and result.resumed and result.searches == []
    assert (result.round_records, result.duplicates, len(result.new_ids)) == (8, 2, 6)
    assert result.scores is not None and len(result.scores.probabilities) == 6
    counts = prisma_counts(project.engine, project.protocol)
    assert counts.identified == 8 and counts.duplicates == 2
    assert counts.pending == {"records awaiting title/abstract screening": 6}
    assert (counts.previous_studies, counts.total_studies) == (7, 7)


def test_tally_of_a_round_is_a_pure_function_of_decisions_and_rounds():
    from metasift.workflow.counts import ImportCount, Snapshot, tally
    from metasift.workflow.decisions import Verdict
    from metasift.workflow.fulltext import Report

    def final(rid: int, decision: str) -> Verdict:
        return Verdict(rid, "final", decision, None, "reviewer", {"ana": decision}, {})

    def report(rid: int, decision: str) -> Report:
        return Report(rid, rid, "retrieved", "x.pdf", None, final(rid, decision))

    # Round 1: records 1-4 (1 and 2 included); round 2: records 5-8, where 8 duplicates 1.
    snap = Snapshot(
        imports=[
            ImportCount(1, "OpenAlex", "database", 4, 0, 0, round=1),
            ImportCount(2, "OpenAlex", "database", 5, 1, 0, round=2),
        ],
        import_of={1: 1, 2: 1, 3: 1, 4: 1, 5: 2, 6: 2, 7: 2, 8: 2},
        cluster_of={1: 1, 8: 1},
        screenable=[1, 2, 3, 4, 5, 6, 7],
        title_abstract={
            **{r: final(r, d) for r, d in [(1, "include"), (2, "include"), (3, "exclude")]},
            **{r: final(r, d) for r, d in [(5, "include"), (6, "exclude")]},
        },
        title_abstract_closed=True,
        reports=[report(1, "include"), report(2, "include"), report(5, "include")],
        current_round=2,
    )
    counts = tally(snap)
    counts.check()
    assert counts.databases == {"OpenAlex": 4}
    assert (counts.duplicates, counts.automation_ineligible, counts.screened) == (1, 1, 2)
    assert (counts.previous_studies, counts.included_studies, counts.total_studies) == (2, 1, 3)
