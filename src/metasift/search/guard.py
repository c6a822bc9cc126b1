"""Which addresses a URL offered by a service may reach: public ones, and the user's own.

A service's answer names URLs metasift then requests: Unpaywall's ``url_for_pdf``, the PDF
links of Europe PMC and PMC OA, a publisher's landing page, and the ``Location`` of every
redirect on the way. Whoever controls one of those answers (a compromised repository, a
hostile mirror named in a shared review.toml) could otherwise point metasift at the machine it
runs on or its network: a database admin page on 127.0.0.1, a router on 192.168.0.1, or the
cloud metadata service at 169.254.169.254 that hands out credentials. :func:`check_url`
refuses a URL whose host is, or resolves to, a loopback, private, link-local, shared, reserved,
multicast or unspecified address, unless the user pointed a service there themselves (their
environment or config file names a base URL on that host), which is how a local mirror and
the tests against 127.0.0.1 work. :class:`metasift.search.http.HttpClient` asks it before every
request and every redirect hop.

Resolution is checked before connecting; a name that resolves to a public address now and to
an internal one a moment later (DNS rebinding) is not caught, since httpx connects on its own
resolution. Pinning the address would need a transport of our own, for an attack that also
needs the attacker's DNS server and a short TTL; the check stops what a service's answer alone
can do.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import httpx

from metasift.errors import AddressRefusedError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host -> its addresses (as socket.getaddrinfo would give them); replaceable in tests.
Resolver = Callable[[str], list[str]]


def _resolve(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return []  # the request itself then fails as unreachable, and says so
    return [str(info[4][0]) for info in infos]


def _address(text: str) -> IPAddress | None:
    try:
        ip = ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return ip


def internal_kind(ip: IPAddress) -> str | None:
    """What makes ``ip`` internal ("loopback", "link-local (cloud metadata)", ...), or None
    for a public address.

    Args:
        ip: an IPv4 or IPv6 address.
    """
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local (where cloud metadata services answer)"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_multicast:
        return "multicast"
    if ip.is_private:
        return "private"
    if ip.is_reserved or not ip.is_global:
        return "reserved or shared"
    return None


@dataclass(frozen=True)
class AddressGuard:
    """The hosts the user chose (their own base URLs), and how names are resolved.

    Call it with a URL: it returns when the URL may be requested, and raises
    :class:`~metasift.errors.AddressRefusedError` when not.
    """

    allowed_hosts: frozenset[str] = frozenset()
    resolve: Resolver = field(default=_resolve, compare=False)

    @classmethod
    def for_base_urls(cls, urls: Iterable[str], resolve: Resolver | None = None) -> AddressGuard:
        """A guard that lets through the hosts of ``urls`` (the user's own base URLs).

        Args:
            urls: base URLs the user set (environment or config file), never review.toml's.
            resolve: host -> addresses (default: the system resolver).
        """
        hosts = frozenset(h for h in (httpx.URL(u).host.lower() for u in urls) if h)
        return cls(hosts, resolve or _resolve)

    def __call__(self, url: httpx.URL | str) -> None:
        check_url(url, self.allowed_hosts, self.resolve)


def check_url(
    url: httpx.URL | str,
    allowed_hosts: Iterable[str] = (),
    resolve: Resolver | None = None,
) -> None:
    """Refuse ``url`` if its host is, or resolves to, an internal address the user did not set.

    A host is let through when it is one of ``allowed_hosts`` or resolves to an address one of
    them resolves to (``localhost`` and ``127.0.0.1`` are then the same place).

    Args:
        url: an absolute http(s) URL about to be requested.
        allowed_hosts: the hosts of the user's own base URLs (environment or config file).
        resolve: host -> addresses (default: the system resolver).

    Raises:
        AddressRefusedError: the URL would reach an internal address.
    """
    resolve = resolve or _resolve
    url = httpx.URL(str(url)) if not isinstance(url, httpx.URL) else url
    host = url.host.lower()
    allowed = {h.lower() for h in allowed_hosts}
    if not host or host in allowed:
        return
    literal = _address(host)
    addresses = [literal] if literal else [a for a in map(_address, resolve(host)) if a]
    internal = [(ip, kind) for ip in addresses if (kind := internal_kind(ip))]
    if not internal:
        return
    trusted = {
        str(ip)
        for name in allowed
        for ip in ([_address(name)] if _address(name) else map(_address, resolve(name)))
        if ip is not None
    }
    refused = [(ip, kind) for ip, kind in internal if str(ip) not in trusted]
    if refused:
        ip, kind = refused[0]
        shown = url.copy_with(query=None, fragment=None, username=None, password=None)
        raise AddressRefusedError(
            str(shown),
            f"{host} {'is' if literal else 'resolves to'} a {kind} address ({ip}), which a "
            "URL offered by a service may not reach; if that server is yours, set the "
            "service's base URL to it (environment or config file)",
        )
