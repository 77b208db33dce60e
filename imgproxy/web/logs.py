"""One log line and one count per request: hot answers have theirs from the front of the app,
every other answer (routed ones, errors and crashes) from a middleware around the rest."""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from json.encoder import encode_basestring_ascii
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from imgproxy import metrics
from imgproxy.config import LogSettings
from imgproxy.errors import ImgproxyError
from imgproxy.logs import REQUESTS_LOG, encode_json, stamp, write_request_line

# Where the error handlers note, in the request's state, the error an answer carries.
ERROR = "logged_error"
# Query parameters whose values never reach a log line: the signature, and common names of
# credentials in the URLs that source_url, origin, mark or layers may hold.
SECRET_NAMES = frozenset(
    {
        "s",
        "sig",
        "signature",
        "token",
        "access_token",
        "api_key",
        "apikey",
        "key",
        "secret",
        "password",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
    }
)
# A URL inside a parameter's value, whose own separators are percent-encoded.
NESTED_URL = re.compile(r"://|%3A%2F%2F", re.IGNORECASE)
NESTED_SECRET = re.compile(
    r"([?&]|%3F|%26)(" + "|".join(map(re.escape, sorted(SECRET_NAMES))) + r")(=|%3D)[^&%]*"
    r"(?:%(?!26)[^&%]*)*",
    re.IGNORECASE,
)
# The user:password part of a URL, plain or percent-encoded.
URL_CREDENTIALS = re.compile(r"(://|%3A%2F%2F)(?:(?!/|%2F|&|@|%40).)+(@|%40)", re.IGNORECASE)
REDACTED = "***"
# logfmt values with a character outside printable ASCII, or with `"`, `=` or `\`, are written
# as JSON strings.
NEEDS_QUOTES = re.compile(r"[^\x21\x23-\x3c\x3e-\x5b\x5d-\x7e]")
# Written first, without a key, on a text line.
HEAD = ("time", "level")
# Stand-ins for a line's time, request id and duration in the template of a hot answer's line:
# random, so that no path or query holds one.
SLOTS = tuple(f"{name}{secrets.token_hex(8)}" for name in "trd")
# Templates kept: one for each hot answer's path, query and method, and then some.
TEMPLATES = 1024


@dataclass(frozen=True)
class LoggedError:
    code: str
    param: str | None
    message: str


def note_error(request: Request, exc: ImgproxyError) -> None:
    """Tell the request's line which error its answer carries."""
    setattr(request.state, ERROR, LoggedError(exc.code, exc.param, exc.message))


@dataclass(frozen=True, slots=True)
class Sent:
    """What a request's line tells of its answer."""

    status: int
    bytes: int
    request_id: str | None
    cache: str | None = None
    timings: dict[str, float] | None = None


class Watched:
    """`send`, noting the status, the headers and the body bytes of the answer."""

    __slots__ = ("bytes", "headers", "send", "status")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.bytes = 0

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.body":
            self.bytes += len(message.get("body", b""))
        elif message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = message.get("headers", [])
        await self.send(message)

    def sent(self) -> Sent:
        headers = dict(self.headers)
        request_id = headers.get(b"x-request-id")
        cache = headers.get(b"x-cache")
        return Sent(
            self.status,
            self.bytes,
            request_id.decode("latin-1") if request_id else None,
            cache.decode("latin-1") if cache else None,
            server_timings(headers.get(b"server-timing", b"")) if cache else None,
        )


class RequestLines:
    """Counts every answer by route and status, and writes its line unless `[log] requests` is
    off or the logger would drop it: the line is built only when it will be written."""

    def __init__(self, settings: LogSettings) -> None:
        self.lines = settings.requests
        self.line = json_line if settings.format == "json" else text_line

    def answered(self, route: str, scope: Scope, sent: Sent, seconds: float) -> None:
        metrics.request_answered(route, sent.status, seconds)
        level = logging.ERROR if sent.status >= 500 else logging.INFO
        if self.lines and REQUESTS_LOG.isEnabledFor(level):
            write_request_line(self._line(scope, sent, seconds, level), level)

    def _line(self, scope: Scope, sent: Sent, seconds: float, level: int) -> str:
        """A hot answer's line is its template filled in; building each field again and encoding
        them took a sixth of the answer's time."""
        if sent.cache == "hot" and sent.request_id:
            answer = (sent.status, sent.bytes, sent.cache)
            method, path, query = scope["method"], scope["path"], scope["query_string"]
            template = line_template(self.line, method, path, query, answer, level)
            if template is not None:
                return template.filled(time.time(), sent.request_id, seconds)
        return self.line(line_fields(scope, sent, seconds, level))


@dataclass(frozen=True, slots=True)
class LineTemplate:
    """A request line cut where its time, its request id and its duration go."""

    parts: tuple[str, str, str, str]

    def filled(self, moment: float, request_id: str, seconds: float) -> str:
        """The line with these three written in, as `line_fields` and the formats write them:
        a request id is a token that neither format quotes (`request_id_from`)."""
        head, after_time, after_id, tail = self.parts
        duration = duration_ms(seconds)
        return f"{head}{stamp(moment)}{after_time}{request_id}{after_id}{duration}{tail}"


