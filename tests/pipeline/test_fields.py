"""Header fields carried over to pixels made outside libvips' operations, as its own would."""

from __future__ import annotations

import pyvips

from imgproxy.pipeline.fields import with_fields_of
from tests.support.images import RED, close, pixels, png, solid


def turned_photo() -> pyvips.Image:
    """A JPEG tagged with orientation 6 and a resolution of 300 dpi, loaded and autorotated."""
    image = solid(30, 20, (255, 255, 255)).copy(xres=300 / 25.4, yres=300 / 25.4)
    image.set_type(pyvips.GValue.gint_type, "orientation", 6)
    image.set_type(pyvips.GValue.gstr_type, "exif-ifd0-Artist", "Test Artist")
    return pyvips.Image.new_from_buffer(image.jpegsave_buffer(), "").autorot()


def test_the_fields_are_the_sources_and_no_others():
    source = turned_photo()
    copied = with_fields_of(pyvips.Image.black(1, 1, bands=3).cast("uchar"), source)
    assert set(copied.get_fields()) == set(source.get_fields())
    for name in ("exif-data", "exif-ifd0-Artist", "resolution-unit"):
        assert copied.get(name) == source.get(name)
    assert not copied.get_typeof("orientation")


def test_the_resolution_is_the_sources_not_its_exif_blocks():
    source = turned_photo().copy(xres=2.0, yres=3.0)
    copied = with_fields_of(pyvips.Image.black(1, 1, bands=3).cast("uchar"), source)
    assert (copied.xres, copied.yres, copied.interpretation) == (2.0, 3.0, "srgb")


def test_a_turned_see_through_png_is_turned_once(render):
    image = solid(60, 40, (255, 255, 255, 255)).insert(solid(12, 8, RED + (255,)), 0, 0).copy()
    image = image.copy(interpretation="srgb")
    image.set_type(pyvips.GValue.gint_type, "orientation", 6)
    for fmt in ("png", "webp"):
        out = render(png(image), f"width=20&format={fmt}")
        written = pyvips.Image.new_from_buffer(out.body, "")
        assert (written.width, written.height) == (20, 30)
        assert not written.get_typeof("orientation") or written.get("orientation") == 1
        assert close(pixels(out.body)[1, 18][:3], RED)
