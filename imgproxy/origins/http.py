"""An HTTP(S) base URL as the origin, with deadlines and a byte cap enforced while streaming."""

from __future__ import annotations

import asyncio
import hashlib
import time
from urllib.parse import quote

import httpx

from imgproxy.errors import DeadlineExceeded, NotFound, OriginFailed, SourceTooLarge
from imgproxy.origins.base import Source

MAX_REDIRECTS = 5
NOT_FOUND_STATUSES = (404, 410)


class HttpOrigin:
    """Fetches `base_url` + path; 404/410 -> NotFound, other failures -> OriginFailed."""

    def __init__(
        self, base_url: str, *, timeout_s: float, connect_timeout_s: float, max_bytes: int
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self.name = f"http:{self.base_url}"
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
        )

    async def validator(self, path: str) -> str | None:
        return None

    async def fetch(self, path: str) -> Source:
        return await self.fetch_url(f"{self.base_url}/{quote(path, safe='/')}", path)

    async def fetch_url(self, url: str, path: str) -> Source:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._get(url, path, started)
        except (TimeoutError, httpx.TimeoutException):
            raise DeadlineExceeded(f"the origin did not deliver {path} in time") from None
        except httpx.HTTPError as exc:
            raise OriginFailed(f"fetching {path} failed: {type(exc).__name__}") from None

    async def _get(self, url: str, path: str, started: float) -> Source:
        async with self._client.stream("GET", url) as response:
            if response.status_code in NOT_FOUND_STATUSES:
                raise NotFound(f"{path} was not found at the origin")
            if not response.is_success:
                raise OriginFailed(f"the origin answered {response.status_code} for {path}")
            data = await self._read_capped(response, path)
            headers = response.headers
        return Source(
            data=data,
            validator=headers.get("etag")
            or headers.get("last-modified")
            or hashlib.sha256(data).hexdigest()[:32],
            last_modified=headers.get("last-modified"),
            fetch_ms=(time.perf_counter() - started) * 1000,
        )

    async def _read_capped(self, response: httpx.Response, path: str) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise self._too_large(path)
        chunks, received = [], 0
        async for chunk in response.aiter_bytes():
            received += len(chunk)
            if received > self.max_bytes:
                raise self._too_large(path)
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, path: str) -> SourceTooLarge:
        return SourceTooLarge(f"{path} is larger than the {self.max_bytes} byte limit")

    async def close(self) -> None:
        await self._client.aclose()


class UrlOrigin(HttpOrigin):
    """Fetches whole URLs (layers and watermarks given as absolute URLs); `path` is the URL."""

    def __init__(self, *, timeout_s: float, connect_timeout_s: float, max_bytes: int) -> None:
        super().__init__(
            "", timeout_s=timeout_s, connect_timeout_s=connect_timeout_s, max_bytes=max_bytes
        )
        self.name = "url"

    async def fetch(self, path: str) -> Source:
        return await self.fetch_url(path, path)
