"""A closed-loop HTTP load generator: `concurrency` clients, each sending as answers come."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int
    seconds: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


async def _client(http: httpx.AsyncClient, url: str, until: float, latencies: list[float]) -> int:
    errors = 0
    while time.perf_counter() < until:
        started = time.perf_counter()
        response = await http.get(url)
        await response.aread()
        latencies.append(time.perf_counter() - started)
        errors += response.status_code != 200
    return errors


async def _run(url: str, concurrency: int, seconds: float) -> LoadResult:
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        await http.get(url)
        started = time.perf_counter()
        until = started + seconds
        errors = await asyncio.gather(
            *(_client(http, url, until, latencies) for _ in range(concurrency))
        )
        elapsed = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else 0.0
    return LoadResult(len(latencies), sum(errors), elapsed, p99)


def load(url: str, concurrency: int, seconds: float) -> LoadResult:
    return asyncio.run(_run(url, concurrency, seconds))
