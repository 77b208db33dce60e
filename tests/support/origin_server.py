"""A real HTTP origin for tests, on a free loopback port, with paths that misbehave on purpose."""

from __future__ import annotations

import hashlib
import mimetypes
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

DRIP_LIMIT_S = 60.0
ENDLESS_LIMIT = 256 * 1024 * 1024
CHUNK = 64 * 1024


class OriginServer:
    """`with OriginServer({"a.jpg": b"..."}) as origin:` serves at `origin.url`.

    Special paths: status/<code>, slow/<seconds>, drip, endless, redirect/<path>.
    """

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = dict(files)
        self.requests: list[str] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> OriginServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def _handler_for(origin: OriginServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return None

        def do_GET(self) -> None:
            path = unquote(self.path.split("?", 1)[0].lstrip("/"))
            origin.requests.append(path)
            kind, _, rest = path.partition("/")
            special = {
                "status": self._status,
                "slow": self._slow,
                "drip": self._drip,
                "endless": self._endless,
                "redirect": self._redirect,
            }
            if path in origin.files:
                self._file(path)
            elif kind in special:
                special[kind](rest)
            else:
                self._send(404, b"not found")

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _file(self, path: str) -> None:
            body = origin.files[path]
            self._send(
                200,
                body,
                {
                    "Content-Type": mimetypes.guess_type(path)[0] or "application/octet-stream",
                    "ETag": f'"{hashlib.sha1(body).hexdigest()}"',
                    "Last-Modified": formatdate(1_700_000_000, usegmt=True),
                },
            )

        def _status(self, code: str) -> None:
            self._send(int(code), f"status {code}".encode())

        def _slow(self, seconds: str) -> None:
            time.sleep(float(seconds))
            try:
                self._send(200, b"late")
            except OSError:
                return

        def _redirect(self, target: str) -> None:
            self._send(302, b"", {"Location": f"/{target}"})

        def _drip(self, _: str) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            started = time.monotonic()
            try:
                while time.monotonic() - started < DRIP_LIMIT_S:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                return

        def _endless(self, _: str) -> None:
            self.send_response(200)
            self.end_headers()
            sent = 0
            try:
                while sent < ENDLESS_LIMIT:
                    self.wfile.write(b"\0" * CHUNK)
                    sent += CHUNK
            except OSError:
                return

    return Handler
