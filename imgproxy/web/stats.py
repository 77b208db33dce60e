"""Request counters shared by every worker process: counted in memory, added to disk each second."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import diskcache

COUNTERS = ("requests", "errors", "cache_hits", "cache_misses", "renders", "bytes_sent")
FLUSH_EVERY_S = 1.0


class Stats:
    def __init__(self, directory: str | Path) -> None:
        self._store = diskcache.Cache(str(directory))
        self._pending: Counter[str] = Counter()
        self._lock = threading.Lock()

    def count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._pending[name] += amount

    def count_all(self, amounts: Mapping[str, int]) -> None:
        with self._lock:
            self._pending.update(amounts)

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, Counter()
        for name, amount in pending.items():
            self._store.incr(name, amount, default=0)

    def totals(self) -> dict[str, int]:
        with self._lock:
            pending = Counter(self._pending)
        return {name: int(self._store.get(name, 0)) + pending[name] for name in COUNTERS}

    def close(self) -> None:
        self.flush()
        self._store.close()
