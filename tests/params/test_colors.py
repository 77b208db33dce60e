"""Colours as URLs write them."""

from __future__ import annotations

import pytest

from imgproxy.params.colors import parse_color


@pytest.mark.parametrize(
    ("text", "rgba"),
    [
        ("white", (255, 255, 255, 255)),
        ("Red", (255, 0, 0, 255)),
        ("rebeccapurple", (102, 51, 153, 255)),
        ("transparent", (0, 0, 0, 0)),
        ("fff", (255, 255, 255, 255)),
        ("#555", (85, 85, 85, 255)),
        ("0000", (0, 0, 0, 0)),
        ("f008", (255, 0, 0, 136)),
        ("ff6600", (255, 102, 0, 255)),
        ("#11223344", (17, 34, 51, 68)),
        ("rgb(255,0,0)", (255, 0, 0, 255)),
        ("rgb( 0 , 128 , 255 )", (0, 128, 255, 255)),
        ("rgba(0,0,255,0.5)", (0, 0, 255, 128)),
        ("rgb(100%,0%,50%)", (255, 0, 128, 255)),
    ],
)
def test_colours_parse_to_rgba(text, rgba):
    assert parse_color(text, {}) == rgba


@pytest.mark.parametrize(
    "text", ["zzz", "12345", "#12", "rgb(1,2)", "rgb(300,0,0)", "rgba(0,0,0,2)", "rgb(a,b,c)", ""]
)
def test_bad_colours_raise_a_message_that_says_colour(text):
    with pytest.raises(ValueError, match="colour"):
        parse_color(text, {})


def test_presets_win_over_css_names_and_may_use_any_notation():
    assert parse_color("red", {"red": "rgb(200,0,0)"}) == (200, 0, 0, 255)
