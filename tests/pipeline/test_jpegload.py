"""JPEGs decoded by simplejpeg: libvips' own pixels and fields at every DCT scale, and libvips
left to decode what simplejpeg does not give the same way."""

from __future__ import annotations

import numpy as np
import pytest
import pyvips

from imgproxy.errors import UndecodableImage
from imgproxy.pipeline import jpegload
from tests.support.images import astronaut, jpeg, pixels

PHOTO = astronaut()
# Odd sides, so that a scaled side is rounded; a profile and an EXIF block to carry over.
ODD = PHOTO.crop(3, 5, 509, 313)


def with_metadata(image: pyvips.Image) -> pyvips.Image:
    image = image.copy()
    image.set_type(pyvips.GValue.gint_type, "orientation", 6)
    return image


SOURCES = {
    "4:2:0": jpeg(ODD, 85, subsample_mode="on"),
    "4:4:4": jpeg(ODD, 92, subsample_mode="off"),
    "grey": jpeg(ODD.colourspace("b-w"), 85),
    "profile and EXIF": jpeg(with_metadata(ODD), 85, profile="srgb"),
    "progressive": jpeg(PHOTO, 80, interlace=True),
}


def lazy_of(data: bytes, shrink: int, access: str = "random") -> pyvips.Image:
    return pyvips.Image.new_from_buffer(data, "", shrink=shrink, access=access)


@pytest.mark.parametrize("shrink", [1, 2, 4, 8])
@pytest.mark.parametrize("name", list(SOURCES))
def test_pixels_and_fields_are_libvips_own(name, shrink):
    data = SOURCES[name]
    lazy = lazy_of(data, shrink)
    size = (lazy_of(data, 1).width, lazy_of(data, 1).height)
    image = jpegload.decoded(data, lazy, size, shrink, "random")
    assert image is not lazy
    assert (image.width, image.height, image.bands) == (lazy.width, lazy.height, lazy.bands)
    assert (image.numpy() == lazy.numpy()).all()
    assert image.interpretation == lazy.interpretation
    fields = set(lazy.get_fields()) - {"vips-sequential"}
    assert set(image.get_fields()) == fields
    for field in ("icc-profile-data", "exif-data", "orientation", "xres"):
        if field in fields:
            assert image.get(field) == lazy.get(field)


def test_a_whole_size_image_read_once_streams_through_libvips():
    data = SOURCES["4:2:0"]
    lazy = lazy_of(data, 1, "sequential")
    assert jpegload.decoded(data, lazy, (lazy.width, lazy.height), 1, "sequential") is lazy


def test_cmyk_stays_with_libvips():
    data = jpeg(PHOTO.colourspace("cmyk"))
    lazy = lazy_of(data, 2)
    assert jpegload.decoded(data, lazy, (512, 512), 2, "random") is lazy


def test_a_decode_too_large_to_hold_stays_with_libvips(monkeypatch):
    monkeypatch.setattr(jpegload, "MAX_DECODED_IN_MEMORY", 256 * 256 * 3 - 1)
    data = jpeg(PHOTO)
    lazy = lazy_of(data, 2)
    assert jpegload.decoded(data, lazy, (512, 512), 2, "random") is lazy
    assert jpegload.decoded(data, lazy_of(data, 4), (512, 512), 4, "random") is not lazy


@pytest.mark.parametrize("side", [8, 9, 13, 17, 31])
def test_small_images_are_decoded_at_libvips_scale(side):
    data = jpeg(PHOTO.resize(side / 512))
    for shrink in (2, 4, 8):
        lazy = lazy_of(data, shrink)
        image = jpegload.decoded(data, lazy, (side, side), shrink, "random")
        assert image is not lazy and (image.numpy() == lazy.numpy()).all()


def test_an_image_under_a_block_stays_with_libvips():
    # 5 px at 1/4 rounds to 2 px, as 3/8 does: the size would not tell the scale.
    data = jpeg(PHOTO.resize(5 / 512))
    lazy = lazy_of(data, 4)
    assert jpegload.decoded(data, lazy, (5, 5), 4, "random") is lazy


def test_a_decode_of_another_size_stays_with_libvips(monkeypatch):
    data = jpeg(PHOTO)
    wrong = np.zeros((100, 100, 3), np.uint8)
    monkeypatch.setattr(jpegload.simplejpeg, "decode_jpeg", lambda *_, **__: wrong)
    lazy = lazy_of(data, 2)
    assert jpegload.decoded(data, lazy, (512, 512), 2, "random") is lazy


def test_a_truncated_jpeg_is_left_for_libvips_to_refuse(render):
    data = jpeg(PHOTO)[:6000]
    lazy = lazy_of(data, 2)
    assert jpegload.decoded(data, lazy, (512, 512), 2, "random") is lazy
    with pytest.raises(UndecodableImage):
        render(data, "width=100")


@pytest.mark.parametrize("query", ["width=100", "width=100&rotate=180"])
def test_a_turned_photo_renders_turned(render, query):
    out = pixels(render(SOURCES["profile and EXIF"], f"{query}&format=png").body)
    expected = pixels(render(jpeg(ODD.rot90(), 85), f"{query}&format=png").body)
    assert out.shape == expected.shape
    assert np.abs(out.astype(int) - expected).mean() < 3
