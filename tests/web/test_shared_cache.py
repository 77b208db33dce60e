"""The S3 tier: a render on one server is a hit on another; POSTed originals reach every server;
servers with other render settings never share results; purges reach it."""

from __future__ import annotations

import json
import time

import httpx
import numpy as np
import pytest

from imgproxy.cache import origin as cached_origin
from imgproxy.config_loader import build_settings
from imgproxy.web.admin import create_admin_app
from tests.support.images import GREEN, RED, close, pixels, png, quadrants
from tests.support.s3 import s3_server
from tests.support.server import running_app, running_server

TOKEN = "up"


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("originals")
    (root / "quad.png").write_bytes(png(quadrants(200, 100)))
    (root / "swap.png").write_bytes(png(quadrants(200, 100)))
    return root


@pytest.fixture(scope="module")
def endpoint():
    with s3_server({"shared-results": {}}) as url:
        yield url


def node_settings(
    tmp_path_factory, root, endpoint, name: str, bucket: str = "shared-results", **output: object
) -> dict:
    return {
        "origin": {"kind": "local", "root": str(root), "endpoint_url": endpoint},
        "cache": {"dir": str(tmp_path_factory.mktemp(name)), "s3_bucket": bucket},
        "admin": {"enabled": True, "token": "a"},
        "uploads": {"token": TOKEN},
        "output": output,
    }


@pytest.fixture(scope="module")
def nodes(tmp_path_factory, root, endpoint):
    first = node_settings(tmp_path_factory, root, endpoint, "node-a")
    second = node_settings(tmp_path_factory, root, endpoint, "node-b")
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


def test_a_server_with_other_render_settings_does_not_take_shared_results(
    nodes, tmp_path_factory, root, endpoint
):
    node_a, _, _ = nodes
    query = "/quad.png?width=72&format=webp"
    httpx.get(node_a + query)
    stored_hit(node_a, query)
    other = node_settings(tmp_path_factory, root, endpoint, "node-c", default_quality=40)
    with running_server(other) as node_c:
        answer = httpx.get(node_c + query)
    assert answer.headers["x-cache"] == "MISS"
    assert answer.headers["etag"] != httpx.get(node_a + query).headers["etag"]


def test_a_post_on_one_server_is_the_original_and_the_warm_cache_of_another(nodes):
    node_a, node_b, _ = nodes
    posted = httpx.post(
        f"{node_a}/posted/quad.png",
        files={"file": ("q.png", png(quadrants(200, 100)), "image/png")},
        data={"flip": "true", "cache_processed": "true", "cache_queries": json.dumps(["width=60"])},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert posted.status_code == 200
    warmed = httpx.get(f"{node_b}/posted/quad.png?width=60")
    assert warmed.headers["x-cache"] == "HIT"
    assert warmed.content == httpx.get(f"{node_a}/posted/quad.png?width=60").content
    fresh = httpx.get(f"{node_b}/posted/quad.png?format=png")
    assert fresh.status_code == 200 and fresh.headers["x-cache"] == "MISS"
    px = pixels(fresh.content)
    assert close(px[5, 195], RED) and close(px[5, 5], GREEN)


def post(base: str, path: str, **fields: str) -> httpx.Response:
    return httpx.post(
        f"{base}/{path}",
        files={"file": ("q.png", png(quadrants(200, 100)), "image/png")},
        data=fields,
        headers={"Authorization": f"Bearer {TOKEN}"},
    )


def top_left(base: str, url: str) -> np.ndarray:
    answer = httpx.get(base + url)
    assert answer.status_code == 200, answer.text
    return pixels(answer.content)[5, 5]


def eventually_top_left(base: str, url: str, colour: tuple[int, ...]) -> None:
    deadline = time.monotonic() + 10
    while not close(top_left(base, url), colour):
        assert time.monotonic() < deadline, f"{url} never turned {colour}"
        time.sleep(0.1)


def test_a_post_and_its_purge_reach_a_server_that_served_the_path_before(nodes, monkeypatch):
    monkeypatch.setattr(cached_origin, "SHARED_CHECK_S", 0.2)
    node_a, node_b, admin_b = nodes
    assert close(top_left(node_b, "/swap.png?format=png"), RED)
    assert post(node_a, "swap.png", flip="true", cache_processed="true").status_code == 200
    eventually_top_left(node_b, "/swap.png?format=png", GREEN)
    purged = httpx.delete(f"{admin_b}/swap.png?all=true", headers={"Authorization": "Bearer a"})
    assert purged.status_code == 200
    # The server that made the POST keeps its own copy, yet serves the origin's again.
    eventually_top_left(node_a, "/swap.png?format=png", RED)


def test_a_post_whose_original_the_shared_tier_cannot_keep_is_502(tmp_path_factory, root, endpoint):
    broken = node_settings(tmp_path_factory, root, endpoint, "node-d", bucket="no-such-bucket")
    with running_server(broken) as node_d:
        posted = post(node_d, "kept/quad.png", cache_processed="true")
        assert posted.status_code == 502 and posted.json()["error"]["code"] == "origin_failed"
        assert httpx.get(f"{node_d}/kept/quad.png?width=10").status_code == 404


@pytest.mark.parametrize("url", ["/quad.png?width=10", "/quad.png?all=true", "/"])
def test_a_purge_the_shared_tier_fails_is_502(tmp_path_factory, root, endpoint, url):
    broken = node_settings(tmp_path_factory, root, endpoint, "admin-e", bucket="no-such-bucket")
    with running_app(create_admin_app(build_settings(broken))) as admin:
        purged = httpx.delete(admin + url, headers={"Authorization": "Bearer a"})
    assert purged.status_code == 502 and purged.json()["error"]["code"] == "origin_failed"
