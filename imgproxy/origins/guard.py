"""Which URLs a request may make us fetch: the dynamic-origin switch, hosts, no private networks."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from imgproxy.errors import ForbiddenByConfig, InvalidParameter, OriginFailed


@dataclass(frozen=True)
class UrlPolicy:
    allow_dynamic_origin: bool = True
    hosts_allowed: tuple[str, ...] = ()
    allow_private_networks: bool = False


def is_absolute(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


def ascii_host(host: str) -> str:
    """`host` in its ASCII (punycode) form, lower case, spelt as the HTTP client will send it
    (IDNA 2008: faß.de stays apart from fass.de); unchanged when it is no valid name."""
    try:
        return httpx.URL(scheme="http", host=host.lower()).raw_host.decode("ascii")
    except (httpx.InvalidURL, UnicodeError):
        return host.lower()


def host_allowed(host: str, patterns: tuple[str, ...]) -> bool:
    """Exact host names, or `*.example.com` for any subdomain of example.com; an international
    name matches in either spelling (bücher.example, xn--bcher-kva.example)."""
    host = ascii_host(host).rstrip(".")
    for pattern in (ascii_host(p) for p in patterns):
        if host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:])):
            return True
    return False


# IPv6 prefixes whose last 32 bits are an IPv4 address: compatible, mapped, translated, NAT64.
IPV4_IN_LAST_32_BITS = tuple(
    ipaddress.IPv6Network(net)
    for net in ("::/96", "::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b::/96")
)
# Reachable only inside one site: deprecated site-local, and local-use NAT64 (RFC 8215).
SITE_ONLY = tuple(ipaddress.IPv6Network(net) for net in ("fec0::/10", "64:ff9b:1::/48"))


def embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses that traffic to `ip` is really bound for (6to4, Teredo, NAT64, ...)."""
    if any(ip in net for net in IPV4_IN_LAST_32_BITS):
        return (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF),)
    if ip.sixtofour is not None:
        return (ip.sixtofour,)
    if ip.teredo is not None:
        return ip.teredo
    return ()


def is_public(address: str) -> bool:
    """False for loopback, private, link-local, site-local, CGNAT, multicast, reserved and
    unspecified addresses, also when an IPv6 address carries one of them as an embedded IPv4."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in net for net in SITE_ONLY):
            return False
        inner = embedded_ipv4(ip)
        if inner:
            return all(_is_global(v4) for v4 in inner)
    return _is_global(ip)


def _is_global(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip.is_global and not ip.is_multicast


async def check_url(url: str, policy: UrlPolicy, param: str, label: str) -> None:
    """Raise unless `url` (taken from a request) may be fetched under `policy`."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if host is None or parts.scheme.lower() not in ("http", "https"):
        raise InvalidParameter(f"{label}: {url!r} is not an http(s) URL", param=param)
    if not policy.allow_dynamic_origin:
        raise ForbiddenByConfig(f"{label}: absolute URLs are not allowed here", param=param)
    if policy.hosts_allowed and not host_allowed(host, policy.hosts_allowed):
        raise ForbiddenByConfig(f"{label}: host {host} is not allowed", param=param)
    if not policy.allow_private_networks:
        for address in await _addresses(host, port or 443):
            if not is_public(address):
                raise ForbiddenByConfig(
                    f"{label}: host {host} resolves to a non-public address", param=param
                )


async def pin(
    url: str, given: tuple[str, int, str] | None, policy: UrlPolicy
) -> tuple[str, int, tuple[str, ...]]:
    """(host, port, addresses) to connect to for `url`: resolved once, every address checked, so
    that what was checked is what is connected to; addresses keep the resolver's order.
    `given` is a resolve= override."""
    try:
        parts = urlsplit(url)
        host = ascii_host(parts.hostname or "")
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        raise OriginFailed("cannot fetch a URL that is not valid") from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise InvalidParameter(f"{url!r} is not an http(s) URL")
    if not policy.allow_dynamic_origin:
        raise ForbiddenByConfig("URLs from requests are not allowed here")
    if policy.hosts_allowed and not host_allowed(host, policy.hosts_allowed):
        raise ForbiddenByConfig(f"host {host} is not allowed")
    if given is not None and (ascii_host(given[0]), given[1]) == (host, port):
        addresses: tuple[str, ...] = (given[2],)
    else:
        addresses = await _addresses(host, port)
    if not addresses:
        raise OriginFailed(f"host {host} does not resolve")
    if not policy.allow_private_networks and not all(is_public(a) for a in addresses):
        raise ForbiddenByConfig(f"host {host} resolves to a non-public address")
    return host, port, addresses


async def _addresses(host: str, port: int) -> tuple[str, ...]:
    """The addresses of `host` in the resolver's order (it sorts them by preference), no repeats."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return ()
    return tuple(dict.fromkeys(str(info[4][0]) for info in infos))
