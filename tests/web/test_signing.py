"""Signed URLs: HMAC-SHA256 over path and sorted query, several keys, 403 otherwise."""

from __future__ import annotations

import httpx
import pytest

from imgproxy.cli import main
from imgproxy.errors import BadSignature
from imgproxy.signing import canonical, signature, signed_url, verify
from tests.support.images import png, quadrants
from tests.support.server import local_settings, running_server

KEYS = ["current-key", "previous-key"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    files = {"my photo.png": png(quadrants(200, 100))}
    security = {"signing_keys": KEYS}
    settings = local_settings(tmp_path_factory.mktemp("site"), files, security=security)
    with running_server(settings) as url:
        yield url


def test_the_canonical_form_sorts_the_query_and_leaves_s_out():
    assert canonical("a/b.jpg", [("w", "1"), ("s", "x"), ("h", "2")]) == b"/a%2Fb.jpg?h=2&w=1"


def test_the_canonical_form_percent_encodes_path_keys_and_values():
    pairs = [("text", "a b&c=d é"), ("k=", "?")]
    assert (
        canonical("my photo?.png", pairs)
        == b"/my%20photo%3F.png?k%3D=%3F&text=a%20b%26c%3Dd%20%C3%A9"
    )


@pytest.mark.parametrize(
    ("path", "pairs", "other_path", "other_pairs"),
    [
        ("a.jpg", [("flip=true&width", "40")], "a.jpg", [("flip", "true"), ("width", "40")]),
        ("a.jpg", [("w", "1&h=2")], "a.jpg", [("h", "2"), ("w", "1")]),
        ("a.jpg?w=1", [], "a.jpg", [("w", "1")]),
        ("a.jpg?w=1", [("h", "2")], "a.jpg", [("w", "1?h=2")]),
    ],
)
def test_no_separator_inside_a_key_value_or_path_makes_two_urls_sign_alike(
    path, pairs, other_path, other_pairs
):
    assert canonical(path, pairs) != canonical(other_path, other_pairs)


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


def test_an_encoded_separator_cannot_borrow_the_signature_of_another_query(server):
    s = signature(KEYS[0], "my photo.png", [("flip", "true"), ("width", "40")])
    response = httpx.get(f"{server}/my%20photo.png?flip%3Dtrue%26width=40&s={s}")
    assert response.status_code == 403 and response.json()["error"]["code"] == "bad_signature"


def test_values_with_separators_and_non_ascii_sign_and_verify(server):
    params = [("width", "40"), ("utm_note", "a&b=c é?"), ("odd key=", "%")]
    url = signed_url(server, "my photo.png", params, KEYS[0])
    assert httpx.get(url).status_code == 200


def test_a_non_ascii_signature_is_403_not_500(server):
    response = httpx.get(f"{server}/my%20photo.png", params={"width": "40", "s": "é"})
    assert response.status_code == 403 and response.json()["error"]["param"] == "s"


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
