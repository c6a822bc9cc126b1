"""The one HTTP layer every live source uses: httpx with timeouts, retries and a rate limit.

httpx has timeouts and connection pooling but no retry policy for responses (its transport
``retries`` only re-attempts failed connects) and no rate limiter, so both are written here,
small and shared:

* retries with exponential backoff and jitter on 429 (honouring ``Retry-After``), 5xx,
  timeouts and dropped connections, up to a bounded number of attempts;
* no such retries when the service cannot be reached at all (its name does not resolve, it
  refuses the connection, there is no route to it): waiting seconds does not bring a network
  back, and a run without one should say so at once instead of after minutes of backoff.
  :mod:`metasift.search.reach` makes that diagnosis and carries it to the run's other clients;
* a token bucket (:class:`TokenBucket`) so that every request, retries included, stays within
  the source's published rate (PubMed: 3 requests/s, 10 with an API key).

Secrets (API keys, e-mail addresses) travel as request parameters. Nothing this module says
(errors, log lines) carries them: URLs are shown with those parameters masked, response
excerpts are scrubbed of the secret values, and httpx's own request log is filtered the same way.
Nor do redirects carry them elsewhere: httpx, told to follow redirects, re-sends a 307's form
body (keys included) to any host the answer names, and keeps query parameters the Location
echoes. Redirects are therefore followed here (:meth:`HttpClient._send`): within the service's
origin as they are, to any other origin (another host, port, or http instead of https) only
after the credential parameters are taken out of the URL and the form. A client given a
``guard`` (:class:`metasift.search.guard.AddressGuard`) asks it before the request and before
every hop, so that no URL a service offers reaches an internal address.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from metasift.errors import SearchError, SearchHTTPError, SearchUnreachableError
from metasift.search.reach import Reachability, Unreachable, address, unreachable

log = logging.getLogger(__name__)

# Request parameters whose values are credentials or personal data; never shown anywhere.
SECRET_PARAMS = frozenset({"api_key", "apikey", "key", "email", "mailto", "token"})
MASK = "***"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_REDIRECTS = 10
USER_AGENT = "metasift (systematic review tool; +https://pypi.org/project/metasift/)"


def redact_url(url: str | httpx.URL) -> str:
    """``url`` with the values of credential parameters replaced by ``***``."""
    parts = urlsplit(str(url))
    if not parts.query:
        return str(url)
    query = [
        (k, MASK if k.lower() in SECRET_PARAMS else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query, safe="*:/,")))


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value (and its URL-encoded form) replaced by ``***``."""
    for secret in secrets:
        if secret:
            for form in {secret, urlencode({"": secret})[1:]}:
                text = text.replace(form, MASK)
    return text


class _RedactHttpxLog(logging.Filter):
    """Masks credential parameters in the URLs httpx logs at INFO level."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(
                redact_url(a) if isinstance(a, httpx.URL | str) and "?" in str(a) else a
                for a in record.args
            )
        return True


def _install_log_filter() -> None:
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactHttpxLog) for f in logger.filters):
        logger.addFilter(_RedactHttpxLog())


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait before giving up on a request.

    The wait before attempt ``n + 1`` is ``backoff_base * 2**(n - 1)`` seconds (capped at
    ``backoff_max``), scaled by a random factor in [0.5, 1] so that clients do not retry in step;
    a 429's ``Retry-After`` replaces it (capped at ``retry_after_max``).

    A service that cannot be reached at all (:func:`unreachable`) is not retried, except that
    a *temporary* failure in name resolution gets ``resolve_retries`` quick retries (waiting
    ``backoff(1)``): the resolver gives that answer when it got no reply, which a laptop waking
    up or a resolver restarting also causes for a moment.
    """

    attempts: int = 8
    resolve_retries: int = 1
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    retry_after_max: float = 300.0

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        wait = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return wait * (0.5 + 0.5 * (rng or random).random())


