"""Output: formats, negotiation, quality, interlace and metadata."""

from __future__ import annotations

import pytest
import pyvips

from imgproxy.pipeline.quality import estimate_jpeg_quality
from tests.support.images import astronaut, jpeg, pixels, png, quadrants, transparent_square

MAGIC = {
    "jpeg": b"\xff\xd8\xff",
    "png": b"\x89PNG",
    "gif": b"GIF8",
}
PHOTO = jpeg(astronaut(), quality=75)


def magic_matches(body: bytes, fmt: str) -> bool:
    if fmt == "webp":
        return body[:4] == b"RIFF" and body[8:12] == b"WEBP"
    if fmt == "avif":
        return body[4:12] == b"ftypavif"
    return body.startswith(MAGIC[fmt])


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp", "gif", "avif"])
def test_format_sets_the_encoder(render, fmt):
    out = render(PHOTO, f"width=64&format={fmt}")
    assert out.format == fmt and out.media_type == f"image/{fmt}"
    assert magic_matches(out.body, fmt)
    assert pyvips.Image.new_from_buffer(out.body, "").width == 64


def test_jpg_is_a_synonym_of_jpeg(render):
    assert render(png(quadrants()), "format=jpg").format == "jpeg"


def test_without_format_the_source_format_is_kept(render):
    assert render(png(quadrants()), "width=50").format == "png"
    assert render(PHOTO, "width=50").format == "jpeg"


def test_jpeg_output_of_an_alpha_image_is_flattened_onto_pad_color(render):
    out = render(png(transparent_square(100)), "format=jpeg&flatten=true&pad_color=black")
    px = pixels(out.body)
    assert px.shape[2] == 3 and px[2, 2].max() < 10


@pytest.mark.parametrize(
    ("accepts", "expected"),
    [
        (frozenset({"avif", "webp"}), "avif"),
        (frozenset({"webp"}), "webp"),
        (frozenset(), "jpeg"),
    ],
)
def test_format_auto_follows_what_the_client_accepts(render, accepts, expected):
    assert render(PHOTO, "width=100&format=auto", accepts=accepts).format == expected


def test_format_auto_gives_png_to_an_old_client_when_alpha_remains(render):
    assert render(png(transparent_square()), "format=auto").format == "png"


def test_format_auto_skips_avif_for_large_outputs_and_when_turned_off(render):
    both = frozenset({"avif", "webp"})
    assert render(PHOTO, "width=1300&format=auto", accepts=both).format == "webp"
    assert render(PHOTO, "width=100&format=auto", accepts=both, auto_avif=False).format == "webp"


def test_lower_quality_gives_smaller_files_and_is_recorded_in_the_jpeg(render):
    low, high = render(PHOTO, "quality=30"), render(PHOTO, "quality=95")
    assert len(low.body) < len(high.body)
    assert estimate_jpeg_quality(low.body) == 30 and estimate_jpeg_quality(high.body) == 95


def test_default_quality_is_the_source_jpeg_quality(render):
    out = render(jpeg(astronaut(), quality=62), "width=200")
    assert estimate_jpeg_quality(out.body) == 62


def test_default_quality_without_a_jpeg_source_is_the_configured_default(render):
    out = render(png(astronaut()), "format=jpeg&width=200", default_quality=90)
    assert estimate_jpeg_quality(out.body) == 90


def test_interlace_gives_a_progressive_jpeg(render):
    progressive = render(PHOTO, "width=100&interlace=true").body
    baseline = render(PHOTO, "width=100").body
    assert b"\xff\xc2" in progressive[:2000]
    assert b"\xff\xc2" not in baseline[:2000]


def test_interlace_gives_an_interlaced_png(render):
    out = render(PHOTO, "width=100&format=png&interlace=true")
    assert pyvips.Image.new_from_buffer(out.body, "").get("interlaced") == 1


def exif_photo() -> bytes:
    image = astronaut().copy()
    image.set_type(pyvips.GValue.gstr_type, "exif-ifd0-Artist", "Test Artist")
    return jpeg(image)


def test_exif_is_kept_by_default(render):
    out = pyvips.Image.new_from_buffer(render(exif_photo(), "width=100").body, "")
    assert out.get_typeof("exif-data") and "Test Artist" in out.get("exif-ifd0-Artist")


def test_strip_exif_removes_exif(render):
    out = pyvips.Image.new_from_buffer(render(exif_photo(), "width=100&strip_exif=true").body, "")
    assert not out.get_typeof("exif-data")


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp", "gif", "avif"])
@pytest.mark.parametrize("alpha", [False, True])
def test_grey_originals_encode_to_every_format(render, fmt, alpha):
    grey = astronaut().colourspace("b-w")
    source = png(grey.bandjoin_const([128]) if alpha else grey)
    out = render(source, f"width=40&rotate=30&pad_color=red&format={fmt}")
    decoded = pyvips.Image.new_from_buffer(out.body, "")
    assert decoded.width == out.width and magic_matches(out.body, fmt)


def test_cmyk_and_16_bit_originals_become_8_bit_srgb(render):
    for source in (
        jpeg(astronaut().colourspace("cmyk")),
        astronaut().colourspace("rgb16").pngsave_buffer(),
    ):
        decoded = pyvips.Image.new_from_buffer(render(source, "width=40&format=png").body, "")
        assert (decoded.bands, decoded.format, decoded.interpretation) == (3, "uchar", "srgb")
