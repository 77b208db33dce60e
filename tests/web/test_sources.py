"""Where originals come from: S3 (moto's server), origin=, source_url=, host_header, resolve,
and originals served unchanged."""

from __future__ import annotations

import asyncio

import boto3
import httpx
import pytest
import pyvips

from imgproxy.cache.stores import BlobStore
from imgproxy.config_loader import build_settings
from imgproxy.errors import ForbiddenByConfig
from imgproxy.params.plan import SourceRequest
from imgproxy.sources import Sources
from tests.support.images import astronaut, jpeg, png, quadrants
from tests.support.origin_server import OriginServer
from tests.support.s3 import s3_server
from tests.support.server import running_server

PHOTO = jpeg(astronaut(), quality=80)
QUAD = png(quadrants(200, 100))


def image_of(response: httpx.Response) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(response.content, "")


@pytest.fixture(scope="module")
def s3():
    buckets = {"images": {"photos/astronaut.jpg": PHOTO}, "other": {"quad.png": QUAD}}
    with s3_server(buckets) as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def http_origin():
    with OriginServer({"photos/astronaut.jpg": PHOTO, "quad.png": QUAD}) as server:
        yield server


@pytest.fixture(scope="module")
def client(s3, tmp_path_factory):
    settings = {
        "origin": {"kind": "s3", "bucket": "images", "endpoint_url": s3, "region": "us-east-1"},
        "security": {"allow_private_networks": True, "buckets_allowed": ["images", "other"]},
        "cache": {"dir": str(tmp_path_factory.mktemp("cache"))},
        "uploads": {"token": "t0ken", "enabled": True},
    }
    with running_server(settings) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield http


def test_a_post_with_uploads_enabled_puts_the_original_into_the_bucket(client, s3):
    files = {"file": ("new.png", QUAD, "image/png")}
    response = client.post(
        "/posted/new.png?width=10", files=files, headers={"Authorization": "Bearer t0ken"}
    )
    assert response.status_code == 200
    stored = boto3.client("s3", endpoint_url=s3, region_name="us-east-1").get_object(
        Bucket="images", Key="posted/new.png"
    )
    assert stored["Body"].read() == QUAD
    assert image_of(client.get("/posted/new.png?width=30")).width == 30


def test_an_s3_original_is_rendered(client):
    response = client.get("/photos/astronaut.jpg?width=64")
    assert response.status_code == 200 and image_of(response).width == 64
    assert response.headers["x-original-resolution"] == "512x512"


def test_a_missing_s3_key_is_404(client):
    response = client.get("/photos/missing.jpg?width=64")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_the_bucket_parameter_reads_another_allowed_bucket(client):
    response = client.get("/quad.png?bucket=other&width=50")
    assert response.status_code == 200 and image_of(response).width == 50


def test_a_bucket_outside_buckets_allowed_is_401(client):
    response = client.get("/quad.png?bucket=secret-bucket&width=50")
    assert response.status_code == 401 and response.json()["error"]["param"] == "bucket"


def test_origin_fetches_from_another_host(client, http_origin):
    response = client.get("/photos/astronaut.jpg", params={"origin": http_origin.url, "width": 40})
    assert response.status_code == 200 and image_of(response).width == 40


def test_hostname_is_an_alias_of_origin(client, http_origin):
    host = http_origin.url.removeprefix("http://")
    response = client.get("/quad.png", params={"hostname": host, "width": 20})
    assert response.status_code == 200 and image_of(response).width == 20


def test_source_url_takes_a_whole_url(client, http_origin):
    response = client.get("/", params={"source_url": f"{http_origin.url}/quad.png", "width": 30})
    assert response.status_code == 200 and image_of(response).width == 30


def test_host_header_is_sent_to_the_origin(client, http_origin):
    params = {"origin": http_origin.url, "host_header": "images.example.com", "width": 21}
    assert client.get("/quad.png", params=params).status_code == 200
    assert http_origin.hosts[-1] == "images.example.com"


def test_resolve_connects_to_the_given_address(client, http_origin):
    port = http_origin.url.rsplit(":", 1)[1]
    params = {
        "origin": f"http://images.invalid:{port}",
        "resolve": f"images.invalid:{port}:127.0.0.1",
        "width": 22,
    }
    response = client.get("/quad.png", params=params)
    assert response.status_code == 200 and image_of(response).width == 22
    assert http_origin.hosts[-1] == f"images.invalid:{port}"


def test_source_parameters_that_conflict_are_400(client, http_origin):
    params = {"origin": http_origin.url, "bucket": "other"}
    response = client.get("/quad.png", params=params)
    assert response.status_code == 400 and response.json()["error"]["param"] == "bucket"


def test_region_needs_bucket_and_resolve_needs_an_address(client):
    assert client.get("/quad.png?region=us-west-1").json()["error"]["param"] == "region"
    bad = client.get("/quad.png?origin=http://a.test&resolve=a.test:80:not-an-ip")
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "resolve"


def sources(**security: object) -> Sources:
    settings = build_settings({"security": security, "cache": {"origin_size_mb": 0}})
    return Sources(settings, BlobStore("unused", 0), BlobStore("unused", 0))


@pytest.mark.parametrize(
    ("request_", "security", "param"),
    [
        (SourceRequest(origin="http://example.com"), {"allow_dynamic_origin": False}, "origin"),
        (
            SourceRequest(source_url="http://example.com/a.jpg"),
            {"allow_dynamic_origin": False},
            "source_url",
        ),
        (SourceRequest(bucket="images"), {"allow_dynamic_origin": False}, "bucket"),
        (
            SourceRequest(origin="http://example.com"),
            {"hosts_allowed": ["img.example.org"]},
            "origin",
        ),
        (SourceRequest(origin="http://127.0.0.1:9"), {}, "origin"),
        (
            SourceRequest(origin="http://example.com", resolve=("example.com", 80, "10.0.0.1")),
            {"hosts_allowed": ["example.com"]},
            "resolve",
        ),
    ],
)
def test_sources_the_configuration_forbids_are_401(request_, security, param):
    with pytest.raises(ForbiddenByConfig) as err:
        asyncio.run(sources(**security).choose(request_, "a.jpg"))
    assert err.value.status == 401 and err.value.param == param


@pytest.fixture(scope="module")
def plain_client(tmp_path_factory):
    root = tmp_path_factory.mktemp("originals")
    (root / "photo.jpg").write_bytes(PHOTO)
    settings = {
        "origin": {"kind": "local", "root": str(root)},
        "security": {"allow_original_request": True},
        "cache": {"dir": str(tmp_path_factory.mktemp("cache"))},
    }
    with running_server(settings) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield http


def test_a_url_without_image_parameters_returns_the_original_bytes(plain_client):
    response = plain_client.get("/photo.jpg?utm_source=mail")
    assert response.status_code == 200 and response.content == PHOTO
    assert response.headers["content-type"] == "image/jpeg" and response.headers["etag"]
    changed = plain_client.get("/photo.jpg?width=100")
    assert changed.content != PHOTO


def test_without_allow_original_request_the_original_is_re_encoded(client):
    response = client.get("/photos/astronaut.jpg")
    assert response.status_code == 200 and response.content != PHOTO
