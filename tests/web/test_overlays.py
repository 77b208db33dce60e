"""End to end: layers and watermarks fetched from the origin and from absolute URLs."""

from __future__ import annotations

import json

import httpx
import pytest

from imgproxy.pipeline.fonts import FALLBACK, FAMILIES, font_table
from tests.support.images import BLUE, RED, close, pixels, png, solid
from tests.support.origin_server import OriginServer
from tests.support.server import running_server

RED_SQUARE = png(solid(40, 40, RED))
BLUE_BASE = png(solid(200, 100, BLUE))


@pytest.fixture(scope="module")
def remote():
    files = {"logo.png": RED_SQUARE, "img/base.png": BLUE_BASE, "img/red.png": RED_SQUARE}
    files["routed.png"] = RED_SQUARE
    with OriginServer(files) as server:
        yield server


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("originals")
    (root / "base.png").write_bytes(BLUE_BASE)
    (root / "red.png").write_bytes(RED_SQUARE)
    return root


def serve(tmp_path_factory, root, **security):
    settings = {
        "origin": {"kind": "local", "root": str(root)},
        "cache": {"dir": str(tmp_path_factory.mktemp("cache"))},
        "security": security,
    }
    return running_server(settings)


@pytest.fixture(scope="module")
def client(tmp_path_factory, root):
    with serve(tmp_path_factory, root) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield http


