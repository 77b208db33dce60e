"""allow_original_request: originals served unchanged, and revalidated without a fetch."""

from __future__ import annotations

import httpx
import pytest

from tests.support.images import png, quadrants
from tests.support.origin_server import OriginServer
from tests.support.server import running_server

QUAD = png(quadrants(200, 100))


@pytest.fixture(scope="module")
def remote():
    with OriginServer({"quad.png": QUAD}) as server:
        yield server


def serve(tmp_path_factory, origin: dict) -> object:
    settings = {
        "origin": origin,
        "cache": {"dir": str(tmp_path_factory.mktemp("cache"))},
        "security": {"allow_original_request": True},
    }
    return running_server(settings)


def test_an_unchanged_local_original_answers_304(tmp_path_factory):
    root = tmp_path_factory.mktemp("originals")
    (root / "quad.png").write_bytes(QUAD)
    with serve(tmp_path_factory, {"kind": "local", "root": str(root)}) as url:
        first = httpx.get(f"{url}/quad.png")
        again = httpx.get(f"{url}/quad.png", headers={"If-None-Match": first.headers["etag"]})
    assert first.status_code == 200 and first.content == QUAD
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == first.headers["etag"]


def test_a_cached_http_original_answers_304_without_asking_the_origin(tmp_path_factory, remote):
    with serve(tmp_path_factory, {"kind": "http", "url": remote.url}) as url:
        first = httpx.get(f"{url}/quad.png")
        fetches = remote.requests.count("quad.png")
        again = httpx.get(f"{url}/quad.png", headers={"If-None-Match": first.headers["etag"]})
    assert first.status_code == 200 and first.content == QUAD
    assert again.status_code == 304 and remote.requests.count("quad.png") == fetches == 1
