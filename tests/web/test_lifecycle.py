"""Backpressure details: coalescing, clients that leave, and a shutdown that finishes requests."""

from __future__ import annotations

import asyncio
import signal
import threading
import time

import httpx
import pytest

from imgproxy.errors import ClientGone, Overloaded
from imgproxy.web.limits import Coalescer, RenderPool, until_disconnected
from tests.support.images import astronaut, jpeg
from tests.support.server import free_port, serve_process


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


def test_sigterm_lets_a_request_in_flight_finish(tmp_path):
    root = tmp_path / "originals"
    root.mkdir()
    (root / "big.jpg").write_bytes(jpeg(astronaut().resize(6.0)))
    config = tmp_path / "imgproxy.toml"
    config.write_text(f'[origin]\nroot = "{root}"\n[cache]\ndir = "{tmp_path / "cache"}"\n')
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
