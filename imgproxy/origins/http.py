"""An HTTP(S) base URL as the origin, with deadlines and a byte cap enforced while streaming."""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

import httpx

from imgproxy.errors import DeadlineExceeded, NotFound, OriginFailed, SourceTooLarge
from imgproxy.origins.base import Source
from imgproxy.origins.guard import UrlPolicy, pin

MAX_REDIRECTS = 5
NOT_FOUND_STATUSES = (404, 410)
MAX_PORT = 65535


class HttpOrigin:
    """Fetches `base_url` + path; 404/410 -> NotFound, other failures -> OriginFailed."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float,
        connect_timeout_s: float,
        max_bytes: int,
        follow_redirects: bool = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self.name = f"http:{self.base_url}"
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            follow_redirects=follow_redirects,
            max_redirects=MAX_REDIRECTS,
        )

    async def validator(self, path: str) -> str | None:
        # Only a request could tell the version, and that costs as much as the fetch.
        return None

    async def fetch(self, path: str) -> Source:
        return await self.fetch_url(f"{self.base_url}/{quote(path, safe='/')}", path)

    async def fetch_url(self, url: str, label: str, route: Route | None = None) -> Source:
        """GET `url`; `label` names it in error messages, so it must carry no secrets."""
        started = time.perf_counter()
        target = _parse(url, label)
        headers, extensions = {}, {}
        if route is not None:
            target, headers, extensions = route.apply(target)
        try:
            # httpx's timeouts are per operation: this bounds connect + headers + whole body.
            async with asyncio.timeout(self.timeout_s):
                return await self._get(target, label, started, headers, extensions)
        except (TimeoutError, httpx.TimeoutException):
            raise DeadlineExceeded(f"the origin did not deliver {label} in time") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            failed = Unreachable if isinstance(exc, httpx.ConnectError) else OriginFailed
            raise failed(f"fetching {label} failed: {type(exc).__name__}") from None

    async def _get(
        self,
        url: httpx.URL,
        label: str,
        started: float,
        headers: dict[str, str],
        extensions: dict[str, str],
    ) -> Source:
        stream = self._client.stream("GET", url, headers=headers, extensions=extensions)
        async with stream as response:
            if response.is_redirect and "location" in response.headers:
                raise Redirected(response.headers["location"])
            if response.status_code in NOT_FOUND_STATUSES:
                raise NotFound(f"{label} was not found at the origin")
            if not response.is_success:
                raise OriginFailed(f"origin answered {response.status_code} for {label}")
            data = await self._read_capped(response, label)
            headers = response.headers
        return Source(
            data=data,
            validator=headers.get("etag")
            or headers.get("last-modified")
            or hashlib.sha256(data).hexdigest()[:32],
            last_modified=headers.get("last-modified"),
            fetch_ms=(time.perf_counter() - started) * 1000,
        )

    async def _read_capped(self, response: httpx.Response, label: str) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise self._too_large(label)
        chunks: list[bytes] = []
        received = 0
        # Counted after decompression, so a small gzip bomb is stopped too.
        async for chunk in response.aiter_bytes():
            received += len(chunk)
            if received > self.max_bytes:
                raise self._too_large(label)
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, label: str) -> SourceTooLarge:
        return SourceTooLarge(f"{label} is larger than the {self.max_bytes} byte limit")

    async def close(self) -> None:
        await self._client.aclose()


@dataclass(frozen=True)
class Route:
    """How to reach a URL's host: another Host header, and/or a fixed address (`resolve`)."""

    host_header: str | None = None
    # (host, port, address): connect to address; the URL must name host:port (ASCII host).
    resolve: tuple[str, int, str] | None = None

    def apply(self, url: httpx.URL) -> tuple[httpx.URL, dict[str, str], dict[str, str]]:
        headers: dict[str, str] = {}
        extensions: dict[str, str] = {}
        port = url.port or (443 if url.scheme == "https" else 80)
        # raw_host is what goes on the wire (punycode); url.host would be the decoded IDN.
        host = url.raw_host.decode("ascii").lower()
        if self.resolve is not None:
            if (host, port) != self.resolve[:2]:
                # Else httpx would look the name up itself, past the checked address.
                raise OriginFailed(f"refusing to fetch from {host}: not the host that was checked")
            headers["Host"] = url.netloc.decode("ascii")
            extensions["sni_hostname"] = host
            url = url.copy_with(host=self.resolve[2])
        if self.host_header:
            headers["Host"] = self.host_header
        return url, headers, extensions


class Redirected(Exception):
    """A redirect that the caller follows itself, after checking where it leads; `location` is
    the Location header as sent, to be joined with the URL that was asked for."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


class UrlOrigin(HttpOrigin):
    """Fetches whole URLs taken from requests; `path` is the URL. Each hop is pinned to an
    address the guard checked (no second DNS answer can swap it), and each redirect is checked
    again, at most MAX_REDIRECTS of them."""

    def __init__(
        self, *, timeout_s: float, connect_timeout_s: float, max_bytes: int, policy: UrlPolicy
    ) -> None:
        super().__init__(
            "",
            timeout_s=timeout_s,
            connect_timeout_s=connect_timeout_s,
            max_bytes=max_bytes,
            follow_redirects=False,
        )
        self.policy = policy
        self.name = "url"

    async def fetch(self, path: str) -> Source:
        return await self.guarded(path, Route())

    async def guarded(self, url: str, route: Route) -> Source:
        for _ in range(MAX_REDIRECTS + 1):
            # The ASCII form, so that the name checked and pinned is the name httpx sends.
            url = str(_parse(url, redact(url)))
            try:
                return await self._pinned(url, route)
            except Redirected as hop:
                # Joined with the URL's name, not with the pinned address the response came from;
                # host_header and resolve were given for the first host only.
                url, route = urljoin(url, hop.location), Route()
        raise OriginFailed(f"more than {MAX_REDIRECTS} redirects for {redact(url)}")

    async def _pinned(self, url: str, route: Route) -> Source:
        """Fetch `url` from its checked addresses in the resolver's order, until one connects."""
        host, port, addresses = await pin(url, route.resolve, self.policy)
        # pin answers at least one address, so the loop returns or raises.
        for tried, address in enumerate(addresses, start=1):
            pinned = Route(route.host_header, (host, port, address))
            try:
                return await self.fetch_url(url, redact(url), pinned)
            except Unreachable:
                if tried == len(addresses):
                    raise


class RoutedOrigin:
    """Whole URLs through a shared UrlOrigin with a Route; its name keeps caches apart per route."""

    def __init__(self, fetcher: UrlOrigin, route: Route) -> None:
        self.fetcher = fetcher
        self.route = route
        self.name = f"url:{route.host_header or ''}:{route.resolve or ''}"

    async def validator(self, path: str) -> str | None:
        return None

    async def fetch(self, path: str) -> Source:
        return await self.fetcher.guarded(path, self.route)

    async def close(self) -> None:
        return None


class Unreachable(OriginFailed):
    """No connection to this address; another address of the same host may still answer."""


def redact(url: str) -> str:
    """`url` without credentials, query or fragment: signed URLs carry their secrets there."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "the URL"
    return f"{parts.scheme}://{host}{port}{parts.path}" if parts.scheme else "the URL"


def _parse(url: str, label: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise OriginFailed(f"cannot fetch {label}: not a valid URL") from None
    # An out-of-range port surfaces from anyio as a bare ExceptionGroup, not an httpx error.
    if parsed.port is not None and parsed.port > MAX_PORT:
        raise OriginFailed(f"cannot fetch {label}: port out of range")
    return parsed
