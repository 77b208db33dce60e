"""The servers under load, each in its own process group: imgproxy, thumbor, a bare endpoint."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

START_TIMEOUT_S = 60.0
ADMIN_TOKEN = "bench"


@dataclass(frozen=True)
class Server:
    name: str
    process: subprocess.Popen[bytes]
    base: str

    def pids(self) -> list[int]:
        """The server process and every process it forked (thumbor's and uvicorn's workers)."""
        found, queue = [], [self.process.pid]
        while queue:
            pid = queue.pop()
            found.append(pid)
            for task in Path(f"/proc/{pid}/task").glob("*/children"):
                queue.extend(int(child) for child in task.read_text().split())
        return found

    def peak_rss_mb(self) -> float:
        """Summed high-water resident sets (VmHWM) of the server's processes, in MB."""
        return self._summed_mb("VmHWM:")

    def rss_mb(self) -> float:
        """Summed resident sets (VmRSS) of the server's processes now, in MB."""
        return self._summed_mb("VmRSS:")

    def _summed_mb(self, field: str) -> float:
        total = 0
        for pid in self.pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(field):
                    total += int(line.split()[1])
        return total / 1024


@contextmanager
def running(
    name: str,
    command: Sequence[str],
    port: int,
    health: str,
    env: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    process = subprocess.Popen(
        list(command),
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    server = Server(name, process, f"http://127.0.0.1:{port}")
    try:
        _wait_until_up(server, health)
        yield server
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the whole process group (forked workers too), SIGKILL after 30 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _wait_until_up(server: Server, health: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited at start (code {server.process.returncode})")
        try:
            if httpx.get(f"{server.base}{health}", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} did not start within {START_TIMEOUT_S:g} s")


def imgproxy(
    root: Path,
    port: int,
    admin_port: int,
    result_cache_mb: int,
    extra: Mapping[str, str] | None = None,
) -> AbstractContextManager[Server]:
    """imgproxy serve with its defaults (one process, a render slot per core) over `root`."""
    env = {
        "IMGPROXY_ORIGIN_ROOT": str(root),
        "IMGPROXY_CACHE_DIR": str(root / f"cache-{port}"),
        "IMGPROXY_CACHE_RESULT_SIZE_MB": str(result_cache_mb),
        # Hot answers are a cache too: off whenever results are not to be kept.
        "IMGPROXY_CACHE_MEMORY_MB": str(min(result_cache_mb, 64)),
        "IMGPROXY_SECURITY_MAX_FRAMES": "100",
        "IMGPROXY_ADMIN_ENABLED": "true",
        "IMGPROXY_ADMIN_PORT": str(admin_port),
        "IMGPROXY_ADMIN_TOKEN": ADMIN_TOKEN,
        **(extra or {}),
    }
    command = [sys.executable, "-m", "imgproxy", "serve", "--port", str(port)]
    return running("imgproxy", command, port, "/health", env)


def bare(
    body_file: Path, port: int, headers_file: Path | None = None
) -> AbstractContextManager[Server]:
    """uvicorn serving `body_file`'s bytes from memory: the floor of any Python HTTP answer;
    with the headers `headers_file` lists (JSON pairs) added to each answer."""
    command = [sys.executable, "-m", "benchmarks.bare", str(body_file), str(port)]
    command += [str(headers_file)] if headers_file else []
    return running("bare uvicorn", command, port, "/")


def bare_render(root: Path, port: int) -> AbstractContextManager[Server]:
    """uvicorn reading files below `root` and rendering them with imgproxy's pipeline, and
    nothing else: the floor of any Python server doing the served cases' work."""
    command = [sys.executable, "-m", "benchmarks.bare", "--render", str(root), str(port)]
    return running("bare render endpoint", command, port, "/health")


def renders(admin_port: int) -> int:
    """The render count imgproxy's admin API reports."""
    response = httpx.get(
        f"http://127.0.0.1:{admin_port}/stats",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=10,
    )
    return int(response.json()["renders"])
