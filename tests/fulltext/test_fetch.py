"""Fetching open-access full texts from real response formats served on 127.0.0.1: 429s with
Retry-After, redirects, an HTML page where a PDF was promised, downloads cut short, files too
large or carrying scripts; each handled, named in the listing, never stored as a full text."""

from __future__ import annotations

import hashlib
import time

from metasift.fulltext import FileStore, last_fetches, stored_texts
from metasift.store.audit import iter_log
from metasift.workflow.counts import prisma_counts
from metasift.workflow.fulltext import fetch_reports, list_reports
from tests.fulltext.conftest import EMAIL
from tests.fulltext.server import Answer


def _fetch(project, clients, limits, **options):
    return fetch_reports(
        project.engine,
        project.protocol,
        project.root,
        "ana",
        services=clients,
        limits=limits,
        **options,
    )


def _tries(report, record_id):
    return next(r for r in report.records if r.record_id == record_id).tries


def test_fetch_stores_what_it_finds_and_lists_what_it_does_not(project, services, clients, limits):
    services.fault(
        "/europepmc/webservices/rest/PMC2329613/fullTextXML",
        Answer(429, b'{"error": "Too Many Requests"}', {"Retry-After": "1"}),
    )
    # The PMC PDF (behind a redirect) is cut short once: resumed with a Range request.
    services.fault(
        "/files/pone.0000217.pdf",
        Answer(200, services.files["/files/pone.0000217.pdf"][0], cut=10_000),
    )
    whole = services.files["/cut.pdf"][0]
    services.fault("/cut.pdf", *[Answer(200, whole, cut=5_000) for _ in range(3)])

    started = time.monotonic()
    report = _fetch(project, clients, limits)
    outcomes = {r.record_id: r.outcome for r in report.records}
    assert outcomes == {
        1: "stored",
        2: "stored",
        3: "not_found",
        4: "failed",
        5: "not_found",
        6: "not_found",
        7: "not_found",
        8: "not_found",
    }

    # 1: Europe PMC's JATS XML, after honouring Retry-After.
    xml = services.requests("/europepmc/webservices/rest/PMC2329613/fullTextXML")
    assert len(xml) == 2 and time.monotonic() - started >= 1.0
    texts = stored_texts(project.engine)
    first = texts[1][0]
    assert (first.source, first.media_type, first.licence) == (
        "europepmc",
        "application/jats+xml",
        "cc by",
    )
    nxml = services.files["/jats/PMC2329613"][0]
    assert first.sha256 == hashlib.sha256(nxml).hexdigest() and first.size == len(nxml)
    # 2: found by DOI in Europe PMC (its PMCID), PDF from the PMC OA service, redirected,
    # cut short and resumed from where it stopped.
    second = texts[2][0]
    assert (second.source, second.media_type, second.pages, second.licence) == (
        "pmc_oa",
        "application/pdf",
        3,
        "CC BY",
    )
    pdf_requests = services.requests("/files/pone.0000217.pdf")
    assert [r.headers.get("range") for r in pdf_requests] == [None, "bytes=10000-"]
    assert second.url.endswith("/pmc/articles/PMC1790863/pdf")

    # Files are named by their hash and hold exactly the bytes served.
    store = FileStore(project.root)
    for text in (first, second):
        path = store.verified_path(text.sha256, text.media_type)
        assert path.name.startswith(text.sha256) and path.parent.name == "fulltexts"
    stored = sorted(p.name for p in (project.root / "fulltexts").iterdir() if p.is_file())
    assert stored == sorted([f"{first.sha256}.xml", f"{second.sha256}.pdf"])

    # What was not found is listed with what each source said.
    landing = _tries(report, 3)
    assert any(t.outcome == "refused" and "HTML page" in t.detail for t in landing)
    assert "cut short: 5,000 of" in _tries(report, 4)[-1].detail
    assert "no PMCID, PMID or DOI" in report.records[4].summary()
    closed = report.records[5].summary()
    assert "idIsNotOpenAccess" in closed and "no open-access copy" in closed
    assert any("is 349 kB; at most 200 kB is accepted" in t.detail for t in _tries(report, 7))
    assert any("JavaScript" in t.detail for t in _tries(report, 8))

    # The workflow's one rule: stored -> retrieved; every source said no -> not retrieved;
    # a source that could not be asked -> still pending. PRISMA counts from it.
    reports = {r.record_id: r for r in list_reports(project.engine, project.protocol)}
    assert reports[1].retrieval == "retrieved" and reports[1].location == first.path
    assert reports[4].retrieval == "pending"
    assert reports[3].retrieval == "not_retrieved"
    assert "HTML page" in reports[3].not_retrieved_reason
    assert prisma_counts(project.engine, project.protocol).not_retrieved == 5

    # The audit log names who fetched what.
    fetched = [e for e in iter_log(project.engine) if e.action == "fulltext.fetch"]
    assert {(e.entity_id, e.actor) for e in fetched} == {("1", "ana"), ("2", "ana")}


