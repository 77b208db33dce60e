"""Backpressure details: coalescing, clients that leave, memory handed back once renders stop,
and a shutdown that finishes requests."""

from __future__ import annotations

import asyncio
import platform
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from imgproxy.errors import ClientGone, Overloaded
from imgproxy.web.limits import Coalescer, RenderPool, until_disconnected
from tests.support.images import astronaut, jpeg
from tests.support.server import free_port, process_mb, serve_process


def test_identical_work_in_flight_runs_once():
    calls = 0

    async def scenario() -> list[int]:
        coalescer = Coalescer()

        async def make() -> int:
            nonlocal calls
            calls += 1
            await asyncio.sleep(0.05)
            return 42

        return await asyncio.gather(*(coalescer.run("k", make) for _ in range(16)))

    assert asyncio.run(scenario()) == [42] * 16 and calls == 1


def test_work_nobody_waits_for_any_more_is_cancelled():
    async def scenario() -> bool:
        coalescer = Coalescer()
        started = asyncio.Event()
        cancelled = False

        async def make() -> None:
            nonlocal cancelled
            started.set()
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                cancelled = True
                raise

        waiter = asyncio.ensure_future(coalescer.run("k", make))
        await started.wait()
        waiter.cancel()
        await asyncio.sleep(0.01)
        return cancelled

    assert asyncio.run(scenario())


def test_a_request_right_after_the_last_waiter_left_gets_a_fresh_render():
    async def scenario() -> str:
        coalescer = Coalescer()
        started = asyncio.Event()

        async def slow() -> str:
            started.set()
            await asyncio.sleep(10)
            return "slow"

        async def fresh() -> str:
            return "fresh"

        waiter = asyncio.ensure_future(coalescer.run("k", slow))
        await started.wait()
        waiter.cancel()
        await asyncio.sleep(0)
        return await coalescer.run("k", fresh)

    assert asyncio.run(scenario()) == "fresh"


def test_a_render_given_up_keeps_its_slot_until_its_thread_ends():
    running, most = 0, 0
    lock = threading.Lock()

    def render(seconds: float) -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(seconds)
        with lock:
            running -= 1

    async def scenario() -> object:
        pool = RenderPool(slots=1, queue_size=1)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(pool.run(render, 0.3), 0.05)
        waiting = asyncio.ensure_future(pool.run(render, 0.01))
        await asyncio.sleep(0.01)
        refused = await asyncio.gather(pool.run(render, 0.01), return_exceptions=True)
        await waiting
        pool.close()
        return refused[0]

    assert isinstance(asyncio.run(scenario()), Overloaded) and most == 1


class LeavingRequest:
    """A request whose client disconnects after `after` seconds."""

    def __init__(self, after: float) -> None:
        self.after = after

    async def receive(self) -> dict:
        await asyncio.sleep(self.after)
        return {"type": "http.disconnect"}


def test_a_client_that_leaves_stops_the_wait():
    async def scenario() -> None:
        await until_disconnected(LeavingRequest(0.05), asyncio.sleep(10))  # type: ignore[arg-type]

    with pytest.raises(ClientGone):
        asyncio.run(asyncio.wait_for(scenario(), 2))


def test_the_render_pool_refuses_beyond_slots_and_queue():
    async def scenario() -> list[object]:
        pool = RenderPool(slots=1, queue_size=1)
        gate = threading.Event()
        jobs = [asyncio.ensure_future(pool.run(gate.wait, 5)) for _ in range(3)]
        await asyncio.sleep(0.1)
        gate.set()
        found = await asyncio.gather(*jobs, return_exceptions=True)
        pool.close()
        return found

    results = asyncio.run(scenario())
    assert results.count(True) == 2 and sum(isinstance(r, Overloaded) for r in results) == 1


