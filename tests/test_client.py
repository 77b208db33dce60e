"""The URL builder: its URLs decode to the plan they name, verify, and are served."""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx
import pytest
import pyvips

from imgproxy.client import ImageURL
from imgproxy.errors import BadSignature
from imgproxy.params.decode import DecodeOptions, decode
from imgproxy.params.plan import Plan
from imgproxy.signing import verify
from tests.support.images import png, quadrants
from tests.support.server import local_settings, running_server

KEY = "client-key"
BASE = "https://img.example.com"
# Standard base64 of this value holds '/', '+' and '=': the twins must avoid all three.
LAYERS = '[{"text":"??? >>>"}]'


def split(url: str) -> tuple[str, list[tuple[str, str]]]:
    parts = urlsplit(url)
    return unquote(parts.path), parse_qsl(parts.query, keep_blank_values=True)


def plan_of(url: str) -> Plan:
    return decode(split(url)[1], DecodeOptions())


def candidates(srcset: str) -> list[tuple[str, str]]:
    return [tuple(part.split(" ")) for part in srcset.split(", ")]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    files = {"my photo.png": png(quadrants(200, 100))}
    security = {"signing_keys": [KEY]}
    settings = local_settings(tmp_path_factory.mktemp("site"), files, security=security)
    with running_server(settings) as url:
        yield url


def test_the_fluent_calls_decode_to_the_plan_they_name():
    url = ImageURL(BASE, "/cat.jpg").width(400).height(300).crop("fit").format("auto").quality(80)
    plan = plan_of(url.url())
    assert url.url().startswith(f"{BASE}/cat.jpg?")
    assert (plan.geometry.width, plan.geometry.height, plan.geometry.crop) == (400, 300, "fit")
    assert (plan.output.format, plan.output.quality) == ("auto", 80)
    assert str(url) == url.url()


def test_values_are_written_as_the_decoder_reads_them():
    url = (
        ImageURL(BASE, "cat.jpg")
        .width(100)
        .dpr(2.0)
        .rotate(90.5)
        .flip()
        .pad(3, "rgba(0,0,0,0.5)")
        .blur(1.5)
        .filter("sepia")
        .strip_exif()
    )
    plan = plan_of(url.url())
    assert "dpr=2&" in url.url() and "flip=true" in url.url()
    assert (plan.geometry.width, plan.geometry.rotate, plan.geometry.flip) == (200, 90.5, True)
    assert (plan.geometry.pad, plan.geometry.pad_color) == (6, (0, 0, 0, 128))
    assert (plan.adjust.blur, plan.adjust.filter, plan.output.strip_exif) == (1.5, "sepia", True)


def test_every_call_answers_a_new_url_and_leaves_the_first_alone():
    first = ImageURL(BASE, "cat.jpg").width(100)
    second = first.height(50)
    assert first.url() == f"{BASE}/cat.jpg?width=100"
    assert second.url() == f"{BASE}/cat.jpg?width=100&height=50"


def test_a_second_value_replaces_the_first_and_aliases_name_the_same_parameter():
    url = ImageURL(BASE, "cat.jpg").param("w", 100).width(200).param("hostname", "example.com")
    assert split(url.url())[1] == [("width", "200"), ("origin", "example.com")]


@pytest.mark.parametrize("name", ["colour", "width64", "s", ""])
def test_unknown_parameters_raise_value_error(name):
    with pytest.raises(ValueError, match="unknown parameter"):
        ImageURL(BASE, "cat.jpg").param(name, 1)


def test_paths_are_percent_encoded_and_keep_their_folders():
    url = ImageURL(f"{BASE}/", "/photos/my cat?.jpg").width(10).url()
    assert url == f"{BASE}/photos/my%20cat%3F.jpg?width=10"
    assert ImageURL(BASE, "cat.jpg").url() == f"{BASE}/cat.jpg"


def test_base64_twins_decode_equal_to_their_plain_forms():
    def build(twins: bool) -> ImageURL:
        return (
            ImageURL(BASE, "cat.jpg", base64=twins)
            .width(400)
            .pad(2, "rgba(0,0,0,0.5)")
            .crop("center,center,20,20")
            .param("layers", LAYERS)
            .mark("/logo.png")
        )

    plain, twins = build(False).url(), build(True).url()
    pairs = split(twins)[1]
    assert [key for key, _ in pairs] == [f"{key}64" for key, _ in split(plain)[1]]
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", value) for _, value in pairs)
    assert set("+/=") <= set(base64.b64encode(LAYERS.encode()).decode())
    assert plan_of(twins) == plan_of(plain)
    assert plan_of(twins).overlays.layers[0].text == "??? >>>"


@pytest.mark.parametrize("twins", [False, True])
def test_signed_urls_verify_with_the_servers_check(twins):
    signed = ImageURL(BASE, "/photos/my cat.jpg", base64=twins).width(40).format("webp").sign(KEY)
    path, pairs = split(signed)
    verify([KEY], path.lstrip("/"), pairs)
    with pytest.raises(BadSignature):
        verify(["another-key"], path.lstrip("/"), pairs)
    assert plan_of(signed).geometry.width == 40


def test_srcset_lists_each_width_with_its_descriptor():
    srcset = ImageURL(BASE, "cat.jpg").format("webp").srcset(widths=[400, 800, 1200])
    parts = candidates(srcset)
    assert [descriptor for _, descriptor in parts] == ["400w", "800w", "1200w"]
    assert [plan_of(url).geometry.width for url, _ in parts] == [400, 800, 1200]
    assert all(plan_of(url).output.format == "webp" for url, _ in parts)


def test_a_srcset_with_a_key_signs_every_candidate():
    srcset = ImageURL(BASE, "cat.jpg", base64=True).srcset([320, 640], key=KEY)
    for url, _ in candidates(srcset):
        path, pairs = split(url)
        verify([KEY], path, pairs)


@pytest.mark.parametrize("twins", [False, True])
def test_signed_urls_are_served(server, twins):
    image = ImageURL(server, "my photo.png", base64=twins).width(40).format("webp")
    response = httpx.get(image.sign(KEY))
    assert response.status_code == 200 and response.headers["content-type"] == "image/webp"
    assert pyvips.Image.new_from_buffer(response.content, "").width == 40
    assert httpx.get(image.url()).status_code == 403


def test_every_candidate_of_a_signed_srcset_is_served_at_its_width(server):
    srcset = ImageURL(server, "my photo.png").format("png").srcset([50, 120], key=KEY)
    for url, descriptor in candidates(srcset):
        response = httpx.get(url)
        assert response.status_code == 200
        assert f"{pyvips.Image.new_from_buffer(response.content, '').width}w" == descriptor
