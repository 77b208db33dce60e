"""A result is stored under the version of the original it was made from, never another's."""

from __future__ import annotations

import time

import httpx
import pytest

from imgproxy.app import create_app
from imgproxy.cache.keys import origin_key
from imgproxy.cache.stores import BlobStore
from imgproxy.config_loader import build_settings
from imgproxy.origins.base import Source
from tests.support.images import GREEN, RED, close, pixels, png, quadrants
from tests.support.server import running_app

TOKEN = "up"
QUAD = png(quadrants(200, 100))


class Drifting:
    """An origin whose original changed between the version check and the fetch."""

    name = "drifting"

    async def validator(self, path: str) -> str | None:
        return "v1"

    async def fetch(self, path: str) -> Source:
        return Source(QUAD, "v2")

    async def close(self) -> None:
        return None


@pytest.fixture
def served(tmp_path):
    root = tmp_path / "originals"
    root.mkdir()
    (root / "quad.png").write_bytes(QUAD)
    settings = {
        "origin": {"kind": "local", "root": str(root)},
        "cache": {"dir": str(tmp_path / "cache")},
        "uploads": {"token": TOKEN},
    }
    app = create_app(build_settings(settings))
    with running_app(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield app, http, tmp_path / "cache", root


def settled(http: httpx.Client, url: str) -> httpx.Response:
    """The answer once a first render had time to be stored."""
    http.get(url)
    time.sleep(0.3)
    return http.get(url)


def test_a_render_from_another_version_than_checked_is_not_stored(served):
    app, http, _, _ = served
    app.state.imgproxy.sources.default = Drifting()
    assert settled(http, "/a.png?width=20").headers["x-cache"] == "MISS"


def test_a_kept_original_that_cannot_be_read_is_502_not_the_origins_own(served):
    _, http, cache, root = served
    posted = http.post(
        "/quad.png",
        files={"file": ("q.png", QUAD, "image/png")},
        data={"flip": "true", "cache_processed": "true"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert posted.status_code == 200
    # The kept bytes go (evicted for space) while the note of their version stays.
    name = f"local:{root.resolve()}"
    BlobStore(cache / "preprocessed", 1024).delete(origin_key("pd", name, "quad.png"))
    assert http.get("/quad.png?format=png").status_code == 502
    # Nothing was stored under the kept version: the origin's own original is served from now.
    later = settled(http, "/quad.png?format=png")
    assert later.status_code == 200 and close(pixels(later.content)[5, 5], RED)
    assert close(pixels(later.content)[5, 195], GREEN)
