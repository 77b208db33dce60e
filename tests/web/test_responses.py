"""Answer headers: an image with a layer left out keeps the operator's cache directives, with a
short lifetime."""

from __future__ import annotations

import pytest

from imgproxy.config import HttpSettings
from imgproxy.web.responses import Answer, capped_max_age

META = {"media_type": "image/png", "source_size": 1, "source_width": 1, "source_height": 1}


def partial_cache_control(cache_control: str) -> str:
    answer = Answer("id", HttpSettings(cache_control=cache_control))
    response = answer.image(
        META, b"", etag='"k"', vary=False, cache="MISS", timings={}, complete=False
    )
    return response.headers["cache-control"]


def test_a_private_deployment_stays_private_when_a_layer_is_left_out():
    assert partial_cache_control("private, max-age=3600") == "private, max-age=60"


def test_the_default_cache_control_becomes_a_minute():
    assert partial_cache_control("public, max-age=86400") == "public, max-age=60"


@pytest.mark.parametrize(
    ("given", "capped"),
    [
        ("public, max-age=86400, s-maxage=604800", "public, max-age=60, s-maxage=60"),
        ("public, max-age=30", "public, max-age=30"),
        ("no-store", "no-store, max-age=60"),
        ("public, immutable", "public, immutable, max-age=60"),
        ('private, Max-Age="7200"', "private, max-age=60"),
    ],
)
def test_only_the_lifetimes_are_capped(given, capped):
    assert capped_max_age(given, 60) == capped
