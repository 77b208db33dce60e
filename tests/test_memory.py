"""glibc's malloc arenas are limited from configuration, freed memory goes back to the system,
and heavy libraries load on first use."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest
from starlette.testclient import TestClient

from imgproxy import app
from imgproxy.config_loader import build_settings
from imgproxy.memory import keep_freed_memory, limit_malloc_arenas
from tests.support.server import local_settings

GLIBC = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
# 1,600 blocks of 64 KiB (under glibc's mmap threshold, so they come from the heap) are written
# and freed, all but the last, which pins the top of the heap: glibc keeps the 100 MB freed below
# it until it is trimmed.
PROBE = """
import ctypes, sys
from imgproxy.memory import keep_freed_memory, release_free_memory
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
def rss_mb():
    fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return int(fields["VmRSS"].split()[0]) / 1024
"""
KEPT_AND_RELEASED = (
    PROBE
    + """
blocks = [libc.malloc(65536) for _ in range(1600)]
for block in blocks:
    ctypes.memset(block, 1, 65536)
for block in blocks[:-1]:
    libc.free(block)
kept = rss_mb()
released = release_free_memory()
print(kept, rss_mb(), released)
"""
)

# One 12 MiB block, written and freed: glibc maps a block that large on its own and unmaps it
# at free, unless it was told to keep freed memory in its heaps, where it stays until trimmed.
ONE_LARGE_BLOCK = (
    PROBE
    + """
took = keep_freed_memory(int(sys.argv[1]))
before = rss_mb()
block = libc.malloc(12 << 20)
ctypes.memset(block, 1, 12 << 20)
libc.free(block)
kept = rss_mb() - before
release_free_memory()
print(took, kept, rss_mb() - before)
"""
)


def _probe(script: str, *args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, check=True
    )
    return done.stdout.split()


@GLIBC
def test_the_arena_limit_is_taken_by_glibc():
    assert limit_malloc_arenas(2) is True


@GLIBC
def test_freed_memory_goes_back_to_the_system():
    kept, after, released = _probe(KEPT_AND_RELEASED)
    assert float(kept) - float(after) > 80 and released == "True"


@GLIBC
def test_freed_blocks_stay_in_the_heap_until_renders_stop():
    took, kept, after = _probe(ONE_LARGE_BLOCK, "64")
    assert took == "True"
    assert float(kept) > 11 and float(after) < 1


@GLIBC
def test_without_a_trim_threshold_a_large_freed_block_is_unmapped_at_once():
    took, kept, _ = _probe(ONE_LARGE_BLOCK, "0")
    assert took == "False" and float(kept) < 1


def test_zero_keeps_the_c_librarys_default():
    assert limit_malloc_arenas(0) is False
    assert keep_freed_memory(0) is False


def test_the_app_loads_neither_ffmpeg_nor_boto3_before_they_are_needed():
    probe = "import sys, imgproxy.app; print(sorted({'av', 'boto3'} & set(sys.modules)))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"


def test_the_server_applies_its_malloc_settings(tmp_path, monkeypatch):
    applied: list[tuple[str, int]] = []
    monkeypatch.setattr(app, "limit_malloc_arenas", lambda n: applied.append(("arenas", n)))
    monkeypatch.setattr(app, "keep_freed_memory", lambda mb: applied.append(("trim_mb", mb)))
    server = {"malloc_arenas": 3, "malloc_trim_threshold_mb": 7}
    settings = build_settings(local_settings(tmp_path, {}, server=server))
    with TestClient(app.create_app(settings)) as client:
        assert client.get("/health").status_code == 200
    assert applied == [("arenas", 3), ("trim_mb", 7)]
