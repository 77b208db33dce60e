"""The real server, in uvicorn on a free loopback port, in a background thread."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx
import uvicorn
from starlette.types import ASGIApp

from imgproxy.app import create_app
from imgproxy.config_loader import build_settings
from imgproxy.web.protocol import HTTP_OPTIONS

START_TIMEOUT_S = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(raw_settings: Mapping[str, Any]) -> Iterator[str]:
    """Start imgproxy with these settings (TOML-shaped dict); yield its base URL."""
    with running_app(create_app(build_settings(raw_settings))) as url:
        yield url


@contextmanager
def running_app(app: ASGIApp) -> Iterator[str]:
    """Serve any ASGI app with uvicorn on a free loopback port, as `imgproxy serve` runs it; yield
    its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        **HTTP_OPTIONS,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("imgproxy did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def serve_process(
    config: Path, port: int, *flags: str, stderr: IO[bytes] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`imgproxy serve` as its own process, as operators run it; yielded once /health answers.
    Its log lines go to `stderr` when given."""
    server = subprocess.Popen(
        [sys.executable, "-m", "imgproxy", "serve", "--config", str(config)]
        + ["--port", str(port), *flags],
        stdout=subprocess.DEVNULL,
        stderr=stderr or subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _healthy(port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("imgproxy serve did not start")
            time.sleep(0.1)
        yield server
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def local_settings(
    tmp_path: Path, files: Mapping[str, bytes], **sections: dict[str, Any]
) -> dict[str, Any]:
    """Settings (TOML-shaped) for a local origin of `files` under `tmp_path`, a cache beside it,
    and `sections` merged over them."""
    root = write_originals(tmp_path / "originals", files)
    settings: dict[str, Any] = {
        "origin": {"kind": "local", "root": str(root)},
        "cache": {"dir": str(tmp_path / "cache")},
    }
    for name, values in sections.items():
        settings[name] = {**settings.get(name, {}), **values}
    return settings


def write_originals(root: Path, files: Mapping[str, bytes]) -> Path:
    """`files` (relative paths, folders made as needed) written under `root`; `root`."""
    root.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def process_mb(pid: int, field: str) -> float:
    """A memory figure of a running process from /proc (VmRSS now, VmHWM its peak), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise LookupError(f"no {field} for process {pid}")