@lru_cache(maxsize=TEMPLATES)
def line_template(
    line: Callable[[dict[str, Any]], str],
    method: str,
    path: str,
    query: bytes,
    answer: tuple[int, int, str],
    level: int,
) -> LineTemplate | None:
    """The template of the lines `line` writes for an answer of (status, bytes, cache) to
    `method` on `path` and `query`; None where the line does not hold each stand-in once."""
    time_slot, id_slot, duration_slot = SLOTS
    scope = {"method": method, "path": path, "query_string": query}
    status, size, cache = answer
    fields = line_fields(scope, Sent(status, size, id_slot, cache), 0.0, level)
    fields.update(time=time_slot, duration_ms=duration_slot)
    # JSON writes the duration as a string here; a number goes in its place.
    text = line(fields).replace(f'"{duration_slot}"', duration_slot)
    parts: list[str] = []
    for slot in SLOTS:
        cut = text.split(slot)
        if len(cut) != 2:
            return None
        parts.append(cut[0])
        text = cut[1]
    head, after_time, after_id = parts
    return LineTemplate((head, after_time, after_id, text))


class RequestLog:
    """A line and a count for every answer the app makes: routed ones, errors and crashes."""

    def __init__(self, app: ASGIApp, lines: RequestLines) -> None:
        self.app = app
        self.lines = lines

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        answer = Watched(send)
        try:
            await self.app(scope, receive, answer)
        except Exception as exc:
            # The crash handler answers outside this middleware, with a 500 unless already sent.
            answer.status = answer.status or 500
            crash = LoggedError("internal_error", None, f"unexpected {type(exc).__name__}")
            scope.setdefault("state", {})[ERROR] = crash
            raise
        finally:
            if answer.status:
                seconds = time.perf_counter() - started
                self.lines.answered(route_name(scope), scope, answer.sent(), seconds)


def route_name(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "name", None) or "none"


def duration_ms(seconds: float) -> float:
    """A request's duration as its line writes it: milliseconds to the microsecond."""
    return round(seconds * 1000, 3)


def line_fields(scope: Scope, sent: Sent, seconds: float, level: int) -> dict[str, Any]:
    """What a request's line says, in the order it says it."""
    state = scope.get("state") or {}
    fields: dict[str, Any] = {
        "time": stamp(time.time()),
        "level": "error" if level >= logging.ERROR else "info",
        "request_id": sent.request_id or state.get("request_id"),
        "method": scope["method"],
        "path": scope["path"],
        "params": redacted(scope["query_string"].decode("latin-1")),
        "status": sent.status,
        "bytes": sent.bytes,
        "duration_ms": duration_ms(seconds),
    }
    if sent.cache is not None:
        fields["cache"] = sent.cache
    if sent.timings is not None:
        fields["timings"] = sent.timings
    error: LoggedError | None = state.get(ERROR)
    if error is not None:
        fields["error"] = error.code
        if error.param:
            fields["param"] = error.param
        fields["message"] = URL_CREDENTIALS.sub(rf"\1{REDACTED}\2", error.message)
    return fields


@lru_cache(maxsize=256)
def redacted(query: str) -> str:
    """The raw query with the values of secret parameters, and the secrets of URLs inside it,
    replaced."""
    pairs = query.split("&")
    for index, pair in enumerate(pairs):
        name, equals, _ = pair.partition("=")
        # Names are compared decoded, as the server reads them (`%73` is `s`).
        if equals and (unquote(name) if "%" in name else name).lower() in SECRET_NAMES:
            pairs[index] = f"{name}={REDACTED}"
    query = "&".join(pairs)
    if NESTED_URL.search(query):
        query = NESTED_SECRET.sub(rf"\1\2\3{REDACTED}", query)
        query = URL_CREDENTIALS.sub(rf"\1{REDACTED}\2", query)
    return query


def server_timings(header: bytes) -> dict[str, float]:
    """Server-Timing's `name;dur=ms` entries as {name: ms}."""
    timings: dict[str, float] = {}
    for entry in header.decode("latin-1").split(","):
        name, _, duration = entry.strip().partition(";dur=")
        try:
            timings[name] = float(duration)
        except ValueError:
            continue
    return timings


def json_line(fields: dict[str, Any]) -> str:
    return encode_json(fields)


def text_line(fields: dict[str, Any]) -> str:
    """The time, the level, then logfmt pairs; timings as name:ms joined by commas."""
    pairs = [f"{key}={_text(value)}" for key, value in fields.items() if key not in HEAD]
    return f"{fields['time']} {fields['level'].upper()} {' '.join(pairs)}"


def _text(value: Any) -> str:
    if isinstance(value, str):
        return encode_basestring_ascii(value) if not value or NEEDS_QUOTES.search(value) else value
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ",".join(f"{name}:{ms:g}" for name, ms in value.items())
    return str(value)
