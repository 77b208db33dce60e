"""A real HTTP origin for tests, on a free loopback port, with paths that misbehave on purpose."""

from __future__ import annotations

import hashlib
import mimetypes
import socket
import struct
import sys
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote

DRIP_LIMIT_S = 60.0
SLOW_LIMIT_S = 60.0
ENDLESS_LIMIT = 256 * 1024 * 1024
CHUNK = 64 * 1024
LAST_MODIFIED = formatdate(1_700_000_000, usegmt=True)


class OriginServer:
    """`with OriginServer({"a.jpg": b"..."}) as origin:` serves at `origin.url`; `types` gives
    paths a Content-Type other than their name's.

    Special paths: status/<code>, slow/<seconds>, drip, endless, reset, redirect/<path>,
    redirect-to/<host:port>/<path>.
    """

    def __init__(self, files: dict[str, bytes], types: dict[str, str] | None = None) -> None:
        self.files = dict(files)
        # Content-Type by path, where it must not be the one the name suggests.
        self.types = dict(types or {})
        self.requests: list[str] = []
        self.hosts: list[str] = []
        self._httpd = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> OriginServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        # Clients that hang up mid-answer are what the fault paths are for, not a failure.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def _handler_for(origin: OriginServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return None

        def do_GET(self) -> None:
            path = unquote(self.path.split("?", 1)[0].lstrip("/"))
            origin.requests.append(path)
            origin.hosts.append(self.headers.get("Host", ""))
            kind, _, rest = path.partition("/")
            special = {
                "status": self._status,
                "slow": self._slow,
                "drip": self._drip,
                "endless": self._endless,
                "redirect": self._redirect,
                "redirect-to": self._redirect_to,
                "reset": self._reset,
            }
            if path in origin.files:
                self._file(path)
            elif kind in special:
                special[kind](rest)
            else:
                self._not_found()

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _not_found(self) -> None:
            self._send(404, b"not found")

        def _file(self, path: str) -> None:
            body = origin.files[path]
            self._send(
                200,
                body,
                {
                    "Content-Type": origin.types.get(path)
                    or mimetypes.guess_type(path)[0]
                    or "application/octet-stream",
                    "ETag": f'"{hashlib.sha1(body).hexdigest()}"',
                    "Last-Modified": LAST_MODIFIED,
                },
            )

        def _status(self, code: str) -> None:
            if not (code.isdigit() and 200 <= int(code) <= 599):
                return self._not_found()
            self._send(int(code), f"status {code}".encode())

        def _slow(self, seconds: str) -> None:
            try:
                delay = min(float(seconds), SLOW_LIMIT_S)
            except ValueError:
                return self._not_found()
            time.sleep(max(delay, 0.0))
            self._send(200, b"late")

        def _redirect(self, target: str) -> None:
            # Re-encode: the target was unquoted above and headers must stay ASCII.
            self._send(302, b"", {"Location": "/" + quote(target)})

        def _reset(self, _: str) -> None:
            # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True

        def _redirect_to(self, target: str) -> None:
            host, _, path = target.partition("/")
            self._send(302, b"", {"Location": f"http://{host}/{quote(path)}"})

        def _drip(self, _: str) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            started = time.monotonic()
            while time.monotonic() - started < DRIP_LIMIT_S:
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.2)

        def _endless(self, _: str) -> None:
            self.send_response(200)
            self.end_headers()
            sent = 0
            while sent < ENDLESS_LIMIT:
                self.wfile.write(b"\0" * CHUNK)
                sent += CHUNK

    return Handler
