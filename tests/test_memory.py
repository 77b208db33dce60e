"""glibc's malloc arenas are limited from configuration, freed memory goes back to the system,
and heavy libraries load on first use."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from imgproxy.memory import limit_malloc_arenas

GLIBC = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
# 1,600 blocks of 64 KiB (under glibc's mmap threshold, so they come from the heap) are written
# and freed, all but the last, which pins the top of the heap: glibc keeps the 100 MB freed below
# it until it is trimmed.
KEPT_AND_RELEASED = """
import ctypes, sys
from imgproxy.memory import release_free_memory
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
def rss_mb():
    fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return int(fields["VmRSS"].split()[0]) / 1024
blocks = [libc.malloc(65536) for _ in range(1600)]
for block in blocks:
    ctypes.memset(block, 1, 65536)
for block in blocks[:-1]:
    libc.free(block)
kept = rss_mb()
released = release_free_memory()
print(kept, rss_mb(), released)
"""


@GLIBC
def test_the_arena_limit_is_taken_by_glibc():
    assert limit_malloc_arenas(2) is True


@GLIBC
def test_freed_memory_goes_back_to_the_system():
    done = subprocess.run(
        [sys.executable, "-c", KEPT_AND_RELEASED], capture_output=True, text=True, check=True
    )
    kept, after, released = done.stdout.split()
    assert float(kept) - float(after) > 80 and released == "True"


def test_zero_keeps_the_c_librarys_default():
    assert limit_malloc_arenas(0) is False


def test_the_app_loads_neither_ffmpeg_nor_boto3_before_they_are_needed():
    probe = "import sys, imgproxy.app; print(sorted({'av', 'boto3'} & set(sys.modules)))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"
