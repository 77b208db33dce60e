"""Colour weighted by alpha in 8 bits: libvips' premultiply value for value, and resampling that
comes out the same whichever of the two weighs, metadata included."""

from __future__ import annotations

import numpy as np
import pytest
import pyvips

from imgproxy.pipeline import resample as resample_module
from imgproxy.pipeline._alpha import premultiply
from imgproxy.pipeline.resample import resample
from tests.support.images import astronaut, png

RNG_SEED = 5


def every_pair(bands: int) -> pyvips.Image:
    """Each colour value under each alpha: 256 x 256 pixels of `bands` bands, alpha last."""
    values = np.arange(256, dtype=np.uint8)
    pixels = np.zeros((256, 256, bands), np.uint8)
    pixels[..., :-1] = values[:, None, None]
    pixels[..., -1] = values[None, :]
    return pyvips.Image.new_from_array(pixels)


@pytest.mark.parametrize("bands", [2, 3, 4])
def test_every_value_under_every_alpha_is_libvips_own(bands):
    image = every_pair(bands)
    expected = image.premultiply().cast("uchar").write_to_memory()
    assert premultiply(image.write_to_memory(), bands) == expected


@pytest.mark.parametrize(("size", "bands"), [(10, 3), (8, 1)])
def test_pixels_that_are_not_whole_or_have_no_alpha_are_refused(size, bands):
    with pytest.raises(ValueError, match="whole pixels"):
        premultiply(bytes(size), bands)


def see_through_photo() -> pyvips.Image:
    """The astronaut with noise for alpha, a P3 profile, an EXIF field and a page height."""
    rng = np.random.default_rng(RNG_SEED)
    photo = astronaut().resize(0.25)
    alpha = rng.integers(0, 256, (photo.height, photo.width), dtype=np.uint8)
    image = photo.icc_transform("p3", input_profile="srgb").cast("uchar")
    image = image.bandjoin(pyvips.Image.new_from_array(alpha)).copy(interpretation="srgb")
    image.set_type(pyvips.GValue.gstr_type, "exif-ifd0-Artist", "Test Artist")
    image.set_type(pyvips.GValue.gint_type, "page-height", image.height)
    return image


def test_weighing_in_memory_resamples_as_libvips_and_keeps_the_metadata(monkeypatch):
    image = see_through_photo()
    ours = resample(image, 50, 50)
    monkeypatch.setattr(resample_module, "MAX_WEIGHED_IN_MEMORY", 0)
    theirs = resample(image, 50, 50)
    assert ours.write_to_memory() == theirs.write_to_memory()
    for field in ("icc-profile-data", "exif-ifd0-Artist", "page-height"):
        assert ours.get(field) == image.get(field)
    assert (ours.interpretation, ours.xres) == (image.interpretation, image.xres)


@pytest.mark.parametrize("space", ["srgb", "rgb16", "scrgb"])
def test_eight_bit_pixels_tagged_with_any_colour_space_resample_as_libvips_has_them(
    monkeypatch, space
):
    """libvips' premultiply takes alpha as out of 65,535 in 16-bit spaces, even in 8 bits."""
    image = see_through_photo().copy(interpretation=space)
    ours = resample(image, 50, 50).write_to_memory()
    monkeypatch.setattr(resample_module, "MAX_WEIGHED_IN_MEMORY", 0)
    assert ours == resample(image, 50, 50).write_to_memory()


def test_a_see_through_png_keeps_its_profile_through_a_resize(render):
    out = pyvips.Image.new_from_buffer(render(png(see_through_photo()), "width=40").body, "")
    assert out.width == 40 and out.bands == 4
    assert out.get("icc-profile-data") == see_through_photo().get("icc-profile-data")
