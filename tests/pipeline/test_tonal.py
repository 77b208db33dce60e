"""The tonal block on 8-bit sRGB through LabS in one pass: exact colour science rounded once,
within a level of libvips' own conversions, sharpening that shapes an edge as libvips' does,
and the pipeline's images that may and may not take it."""

from __future__ import annotations

import numpy as np
import pytest
import pyvips

from imgproxy.pipeline import adjust, tonal
from imgproxy.pipeline._labs import tone
from imgproxy.pipeline.tonal import Sharpening
from tests.support.images import astronaut, png, solid

SRGB_TO_XYZ = np.array(
    [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
)
WHITE = np.array([0.95047, 1.0, 1.08883])
KNEE = 6 / 29
CONTRAST = ((adjust.contrast, 0.5),)


def every_colour() -> np.ndarray:
    values = np.arange(256, dtype=np.uint8)
    red, green, blue = np.meshgrid(values, values, values, indexing="ij")
    return np.stack([red, green, blue], axis=-1).reshape(4096, 4096, 3)


def exact_labs(rgb: np.ndarray) -> np.ndarray:
    """LabS codes of 8-bit sRGB in double precision, truncated."""
    value = rgb / 255
    light = np.where(value <= 0.04045, value / 12.92, ((value + 0.055) / 1.055) ** 2.4)
    ratio = light @ SRGB_TO_XYZ.T / WHITE
    root = np.where(ratio > KNEE**3, np.cbrt(ratio), ratio / (3 * KNEE**2) + 4 / 29)
    lightness = 116 * root[..., 1] - 16
    a, b = 500 * (root[..., 0] - root[..., 1]), 200 * (root[..., 1] - root[..., 2])
    return np.trunc(np.stack([lightness * 32767 / 100, a * 256, b * 256], axis=-1))


def exact_srgb(labs: np.ndarray) -> np.ndarray:
    """8-bit sRGB of LabS codes in double precision, rounded to the nearest value."""
    fy = (labs[..., 0] * 100 / 32767 + 16) / 116
    root = np.stack([fy + labs[..., 1] / 256 / 500, fy, fy - labs[..., 2] / 256 / 200], axis=-1)
    ratio = np.where(root > KNEE, root**3, 3 * KNEE**2 * (root - 4 / 29))
    light = np.clip(ratio * WHITE @ np.linalg.inv(SRGB_TO_XYZ).T, 0, 1)
    value = np.where(light <= 0.0031308, 12.92 * light, 1.055 * light ** (1 / 2.4) - 0.055)
    return np.rint(value * 255)


def toned_array(rgb: np.ndarray, lightness=None, taps=None, boost=None) -> np.ndarray:
    height, width, _ = rgb.shape
    out = tone(rgb.tobytes(), width, height, lightness, taps, boost)
    return np.frombuffer(out, np.uint8).reshape(height, width, 3).astype(int)


def photo() -> pyvips.Image:
    return astronaut().resize(0.5).copy(interpretation="srgb")


def test_every_colour_comes_back_as_itself():
    colours = every_colour()
    assert (toned_array(colours) == colours).all()


def test_a_lightness_table_gives_exact_cielab_rounded_once():
    rgb = photo().numpy()
    codes = adjust._lightness_codes(CONTRAST)
    table = np.frombuffer(codes, np.uint16)
    labs = exact_labs(rgb)
    labs[..., 0] = table[labs[..., 0].astype(int)]
    expected = exact_srgb(labs)
    got = toned_array(rgb, codes)
    assert np.abs(got - expected).max() <= 1
    assert (got != expected).mean() < 0.001
    # The table moved lightness: contrast 0.5 spreads it.
    assert got.std() > rgb.std() * 1.1


def libvips_tone(image: pyvips.Image, steps, sharpening: Sharpening | None) -> np.ndarray:
    labs = image.colourspace("labs").copy(format="ushort").maplut(adjust._lightness_table(steps))
    labs = labs.copy(format="short", interpretation="labs")
    return (sharpening(labs) if sharpening else labs).colourspace("srgb").numpy().astype(int)


@pytest.mark.parametrize("sharpening", [None, Sharpening(1.0, 0.5, 2.0), Sharpening(2.5, 2, 8)])
def test_within_a_level_of_libvips_conversions_and_sharpen(sharpening):
    image = photo()
    got = tonal.toned(image, adjust._lightness_codes(CONTRAST), sharpening).numpy().astype(int)
    expected = libvips_tone(image, CONTRAST, sharpening)
    assert got.shape == expected.shape == (256, 256, 3)
    assert np.abs(got - expected).max() <= 1
    # libvips' own way back lands a level off for about one value in seven.
    assert (got != expected).mean() < 0.15


def test_sharpening_darkens_before_an_edge_and_brightens_after_it():
    step = np.full((20, 40, 3), 90, np.uint8)
    step[:, 20:] = 160
    image = pyvips.Image.new_from_array(step).copy(interpretation="srgb")
    got = tonal.toned(image, None, Sharpening(1.0, 0.5, 4.0)).numpy().astype(int)
    assert (got[:, 19] < 85).all() and (got[:, 20] > 165).all()
    assert (got[:, :15] == 90).all() and (got[:, 25:] == 160).all()
    assert (got == got[:1]).all()


def test_a_table_past_the_lightness_range_gives_white_lightness():
    rgb = photo().numpy()
    taps, boost = tonal.sharpening_tables(Sharpening(1.0, 0.5, 2.0))
    past = np.full(65536, 65535, np.uint16).tobytes()
    top = np.full(65536, 32767, np.uint16).tobytes()
    got = toned_array(rgb, past, taps, boost)
    assert (got == toned_array(rgb, top, taps, boost)).all()
    assert (got == toned_array(rgb, top)).all()


def test_toned_pixels_keep_the_originals_fields():
    image = photo()
    image.set_type(pyvips.GValue.gint_type, "page-height", 128)
    got = tonal.toned(image, adjust._lightness_codes(CONTRAST), None)
    assert got.get("page-height") == 128 and got.interpretation == "srgb"
    assert (got.width, got.height, got.bands, got.format) == (256, 256, 3, "uchar")


@pytest.mark.parametrize(
    ("image", "taken"),
    [
        (solid(8, 8, (1, 2, 3)).copy(interpretation="srgb"), True),
        (solid(8, 8, (1, 2, 3, 4)).copy(interpretation="srgb"), False),
        (solid(8, 8, (1,)).copy(interpretation="b-w"), False),
        (solid(8, 8, (1, 2, 3)).cast("ushort").copy(interpretation="rgb16"), False),
        (pyvips.Image.black(4000, 3000, bands=3).cast("uchar").copy(interpretation="srgb"), False),
    ],
)
def test_only_small_eight_bit_srgb_without_alpha_is_taken(image, taken):
    assert tonal.fits(image) is taken


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((bytes(11), 2, 2), "width x height"),
        ((bytes(12), 2**62 + 1, 4, None, np.ones(1, np.int32).tobytes(), bytes(131072)), "width"),
        ((bytes(12), 2, 2, bytes(10)), "lightness"),
        ((bytes(12), 2, 2, None, np.ones(3, np.int32).tobytes()), "taps"),
        ((bytes(12), 2, 2, None, np.ones(2, np.int32).tobytes(), bytes(131072)), "taps"),
        ((bytes(12), 2, 2, None, np.array([1, -1, 1], np.int32).tobytes(), bytes(131072)), "taps"),
        ((bytes(12), 2, 2, None, np.ones(3, np.int32).tobytes(), bytes(6)), "boost"),
    ],
)
def test_bad_arguments_are_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        tone(*arguments)


