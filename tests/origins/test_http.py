"""The HTTP origin against a real server on loopback."""

from __future__ import annotations

import asyncio
import socket

import pytest

from imgproxy.errors import DeadlineExceeded, NotFound, OriginFailed, SourceTooLarge
from imgproxy.origins.http import HttpOrigin
from tests.support.origin_server import OriginServer

FILES = {"photos/cat.jpg": b"jpeg bytes", "dir/a b ü.png": b"png bytes", "big.bin": b"x" * 5000}


def fetch(url: str, path: str, *, timeout_s: float = 5.0, max_bytes: int = 1_000_000):
    async def run():
        origin = HttpOrigin(url, timeout_s=timeout_s, connect_timeout_s=1.0, max_bytes=max_bytes)
        try:
            return await origin.fetch(path)
        finally:
            await origin.close()

    return asyncio.run(run())


@pytest.fixture(scope="module")
def origin():
    with OriginServer(FILES) as server:
        yield server


def test_a_file_comes_with_its_validator_and_last_modified(origin):
    source = fetch(origin.url, "photos/cat.jpg")
    assert source.data == b"jpeg bytes"
    assert source.validator.startswith('"') and source.last_modified.endswith("GMT")
    assert source.fetch_ms > 0


def test_paths_are_percent_encoded(origin):
    assert fetch(origin.url, "dir/a b ü.png").data == b"png bytes"


def test_redirects_are_followed(origin):
    assert fetch(origin.url, "redirect/photos/cat.jpg").data == b"jpeg bytes"


def test_404_is_not_found(origin):
    with pytest.raises(NotFound) as err:
        fetch(origin.url, "missing.jpg")
    assert err.value.status == 404


def test_an_origin_error_is_502(origin):
    with pytest.raises(OriginFailed) as err:
        fetch(origin.url, "status/500")
    assert err.value.status == 502 and "500" in err.value.message


def test_a_slow_origin_is_504(origin):
    with pytest.raises(DeadlineExceeded) as err:
        fetch(origin.url, "slow/3", timeout_s=0.5)
    assert err.value.status == 504


def test_a_dripping_body_is_504(origin):
    with pytest.raises(DeadlineExceeded):
        fetch(origin.url, "drip", timeout_s=0.8)


@pytest.mark.parametrize("path", ["big.bin", "endless"])
def test_bodies_over_the_byte_cap_are_413(origin, path):
    with pytest.raises(SourceTooLarge) as err:
        fetch(origin.url, path, max_bytes=1000)
    assert err.value.status == 413


def test_a_closed_port_is_502():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(OriginFailed):
        fetch(f"http://127.0.0.1:{port}", "a.jpg")
