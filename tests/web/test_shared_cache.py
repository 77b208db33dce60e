"""The S3 result tier: a render on one server is a hit on another; purges reach it."""

from __future__ import annotations

import time

import httpx
import pytest

from imgproxy.config import build_settings
from imgproxy.web.admin import create_admin_app
from tests.support.images import png, quadrants
from tests.support.s3 import s3_server
from tests.support.server import running_app, running_server


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    root = tmp_path_factory.mktemp("originals")
    (root / "quad.png").write_bytes(png(quadrants(200, 100)))
    with s3_server({"shared-results": {}}) as endpoint:

        def settings(name: str) -> dict:
            return {
                "origin": {"kind": "local", "root": str(root), "endpoint_url": endpoint},
                "cache": {"dir": str(tmp_path_factory.mktemp(name)), "s3_bucket": "shared-results"},
                "admin": {"enabled": True, "token": "a"},
            }

        first, second = settings("node-a"), settings("node-b")
        with (
            running_server(first) as url_a,
            running_server(second) as url_b,
            running_app(create_admin_app(build_settings(second))) as admin_b,
        ):
            yield url_a, url_b, admin_b


def stored_hit(base: str, url: str) -> None:
    deadline = time.monotonic() + 5
    while httpx.get(base + url).headers["x-cache"] != "HIT":
        assert time.monotonic() < deadline, "the first render was never stored"
        time.sleep(0.05)


def test_a_render_on_one_server_is_a_hit_on_another(nodes):
    node_a, node_b, _ = nodes
    first = httpx.get(f"{node_a}/quad.png?width=70")
    assert first.headers["x-cache"] == "MISS"
    stored_hit(node_a, "/quad.png?width=70")
    second = httpx.get(f"{node_b}/quad.png?width=70")
    assert second.headers["x-cache"] == "HIT" and second.content == first.content
    assert second.headers["etag"] == first.headers["etag"]


def test_a_purge_removes_shared_results_too(nodes):
    node_a, node_b, admin_b = nodes
    httpx.get(f"{node_a}/quad.png?width=71")
    stored_hit(node_a, "/quad.png?width=71")
    purged = httpx.delete(f"{admin_b}/quad.png?all=true", headers={"Authorization": "Bearer a"})
    assert purged.json()["purged"] >= 1
    assert httpx.get(f"{node_b}/quad.png?width=71").headers["x-cache"] == "MISS"
