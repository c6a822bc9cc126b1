"""Telling a service that cannot be reached at all from one that is slow or busy.

A name that does not resolve, a refused connection, no route to the network: waiting seconds
and trying again does not mend these, so :class:`metasift.search.http.HttpClient` fails at once
on them (a timeout, a dropped connection or a 5xx keeps its backoff). :func:`unreachable` makes
the diagnosis from httpx's error; :class:`Reachability` remembers it for the rest of a run, so
that the run's other searches on the same host fail at once with the same words, and says
whether the network itself looks absent.
"""

from __future__ import annotations

import errno
import socket
import threading
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class Unreachable:
    """Why a host could not be reached at all.

    ``address`` is ``host:port``; ``cause`` is ``"dns"`` (the name did not resolve),
    ``"dns-temporary"`` (the resolver got no reply), ``"refused"`` or ``"no-route"``;
    ``reason`` says it for people, naming the host.
    """

    host: str
    address: str
    cause: str
    reason: str

    @property
    def no_network(self) -> bool:
        """Whether the failure points at the machine's network rather than at this host."""
        return self.cause != "refused"


# What the resolver says when it got no reply (glibc, Windows), and when the name has no
# address (glibc, macOS/BSD, Windows); messages are checked too, for errors raised without errno.
_EAI_TEMPORARY = {socket.EAI_AGAIN, 11002}
_TEMPORARY_TEXT = ("temporary failure in name resolution",)
_DNS_TEXT = (
    "name or service not known",
    "nodename nor servname provided",
    "no address associated with hostname",
    "getaddrinfo failed",
)


def address(url: httpx.URL) -> str:
    """``host:port`` of ``url``, the port filled in from the scheme when the URL has none.

    Args:
        url: an absolute http or https URL.
    """
    return f"{url.host}:{url.port or (443 if url.scheme == 'https' else 80)}"


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def unreachable(exc: httpx.TransportError) -> Unreachable | None:
    """The diagnosis when ``exc`` says the host cannot be reached at all, else None.

    httpx raises ``ConnectError`` for all of these; the cause it wraps (``socket.gaierror``,
    ``ConnectionRefusedError``, an ``OSError`` with ``ENETUNREACH``) or, failing that, the
    message tells them apart. Anything else (timeouts, dropped connections) is None.

    Args:
        exc: what httpx raised for a request that got no response.
    """
    if not isinstance(exc, httpx.ConnectError):
        return None
    try:
        host, where = exc.request.url.host, address(exc.request.url)
    except RuntimeError:  # an error raised without its request
        host = where = "the service"
    chain = _causes(exc)
    text = " ".join(str(e) for e in chain).lower()
    gai = next((e for e in chain if isinstance(e, socket.gaierror)), None)
    resolve = f"cannot resolve {host} (no network?)"
    if (gai is not None and gai.errno in _EAI_TEMPORARY) or any(t in text for t in _TEMPORARY_TEXT):
        return Unreachable(host, where, "dns-temporary", resolve)
    if gai is not None or any(t in text for t in _DNS_TEXT):
        return Unreachable(host, where, "dns", resolve)
    errnos = {getattr(e, "errno", None) for e in chain}
    if errno.ECONNREFUSED in errnos or any(isinstance(e, ConnectionRefusedError) for e in chain):
        return Unreachable(
            host, where, "refused", f"{where} refused the connection (wrong address, or down?)"
        )
    if errno.ENETUNREACH in errnos or "network is unreachable" in text:
        return Unreachable(host, where, "no-route", f"cannot reach {host}: no route (no network?)")
    return None


class Reachability:
    """The hosts found unreachable during one run, shared by the clients of its searches.

    Once a request to a host failed because it cannot be reached, the other searches of the
    run that use that host fail at once with the same diagnosis instead of trying again; once
    the network itself looks absent, a temporary resolution failure of another host gets no
    quick retry either. Other hosts are still tried (a local mirror may answer). Thread-safe.
    """

    def __init__(self) -> None:
        self._failed: dict[str, Unreachable] = {}
        self._lock = threading.Lock()

    def known(self, where: str) -> Unreachable | None:
        """The diagnosis already made in this run for ``where`` (``host:port``), if any."""
        with self._lock:
            return self._failed.get(where)

    def note(self, failure: Unreachable) -> None:
        """Remember ``failure`` for the rest of the run (the first diagnosis of a host stays)."""
        with self._lock:
            self._failed.setdefault(failure.address, failure)

    @property
    def no_network(self) -> bool:
        """Whether some host failed in a way that points at the machine's network."""
        with self._lock:
            return any(f.no_network for f in self._failed.values())
