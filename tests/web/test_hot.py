"""Hot answers: repeated URLs are sent from memory, and never after what they were made from
changed, was purged, or their time ran out."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import pyvips
from starlette.testclient import TestClient
from starlette.types import Message, Send

from imgproxy.app import create_app
from imgproxy.cache.changes import ChangeWatch, announce
from imgproxy.config_loader import build_settings
from imgproxy.signing import signed_url
from imgproxy.web.hot import FILE_CHECK_S, KEEPABLE, HotAnswers, Keepable, keeping
from tests.support.images import png, quadrants, transparent_square
from tests.support.server import local_settings

KEY = "hot-test-key"


def served(tmp_path: Path, **sections: dict[str, Any]) -> Iterator[TestClient]:
    files = {"quad.png": png(quadrants(64, 48)), "alpha.png": png(transparent_square(40))}
    settings = local_settings(tmp_path, files, **sections)
    with TestClient(create_app(build_settings(settings))) as client:
        yield client


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:
    yield from served(tmp_path)


def hot(response) -> bool:
    return response.headers["server-timing"].startswith("hot")


def test_a_repeated_url_is_sent_from_memory_as_it_was(client):
    first = client.get("/quad.png?width=32")
    second = client.get("/quad.png?width=32")
    assert not hot(first) and hot(second)
    assert second.status_code == 200 and second.headers["x-cache"] == "HIT"
    assert second.content == first.content
    for header in ("etag", "content-type", "cache-control", "x-original-resolution"):
        assert second.headers[header] == first.headers[header]
    assert second.headers["x-request-id"] != first.headers["x-request-id"]


def test_a_client_request_id_is_echoed_from_memory_too(client):
    client.get("/quad.png?width=31")
    second = client.get("/quad.png?width=31", headers={"X-Request-Id": "abc-123"})
    assert hot(second) and second.headers["x-request-id"] == "abc-123"


def test_head_from_memory_has_the_headers_and_no_body(client):
    client.get("/quad.png?width=30")
    head = client.head("/quad.png?width=30")
    assert hot(head) and head.content == b"" and int(head.headers["content-length"]) > 0


def test_if_none_match_is_answered_304_by_the_full_path(client):
    etag = client.get("/quad.png?width=29").headers["etag"]
    again = client.get("/quad.png?width=29", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_format_auto_is_kept_per_accepted_format(client):
    webp = {"Accept": "image/webp,*/*"}
    client.get("/quad.png?format=auto", headers=webp)
    client.get("/quad.png?format=auto", headers={"Accept": "*/*"})
    as_webp = client.get("/quad.png?format=auto", headers=webp)
    as_jpeg = client.get("/quad.png?format=auto", headers={"Accept": "*/*"})
    assert hot(as_webp) and hot(as_jpeg)
    assert as_webp.headers["content-type"] == "image/webp"
    assert as_jpeg.headers["content-type"] == "image/jpeg"
    assert as_webp.headers["vary"] == "Accept"


def test_a_changed_local_original_leaves_memory_within_its_check_time(client, tmp_path):
    before = client.get("/quad.png?width=28")
    assert hot(client.get("/quad.png?width=28"))
    original = tmp_path / "originals" / "quad.png"
    original.write_bytes((tmp_path / "originals" / "alpha.png").read_bytes())
    os.utime(original, ns=(time.time_ns(), time.time_ns() + 10**9))
    time.sleep(FILE_CHECK_S)
    after = client.get("/quad.png?width=28")
    assert not hot(after) and after.headers["etag"] != before.headers["etag"]
    assert pyvips.Image.new_from_buffer(after.content, "").hasalpha()


def test_an_announced_purge_empties_memory(client, tmp_path):
    client.get("/quad.png?width=27")
    announce(tmp_path / "cache")
    assert not hot(client.get("/quad.png?width=27"))


def test_a_missing_optional_layer_is_never_kept(client):
    url = '/quad.png?width=40&layers=[{"url":"/missing.png"}]'
    client.get(url)
    again = client.get(url)
    assert again.status_code == 200 and not hot(again)


def test_errors_are_never_kept(client):
    client.get("/quad.png?width=abc")
    again = client.get("/quad.png?width=abc")
    assert again.status_code == 400 and again.json()["error"]["param"] == "width"


def test_answers_expire_after_their_time(tmp_path):
    for client in served(tmp_path, cache={"memory_ttl_s": 0.2}):
        client.get("/quad.png?width=26")
        assert hot(client.get("/quad.png?width=26"))
        time.sleep(0.3)
        assert not hot(client.get("/quad.png?width=26"))


def test_no_memory_means_nothing_is_kept(tmp_path):
    for client in served(tmp_path, cache={"memory_mb": 0}):
        client.get("/quad.png?width=25")
        assert not hot(client.get("/quad.png?width=25"))


def test_a_tampered_signature_is_refused_even_for_a_hot_url(tmp_path):
    for client in served(tmp_path, security={"signing_keys": [KEY]}):
        url = signed_url("", "quad.png", [("width", "24")], KEY)
        client.get(url)
        assert hot(client.get(url))
        tampered = url.replace("width=24", "width=23")
        assert client.get(tampered).status_code == 403


def test_a_repeated_accept_header_is_read_as_the_routes_read_it(client):
    both = client.get(
        "/quad.png?format=auto", headers=[("Accept", "image/webp"), ("Accept", "*/*")]
    )
    assert both.headers["content-type"] == "image/webp"
    other = client.get("/quad.png?format=auto", headers={"Accept": "*/*"})
    assert other.headers["content-type"] == "image/jpeg"
    again = client.get("/quad.png?format=auto", headers={"Accept": "image/webp"})
    assert hot(again) and again.headers["content-type"] == "image/webp"


def test_an_answer_sent_in_parts_is_never_kept(tmp_path):
    answers = HotAnswers(1 << 20, 5.0, ChangeWatch(tmp_path))
    parts = [[b"whole"], [b"in ", b"parts"]]
    for number, bodies in enumerate(parts):
        scope = {"method": "GET", "path": f"/{number}", "query_string": b"", "headers": []}
        scope["state"] = {KEEPABLE: Keepable(vary=False)}
        asyncio.run(sent_through(keeping(answers, scope, {}, discard), bodies))
    assert answers.get(("/0", b"", None)) is not None
    assert answers.get(("/1", b"", None)) is None


async def sent_through(send: Send, bodies: list[bytes]) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    for body in bodies[:-1]:
        await send({"type": "http.response.body", "body": body, "more_body": True})
    await send({"type": "http.response.body", "body": bodies[-1]})


async def discard(message: Message) -> None:
    pass
