"""End to end over a real HTTP origin: its failures become 404, 502 and 504."""

from __future__ import annotations

import httpx
import pytest

from tests.support.images import astronaut, jpeg
from tests.support.origin_server import OriginServer
from tests.support.server import running_server


@pytest.fixture(scope="module")
def origin():
    with OriginServer({"photos/astronaut.jpg": jpeg(astronaut())}) as server:
        yield server


@pytest.fixture(scope="module")
def client(origin, tmp_path_factory):
    settings = {
        "origin": {"kind": "http", "url": origin.url, "timeout_s": 0.8, "max_bytes": 1_000_000},
        "cache": {"dir": str(tmp_path_factory.mktemp("cache"))},
    }
    with running_server(settings) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield http


def test_an_http_original_is_rendered_and_fetched_once(client, origin):
    first = client.get("/photos/astronaut.jpg?width=100")
    second = client.get("/photos/astronaut.jpg?width=50&format=png")
    assert first.status_code == second.status_code == 200
    assert second.headers["content-type"] == "image/png"
    assert first.headers["x-original-resolution"] == "512x512"
    assert origin.requests.count("photos/astronaut.jpg") == 1


def test_the_origin_etag_takes_part_in_the_result_etag(client):
    one = client.get("/photos/astronaut.jpg?width=30")
    two = client.get("/photos/astronaut.jpg?width=30")
    assert one.headers["etag"] == two.headers["etag"]
    assert (
        client.get(
            "/photos/astronaut.jpg?width=30", headers={"If-None-Match": one.headers["etag"]}
        ).status_code
        == 304
    )


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/nothing-here.jpg", 404, "not_found"),
        ("/status/500", 502, "origin_failed"),
        ("/status/403", 502, "origin_failed"),
        ("/slow/3", 504, "timeout"),
        ("/drip", 504, "timeout"),
        ("/reset", 502, "origin_failed"),
        ("/endless", 413, "source_too_large"),
    ],
)
def test_origin_failures_map_to_documented_statuses(client, path, status, code):
    response = client.get(f"{path}?width=10")
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.headers["cache-control"] == "no-store"


def test_the_configured_origin_may_redirect_to_another_loopback_port(client, origin):
    """The operator chose the origin, loopback included: its redirects are followed."""
    with OriginServer({"elsewhere.jpg": jpeg(astronaut())}) as other:
        host = other.url.removeprefix("http://")
        response = client.get(f"/redirect-to/{host}/elsewhere.jpg?width=20")
    assert response.status_code == 200
