"""Render slots: a bounded thread pool with a bounded wait queue in front of it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from imgproxy.errors import Overloaded

T = TypeVar("T")
RETRY_AFTER_S = 1


class RenderPool:
    """At most `slots` renders run at once; at most `queue_size` more wait; the rest get 503."""

    def __init__(self, slots: int, queue_size: int) -> None:
        self.slots = slots
        self.queue_size = queue_size
        self._executor = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="render")
        self._running = asyncio.Semaphore(slots)
        self._admitted = 0

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        if self._admitted >= self.slots + self.queue_size:
            raise Overloaded("all render slots and the wait queue are busy; retry shortly")
        self._admitted += 1
        try:
            async with self._running:
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(self._executor, fn, *args)
        finally:
            self._admitted -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
