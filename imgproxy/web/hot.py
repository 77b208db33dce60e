"""Hot answers: whole image answers kept in this process's memory for a few seconds and sent
before any routing, parsing or disk lookup. A hot URL costs a dictionary lookup.

An answer is kept under its exact path and query (a signed URL's `s` included, so only URLs
already checked are found) and, when it varies, the formats its Accept header allows. It goes
within 50 ms when a file of the local origin it was made from changes, at once
when a purge or a POST is announced (cache/changes.py), and at the latest after
`[cache] memory_ttl_s`.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from starlette.types import Message, Scope, Send

from imgproxy import metrics
from imgproxy.cache.changes import ChangeWatch
from imgproxy.web.logs import Sent
from imgproxy.web.negotiate import accepted_formats
from imgproxy.web.responses import request_id_from

# Set in the request's scope state by a route whose answer may be kept: a Keepable.
KEEPABLE = "hot_answer_keepable"
# Headers each request gets anew; the rest of a kept answer is sent as it was.
PER_REQUEST = {b"x-request-id", b"x-cache", b"server-timing", b"x-origin-fetch-time"}
HOT_TIMING = (b"server-timing", b"hot;dur=0.0")
HIT = (b"x-cache", b"HIT")

Key = tuple[str, bytes, frozenset[str] | None]
# A local original is looked at again at most this often, in seconds, while its answers are hot:
# a stat on every answer would cost a tenth of the answer.
FILE_CHECK_S = 0.05


@lru_cache(maxsize=256)
def _accepts(header: str) -> frozenset[str]:
    # Browsers send a handful of distinct Accept headers: each is parsed once.
    return accepted_formats(header)


@dataclass(frozen=True)
class Keepable:
    """What a route says of an answer it lets be kept: whether it varies on Accept, and the
    original's file with its (mtime, size) before the answer was made, for a local origin."""

    vary: bool
    file: str | None = None
    stamp: tuple[int, int] | None = None
    epoch: str | None = None

    @classmethod
    def of(cls, vary: bool, file: str | None, epoch: str | None) -> Keepable:
        return cls(vary, file, file_stamp(file) if file else None, epoch)


@dataclass(slots=True)
class HotAnswer:
    headers: list[tuple[bytes, bytes]]
    body: bytes
    expires: float
    # The original's file and its (mtime, size) when the answer was made.
    file: str | None = None
    stamp: tuple[int, int] | None = None
    # The shared tier's generation it was made under.
    epoch: str | None = None
    # When the file was last seen unchanged.
    checked: float = 0.0
    # The headers as HTTP/1.1 lines, made for the first answer a server writes itself.
    lines: bytes | None = None

    def header_lines(self) -> bytes:
        if self.lines is None:
            self.lines = header_lines(self.headers)
        return self.lines

    def fresh(self, epoch: Callable[[], str | None]) -> bool:
        now = time.monotonic()
        if self.expires < now:
            return False
        if self.epoch is not None and self.epoch != epoch():
            return False
        if self.file is None or now - self.checked < FILE_CHECK_S:
            return True
        self.checked = now
        return file_stamp(self.file) == self.stamp


def header_lines(headers: list[tuple[bytes, bytes]]) -> bytes:
    """Headers as HTTP/1.1 writes them, a line each."""
    return b"".join(b"%s: %s\r\n" % pair for pair in headers)


def file_stamp(path: str) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