def test_a_second_fetch_resumes(project, services, clients, limits):
    whole = services.files["/cut.pdf"][0]
    services.fault("/cut.pdf", *[Answer(200, whole, cut=5_000) for _ in range(3)])
    _fetch(project, clients, limits)
    searches = len(services.requests("/europepmc/webservices/rest/search"))

    again = _fetch(project, clients, limits)
    outcomes = {r.record_id: r.outcome for r in again.records}
    assert outcomes[4] == "stored"
    assert [o for rid, o in outcomes.items() if rid != 4] == ["skipped"] * 7
    # Only record 4 was looked up again; its download resumed from the part kept.
    assert len(services.requests("/europepmc/webservices/rest/search")) == searches + 1
    assert services.requests("/cut.pdf")[-1].headers.get("range") == "bytes=5000-"
    assert stored_texts(project.engine)[4][0].size == len(whole)
    assert not list((project.root / "fulltexts" / ".partial").iterdir())
    assert last_fetches(project.engine)[4].outcome == "stored"

    # --again asks again about the records no source had a copy of.
    services.articles[2].unpaywall = ["/files/pone.0000217.pdf"]
    third = _fetch(project, clients, limits, again=True)
    assert {r.record_id: r.outcome for r in third.records}[3] == "stored"


def test_the_email_goes_to_unpaywall_only(project, services, clients, limits):
    _fetch(project, clients, limits)
    with_email = [s for s in services.seen if EMAIL in str(s.params) + str(s.headers)]
    assert with_email and all(s.path.startswith("/unpaywall/v2/") for s in with_email)


def test_only_included_fetches_the_reports_of_included_studies(project, services, clients, limits):
    from metasift.workflow import decisions as wd

    wd.decide(
        project.engine,
        project.protocol,
        record_id=2,
        reviewer="ana",
        decision="include",
        stage=wd.FULL_TEXT,
    )
    report = _fetch(project, clients, limits, only_included=True)
    assert [r.record_id for r in report.records] == [2]


def test_cli_fetch_lists_what_was_not_found(project, services):
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        **services.env,
        "METASIFT_EMAIL": EMAIL,
        "METASIFT_HTTP_BACKOFF": "0.01",
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
    }
    done = subprocess.run(
        [sys.executable, "-m", "metasift.cli", "fulltext", "fetch", "-p", str(project.root)],
        capture_output=True,
        text=True,
        env={**env, "METASIFT_REVIEWER": "ana", "COLUMNS": "300"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    out = " ".join(done.stdout.split())
    # Without the tests' 200 kB limit, the 349 kB PDF is stored too.
    assert "stored 4, not found 4, failed 0" in out
    assert "a PDF was promised but the content is an HTML page" in out
    assert EMAIL not in done.stdout + done.stderr


def test_service_urls_and_email_from_the_config_file(project, services, fast, tmp_path):
    from metasift.fulltext import Services

    config = tmp_path / "config.toml"
    lines = [f'email = "{EMAIL}"']
    lines += [f'{k.removeprefix("METASIFT_").lower()} = "{v}"' for k, v in services.env.items()]
    config.write_text("\n".join(lines), encoding="utf-8")
    made = Services.from_config(
        project.root, settings=fast, environ={"METASIFT_CONFIG": str(config)}
    )
    try:
        assert made.unpaywall.base_url == services.env["METASIFT_UNPAYWALL_URL"]
        assert made.email == EMAIL  # the user named the host: the e-mail may go there
    finally:
        made.close()
    # With no URL set, the public services over https, the e-mail to Unpaywall's own host.
    public = Services.from_config(project.root, settings=fast, environ={"METASIFT_EMAIL": EMAIL})
    try:
        assert public.unpaywall.base_url == "https://api.unpaywall.org/"
        assert public.pmc_oa.base_url == "https://www.ncbi.nlm.nih.gov/pmc/utils/oa/"
        assert public.europepmc.base_url == "https://www.ebi.ac.uk/europepmc/webservices/rest/"
        assert public.email == EMAIL
    finally:
        public.close()


def test_a_server_that_drips_is_given_up_on_and_resumed_later(project, services, clients, limits):
    from dataclasses import replace

    whole = services.files["/cut.pdf"][0]
    services.fault("/cut.pdf", Answer(200, whole, drip=0.05))
    hurried = replace(limits, download_seconds=0.5)
    started = time.monotonic()
    report = _fetch(project, clients, hurried)
    assert time.monotonic() - started < 15
    assert report.records[3].outcome == "failed"
    assert "sent too slowly" in report.records[3].tries[-1].detail
    again = _fetch(project, clients, limits)
    assert again.records[3].outcome == "stored"
    assert services.requests("/cut.pdf")[-1].headers.get("range", "").startswith("bytes=")


def test_without_an_email_unpaywall_is_not_asked_and_nothing_counts_as_not_found(
    project, services, fast, limits
):
    from metasift.fulltext import Services

    environ = {**services.env, "HOME": str(project.root.parent / "home")}
    clients = Services.from_config(project.root, settings=fast, environ=environ)
    try:
        report = _fetch(project, clients, limits)
    finally:
        clients.close()
    assert not services.requests("/unpaywall/")
    outcomes = {r.record_id: r.outcome for r in report.records}
    # Records with a DOI wait for Unpaywall; the one with no identifier at all is not found.
    assert outcomes[3] == "failed" and outcomes[5] == "not_found"
    assert "Unpaywall: not asked (no contact e-mail set)" in report.records[2].summary()


def test_a_stale_part_longer_than_the_file_is_dropped_and_fetched_again(
    project, services, clients, limits
):
    import hashlib as h

    from metasift.fulltext import FileStore

    url = services.url("/cut.pdf")
    part = FileStore(project.root).partial(h.sha256(url.encode()).hexdigest())
    part.write_bytes(b"x" * (len(services.files["/cut.pdf"][0]) + 10))
    report = _fetch(project, clients, limits)
    assert report.records[3].outcome == "stored"
    ranges = [r.headers.get("range") for r in services.requests("/cut.pdf")]
    assert ranges[0].startswith("bytes=") and ranges[1] is None
