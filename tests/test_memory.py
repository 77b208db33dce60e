"""glibc's malloc arenas are limited from configuration; heavy libraries load on first use."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from imgproxy.memory import limit_malloc_arenas


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_the_arena_limit_is_taken_by_glibc():
    assert limit_malloc_arenas(2) is True


def test_zero_keeps_the_c_librarys_default():
    assert limit_malloc_arenas(0) is False


def test_the_app_loads_neither_ffmpeg_nor_boto3_before_they_are_needed():
    probe = "import sys, imgproxy.app; print(sorted({'av', 'boto3'} & set(sys.modules)))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"
