"""A file in the cache folder whose modification time says when answers kept in memory last went
stale (a purge, an original replaced by POST): every process of a machine watches it."""

from __future__ import annotations

import os
import time
from pathlib import Path

MARKER = "changed"


def announce(cache_dir: str | Path) -> None:
    """Tell every process that uses `cache_dir` to drop what it keeps in memory."""
    marker = Path(cache_dir) / MARKER
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    now = time.time_ns()
    os.utime(marker, ns=(now, now))


class ChangeWatch:
    """`changed()` is True once after each announcement; a stat call, about a microsecond."""

    def __init__(self, cache_dir: str | Path) -> None:
        self.marker = str(Path(cache_dir) / MARKER)
        self.seen = self._stamp()

    def changed(self) -> bool:
        stamp = self._stamp()
        if stamp == self.seen:
            return False
        self.seen = stamp
        return True

    def _stamp(self) -> int:
        try:
            return os.stat(self.marker).st_mtime_ns
        except FileNotFoundError:
            return 0