def test_a_see_through_png_whose_colour_alone_fits_is_read_once(render, monkeypatch):
    # Its four bands are over the limit, its three colour bands under it.
    monkeypatch.setattr(tonal, "MAX_TONED_IN_MEMORY", 64 * 64 * 3)
    rgba = astronaut().resize(0.125).bandjoin(200).copy(interpretation="srgb")
    out = pyvips.Image.new_from_buffer(
        render(png(rgba), "brightness=0.3&sharp_amount=40&format=png").body, ""
    )
    assert (out.width, out.height, out.bands) == (64, 64, 4)
    assert (out.numpy()[..., 3] == 200).all()


def test_a_see_through_png_is_toned_and_sharpened_with_its_alpha(render):
    rgba = astronaut().resize(0.25).bandjoin(255).copy(interpretation="srgb").numpy()
    rgba[:32, :, 3] = 0
    image = pyvips.Image.new_from_array(rgba).copy(interpretation="srgb")
    out = pyvips.Image.new_from_buffer(
        render(png(image), "brightness=0.3&sharp_amount=40&format=png").body, ""
    )
    pixels = out.numpy().astype(int)
    assert out.bands == 4 and (pixels[:32, :, 3] == 0).all() and (pixels[32:, :, 3] == 255).all()
    assert pixels[32:, :, :3].mean() > rgba[32:, :, :3].mean() + 10
