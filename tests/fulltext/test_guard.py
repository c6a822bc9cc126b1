"""URLs that services offer (PDF links, redirects) never reach internal addresses, unless the
user pointed a service at that host themselves (as these tests point them at 127.0.0.1)."""

from __future__ import annotations

import httpx
import pytest

from metasift.errors import AddressRefusedError
from metasift.fulltext import Services
from metasift.fulltext.fetch import fetch_texts
from metasift.records.model import Record
from metasift.search.guard import AddressGuard, check_url
from tests.fulltext.server import Answer

METADATA = "http://169.254.169.254/latest/meta-data/iam/security-credentials/role.pdf"


def _names(table: dict[str, list[str]]):
    return lambda host: table.get(host, [])


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1:8080/admin", "loopback"),
        ("http://localhost/x.pdf", "loopback"),
        ("http://[::1]/x.pdf", "loopback"),
        ("http://[::ffff:127.0.0.1]/x.pdf", "loopback"),
        ("http://10.1.2.3/x.pdf", "private"),
        ("http://192.168.0.1/x.pdf", "private"),
        ("https://172.16.5.4/x.pdf", "private"),
        (METADATA, "link-local"),
        ("http://[fe80::1]/x.pdf", "link-local"),
        ("http://0.0.0.0/x.pdf", "unspecified"),
        ("http://100.64.0.1/x.pdf", "reserved or shared"),
        ("http://metadata.google.internal/computeMetadata/v1/", "link-local"),
        ("http://rebind.example.org/x.pdf", "private"),
    ],
)
def test_internal_addresses_are_refused(url: str, kind: str) -> None:
    resolve = _names(
        {
            "localhost": ["127.0.0.1", "::1"],
            "metadata.google.internal": ["169.254.169.254"],
            # A public name with one internal address among its answers.
            "rebind.example.org": ["93.184.216.34", "10.0.0.7"],
        }
    )
    with pytest.raises(AddressRefusedError) as caught:
        check_url(url, resolve=resolve)
    assert kind in caught.value.reason
    assert "?" not in caught.value.url


def test_public_addresses_and_the_users_own_hosts_pass() -> None:
    resolve = _names({"europepmc.org": ["193.62.193.80"], "localhost": ["127.0.0.1"]})
    check_url("https://europepmc.org/articles/PMC1/pdf", resolve=resolve)
    check_url("http://8.8.8.8/x.pdf", resolve=resolve)
    # The user's base URL names localhost: 127.0.0.1 is that host, so it passes too.
    guard = AddressGuard.for_base_urls(["http://localhost:9000/unpaywall/"], resolve)
    guard(httpx.URL("http://127.0.0.1:9001/files/a.pdf"))
    guard(httpx.URL("http://localhost:9000/files/a.pdf"))
    with pytest.raises(AddressRefusedError):
        guard(httpx.URL("http://10.0.0.1/files/a.pdf"))


def test_a_name_that_does_not_resolve_is_left_to_the_request() -> None:
    check_url("http://no-such-host.invalid/x.pdf", resolve=_names({}))


def _record(doi: str) -> list[tuple[int, Record]]:
    return [(3, Record(title="A landing page where a PDF was promised", doi=doi))]


def test_an_unpaywall_link_to_the_metadata_service_is_refused_unrequested(
    project, services, clients, limits
) -> None:
    services.articles[2].unpaywall = [METADATA, "/promised.pdf"]
    report = fetch_texts(
        project.engine,
        project.root,
        _record("10.5555/landing"),
        actor="ana",
        services=clients,
        limits=limits,
    )
    tries = report.records[0].tries
    assert [(t.source, t.outcome) for t in tries] == [
        ("europepmc", "not_found"),
        ("pmc_oa", "not_found"),
        ("unpaywall", "refused"),
        ("unpaywall", "refused"),
    ]
    assert "169.254.169.254 is a link-local" in tries[2].detail
    assert tries[3].detail == "a PDF was promised but the content is an HTML page"


def test_every_redirect_hop_is_checked(project, services, clients, limits) -> None:
    services.articles[2].unpaywall = ["/moved.pdf"]
    services.fault("/moved.pdf", Answer(302, b"", {"Location": "http://10.20.30.40/x.pdf"}))
    report = fetch_texts(
        project.engine,
        project.root,
        _record("10.5555/landing"),
        actor="ana",
        services=clients,
        limits=limits,
    )
    last = report.records[0].tries[-1]
    assert (last.outcome, last.url) == ("refused", f"{services.base}/moved.pdf")
    assert last.detail.startswith("10.20.30.40 is a private address")
    assert [s.path for s in services.requests("/moved.pdf")] == ["/moved.pdf"]


def test_without_the_users_base_url_the_local_server_is_refused(project, services, fast) -> None:
    environ = {"HOME": str(project.root.parent / "home")}  # the public services' defaults
    made = Services.from_config(project.root, settings=fast, environ=environ)
    try:
        with pytest.raises(AddressRefusedError):
            made.web.request("GET", services.url("/files/pone.0000217.pdf"), what="download")
    finally:
        made.close()
    assert services.requests("/files/") == []
