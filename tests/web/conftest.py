"""A real server over a folder of originals made in code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import pyvips

from tests.support.images import astronaut, jpeg, png, quadrants, solid, transparent_square
from tests.support.server import running_server, write_originals

ORIGINALS = {
    "photo.jpg": lambda: jpeg(astronaut(), quality=80),
    "quad.png": lambda: png(quadrants(200, 100)),
    "alpha.png": lambda: png(transparent_square(100)),
    "nested/dir/quad.png": lambda: png(quadrants(200, 100)),
    "not-an-image.jpg": lambda: b"<html>this is not an image</html>",
    "moving.gif": lambda: animated_gif(),
}


def animated_gif() -> bytes:
    frames = [solid(40, 30, (i * 60, 100, 200)) for i in range(4)]
    strip = pyvips.Image.arrayjoin(frames, across=1).copy(interpretation="srgb")
    strip.set_type(pyvips.GValue.gint_type, "page-height", 30)
    strip.set_type(pyvips.GValue.array_int_type, "delay", [120] * 4)
    return strip.gifsave_buffer()


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> Path:
    files = {name: make() for name, make in ORIGINALS.items()}
    return write_originals(tmp_path_factory.mktemp("originals"), files)


@pytest.fixture(scope="module")
def base_url(originals: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = {
        "origin": {"kind": "local", "root": str(originals)},
        "cache": {"dir": str(tmp_path_factory.mktemp("cache"))},
        "http": {"add_response_headers": {"X-Served-By": "test"}},
        "security": {"max_frames": 10},
    }
    with running_server(settings) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        yield http
