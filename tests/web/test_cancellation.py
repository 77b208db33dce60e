"""Work nobody waits for stops: a deadline cancels a coalesced render, origin I/O from a render
thread has a deadline, and shutting down never waits on itself."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable

from imgproxy.app import build_preprocessor, build_sources, create_app
from imgproxy.cache.results import build_results
from imgproxy.config import Settings
from imgproxy.config_loader import build_settings
from imgproxy.errors import DeadlineExceeded
from imgproxy.jobs.preprocess import Preprocess
from imgproxy.web.limits import Coalescer, until_disconnected
from tests.support.images import png, quadrants

QUAD = png(quadrants(200, 100))


class StayingRequest:
    """A request whose client never leaves."""

    async def receive(self) -> dict:
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}


def test_a_deadline_cancels_the_coalesced_work_and_frees_its_key():
    async def scenario() -> str:
        coalescer = Coalescer()
        cancelled = asyncio.Event()

        async def slow() -> str:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                cancelled.set()
                raise
            return "slow"

        async def fresh() -> str:
            return "fresh"

        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.05):
                await until_disconnected(StayingRequest(), coalescer.run("k", slow))  # type: ignore[arg-type]
        await asyncio.wait_for(cancelled.wait(), 1)
        return await coalescer.run("k", fresh)

    assert asyncio.run(scenario()) == "fresh"


def settings_in(tmp_path, **server: object) -> Settings:
    return build_settings(
        {
            "origin": {"kind": "local", "root": str(tmp_path)},
            "cache": {"dir": str(tmp_path / "cache")},
            "jobs": {"consumer": False},
            "server": server,
        }
    )


def in_thread(work: Callable[[], object], seconds: float) -> list[object]:
    """What `work` returned or raised, when it ended within `seconds`; else nothing."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(work())
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return outcome


def test_origin_io_the_loop_does_not_run_in_time_is_a_deadline(tmp_path):
    settings = settings_in(tmp_path, request_timeout_s=0.2)
    results = build_results(settings)
    idle = asyncio.new_event_loop()
    preprocessor = build_preprocessor(settings, build_sources(settings, None), results, idle)
    outcome = in_thread(lambda: preprocessor.run(Preprocess("a.png", QUAD, ())), 10)
    # The loop runs once more, so that the work given up is cancelled before it closes.
    idle.run_until_complete(asyncio.sleep(0))
    idle.close()
    results.close()
    assert outcome and isinstance(outcome[0], DeadlineExceeded)


def test_shutdown_with_a_render_still_needing_the_loop_finishes(tmp_path):
    app = create_app(settings_in(tmp_path, request_timeout_s=60))
    outcome: list[object] = []

    async def serve_then_stop() -> None:
        gate = threading.Event()
        async with app.router.lifespan_context(app):
            state = app.state.imgproxy

            def render() -> object:
                gate.wait()
                return state.preprocessor.run(Preprocess("a.png", QUAD, ()))

            # A POST answered already (504, or a client gone) whose render thread goes on.
            rendering = asyncio.ensure_future(state.pool.run(render))
            await asyncio.sleep(0.05)
            threading.Timer(0.3, gate.set).start()
        outcome.extend(await asyncio.gather(rendering, return_exceptions=True))

    assert in_thread(lambda: asyncio.run(serve_then_stop()), 20), "the shutdown waited on itself"
    assert isinstance(outcome[0], DeadlineExceeded)