class TokenBucket:
    """At most ``rate`` requests per second on average and ``burst`` at once; thread-safe."""

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = max(1.0, burst)
        self._tokens = self.burst
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            while True:
                now = self._clock()
                self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                self._sleep((1.0 - self._tokens) / self.rate)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class HttpClient:
    """A rate-limited, retrying HTTP client for one service.

    ``secrets`` are the credential values this client sends; they are scrubbed from every
    message it produces. ``sleep`` waits between retries (the rate limiter keeps real time).
    ``reachability`` is shared with the other clients of a run (see :class:`Reachability`);
    ``transport`` replaces httpx's network transport (tests of failures no server can stage).
    ``guard`` is asked about every URL before it is requested, redirect hops included, and
    raises to refuse one (:class:`metasift.search.guard.AddressGuard`).
    """

    def __init__(
        self,
        base_url: str,
        *,
        service: str,
        rate: float,
        burst: float = 1.0,
        retry: RetryPolicy | None = None,
        timeout: float | httpx.Timeout = 60.0,
        secrets: Iterable[str] = (),
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        reachability: Reachability | None = None,
        transport: httpx.BaseTransport | None = None,
        guard: Callable[[httpx.URL], None] | None = None,
    ) -> None:
        _install_log_filter()
        self.guard = guard
        self.service = service
        # What a request that gave up tells people to do (the download of a full text is
        # resumed by fetching again, not by searching).
        self.resume_hint = "Run the search again later: it resumes where it stopped."
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.retry = retry or RetryPolicy()
        self.bucket = TokenBucket(rate, burst)
        self._secrets = tuple(s for s in secrets if s)
        self._sleep = sleep
        self._rng = rng
        self.reachability = reachability or Reachability()
        timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._client = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            headers={"User-Agent": USER_AGENT, **(headers or {})},
            follow_redirects=False,  # followed by _send, which keeps secrets at home
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def scrub(self, text: str) -> str:
        return redact(text, self._secrets)

    def shown_url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """The URL of a request as it may be shown to people: credentials masked."""
        url = httpx.URL(self.base_url).join(path)
        if params:
            url = url.copy_merge_params({k: v for k, v in params.items() if v is not None})
        return self.scrub(redact_url(url))

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        what: str,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send a request, retrying what can be retried; raises :class:`SearchHTTPError`.

        ``what`` names the request for people ("PubMed efetch, batch 3"). GET requests carry
        ``params``; POST requests send ``data`` as a form body (credentials stay out of URLs).
        ``path`` may also be an absolute URL (a download found by a service). ``headers`` are
        added to this request only (``Range`` to resume a download). With ``stream`` the body
        of a successful answer is left unread: the caller reads it (within its own size limit)
        and closes the response.
        """
        params = {k: v for k, v in (params or {}).items() if v is not None}
        form = {k: v for k, v in (data or {}).items() if v is not None} if data else None
        shown = self.shown_url(path, params)
        where = address(httpx.URL(self.base_url).join(path))
        problem = ""
        resolve_retries = self.retry.resolve_retries
        for attempt in range(1, self.retry.attempts + 1):
            known = self.reachability.known(where)
            if known is not None:
                raise self._unreachable(what, known, attempt - 1, earlier=True)
            self.bucket.acquire()
            wait: float | None = None
            try:
                response = self._send(method, path, params, form, headers, stream)
            except httpx.TimeoutException as exc:
                problem = f"no answer in time ({type(exc).__name__})"
            except httpx.TransportError as exc:
                failure = unreachable(exc)
                retry_once = (
                    failure is not None
                    and failure.cause == "dns-temporary"
                    and resolve_retries > 0
                    and attempt < self.retry.attempts
                    and not self.reachability.no_network
                )
                if failure is not None and not retry_once:
                    self.reachability.note(failure)
                    raise self._unreachable(what, failure, attempt) from exc
                if retry_once:
                    resolve_retries -= 1
                    wait = self.retry.backoff(1, self._rng)
                problem = f"the connection failed ({type(exc).__name__}: {self.scrub(str(exc))})"
            else:
                status = response.status_code
                if status < 400:
                    return response
                body = self.scrub(_head(response, stream))
                if status not in RETRY_STATUSES:
                    raise SearchHTTPError(
                        f"{what}: {self.service} answered HTTP {status} "
                        f"{response.reason_phrase} for {shown}: {_excerpt(body)}",
                        status=status,
                        body=body,
                    )
                problem = f"HTTP {status} {response.reason_phrase}"
                if status == 429:
                    after = retry_after_seconds(response.headers.get("Retry-After"))
                    if after is not None:
                        wait = min(after, self.retry.retry_after_max)
            if attempt == self.retry.attempts:
                break
            if wait is None:
                wait = self.retry.backoff(attempt, self._rng)
            log.warning(
                "%s: %s; retrying in %.2f s (attempt %d of %d)",
                what,
                problem,
                wait,
                attempt + 1,
                self.retry.attempts,
            )
            self._sleep(wait)
        raise SearchHTTPError(
            f"{what}: gave up after {self.retry.attempts} attempts at {shown}; last problem: "
            f"{problem}. {self.resume_hint}"
        )

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any],
        form: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """One request, its redirects followed; only the base URL's origin sees secrets."""
        request = self._client.build_request(
            method, path, params=params, data=form, headers=headers
        )
        home = _origin(self._client.base_url)
        for _ in range(MAX_REDIRECTS + 1):
            if self.guard is not None:
                self.guard(request.url)
            response = self._client.send(request, stream=stream)
            following = response.next_request
            if following is None:
                return response
            response.close()
            if following.url.scheme not in ("http", "https"):
                raise SearchHTTPError(
                    f"{self.service} redirected to a {following.url.scheme}: URL "
                    f"({self.scrub(redact_url(following.url))}); only http and https are followed."
                )
            if _origin(following.url) != home:
                log.info(
                    "%s redirected to %s; following it without credentials",
                    self.service,
                    redact_url(following.url),
                )
                following = self._client.build_request(
                    following.method,
                    self._without_secrets(following.url),
                    # A 307 or 308 re-sends the form; 301, 302 and 303 turn a POST into a GET.
                    data=self._form_without_secrets(form) if following.method == method else None,
                    headers=headers,
                )
            request = following
        raise SearchHTTPError(
            f"{self.service} redirected more than {MAX_REDIRECTS} times (last to "
            f"{self.scrub(redact_url(request.url))}); check the service URL."
        )

    def _is_secret(self, key: str, value: Any) -> bool:
        return key.lower() in SECRET_PARAMS or str(value) in self._secrets

    def _without_secrets(self, url: httpx.URL) -> httpx.URL:
        kept = [(k, v) for k, v in url.params.multi_items() if not self._is_secret(k, v)]
        return url.copy_with(query=urlencode(kept).encode("ascii") or None)

    def _form_without_secrets(self, form: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if not form:
            return None
        return {k: v for k, v in form.items() if not self._is_secret(k, v)}

    def _unreachable(
        self, what: str, failure: Unreachable, attempts: int, *, earlier: bool = False
    ) -> SearchUnreachableError:
        seen = " (found earlier in this run; not tried again)" if earlier else ""
        return SearchUnreachableError(
            f"{what}: {failure.reason}{seen}. Run the search again when {failure.host} can be "
            "reached: it resumes where it stopped.",
            host=failure.host,
            reason=failure.reason,
            attempts=attempts,
        )

    def get(self, path: str, params: Mapping[str, Any], *, what: str) -> httpx.Response:
        return self.request("GET", path, params=params, what=what)

    def post(self, path: str, data: Mapping[str, Any], *, what: str) -> httpx.Response:
        return self.request("POST", path, data=data, what=what)

    def get_json(self, path: str, params: Mapping[str, Any], *, what: str) -> dict[str, Any]:
        """A GET whose answer must be a JSON object; anything else is a :class:`SearchError`."""
        response = self.get(path, params, what=what)
        try:
            data = json.loads(response.content)
        except ValueError as exc:
            raise SearchError(
                f"{what}: {self.service} sent malformed JSON ({exc}); nothing from this page "
                "was stored. Run the search again to retry from this page."
            ) from exc
        if not isinstance(data, dict):
            raise SearchError(f"{what}: expected a JSON object from {self.service}.")
        return data


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """Scheme, host and port: what a redirect may not change and keep the secrets."""
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default


def _head(response: httpx.Response, stream: bool, limit: int = 2000) -> str:
    """The start of an error answer's body; a streamed one is read only that far and closed."""
    if not stream:
        return response.text[:limit]
    taken = b""
    try:
        for chunk in response.iter_bytes():
            taken += chunk
            if len(taken) >= limit:
                break
    except httpx.HTTPError:
        pass
    finally:
        response.close()
    return taken[:limit].decode(response.encoding or "utf-8", errors="replace")


def _excerpt(text: str, limit: int = 300) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[:limit] + "..."
