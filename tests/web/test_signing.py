"""Signed URLs: HMAC-SHA256 over path and sorted query, several keys, 403 otherwise."""

from __future__ import annotations

import httpx
import pytest

from imgproxy.cli import main
from imgproxy.errors import BadSignature
from imgproxy.signing import canonical, signature, signed_url, verify
from tests.support.images import png, quadrants
from tests.support.server import running_server

KEYS = ["current-key", "previous-key"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("originals")
    (root / "my photo.png").write_bytes(png(quadrants(200, 100)))
    settings = {
        "origin": {"kind": "local", "root": str(root)},
        "cache": {"dir": str(tmp_path_factory.mktemp("cache"))},
        "security": {"signing_keys": KEYS},
    }
    with running_server(settings) as url:
        yield url


def test_the_canonical_form_sorts_the_query_and_leaves_s_out():
    assert canonical("a/b.jpg", [("w", "1"), ("s", "x"), ("h", "2")]) == b"/a/b.jpg?h=2&w=1"


def test_the_signature_is_unpadded_base64url_of_32_bytes():
    value = signature("k", "a.jpg", [("width", "10")])
    assert len(value) == 43 and "=" not in value and "+" not in value and "/" not in value


@pytest.mark.parametrize("key", KEYS)
def test_urls_signed_with_any_configured_key_are_served(server, key):
    url = signed_url(server, "my photo.png", [("width", "40"), ("format", "webp")], key)
    response = httpx.get(url)
    assert response.status_code == 200 and response.headers["content-type"] == "image/webp"


def test_parameter_order_does_not_matter(server):
    s = signature(KEYS[0], "my photo.png", [("width", "41"), ("flip", "true")])
    response = httpx.get(
        f"{server}/my%20photo.png", params=[("flip", "true"), ("s", s), ("width", "41")]
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        [("width", "40")],
        [("width", "40"), ("s", "not-a-signature")],
        [("width", "99"), ("s", signature(KEYS[0], "my photo.png", [("width", "40")]))],
        [("width", "40"), ("s", signature("stolen-key", "my photo.png", [("width", "40")]))],
    ],
)
def test_missing_bad_or_tampered_signatures_are_403(server, params):
    response = httpx.get(f"{server}/my%20photo.png", params=params)
    assert response.status_code == 403
    assert (
        response.json()["error"]["code"] == "bad_signature"
        and response.json()["error"]["param"] == "s"
    )


def test_a_repeated_s_is_refused():
    good = signature("k", "a.jpg", [])
    with pytest.raises(BadSignature):
        verify(["k"], "a.jpg", [("s", good), ("s", good)])


def test_imgproxy_url_sign_makes_urls_the_server_accepts(server, tmp_path, capsys, monkeypatch):
    config = tmp_path / "imgproxy.toml"
    config.write_text(f'[security]\nsigning_keys = ["{KEYS[0]}"]\n')
    monkeypatch.setenv("IMGPROXY_CONFIG", str(config))
    assert main(["url", "my photo.png", "width=42", "--sign", "--base", server]) == 0
    url = capsys.readouterr().out.strip()
    assert "&s=" in url and httpx.get(url).status_code == 200
