"""glibc's malloc arenas are limited from configuration."""

from __future__ import annotations

import platform

import pytest

from imgproxy.memory import limit_malloc_arenas


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_the_arena_limit_is_taken_by_glibc():
    assert limit_malloc_arenas(2) is True


def test_zero_keeps_the_c_librarys_default():
    assert limit_malloc_arenas(0) is False
