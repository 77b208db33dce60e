"""Layers and watermarks, checked on pixels."""

from __future__ import annotations

import base64
import json
import struct
import zlib

import numpy as np
import pytest

from imgproxy.errors import InvalidParameter, SourceTooLarge, UndecodableImage
from imgproxy.params.decode import DecodeOptions, decode
from imgproxy.pipeline.compose import place, text_image
from imgproxy.pipeline.load import load_overlay
from imgproxy.pipeline.run import execute
from tests.support.images import BLUE, RED, close, jpeg, pixels, png, solid, transparent_square

BASE = png(solid(200, 100, BLUE))
SOURCES = {"/red.png": png(solid(50, 50, RED)), "/small.png": png(solid(10, 10, RED))}


def compose(query: dict[str, object], base: bytes = BASE, sources=SOURCES) -> np.ndarray:
    params = {k: json.dumps(v) if k == "layers" else v for k, v in query.items()}
    pairs = [*params.items(), ("format", "png")]
    plan = decode([(k, str(v)) for k, v in pairs], DecodeOptions())
    return pixels(execute(plan, base, sources=sources).body)


def red_box(px: np.ndarray) -> tuple[int, int, int, int]:
    """left, top, width, height of the reddish pixels."""
    ys, xs = np.nonzero((px[..., 0] > 120) & (px[..., 2] < 200))
    return xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1


def test_a_red_layer_top_left_at_scale_20_covers_only_the_top_left():
    px = compose({"layers": [{"url": "/red.png", "pos": "top|left", "scale": 20}]})
    assert red_box(px) == (0, 0, 20, 20)
    assert close(px[5, 5], RED) and close(px[95, 195], BLUE)


def test_layer_alpha_blends_with_the_image():
    px = compose({"layers": [{"url": "/red.png", "pos": "top|left", "scale": 20, "alpha": 50}]})
    assert close(px[5, 5], (128, 0, 127), tolerance=3)


def test_layer_offset_moves_the_layer_in_from_its_edges():
    px = compose({"layers": [{"url": "/red.png", "pos": "bottom|right", "scale": 20, "offset": 7}]})
    assert red_box(px) == (200 - 20 - 7, 100 - 20 - 7, 20, 20)


def test_layer_x_and_y_place_it_exactly():
    px = compose({"layers": [{"url": "/red.png", "x": 30, "y": 15, "scale": 10}]})
    assert red_box(px) == (30, 15, 10, 10)


def test_a_layer_is_centred_and_fills_the_image_by_default():
    assert red_box(compose({"layers": [{"url": "/red.png"}]})) == (50, 0, 100, 100)


def test_upscale_false_keeps_a_small_layer_small():
    px = compose({"layers": [{"url": "/small.png", "upscale": False}]})
    assert red_box(px) == (95, 45, 10, 10)


def test_a_missing_layer_that_is_not_required_is_left_out():
    px = compose({"layers": [{"url": "/absent.png", "pos": "top"}]}, sources={})
    assert close(px[5, 100], BLUE)


def test_a_required_layer_that_is_not_an_image_is_400_naming_it():
    with pytest.raises(UndecodableImage) as err:
        compose({"layers": [{"url": "/x.png", "required": True}]}, sources={"/x.png": b"nope"})
    assert err.value.param == "layers" and "layers item 0" in err.value.message


def test_layers_keep_the_alpha_of_a_transparent_image():
    px = compose(
        {"layers": [{"url": "/small.png", "pos": "top|left", "upscale": False}]},
        base=png(transparent_square(40)),
    )
    assert px.shape[2] == 4 and px[5, 5, 3] == 255 and px[35, 35, 3] == 0


def test_mark_scale_sizes_the_watermark_to_a_percent_of_the_smaller_side():
    px = compose({"mark": "/red.png", "mark_scale": 40})
    assert red_box(px) == (80, 30, 40, 40)


def test_mark_without_scale_keeps_its_size_and_does_not_upscale_unless_asked():
    assert red_box(compose({"mark": "/red.png"}))[2:] == (50, 50)
    assert red_box(compose({"mark": "/small.png", "mark_scale": 50}))[2:] == (10, 10)
    upscaled = compose({"mark": "/small.png", "mark_scale": 50, "mark_upscale": "true"})
    assert red_box(upscaled)[2:] == (50, 50)


def test_mark_pos_and_mark_offset_move_the_watermark():
    assert red_box(compose({"mark": "/small.png", "mark_pos": "top|left"}))[:2] == (0, 0)
    moved = compose({"mark": "/small.png", "mark_pos": "top|left", "mark_offset": 10})
    assert red_box(moved)[:2] == (20, 10)
    right = compose({"mark": "/small.png", "mark_pos": "bottom|right", "mark_offset": 5})
    assert red_box(right)[:2] == (200 - 10 - 10, 100 - 10 - 5)


