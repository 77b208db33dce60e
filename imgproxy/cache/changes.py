"""A file in the cache folder whose modification time says when answers kept in memory last went
stale (a purge, an original replaced by POST): every process of a machine watches it."""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

MARKER = "changed"


# Announcements made in this process, which its own watchers see at once.
_made_here = itertools.count(1)
_last_made_here = 0


def announce(cache_dir: str | Path) -> None:
    """Tell every process that uses `cache_dir` to drop what it keeps in memory."""
    global _last_made_here
    _last_made_here = next(_made_here)
    marker = Path(cache_dir) / MARKER
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    now = time.time_ns()
    os.utime(marker, ns=(now, now))


# How often a process looks at the marker: at most this late it sees an announcement.
LOOK_EVERY_S = 0.05


class ChangeWatch:
    """`changed()` is True once after each announcement; it stats the marker at most every
    LOOK_EVERY_S seconds, as it is asked on every request."""

    def __init__(self, cache_dir: str | Path) -> None:
        self.marker = str(Path(cache_dir) / MARKER)
        self.seen = self._stamp()
        self._looked = time.monotonic()
        self._seen_here = _last_made_here

    def changed(self) -> bool:
        now = time.monotonic()
        here = self._seen_here != _last_made_here
        if not here and now - self._looked < LOOK_EVERY_S:
            return False
        self._seen_here = _last_made_here
        self._looked = now
        stamp = self._stamp()
        if stamp == self.seen and not here:
            return False
        self.seen = stamp
        return True

    def _stamp(self) -> int:
        try:
            return os.stat(self.marker).st_mtime_ns
        except FileNotFoundError:
            return 0