@pytest.fixture(scope="module")
def open_client(tmp_path_factory, root):
    with (
        serve(tmp_path_factory, root, allow_private_networks=True) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        yield http


def get(http: httpx.Client, path="/base.png", headers=None, **params: object) -> httpx.Response:
    query = {k: json.dumps(v) if k == "layers" else v for k, v in params.items()}
    return http.get(path, params={**query, "format": "png"}, headers=headers)


def test_a_relative_layer_comes_from_the_origin(client):
    response = get(client, layers=[{"url": "/red.png", "pos": "top|left", "scale": 20}])
    px = pixels(response.content)
    assert response.status_code == 200 and close(px[5, 5], RED) and close(px[95, 195], BLUE)


def test_a_missing_layer_that_is_not_required_still_gives_200(client):
    response = get(client, layers=[{"url": "/absent.png"}])
    assert response.status_code == 200 and close(pixels(response.content)[50, 100], BLUE)


def test_an_image_without_its_missing_layer_is_not_cached_and_expires_soon(client, root):
    layers = [{"url": "/later.png", "pos": "top|left", "scale": 20}]
    first, second = get(client, layers=layers), get(client, layers=layers)
    assert first.status_code == second.status_code == 200
    assert first.headers["x-cache"] == second.headers["x-cache"] == "MISS"
    assert first.headers["cache-control"] == "public, max-age=60"
    assert first.headers["etag"].endswith('-partial"')
    (root / "later.png").write_bytes(RED_SQUARE)
    later = get(client, layers=layers, headers={"If-None-Match": first.headers["etag"]})
    assert later.status_code == 200 and close(pixels(later.content)[5, 5], RED)
    assert later.headers["cache-control"] == "public, max-age=86400"


def test_a_missing_required_layer_is_404_naming_it(client):
    response = get(client, layers=[{"url": "/red.png"}, {"url": "/absent.png", "required": True}])
    error = response.json()["error"]
    assert response.status_code == 404
    assert error["param"] == "layers" and "layers item 1" in error["message"]


def test_a_missing_required_watermark_is_404_naming_mark(client):
    response = get(client, mark="/absent.png", mark_required="true")
    assert response.status_code == 404 and response.json()["error"]["param"] == "mark"


def test_a_watermark_is_drawn(client):
    px = pixels(get(client, mark="/red.png", mark_pos="bottom|right").content)
    assert close(px[95, 195], RED) and close(px[5, 5], BLUE)


def test_absolute_urls_on_private_networks_are_refused_by_default(client, remote):
    response = get(client, layers=[{"url": f"{remote.url}/logo.png"}])
    assert response.status_code == 401 and response.json()["error"]["param"] == "layers"


def test_absolute_urls_are_fetched_once_when_private_networks_are_allowed(open_client, remote):
    layers = [{"url": f"{remote.url}/logo.png", "pos": "top|left", "scale": 20}]
    first = get(open_client, layers=layers)
    second = get(open_client, layers=layers, width=100)
    assert first.status_code == second.status_code == 200
    assert close(pixels(first.content)[5, 5], RED)
    assert remote.requests.count("logo.png") == 1


def test_a_relative_layer_follows_the_url_of_a_source_url_image(open_client, remote):
    layers = [{"url": "red.png", "pos": "top|left", "scale": 20}]
    response = get(open_client, "/", source_url=f"{remote.url}/img/base.png", layers=layers)
    px = pixels(response.content)
    assert response.status_code == 200 and close(px[5, 5], RED) and close(px[95, 195], BLUE)


def test_a_required_layer_whose_origin_fails_is_502_naming_it(open_client, remote):
    layers = [{"url": f"{remote.url}/status/500", "required": True}]
    response = get(open_client, layers=layers)
    error = response.json()["error"]
    assert response.status_code == 502 and response.headers["cache-control"] == "no-store"
    assert error["param"] == "layers" and "layers item 0" in error["message"]


def test_a_failing_layer_that_is_not_required_is_left_out(open_client, remote):
    response = get(open_client, layers=[{"url": f"{remote.url}/status/500"}])
    assert response.status_code == 200 and close(pixels(response.content)[50, 100], BLUE)


def test_a_rooted_watermark_path_goes_to_the_origin_host_through_its_route(open_client, remote):
    response = get(
        open_client,
        "/img/base.png",
        origin=remote.url,
        host_header="images.test",
        mark="/routed.png",
        mark_pos="top|left",
    )
    assert response.status_code == 200 and close(pixels(response.content)[5, 5], RED)
    assert remote.hosts[remote.requests.index("routed.png")] == "images.test"


@pytest.fixture(scope="module")
def listed_client(tmp_path_factory, root):
    with (
        serve(
            tmp_path_factory, root, allow_private_networks=True, hosts_allowed=["127.0.0.1"]
        ) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        yield http


def test_a_protocol_relative_layer_of_a_url_image_obeys_the_host_allow_list(listed_client, remote):
    layers = [{"url": "//localhost:1/red.png", "required": True}]
    response = get(listed_client, "/", source_url=f"{remote.url}/img/base.png", layers=layers)
    assert response.status_code == 401 and response.json()["error"]["param"] == "layers"


def test_a_path_relative_layer_on_an_allowed_host_is_drawn(listed_client, remote):
    layers = [{"url": "red.png", "pos": "top|left", "scale": 20, "required": True}]
    response = get(listed_client, "/", source_url=f"{remote.url}/img/base.png", layers=layers)
    px = pixels(response.content)
    assert response.status_code == 200 and close(px[5, 5], RED) and close(px[95, 195], BLUE)
    assert "img/red.png" in remote.requests


def test_a_path_relative_layer_on_a_refused_host_fetches_nothing(listed_client, remote):
    before = len(remote.requests)
    layers = [{"url": "red.png", "required": True}]
    base = remote.url.replace("127.0.0.1", "localhost")
    response = get(listed_client, "/", source_url=f"{base}/img/base.png", layers=layers)
    assert response.status_code == 401 and response.json()["error"]["param"] == "source_url"
    assert len(remote.requests) == before


def test_bad_layers_are_400_naming_the_parameter_and_the_item(client):
    for layers in ("not json", json.dumps([{"url": "/a.png", "size": 3}]), json.dumps([5])):
        response = client.get("/base.png", params={"layers": layers})
        error = response.json()["error"]
        assert response.status_code == 400 and error["param"] == "layers", layers
    too_many = client.get("/base.png", params={"layers": json.dumps([{"url": "/r.png"}] * 11)})
    assert too_many.status_code == 400 and "limit" in too_many.json()["error"]["message"]


def test_health_lists_what_each_font_family_maps_to(client):
    fonts = client.get("/health", params={"fonts": "1"}).json()["fonts"]
    assert {"arial", "times new roman", "courier new", "verdana", "open sans"} <= set(fonts)
    assert fonts == font_table() and fonts["arial"] in FAMILIES["arial"] + (FALLBACK,)