def test_mark_alpha_blends_the_watermark():
    px = compose({"mark": "/red.png", "mark_alpha": 25})
    assert close(px[50, 100], (64, 0, 191), tolerance=3)


def test_a_text_layer_puts_its_colour_inside_its_box_and_nowhere_else():
    white = png(solid(300, 120, (255, 255, 255)))
    layer = {
        "text": "HELLO",
        "color": "red",
        "font": "Arial Bold 40",
        "pos": "top|left",
        "offset": 10,
    }
    px = compose({"layers": [layer]}, base=white)
    size = text_image("HELLO", "Arial Bold 40", (255, 0, 0, 255))
    reddish = (px[..., 0] > 150) & (px[..., 1] < 100)
    inside = np.zeros_like(reddish)
    inside[10 : 10 + size.height, 10 : 10 + size.width] = True
    assert reddish[inside].sum() > 100
    assert not reddish[~inside].any()


def test_text_scale_fits_the_text_into_that_percent_of_the_image():
    white = png(solid(300, 120, (255, 255, 255)))
    px = compose({"layers": [{"text": "HELLO", "color": "red", "scale": 50}]}, base=white)
    _, _, width, height = red_box(px)
    assert 140 <= width <= 150 and height <= 60


def test_text_colour_alpha_makes_see_through_text():
    text = text_image("Hi", "40", (255, 0, 0, 128))
    assert text.bands == 4 and text[3].max() <= 128


@pytest.mark.parametrize(
    ("pos", "expected"),
    [((), (45, 20)), (("left",), (0, 20)), (("right", "top"), (90, 0)), (("bottom",), (45, 40))],
)
def test_place_puts_a_box_at_its_position(pos, expected):
    assert place((100, 50), (10, 10), pos, (0, 0)) == expected


def test_the_layers_url_parameter_accepts_its_base64_twin():
    layers = json.dumps([{"url": "/red.png", "pos": "top|left", "scale": 20}])
    encoded = base64.urlsafe_b64encode(layers.encode()).decode().rstrip("=")
    plain = decode([("layers", layers)], DecodeOptions())
    assert decode([("layers64", encoded)], DecodeOptions()) == plain


def png_claiming(width: int, height: int) -> bytes:
    """A PNG of a few hundred bytes whose header claims `width` x `height` grey pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    row = zlib.compress(b"\0" * (width + 1), 9)
    idat = chunk(b"IDAT", row)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + idat + chunk(b"IEND", b"")


BOMB = {"/bomb.png": png_claiming(30_000, 30_000)}
SVG = {"/logo.svg": b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="9" height="9"/></svg>'}


def test_a_mark_over_the_pixel_limit_is_413_naming_mark_when_required():
    with pytest.raises(SourceTooLarge) as err:
        compose({"mark": "/bomb.png", "mark_required": "true"}, sources=BOMB)
    assert err.value.param == "mark" and "over the 50000000 pixel limit" in err.value.message


def test_a_layer_over_the_pixel_limit_is_left_out_or_413_naming_its_item():
    assert close(compose({"layers": [{"url": "/bomb.png"}]}, sources=BOMB)[50, 100], BLUE)
    with pytest.raises(SourceTooLarge) as err:
        compose({"layers": [{"url": "/bomb.png", "required": True}]}, sources=BOMB)
    assert err.value.param == "layers" and "layers item 0" in err.value.message


def test_an_svg_watermark_is_refused_naming_mark():
    with pytest.raises(UndecodableImage) as err:
        compose({"mark": "/logo.svg", "mark_required": "true"}, sources=SVG)
    assert err.value.param == "mark" and "SVG" in err.value.message


def test_overlays_are_decoded_at_the_size_they_are_drawn_at():
    big = jpeg(solid(4000, 3000, RED))
    assert load_overlay(big, (40, 40), 50_000_000).width == 40
    px = compose(
        {"layers": [{"url": "/big.jpg", "scale": 20, "pos": "top|left"}]}, sources={"/big.jpg": big}
    )
    assert red_box(px) == (0, 0, 27, 20)


def test_a_text_too_wide_to_draw_is_400_naming_its_layers_item():
    layers = [{"url": "/red.png"}, {"text": "W" * 400, "font": "Arial 100"}]
    with pytest.raises(InvalidParameter) as err:
        compose({"layers": layers})
    assert err.value.param == "layers" and "layers item 1" in err.value.message
