"""Answers: image bodies with their caching headers, 304s, and JSON errors."""

from __future__ import annotations

import itertools
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse, Response

from imgproxy.config import HttpSettings
from imgproxy.errors import ImgproxyError, Overloaded
from imgproxy.web.limits import RETRY_AFTER_S

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
PROCESS_PREFIX = secrets.token_hex(12)
REQUEST_NUMBERS = itertools.count()
# An image with a layer left out (it could not be fetched): caches should ask again soon.
PARTIAL_MAX_AGE_S = 60
# Both say how long a cache may keep an answer (s-maxage for shared caches such as CDNs).
AGE_DIRECTIVES = ("max-age", "s-maxage")


@dataclass(frozen=True)
class Answer:
    """What every answer to one request shares: its id, and the settings for its headers."""

    request_id: str
    http: HttpSettings

    def common(self) -> dict[str, str]:
        headers = {"X-Request-Id": self.request_id, **self.http.add_response_headers}
        if self.http.cors_allow_origin:
            headers["Access-Control-Allow-Origin"] = self.http.cors_allow_origin
        return headers

    def cacheable(self, etag: str, vary: bool) -> dict[str, str]:
        headers = {**self.common(), "ETag": etag, "Cache-Control": self.http.cache_control}
        if vary:
            headers["Vary"] = "Accept"
        return headers

    def image(
        self,
        meta: Mapping[str, Any],
        body: bytes,
        *,
        etag: str,
        vary: bool,
        cache: str,
        timings: Mapping[str, float],
        complete: bool = True,
    ) -> Response:
        headers = self.cacheable(etag, vary)
        if not complete:
            # Its own ETag, so that revalidating it never confirms it as the whole image.
            headers["ETag"] = etag.removesuffix('"') + '-partial"'
            headers["Cache-Control"] = capped_max_age(self.http.cache_control, PARTIAL_MAX_AGE_S)
        headers["X-Cache"] = cache
        headers["X-Original-Filesize"] = str(meta["source_size"])
        headers["X-Original-Resolution"] = f"{meta['source_width']}x{meta['source_height']}"
        if meta.get("quality"):
            headers["X-Quality"] = str(meta["quality"])
        if meta.get("last_modified"):
            headers["Last-Modified"] = meta["last_modified"]
        if "fetch" in timings:
            headers["X-Origin-Fetch-Time"] = f"{timings['fetch']:.1f}"
        headers["Server-Timing"] = ", ".join(f"{k};dur={v:.1f}" for k, v in timings.items())
        return Response(body, media_type=meta["media_type"], headers=headers)

    def not_modified(self, etag: str, vary: bool) -> Response:
        return Response(status_code=304, headers=self.cacheable(etag, vary))

    def error(self, exc: ImgproxyError) -> JSONResponse:
        headers = {**self.common(), "Cache-Control": "no-store"}
        if isinstance(exc, Overloaded):
            headers["Retry-After"] = str(RETRY_AFTER_S)
        return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers)


def request_id_from(offered: str) -> str:
    """The client's X-Request-Id when it is a sane token, else a new one."""
    return offered if REQUEST_ID.fullmatch(offered) else new_request_id()


def new_request_id() -> str:
    """This process's random prefix and its next number: unique like a UUID, without the
    UUID's cost on the fastest answers."""
    return f"{PROCESS_PREFIX}{next(REQUEST_NUMBERS):08x}"


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison, as If-None-Match asks for."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in if_none_match.split(","))


def capped_max_age(cache_control: str, seconds: int) -> str:
    """`cache_control` with its max-age and s-maxage at most `seconds` (max-age added when it has
    none); its other directives (private, no-store, ...) stay as they are."""
    directives = [part.strip() for part in cache_control.split(",") if part.strip()]
    capped = [_capped(directive, seconds) for directive in directives]
    if "max-age" not in {_name(directive) for directive in directives}:
        capped.append(f"max-age={seconds}")
    return ", ".join(capped)


def _name(directive: str) -> str:
    return directive.partition("=")[0].strip().lower()


def _capped(directive: str, seconds: int) -> str:
    if _name(directive) not in AGE_DIRECTIVES:
        return directive
    given = directive.partition("=")[2].strip().strip('"')
    age = min(int(given), seconds) if given.isdigit() else seconds
    return f"{_name(directive)}={age}"
