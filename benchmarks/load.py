"""Closed-loop HTTP load from another process.

`connections` clients each send their next request as soon as the last answer is in; a list of
paths is taken in turn, so that a mix of cases shares one run.

Renders are measured with a client that finishes the requests it has in flight when the time is
up and counts the time they take, as the raw figure counts its last operations: wrk drops them
and stops the clock, which for a case of 5 renders a second on 4 connections leaves about two
renders' work uncounted in 8 s (4-5 %). wrk (installed by `make system`) loads cache hits,
which come by the ten thousand a second, too fast for a Python client on the same cores.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

WRK_SCRIPT = """
local paths = {%s}
local next_path = 0
request = function()
  next_path = next_path %% #paths + 1
  return wrk.format("GET", paths[next_path])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d\\n", summary.requests,
    e.connect + e.read + e.write + e.status + e.timeout, summary.duration,
    latency:percentile(99)))
end
"""


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int
    seconds: float
    p99_ms: float
    # The runs this one joins, in the order they ran (none for a single run).
    turns: tuple[LoadResult, ...] = ()

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @classmethod
    def joined(cls, runs: Sequence[LoadResult]) -> LoadResult:
        """Runs of one load taken in turns with other work: their sums, and the worst p99."""
        return cls(
            sum(run.requests for run in runs),
            sum(run.errors for run in runs),
            sum(run.seconds for run in runs),
            max(run.p99_ms for run in runs),
            tuple(runs),
        )


def warm(base: str, paths: Sequence[str]) -> None:
    """One request per path, so that no run pays for a first fetch or a first model load."""
    for path in paths:
        httpx.get(base + path, timeout=120)


def load(base: str, paths: Sequence[str], connections: int, seconds: float) -> LoadResult:
    """Renders: requests in flight at the end are finished and their time counted."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_drained_load, (base, list(paths), connections, seconds))


def load_fast(base: str, paths: Sequence[str], connections: int, seconds: float) -> LoadResult:
    """Cache hits: wrk, or the Python client where wrk is missing."""
    if shutil.which("wrk"):
        return _wrk(base, paths, connections, seconds)
    return load(base, paths, connections, seconds)


def _wrk(base: str, paths: Sequence[str], connections: int, seconds: float) -> LoadResult:
    quoted = ", ".join(f'"{path}"' for path in paths)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % quoted)
    try:
        # wrk takes whole seconds; the rate is per the seconds it reports.
        duration = f"-d{max(1, round(seconds))}s"
        command = ["wrk", "-t1", f"-c{connections}", duration, "--timeout", "60s"]
        done = subprocess.run(
            [*command, "-s", script.name, base], capture_output=True, text=True, check=True
        )
    finally:
        Path(script.name).unlink()
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT"))
    requests, errors, micros, p99_us = (int(part) for part in line.split()[1:])
    return LoadResult(requests, errors, micros / 1e6, p99_us / 1000)


def _drained_load(base: str, paths: list[str], connections: int, seconds: float) -> LoadResult:
    return asyncio.run(_drained(base, paths, connections, seconds))


async def _drained(base: str, paths: list[str], connections: int, seconds: float) -> LoadResult:
    address = urlsplit(base)
    host, port = address.hostname or "127.0.0.1", address.port or 80
    latencies: list[float] = []
    started = time.perf_counter()
    until = started + seconds
    turns = PathTurns(paths)
    errors = await asyncio.gather(
        *(_connection(host, port, turns, until, latencies) for _ in range(connections))
    )
    elapsed = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000 if latencies else 0.0
    return LoadResult(len(latencies), sum(errors), elapsed, p99)


class PathTurns:
    """The paths in turn for all connections, as wrk's script takes them, passing over any path
    still in flight: with more paths than connections no two requests share one render."""

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = list(paths)
        self.turn = 0
        self.in_flight: Counter[str] = Counter()

    def take(self) -> str:
        for _ in range(len(self.paths)):
            path = self.paths[self.turn % len(self.paths)]
            self.turn += 1
            if not self.in_flight[path]:
                break
        self.in_flight[path] += 1
        return path

    def done(self, path: str) -> None:
        self.in_flight[path] -= 1


async def _connection(
    host: str, port: int, turns: PathTurns, until: float, latencies: list[float]
) -> int:
    """One keep-alive connection's requests until `until`, the last one answered in full; the
    count of answers other than 200. A broken connection stops the whole run."""
    reader, writer = await asyncio.open_connection(host, port)
    errors = 0
    try:
        while time.perf_counter() < until:
            sent = time.perf_counter()
            path = turns.take()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            errors += await _status_of_answer(reader) != 200
            turns.done(path)
            latencies.append(time.perf_counter() - sent)
    finally:
        writer.close()
        await writer.wait_closed()
    return errors


async def _status_of_answer(reader: asyncio.StreamReader) -> int:
    """Reads one answer with a Content-Length (every server here sends one) and its body."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    fields = dict(line.lower().split(":", 1) for line in head[1:] if ":" in line)
    await reader.readexactly(int(fields["content-length"]))
    return int(head[0].split()[1])
