"""A bounded load test against `imgproxy serve` with two render slots: no 500s, every 503 with
Retry-After, and each URL rendered once however many clients ask for it at the same time."""

from __future__ import annotations

import asyncio
import statistics
import time

import httpx
import pytest

from imgproxy.web.stats import Stats
from tests.support.images import astronaut, jpeg
from tests.support.server import free_port, process_mb, serve_process

REQUESTS = 2000
CONCURRENCY = 32
DISTINCT = 40


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("originals")
    (root / "photo.jpg").write_bytes(jpeg(astronaut().resize(2.0)))
    cache = tmp_path_factory.mktemp("cache")
    config = root / "imgproxy.toml"
    config.write_text(
        f'[origin]\nroot = "{root}"\n[cache]\ndir = "{cache}"\n'
        "[server]\nrender_slots = 2\nqueue_size = 4\n"
    )
    port = free_port()
    with serve_process(config, port) as process:
        yield f"http://127.0.0.1:{port}", cache, process.pid


async def hammer(base: str) -> list[tuple[int, float, str, str | None]]:
    urls = [f"{base}/photo.jpg?width={100 + i}" for i in range(DISTINCT)]
    queue: asyncio.Queue[str] = asyncio.Queue()
    for n in range(REQUESTS):
        queue.put_nowait(urls[n % DISTINCT])
    seen: list[tuple[int, float, str, str | None]] = []

    async def client(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            url = queue.get_nowait()
            started = time.perf_counter()
            response = await http.get(url)
            elapsed = time.perf_counter() - started
            seen.append((response.status_code, elapsed, url, response.headers.get("retry-after")))

    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        await asyncio.gather(*(client(http) for _ in range(CONCURRENCY)))
    return seen


def test_load_gives_no_500_only_polite_503s_and_one_render_per_url(server):
    base, cache, pid = server
    seen = asyncio.run(hammer(base))
    rss = process_mb(pid, "VmHWM")
    statuses = [status for status, *_ in seen]
    assert len(seen) == REQUESTS
    assert set(statuses) <= {200, 503}, set(statuses)
    assert all(retry == "1" for status, _, _, retry in seen if status == 503)
    served = {url for status, _, url, _ in seen if status == 200}
    time.sleep(1.3)
    renders = Stats(cache / "stats").totals()["renders"]
    assert renders == len(served) <= DISTINCT
    latencies = sorted(elapsed for _, elapsed, _, _ in seen)
    print(
        f"\nload: {REQUESTS} requests at concurrency {CONCURRENCY}, 2 render slots: "
        f"{statuses.count(200)} x 200, {statuses.count(503)} x 503, {renders} renders, "
        f"p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms, "
        f"server peak RSS {rss:.0f} MB"
    )
