"""The shared HTTP layer: backoff, Retry-After, token bucket, redaction, give-up messages,
and failing at once when a service cannot be reached at all."""

from __future__ import annotations

import errno
import random
import socket
from datetime import UTC, datetime

import httpx
import pytest

from metasift.errors import SearchUnreachableError
from metasift.search.http import (
    HttpClient,
    RetryPolicy,
    SearchHTTPError,
    TokenBucket,
    redact,
    redact_url,
    retry_after_seconds,
)
from metasift.search.reach import Reachability, unreachable
from tests.search.fakes import UNRESOLVABLE, Fault, closed_port, max_in_window


def test_retry_after_in_seconds_and_as_an_http_date():
    now = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Sat, 01 Mar 2025 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Sat, 01 Mar 2025 11:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_backoff_is_exponential_with_jitter_and_capped():
    policy = RetryPolicy(backoff_base=0.5, backoff_max=3.0)
    rng = random.Random(1)
    waits = [[policy.backoff(n, rng) for _ in range(200)] for n in (1, 2, 3, 4, 5)]
    for n, (low, high) in enumerate([(0.25, 0.5), (0.5, 1.0), (1.0, 2.0), (1.5, 3.0), (1.5, 3.0)]):
        assert low <= min(waits[n]) and max(waits[n]) <= high
        assert max(waits[n]) - min(waits[n]) > (high - low) / 2  # jitter spreads the waits


def test_token_bucket_spaces_requests_at_the_rate():
    now = [0.0]
    stamps = []

    def sleep(seconds: float) -> None:
        now[0] += seconds

    bucket = TokenBucket(4.0, burst=1, clock=lambda: now[0], sleep=sleep)
    for _ in range(9):
        bucket.acquire()
        stamps.append(now[0])
    assert stamps == pytest.approx([i / 4 for i in range(9)])
    assert max_in_window(stamps, 0.999) == 4
    burst = TokenBucket(2.0, burst=3, clock=lambda: now[0], sleep=sleep)
    start = now[0]
    for _ in range(5):
        burst.acquire()
    assert now[0] - start == pytest.approx(1.0)  # 3 at once, then one every 0.5 s


def test_redaction_of_urls_and_text():
    url = "https://api.openalex.org/works?search=a+b&mailto=me%40x.org&api_key=S3CRET&per-page=5"
    shown = redact_url(url)
    assert "me%40x.org" not in shown and "S3CRET" not in shown
    assert "mailto=***" in shown and "api_key=***" in shown and "search=a+b" in shown
    assert redact("key S3CRET and me%40x.org", ["S3CRET", "me@x.org"]) == "key *** and ***"


def test_429_waits_as_told_then_backs_off(services):
    waits: list[float] = []
    services.europepmc.fail(
        lambda p, q: True,
        Fault("status", 429, {"Retry-After": "7"}),
        Fault("status", 503),
        Fault("status", 504),
    )
    client = HttpClient(
        services.url("europepmc"),
        service="Europe PMC",
        rate=100.0,
        retry=RetryPolicy(attempts=5, backoff_base=1.0),
        sleep=waits.append,
    )
    with client:
        response = client.get("search", {"query": "x"}, what="Europe PMC count")
    assert response.status_code == 200
    assert waits[0] == 7.0
    assert 1.0 <= waits[1] <= 2.0 and 2.0 <= waits[2] <= 4.0
    assert len(services.europepmc.requests) == 4


def test_client_errors_are_not_retried_and_name_the_request(services):
    services.openalex.fail(lambda p, q: True, Fault("status", 403, body=b'{"error":"S3CRET"}'))
    client = HttpClient(
        services.url("openalex"),
        service="OpenAlex",
        rate=100.0,
        secrets=["S3CRET", "me@x.org"],
        sleep=lambda s: None,
    )
    with client, pytest.raises(SearchHTTPError) as caught:
        client.get(
            "works",
            {"search": "q", "api_key": "S3CRET", "mailto": "me@x.org"},
            what="OpenAlex page 3",
        )
    message = str(caught.value)
    assert message.startswith("OpenAlex page 3: OpenAlex answered HTTP 403 Forbidden for http")
    assert "S3CRET" not in message and "me@x.org" not in message and "me%40x.org" not in message
    assert caught.value.status == 403 and len(services.openalex.requests) == 1


