"""`layers` and the watermark parameters as the URL gives them."""

from __future__ import annotations

import json

import pytest

from imgproxy.errors import InvalidParameter
from imgproxy.params.decode import DecodeOptions, decode
from imgproxy.params.layers import parse_position
from imgproxy.params.plan import Layer, Mark


def plan_of(**params: object):
    pairs = [(k, json.dumps(v) if k == "layers" else str(v)) for k, v in params.items()]
    return decode(pairs, DecodeOptions(max_layers=3))


def test_layers_parse_into_image_and_text_layers():
    plan = plan_of(
        layers=[
            {"url": "/a.png", "pos": "top|left", "scale": 20, "alpha": "50", "upscale": "false"},
            {"text": "Hi", "color": "#f00", "font": "Times 20", "x": 5, "y": 6, "required": True},
        ]
    )
    image, text = plan.overlays.layers
    assert image == Layer(url="/a.png", pos=("left", "top"), scale=20, alpha=50, upscale=False)
    assert text == Layer(
        text="Hi", color=(255, 0, 0, 255), font="Times 20", x=5, y=6, required=True
    )


def test_watermark_parameters_make_a_mark():
    plan = plan_of(
        mark="/m.png",
        mark_alpha=40,
        mark_scale=30,
        mark_pos="bottom|right",
        mark_offset=5,
        mark_upscale="true",
        mark_required="1",
    )
    assert plan.overlays.mark == Mark("/m.png", 40, 30, ("bottom", "right"), 5.0, True, True)


@pytest.mark.parametrize(
    ("layers", "words"),
    [
        ("{not json", "JSON array"),
        ('{"url": "/a.png"}', "JSON array"),
        ("[5]", "item 0: must be an object"),
        ('[{"url": "/a.png"}, {"url": "/b.png", "size": 3}]', "item 1: unknown key 'size'"),
        ('[{"url": "/a.png", "scale": 0}]', "item 0: scale"),
        ('[{"url": "/a.png", "scale": 101}]', "item 0: scale"),
        ('[{"url": "/a.png", "alpha": -1}]', "item 0: alpha"),
        ('[{"url": "/a.png", "alpha": 150}]', "item 0: alpha"),
        ('[{"url": "/a.png", "pos": "middle"}]', "item 0: pos"),
        ('[{"url": "/a.png", "x": 1.5}]', "item 0: x"),
        ('[{"url": "/a.png", "upscale": "maybe"}]', "item 0: upscale"),
        ('[{"text": "hi", "color": "nocolour"}]', "item 0: color"),
        ('[{"url": "/a.png", "text": "both"}]', "item 0: needs either url or text"),
        ('[{"alpha": 50}]', "item 0: needs either url or text"),
        (json.dumps([{"text": "x" * 501}]), "item 0: text must be at most 500"),
        (json.dumps([{"url": "/a.png"}] * 4), "over the limit of 3"),
        ("[" * 3000 + "]" * 3000, "not arrays nested this deep"),
        ('[{"url": "/a.png", "x": ' + "[" * 3000 + "]" * 3000 + "}]", "not arrays nested"),
    ],
)
def test_bad_layers_are_400_naming_the_parameter_and_the_item(layers, words):
    with pytest.raises(InvalidParameter) as err:
        decode([("layers", layers)], DecodeOptions(max_layers=3))
    assert err.value.param == "layers" and words in err.value.message


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ([("mark_alpha", "50")], "mark_alpha"),
        ([("mark", "/m.png"), ("mark_offset", "5")], "mark_offset"),
        ([("mark", "/m.png"), ("mark_upscale", "true")], "mark_upscale"),
        ([("mark", "/m.png"), ("mark_alpha", "101")], "mark_alpha"),
        ([("mark", "/m.png"), ("mark_pos", "north")], "mark_pos"),
        ([("mark", "")], "mark"),
    ],
)
def test_bad_watermark_parameters_are_400_naming_them(query, param):
    with pytest.raises(InvalidParameter) as err:
        decode(query, DecodeOptions())
    assert err.value.param == param


@pytest.mark.parametrize(
    ("text", "expected"),
    [("center", ()), ("top|left", ("left", "top")), ("RIGHT,bottom", ("bottom", "right"))],
)
def test_positions_combine(text, expected):
    assert parse_position(text) == expected
