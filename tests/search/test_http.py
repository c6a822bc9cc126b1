"""The shared HTTP layer: backoff, Retry-After, token bucket, redaction, give-up messages."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from metasift.search.http import (
    HttpClient,
    RetryPolicy,
    SearchHTTPError,
    TokenBucket,
    redact,
    redact_url,
    retry_after_seconds,
)
from tests.search.fakes import Fault, max_in_window


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