def test_giving_up_says_how_to_resume(services):
    services.pubmed.fail(lambda p, q: True, *[Fault("drop")] * 3)
    client = HttpClient(
        services.url("pubmed"),
        service="PubMed",
        rate=100.0,
        retry=RetryPolicy(attempts=3),
        sleep=lambda s: None,
    )
    with (
        client,
        pytest.raises(
            SearchHTTPError,
            match=r"PubMed efetch, batch 2: gave up after 3 "
            r"attempts at .*efetch\.fcgi.*the connection failed",
        ),
    ):
        client.post("efetch.fcgi", {"db": "pubmed"}, what="PubMed efetch, batch 2")


# --- services that cannot be reached at all ---------------------------------------------------


def test_an_unresolvable_host_fails_at_once_naming_it():
    waits: list[float] = []
    client = HttpClient(
        f"https://{UNRESOLVABLE}/entrez/eutils/", service="PubMed", rate=100.0, sleep=waits.append
    )
    with client, pytest.raises(SearchUnreachableError) as caught:
        client.get("esearch.fcgi", {"term": "x"}, what="PubMed esearch")
    assert caught.value.attempts == 1 and waits == []
    assert caught.value.reason == f"cannot resolve {UNRESOLVABLE} (no network?)"
    assert str(caught.value).startswith(f"PubMed esearch: cannot resolve {UNRESOLVABLE}")
    assert caught.value.host == UNRESOLVABLE and caught.value.status is None


def test_a_refused_connection_fails_at_once():
    port = closed_port()
    waits: list[float] = []
    client = HttpClient(
        f"http://127.0.0.1:{port}/", service="OpenAlex", rate=100.0, sleep=waits.append
    )
    with client, pytest.raises(SearchUnreachableError) as caught:
        client.get("works", {"search": "x"}, what="OpenAlex count")
    assert caught.value.attempts == 1 and waits == []
    assert caught.value.reason.startswith(f"127.0.0.1:{port} refused the connection")


def test_later_requests_in_the_run_to_an_unreachable_host_are_not_sent(services):
    """The second search on the same address fails with the first one's diagnosis without a
    request; a service elsewhere that answers is still searched."""
    run = Reachability()
    dead = f"http://127.0.0.1:{closed_port()}/"
    first = HttpClient(dead, service="PubMed", rate=100.0, reachability=run)
    second = HttpClient(dead, service="PubMed", rate=100.0, reachability=run)
    alive = HttpClient(
        services.url("europepmc"), service="Europe PMC", rate=100.0, reachability=run
    )
    with first, pytest.raises(SearchUnreachableError) as one:
        first.get("esearch.fcgi", {"term": "a"}, what="PubMed esearch")
    with second, pytest.raises(SearchUnreachableError) as two:
        second.get("esearch.fcgi", {"term": "b"}, what="PubMed esearch")
    assert (one.value.attempts, two.value.attempts) == (1, 0)
    assert two.value.reason == one.value.reason
    assert "found earlier in this run; not tried again" in str(two.value)
    with alive:
        assert alive.get("search", {"query": "x"}, what="Europe PMC count").status_code == 200
    assert len(services.europepmc.requests) == 1


def _resolver_failure(request: httpx.Request, temporary: bool) -> httpx.ConnectError:
    """The error httpx raises when getaddrinfo fails, with the socket error as its cause."""
    code, text = (
        (socket.EAI_AGAIN, "Temporary failure in name resolution")
        if temporary
        else (socket.EAI_NONAME, "Name or service not known")
    )
    cause = socket.gaierror(code, text)
    error = httpx.ConnectError(f"[Errno {code}] {text}", request=request)
    error.__cause__ = cause
    return error


