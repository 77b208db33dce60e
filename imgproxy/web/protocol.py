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

from starlette.types import ASGIApp
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from imgproxy.web.hot import HotAnswer, header_lines, per_request, sent_kept
from imgproxy.web.logs import Sent

STATUS_OK = b"HTTP/1.1 200 OK\r\n"
CLOSE = b"connection: close\r\n"


class HotProtocol(HttpToolsProtocol):
    """Answers a request whose answer is hot when it would start the app, in order with the
    answers before it on the connection, and keeps the connection as uvicorn would."""

    # uvicorn's own headers (date, server), which it replaces once a second, and their lines.
    _defaults: tuple[list[tuple[bytes, bytes]], bytes] = ([], b"")

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGIApp) -> None:
        # A request has started: the connection is not idle, even where a hot answer just
        # armed the idle timer while later requests of the same read were being parsed.
        self._unset_keepalive_if_required()
        answer_hot = getattr(app, "answer_hot", None)
        if (
            answer_hot is None
            or self.flow.write_paused
            or not answer_hot(cycle.scope, partial(self._write, cycle))
        ):
            super()._start_asgi_task(cycle, app)
            return
        cycle.response_started = cycle.response_complete = True
        if not cycle.keep_alive:
            self.transport.close()
        cycle.on_response()

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
        return sent

    def _default_lines(self) -> bytes:
        headers, lines = HotProtocol._defaults
        if headers is not self.server_state.default_headers:
            headers = self.server_state.default_headers
            lines = header_lines(headers)
            HotProtocol._defaults = (headers, lines)
        return lines


# How `imgproxy serve` runs uvicorn's HTTP. Without proxy headers no middleware stands between
# the protocol and the app's hot answers, and no answer depends on the client's address or
# scheme anyway.
HTTP_OPTIONS: dict[str, Any] = {"http": HotProtocol, "proxy_headers": False}
