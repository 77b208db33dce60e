"""Which URLs a request may make us fetch: the dynamic-origin switch, hosts, no private networks."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from imgproxy.errors import ForbiddenByConfig, InvalidParameter, OriginFailed


@dataclass(frozen=True)
class UrlPolicy:
    allow_dynamic_origin: bool = True
    hosts_allowed: tuple[str, ...] = ()
    allow_private_networks: bool = False


def is_absolute(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


def host_allowed(host: str, patterns: tuple[str, ...]) -> bool:
    """Exact host names, or `*.example.com` for any subdomain of example.com."""
    host = host.lower().rstrip(".")
    for pattern in (p.lower() for p in patterns):
        if host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:])):
            return True
    return False


def is_public(address: str) -> bool:
    """False for loopback, private, link-local, CGNAT, multicast, reserved and unspecified."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
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
) -> tuple[str, int, str]:
    """(host, port, address) to connect to for `url`: resolved once, every address checked, so
    that what was checked is what is connected to. `given` is a resolve= override."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        raise OriginFailed("cannot fetch a URL that is not valid") from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise InvalidParameter(f"{url!r} is not an http(s) URL")
    if not policy.allow_dynamic_origin:
        raise ForbiddenByConfig("URLs from requests are not allowed here")
    if policy.hosts_allowed and not host_allowed(host, policy.hosts_allowed):
        raise ForbiddenByConfig(f"host {host} is not allowed")
    if given is not None and given[:2] == (host, port):
        addresses = {given[2]}
    else:
        addresses = await _addresses(host, port)
    if not addresses:
        raise OriginFailed(f"host {host} does not resolve")
    if not policy.allow_private_networks and not all(is_public(a) for a in addresses):
        raise ForbiddenByConfig(f"host {host} resolves to a non-public address")
    return host, port, sorted(addresses)[0]


async def _addresses(host: str, port: int) -> set[str]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return set()
    return {str(info[4][0]) for info in infos}