class HotAnswers:
    """A bytes-bounded, time-bounded LRU of answers; `vary` says whose key holds the formats."""

    def __init__(
        self,
        max_bytes: int,
        ttl_s: float,
        watch: ChangeWatch,
        epoch: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.max_bytes = max_bytes
        self.ttl_s = ttl_s
        self.watch = watch
        self.epoch = epoch
        self._answers: OrderedDict[Key, HotAnswer] = OrderedDict()
        self._varies: set[tuple[str, bytes]] = set()
        self._bytes = 0

    def key(self, path: str, query: bytes, accept: str) -> Key:
        return (path, query, _accepts(accept) if (path, query) in self._varies else None)

    def get(self, key: Key) -> HotAnswer | None:
        if self.watch.changed():
            self.clear()
        found = self._answers.get(key)
        if found is None:
            return None
        if not found.fresh(self.epoch):
            self._drop(key)
            metrics.cache_evicted("hot", 1)
            return None
        self._answers.move_to_end(key)
        return found

    def put(self, path: str, query: bytes, accept: str, vary: bool, answer: HotAnswer) -> None:
        if len(answer.body) > self.max_bytes // 8:
            return
        if vary:
            self._varies.add((path, query))
        key = (path, query, _accepts(accept) if vary else None)
        self._drop(key)
        self._answers[key] = answer
        self._bytes += len(answer.body)
        while self._bytes > self.max_bytes:
            self._drop(next(iter(self._answers)))
            metrics.cache_evicted("hot", 1)

    def clear(self) -> None:
        self._answers.clear()
        self._varies.clear()
        self._bytes = 0

    def _drop(self, key: Key) -> None:
        gone = self._answers.pop(key, None)
        if gone is not None:
            self._bytes -= len(gone.body)


def request_headers(scope: Scope) -> dict[bytes, str]:
    """The request headers a kept answer depends on; of a repeated one the first, which the
    routes read too."""
    wanted = (b"if-none-match", b"accept", b"x-request-id")
    found: dict[bytes, str] = {}
    for name, value in scope["headers"]:
        if name in wanted and name not in found:
            found[name] = value.decode("latin-1")
    return found


def find_kept(
    hot: HotAnswers, scope: Scope, headers: dict[bytes, str]
) -> tuple[HotAnswer, str] | None:
    """The answer kept for this GET or HEAD, if there is one, with the request's id."""
    if b"if-none-match" in headers:
        return None
    found = hot.get(hot.key(scope["path"], scope["query_string"], headers.get(b"accept", "")))
    metrics.cache_lookup("hot", hit=found is not None)
    if found is None:
        return None
    return found, request_id_from(headers.get(b"x-request-id", ""))


def per_request(request_id: str) -> list[tuple[bytes, bytes]]:
    """The headers a kept answer gets anew for each request."""
    return [(b"x-request-id", request_id.encode()), HIT, HOT_TIMING]


def sent_kept(scope: Scope, found: HotAnswer, request_id: str) -> Sent:
    """What a request's line tells of a kept answer: HEAD sends no body."""
    return Sent(200, 0 if scope["method"] == "HEAD" else len(found.body), request_id, "hot")


async def send_kept(
    hot: HotAnswers, scope: Scope, headers: dict[bytes, str], send: Send
) -> Sent | None:
    """Sends the answer kept for this GET or HEAD, if there is one, and tells what was sent."""
    kept = find_kept(hot, scope, headers)
    if kept is None:
        return None
    found, request_id = kept
    sent = sent_kept(scope, found, request_id)
    start = {"type": "http.response.start", "status": 200}
    await send({**start, "headers": [*found.headers, *per_request(request_id)]})
    await send({"type": "http.response.body", "body": found.body if sent.bytes else b""})
    return sent


def keeping(hot: HotAnswers, scope: Scope, headers: dict[bytes, str], send: Send) -> Send:
    """`send`, noting a keepable 200 answer on its way to the client."""
    start: list[Message] = []

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.append(message)
        elif message.get("more_body"):
            # An answer sent in parts is never kept: its last part is not its body.
            start.clear()
        elif start and scope["method"] == "GET":
            keepable: Keepable | None = scope.get("state", {}).get(KEEPABLE)
            if keepable is not None and start[0]["status"] == 200:
                kept = [pair for pair in start[0]["headers"] if pair[0] not in PER_REQUEST]
                expires = time.monotonic() + hot.ttl_s
                body = message.get("body", b"")
                epoch = keepable.epoch
                answer = HotAnswer(kept, body, expires, keepable.file, keepable.stamp, epoch)
                accept = headers.get(b"accept", "")
                hot.put(scope["path"], scope["query_string"], accept, keepable.vary, answer)
        await send(message)

    return sending
