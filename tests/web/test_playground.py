"""The playground page: its routes and settings, and the page itself in headless Chromium."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page

from imgproxy.config_loader import build_settings
from imgproxy.errors import ConfigError
from tests.support.browser import chromium
from tests.support.images import astronaut, jpeg, png, quadrants
from tests.support.server import running_server, write_originals

# Every wait in the page is bounded: a render of these small images takes well under a second.
WAIT_MS = 20_000
ORIGINALS = {
    "astronaut.jpg": lambda: jpeg(astronaut(), quality=85),
    "nested/quad.png": lambda: png(quadrants(200, 100)),
    "notes.txt": lambda: b"not an image",
    ".hidden.png": lambda: png(quadrants(20, 10)),
}


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> Path:
    files = {name: make() for name, make in ORIGINALS.items()}
    return write_originals(tmp_path_factory.mktemp("originals"), files)


def settings_for(originals: Path, cache: Path, enabled: bool) -> dict[str, object]:
    return {
        "origin": {"kind": "local", "root": str(originals)},
        "cache": {"dir": str(cache)},
        "playground": {"enabled": enabled},
    }


@pytest.fixture(scope="module")
def base_url(originals: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(settings_for(originals, tmp_path_factory.mktemp("cache"), True)) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@pytest.fixture
def console() -> list[str]:
    """The page's console errors and uncaught exceptions; left in it, they fail the test."""
    return []


@pytest.fixture
def page(browser: BrowserContext, base_url: str, console: list[str]) -> Iterator[Page]:
    """The playground, loaded and done with its first render."""
    page = browser.new_page()
    page.on("console", lambda msg: console.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: console.append(str(exc)))
    page.goto(f"{base_url}/playground")
    page.wait_for_selector("body[data-state=ready]", timeout=WAIT_MS)
    yield page
    page.close()
    assert console == []


def wait_for_render(page: Page, *query_parts: str) -> None:
    """Wait until the page shows the answer to a URL holding every one of `query_parts`."""
    page.wait_for_function(
        """parts => document.body.dataset.state !== "loading"
            && parts.every(part => document.getElementById("url").value.includes(part))""",
        arg=list(query_parts),
        timeout=WAIT_MS,
    )


def test_the_page_shows_the_image_with_the_chosen_width_and_format(page: Page, base_url: str):
    assert page.input_value("#path") == "astronaut.jpg"
    page.fill("input[name=width]", "120")
    page.select_option("select[name=format]", "webp")
    wait_for_render(page, "width=120", "format=webp")

    assert page.get_attribute("body", "data-state") == "ready"
    assert page.evaluate("document.getElementById('image').naturalWidth") == 120
    assert page.evaluate("document.getElementById('image').naturalHeight") == 120
    assert page.get_attribute("#image", "data-type") == "image/webp"
    assert page.text_content("#content-type") == "image/webp"
    assert page.text_content("#dimensions") == "120 x 120"
    url = page.input_value("#url")
    assert url == f"{base_url}/astronaut.jpg?width=120&format=webp"
    answer = httpx.get(url)
    assert answer.headers["content-type"] == "image/webp"
    assert page.text_content("#size").startswith(f"{answer.headers['content-length']} B")
    assert page.text_content("#cache") in ("HIT", "MISS")
    assert "render" in page.text_content("#server-timing")
    assert re.fullmatch(r"[0-9a-f]{32}", page.text_content("#request-id"))
    meta = json.loads(page.text_content("#meta-json"))
    assert (meta["width"], meta["height"], meta["mimeType"]) == (512, 512, "image/jpeg")


def test_format_auto_answers_as_for_an_img_tag(page: Page):
    page.fill("input[name=width]", "64")
    page.select_option("select[name=format]", "auto")
    wait_for_render(page, "width=64", "format=auto")
    assert page.text_content("#content-type") == "image/avif"
    assert page.evaluate("document.getElementById('image').naturalWidth") == 64


def test_a_pasted_path_with_a_query_keeps_its_parameters(page: Page):
    page.fill("#path", "/nested/quad.png?rotate=90")
    wait_for_render(page, "nested/quad.png?rotate=90")
    size = page.evaluate("(i => [i.naturalWidth, i.naturalHeight])(document.images[0])")
    assert size == [100, 200]


def test_a_bad_parameter_shows_the_servers_error(page: Page, console: list[str]):
    page.fill("input[name=crop]", "sideways")
    wait_for_render(page, "crop=sideways")
    # Chromium logs every 4xx answer; this one is the point of the test.
    assert [message for message in console if "status of 400" in message] == console != []
    console.clear()
    assert page.get_attribute("body", "data-state") == "error"
    assert page.text_content("#status").startswith("400")
    error = page.text_content("#error")
    assert "invalid_parameter" in error and "crop" in error
    assert page.get_attribute("#image", "src") is None


def test_samples_list_the_local_origins_images(base_url: str):
    answer = httpx.get(f"{base_url}/playground/samples.json")
    assert answer.json() == {"origin": "local", "samples": ["astronaut.jpg", "nested/quad.png"]}


def test_the_page_and_its_files_load_nothing_from_elsewhere(base_url: str):
    page = httpx.get(f"{base_url}/playground")
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    script = httpx.get(f"{base_url}/playground/static/playground.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert httpx.get(f"{base_url}/playground/static/playground.css").status_code == 200


def test_other_origins_offer_no_samples(tmp_path: Path):
    settings = {
        "origin": {"kind": "http", "url": "http://127.0.0.1:9/"},
        "cache": {"dir": str(tmp_path)},
        "playground": {"enabled": True},
    }
    with running_server(settings) as url:
        assert httpx.get(f"{url}/playground/samples.json").json() == {
            "origin": "http",
            "samples": [],
        }


def test_the_playground_is_off_by_default(originals: Path, tmp_path: Path):
    with running_server(settings_for(originals, tmp_path, False)) as url:
        answer = httpx.get(f"{url}/playground")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


def test_signing_keys_refuse_the_playground_at_start_up():
    with pytest.raises(ConfigError, match=r"\[playground\] enabled") as err:
        build_settings({"playground": {"enabled": True}, "security": {"signing_keys": ["k"]}})
    assert "signing_keys" in str(err.value)