class FlakyResolver(httpx.BaseTransport):
    """The network as seen through a resolver that gets no reply ``failures`` times, then does:
    the failures are raised as httpx raises them, the rest go to the real local server."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.tries = 0
        self._real = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.tries += 1
        if self.tries <= self.failures:
            raise _resolver_failure(request, temporary=True)
        return self._real.handle_request(request)

    def close(self) -> None:
        self._real.close()


def test_a_temporary_resolution_failure_gets_one_quick_retry(services):
    waits: list[float] = []
    transport = FlakyResolver(failures=1)
    client = HttpClient(
        services.url("europepmc"),
        service="Europe PMC",
        rate=100.0,
        sleep=waits.append,
        transport=transport,
    )
    with client:
        assert client.get("search", {"query": "x"}, what="Europe PMC count").status_code == 200
    assert transport.tries == 2 and len(services.europepmc.requests) == 1
    assert len(waits) == 1 and 0.5 <= waits[0] <= 1.0

    twice = FlakyResolver(failures=2)
    client = HttpClient(
        services.url("europepmc"),
        service="Europe PMC",
        rate=100.0,
        sleep=waits.append,
        transport=twice,
    )
    with client, pytest.raises(SearchUnreachableError) as caught:
        client.get("search", {"query": "x"}, what="Europe PMC count")
    assert twice.tries == 2 and caught.value.attempts == 2
    assert caught.value.reason == "cannot resolve 127.0.0.1 (no network?)"


def test_no_quick_retry_once_the_run_found_no_network(services):
    run = Reachability()
    with HttpClient(
        f"https://{UNRESOLVABLE}/", service="PubMed", rate=100.0, reachability=run
    ) as c:
        with pytest.raises(SearchUnreachableError):
            c.get("esearch.fcgi", {}, what="PubMed esearch")
    assert run.no_network
    transport = FlakyResolver(failures=1)
    waits: list[float] = []
    client = HttpClient(
        services.url("openalex"),
        service="OpenAlex",
        rate=100.0,
        sleep=waits.append,
        reachability=run,
        transport=transport,
    )
    with client, pytest.raises(SearchUnreachableError) as caught:
        client.get("works", {}, what="OpenAlex count")
    assert transport.tries == 1 and caught.value.attempts == 1 and waits == []


def test_what_counts_as_unreachable():
    request = httpx.Request("GET", "https://api.openalex.org/works")
    dns = unreachable(_resolver_failure(request, temporary=False))
    assert dns is not None and (dns.cause, dns.address) == ("dns", "api.openalex.org:443")
    assert dns.reason == "cannot resolve api.openalex.org (no network?)"
    temporary = unreachable(_resolver_failure(request, temporary=True))
    assert temporary is not None and temporary.cause == "dns-temporary"
    # Without the socket error as cause, the message alone tells.
    bare = httpx.ConnectError("[Errno -3] Temporary failure in name resolution", request=request)
    assert unreachable(bare).cause == "dns-temporary"
    refused = httpx.ConnectError("[Errno 111] Connection refused", request=request)
    refused.__cause__ = ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
    assert unreachable(refused).cause == "refused"
    assert not unreachable(refused).no_network
    no_route = httpx.ConnectError("[Errno 101] Network is unreachable", request=request)
    no_route.__cause__ = OSError(errno.ENETUNREACH, "Network is unreachable")
    assert unreachable(no_route).cause == "no-route"
    # Timeouts, dropped connections and other connect failures keep their retries.
    assert unreachable(httpx.ConnectTimeout("timed out", request=request)) is None
    assert unreachable(httpx.ReadError("connection reset", request=request)) is None
    assert (
        unreachable(httpx.ConnectError("[SSL] certificate verify failed", request=request)) is None
    )
