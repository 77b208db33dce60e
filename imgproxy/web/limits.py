"""Render slots: a bounded thread pool with a bounded wait queue in front of it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from starlette.requests import Request

from imgproxy import metrics
from imgproxy.errors import ClientGone, Overloaded
from imgproxy.memory import release_free_memory

T = TypeVar("T")
RETRY_AFTER_S = 1


class RenderPool:
    """At most `slots` renders run at once; at most `queue_size` more wait; the rest get 503.

    Waiting renders queue inside the thread pool itself: a thread that finishes one takes the
    next at once, without a round trip through the event loop that would leave a core idle.

    When the last render ends and none starts for `release_after_s` seconds, the memory the
    renders freed goes back to the system; 0 leaves it with the C library.
    """

    def __init__(self, slots: int, queue_size: int, release_after_s: float = 0.0) -> None:
        self.slots = slots
        self.queue_size = queue_size
        self.release_after_s = release_after_s
        self._executor = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="render")
        self._admitted = 0
        self._closed = False
        self._release_timer: asyncio.TimerHandle | None = None
        metrics.render_slots(slots)

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """`fn(*args)` in a render slot. A caller that stops waiting (deadline, disconnect)
        drops its render while it queues; a started one keeps its slot until its thread is
        done, as its render still holds memory."""
        if self._admitted >= self.slots + self.queue_size:
            raise Overloaded("all render slots and the wait queue are busy; retry shortly")
        self._admitted += 1
        self._cancel_release()
        metrics.render_waiting(1)
        loop = asyncio.get_running_loop()
        job = self._executor.submit(_in_slot, fn, *args)
        job.add_done_callback(lambda done: loop.call_soon_threadsafe(self._release, done))
        try:
            return await asyncio.shield(asyncio.wrap_future(job))
        except asyncio.CancelledError:
            job.cancel()
            raise

    def _release(self, job: Future[Any]) -> None:
        self._admitted -= 1
        if job.cancelled():
            metrics.render_waiting(-1)
        else:
            metrics.render_running(-1)
            # Nobody may be waiting any more: the exception counts as seen, not as lost.
            job.exception()
        if self._admitted == 0 and self.release_after_s > 0 and not self._closed:
            self._cancel_release()
            loop = asyncio.get_running_loop()
            self._release_timer = loop.call_later(self.release_after_s, self._release_memory)

    def _release_memory(self) -> None:
        """In a render thread, which is idle now: trimming takes a few milliseconds."""
        self._release_timer = None
        if self._closed:
            return
        # close() runs in another thread and may shut the executor down in between.
        with contextlib.suppress(RuntimeError):
            self._executor.submit(release_free_memory)

    def _cancel_release(self) -> None:
        if self._release_timer is not None:
            self._release_timer.cancel()
            self._release_timer = None

    def close(self) -> None:
        """Runs in a worker thread: a pending release, on the event loop, finds the pool closed
        and does nothing, as do the renders that end while it shuts down."""
        self._closed = True
        self._executor.shutdown(wait=True, cancel_futures=True)
        metrics.render_slots(-self.slots)


def _in_slot(fn: Callable[..., T], *args: object) -> T:
    metrics.render_waiting(-1)
    metrics.render_running(1)
    return fn(*args)


class Coalescer:
    """Identical renders in flight run once; every request for the key gets the result."""

    def __init__(self) -> None:
        self._inflight: dict[str, asyncio.Task[Any]] = {}
        self._waiters: dict[str, int] = {}

    async def run(self, key: str, make: Callable[[], Awaitable[T]]) -> T:
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(make())
            self._inflight[key] = task
            task.add_done_callback(lambda done: self._forget(key, done))
        else:
            metrics.coalesced()
        self._waiters[key] = self._waiters.get(key, 0) + 1
        try:
            return await asyncio.shield(task)
        finally:
            self._waiters[key] -= 1
            if self._waiters[key] == 0:
                del self._waiters[key]
                # Every waiter has gone: work still queued for a render slot is not wanted.
                if not task.done():
                    task.cancel()
                    # A request arriving before the cancellation lands starts afresh.
                    self._forget(key, task)

    def _forget(self, key: str, task: asyncio.Task[Any]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]


async def until_disconnected(request: Request, work: Awaitable[T]) -> T:
    """`work`'s result; cancelled (and ClientGone raised) when the client disconnects first, and
    cancelled with this wait when the wait itself is cancelled."""
    working = asyncio.ensure_future(work)
    watching = asyncio.ensure_future(_disconnect(request))
    try:
        done, _ = await asyncio.wait({working, watching}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        # Cancelled (a deadline, a shutdown): the work stops waiting too, so its slot frees.
        working.cancel()
        raise
    finally:
        watching.cancel()
    if working not in done:
        working.cancel()
        raise ClientGone("the client went away before the image was ready")
    return working.result()


async def _disconnect(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        continue
