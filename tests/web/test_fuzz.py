"""Fuzzing the query string: never a 500, and every 4xx carries the JSON error body.

FUZZ_EXAMPLES sets the number of examples (2,000 by default; `make fuzz` runs more).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from imgproxy.app import create_app
from imgproxy.config_loader import build_settings
from imgproxy.params.spec import BY_NAME
from tests.support.images import astronaut, jpeg, png, quadrants, transparent_square

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2000"))
PATHS = ["/photo.jpg", "/quad.png", "/alpha.png", "/missing.png", "/", "/../etc/passwd"]
INTERESTING = [
    "", "0", "1", "-1", "100", "8192", "99999", "1e9", "nan", "inf", "-0", "0.5", "true", "false",
    "auto", "fit", "face", "pad", "zoom", "1,2,3,4", "center,center,10,10", "red", "0000",
    "rgb(1,2,3)", "#fff", "[]", "[{}]", '[{"url":"/quad.png"}]', '[{"text":"hi","font":"Arial 9"}]',
    "jpeg", "webp", "avif", "gif", "mp4", "png", "labels", "nsfw", "%00", "\x00", "é", "../x",
    "http://127.0.0.1:1/", "NDAw", "!!!", "ssim", "top|left",
]  # fmt: skip
KEYS = st.one_of(
    st.sampled_from(sorted(BY_NAME)),
    st.sampled_from(sorted(BY_NAME)).map(lambda name: name + "64"),
    st.text(max_size=10),
)
VALUES = st.one_of(
    st.sampled_from(INTERESTING),
    st.text(max_size=40),
    st.integers(-(10**7), 10**7).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)


# `bucket=` must not reach AWS either: credentials from here, S3 on a closed loopback port.
LOOPBACK_S3 = {
    "AWS_ACCESS_KEY_ID": "fuzz",
    "AWS_SECRET_ACCESS_KEY": "fuzz",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("originals")
    (root / "photo.jpg").write_bytes(jpeg(astronaut().resize(0.25)))
    (root / "quad.png").write_bytes(png(quadrants(64, 48)))
    (root / "alpha.png").write_bytes(png(transparent_square(40)))
    app = create_app(
        build_settings(
            {
                "origin": {
                    "kind": "local",
                    "root": str(root),
                    "endpoint_url": "http://127.0.0.1:9",
                },
                "cache": {"dir": str(tmp_path_factory.mktemp("cache"))},
                # Keeps every render small, so that thousands of examples stay quick.
                "security": {"max_out_pixels": 512, "max_frames": 5},
            }
        )
    )
    with pytest.MonkeyPatch.context() as env:
        for name, value in LOOPBACK_S3.items():
            env.setenv(name, value)
        with TestClient(app, raise_server_exceptions=False) as http:
            yield http


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(path=st.sampled_from(PATHS), pairs=st.lists(st.tuples(KEYS, VALUES), max_size=6))
def test_no_query_string_gives_a_500(client, path, pairs):
    response = client.get(path, params=pairs, headers={"Accept": "image/avif,image/webp"})
    assert response.status_code < 500 or response.status_code in (502, 504), response.text
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["status"] == response.status_code and error["code"] and error["message"]


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("origin", "http://img.example.com"),
        ("hostname", "img.example.com"),
        ("source_url", "https://img.example.com/quad.png"),
    ],
)
def test_host_names_from_requests_are_never_looked_up_in_tests(client, param, value):
    response = client.get("/quad.png", params={param: value, "width": "10"})
    assert response.status_code == 502
    assert "does not resolve" in response.json()["error"]["message"]


def test_buckets_are_fetched_from_loopback_in_tests(client):
    response = client.get("/quad.png", params={"bucket": "fuzz", "width": "10"})
    assert response.status_code == 502, response.text
