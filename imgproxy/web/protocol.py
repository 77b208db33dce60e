"""HTTP/1.1 for `imgproxy serve`: uvicorn's httptools protocol, with hot answers written to the
connection as soon as a request's headers are read.

A kept answer is already checked HTTP, and most of what its request cost went to the ASGI
round it took through uvicorn: a task, two messages and a check of every header. Here it is
one write. Every other request goes the ASGI way, as does a kept answer for a client that has
not read the answers before it (uvicorn waits there until the connection drains).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.types import ASGIApp, Scope
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from imgproxy.web.hot import HotAnswer, header_lines, per_request, sent_kept
from imgproxy.web.logs import Sent

STATUS_OK = b"HTTP/1.1 200 OK\r\n"
CLOSE = b"connection: close\r\n"
# Headers that announce a body: such a request is not whole when its headers are read.
BODY_HEADERS = frozenset({b"content-length", b"transfer-encoding"})


class HotProtocol(HttpToolsProtocol):
    """Answers a request whose answer is hot when it would start the app, in order with the
    answers before it on the connection, and keeps the connection as uvicorn would."""

    # uvicorn's own headers (date, server), which it replaces once a second, and their lines.
    _defaults: tuple[list[tuple[bytes, bytes]], bytes] = ([], b"")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # While an answer's completion takes the next queued request: one answered hot then
        # asks for the one after it, which the same loop takes rather than a deeper call.
        self._completing = False
        self._completed_again = False

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGIApp) -> None:
        # A hot answer that kept no connection closed it while the rest of its read was being
        # parsed: what follows it is neither answered nor started, as uvicorn leaves requests
        # queued behind an answer that closes the connection.
        if self.transport.is_closing():
            return
        # A request has started: the connection is not idle, even where a hot answer just
        # armed the idle timer while later requests of the same read were being parsed.
        self._unset_keepalive_if_required()
        if not self._answered_hot(cycle, app):
            super()._start_asgi_task(cycle, app)
            return
        cycle.response_complete = True
        if not cycle.keep_alive:
            self.transport.close()
        cycle.on_response()

    def _answered_hot(self, cycle: RequestResponseCycle, app: ASGIApp) -> bool:
        """Whether the app wrote this request's kept answer. A failure before anything was
        written leaves the request to the app, whose own failure answers 500 and is logged
        with its traceback; raised here, it would end the connection as a bad request.

        A request with a body goes to the app too: answered before its body is parsed, it
        would have its 200 sent even where the body turns out malformed and gets the 400."""
        answer_hot = getattr(app, "answer_hot", None)
        if answer_hot is None or self.flow.write_paused or _has_body(cycle.scope):
            return False
        try:
            return answer_hot(cycle.scope, partial(self._write, cycle))
        except Exception:
            if not cycle.response_started:
                return False
            self.logger.exception("a hot answer was sent, but not counted or logged")
            return True

    def on_response_complete(self) -> None:
        if self._completing:
            self._completed_again = True
            return
        self._completing = True
        try:
            self._completed_again = True
            while self._completed_again:
                self._completed_again = False
                super().on_response_complete()
        finally:
            self._completing = False

    def _write(self, cycle: RequestResponseCycle, found: HotAnswer, request_id: str) -> Sent:
        sent = sent_kept(cycle.scope, found, request_id)
        head = b"".join(
            (
                STATUS_OK,
                self._default_lines(),
                found.header_lines(),
                header_lines(per_request(request_id)),
                b"" if cycle.keep_alive else CLOSE,
                b"\r\n",
            )
        )
        self.transport.writelines((head, found.body) if sent.bytes else (head,))
        cycle.response_started = True
        return sent

    def _default_lines(self) -> bytes:
        headers, lines = HotProtocol._defaults
        if headers is not self.server_state.default_headers:
            headers = self.server_state.default_headers
            lines = header_lines(headers)
            HotProtocol._defaults = (headers, lines)
        return lines


def _has_body(scope: Scope) -> bool:
    return any(name in BODY_HEADERS for name, _ in scope["headers"])


# How `imgproxy serve` runs uvicorn's HTTP. Without proxy headers no middleware stands between
# the protocol and the app's hot answers, and no answer depends on the client's address or
# scheme anyway.
HTTP_OPTIONS: dict[str, Any] = {"http": HotProtocol, "proxy_headers": False}