def test_memory_goes_back_only_once_renders_have_stopped(monkeypatch):
    """Renders back to back never trim; one quiet spell after the last one trims once."""
    releases: list[float] = []
    monkeypatch.setattr(
        "imgproxy.web.limits.release_free_memory", lambda: releases.append(time.monotonic())
    )

    async def scenario() -> tuple[int, int, float]:
        pool = RenderPool(slots=1, queue_size=4, release_after_s=0.1)
        for _ in range(6):
            await pool.run(time.sleep, 0.05)
        during = len(releases)
        last_done = time.monotonic()
        await asyncio.sleep(0.4)
        pool.close()
        return during, len(releases), releases[0] - last_done if releases else 0.0

    during, after, delay = asyncio.run(scenario())
    assert during == 0 and after == 1 and delay >= 0.09


def test_a_closed_pool_releases_nothing_and_raises_nothing(monkeypatch):
    releases: list[float] = []
    monkeypatch.setattr(
        "imgproxy.web.limits.release_free_memory", lambda: releases.append(time.monotonic())
    )
    problems: list[dict] = []

    async def scenario() -> None:
        asyncio.get_running_loop().set_exception_handler(
            lambda _, context: problems.append(context)
        )
        pool = RenderPool(slots=1, queue_size=4, release_after_s=0.05)
        running = asyncio.ensure_future(pool.run(time.sleep, 0.1))
        queued = asyncio.ensure_future(pool.run(time.sleep, 0.1))
        await asyncio.sleep(0.02)
        # As at shutdown: closed from a worker thread while one render runs and one waits.
        await asyncio.to_thread(pool.close)
        await asyncio.gather(running, queued, return_exceptions=True)
        await asyncio.sleep(0.2)

    asyncio.run(scenario())
    assert releases == [] and problems == []


def big_jpeg_config(tmp_path: Path, extra: str = "") -> Path:
    """A config file for a local origin holding one 3072 px JPEG, big.jpg; `extra` is TOML that
    goes on inside its [cache] section and may open further sections."""
    root = tmp_path / "originals"
    root.mkdir()
    (root / "big.jpg").write_bytes(jpeg(astronaut().resize(6.0)))
    config = tmp_path / "imgproxy.toml"
    config.write_text(f'[origin]\nroot = "{root}"\n[cache]\ndir = "{tmp_path / "cache"}"\n' + extra)
    return config


def test_sigterm_lets_a_request_in_flight_finish(tmp_path):
    config = big_jpeg_config(tmp_path)
    port = free_port()
    with serve_process(config, port) as server:
        answer: list[httpx.Response] = []
        slow = f"http://127.0.0.1:{port}/big.jpg?width=3000&blur=60&format=png"
        request = threading.Thread(target=lambda: answer.append(httpx.get(slow, timeout=60)))
        request.start()
        time.sleep(0.4)
        server.send_signal(signal.SIGTERM)
        request.join(60)
        assert answer and answer[0].status_code == 200
        assert answer[0].headers["content-type"] == "image/png"
        # uvicorn re-raises the signal once it has shut down cleanly.
        assert server.wait(timeout=60) in (0, -signal.SIGTERM)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_a_server_at_rest_hands_its_renders_memory_back(tmp_path):
    config = big_jpeg_config(
        tmp_path,
        "result_size_mb = 0\nmemory_mb = 0\n[server]\nrelease_memory_after_ms = 500\n",
    )
    port = free_port()
    with serve_process(config, port) as server:

        def render(width: int) -> int:
            url = f"http://127.0.0.1:{port}/big.jpg?width={width}&format=png"
            return httpx.get(url, timeout=60).status_code

        for widths in ((3000, 2990), (2980, 2970), (2960, 2950)):
            with ThreadPoolExecutor(len(widths)) as clients:
                assert list(clients.map(render, widths)) == [200] * len(widths)
        busy = process_mb(server.pid, "VmRSS")
        time.sleep(1.5)
        rested = process_mb(server.pid, "VmRSS")
    assert busy - rested > 30
