"""Closed-loop HTTP load from another process: wrk when it is installed, else an asyncio client.

`connections` clients each send their next request as soon as the last answer is in; a list of
paths is taken in turn, so that a mix of cases shares one run.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

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

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def load(base: str, paths: Sequence[str], connections: int, seconds: float) -> LoadResult:
    """Load `base` with `paths` in turn, after one warm-up request per path."""
    for path in paths:
        httpx.get(base + path, timeout=120)
    if shutil.which("wrk"):
        return _wrk(base, paths, connections, seconds)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_asyncio_load, (base, list(paths), connections, seconds))


def _wrk(base: str, paths: Sequence[str], connections: int, seconds: float) -> LoadResult:
    quoted = ", ".join(f'"{path}"' for path in paths)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % quoted)
    try:
        command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "60s"]
        done = subprocess.run(
            [*command, "-s", script.name, base], capture_output=True, text=True, check=True
        )
    finally:
        Path(script.name).unlink()
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT"))
    requests, errors, micros, p99_us = (int(part) for part in line.split()[1:])
    return LoadResult(requests, errors, micros / 1e6, p99_us / 1000)


def _asyncio_load(base: str, paths: list[str], connections: int, seconds: float) -> LoadResult:
    return asyncio.run(_run(base, paths, connections, seconds))


async def _run(base: str, paths: list[str], connections: int, seconds: float) -> LoadResult:
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:
        started = time.perf_counter()
        until = started + seconds
        errors = await asyncio.gather(
            *(_client(http, paths, n, until, latencies) for n in range(connections))
        )
        elapsed = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000 if latencies else 0.0
    return LoadResult(len(latencies), sum(errors), elapsed, p99)


async def _client(
    http: httpx.AsyncClient, paths: list[str], offset: int, until: float, latencies: list[float]
) -> int:
    errors, turn = 0, offset
    while time.perf_counter() < until:
        started = time.perf_counter()
        response = await http.get(paths[turn % len(paths)])
        await response.aread()
        latencies.append(time.perf_counter() - started)
        errors += response.status_code != 200
        turn += 1
    return errors
