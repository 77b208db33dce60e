"""How the process allocates memory: glibc's malloc arenas, which renders in threads multiply,
freed memory kept for the next render while renders run, and handed back to the system once
they stop."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable

# mallopt's parameter numbers (glibc's malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MIB = 1024 * 1024
# Blocks up to this size come from the heaps once freed memory is kept there: the largest glibc
# takes on 64-bit systems, half its 64 MiB heaps. It holds the face detector's buffers (13 MB at
# its 640 px view) and an animation's decoded frames (22 MB for 20 frames of 640 x 427); a
# 12 MP image's pixels are still mapped on their own and handed back as soon as they are freed.
HEAP_BLOCKS_UP_TO = 32 * MIB


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    return ctypes.CDLL(name) if name else None


def _function(name: str) -> Callable[..., int] | None:
    """The C library's function `name`, where there is one (glibc's malloc tuning)."""
    libc = _libc()
    return getattr(libc, name, None) if libc is not None else None


def limit_malloc_arenas(arenas: int) -> bool:
    """At most `arenas` malloc arenas from now on (0: glibc's default, 8 per core); whether the
    C library took it. Each render thread would otherwise get an arena of its own, and freed
    pixel buffers stay scattered over them: with 2 arenas the benchmark's mix of renders peaks
    at about 30 % less memory, at the same throughput."""
    mallopt = _function("mallopt")
    return arenas > 0 and mallopt is not None and bool(mallopt(M_ARENA_MAX, arenas))


def keep_freed_memory(trim_threshold_mb: int) -> bool:
    """Let glibc keep up to `trim_threshold_mb` of freed memory at the top of each heap, and
    serve blocks up to HEAP_BLOCKS_UP_TO from the heaps (0: glibc's own thresholds, which
    follow the blocks freed); whether the C library took it. Handed back at every free, those
    pages are faulted in and zeroed again by the next render: the face detector's buffers
    cost 10-16 ms of system time a request that way, an animated GIF's decoded frames 13 ms.
    Setting one threshold stops glibc moving the other, so both are set."""
    mallopt = _function("mallopt")
    if trim_threshold_mb <= 0 or mallopt is None:
        return False
    return bool(
        mallopt(M_MMAP_THRESHOLD, HEAP_BLOCKS_UP_TO)
        and mallopt(M_TRIM_THRESHOLD, trim_threshold_mb * MIB)
    )


def release_free_memory() -> bool:
    """Hand the whole free pages of every malloc arena back to the system (glibc's
    malloc_trim); whether any went. glibc keeps the buffers of finished renders for the next
    ones, so without this a server keeps its busiest moment's memory for as long as it runs."""
    trim = _function("malloc_trim")
    return bool(trim and trim(0))
