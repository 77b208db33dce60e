"""Still WebP through Pillow: libvips' bitstream and metadata, byte for byte."""

from __future__ import annotations

import struct

import pytest
import pyvips

from imgproxy.pipeline.webp import encode_still, handles, riff_chunks, with_pixel_dimensions
from tests.support.images import astronaut, solid, transparent_square

KEEP = pyvips.enums.ForeignKeep
PHOTO = astronaut().resize(0.5)


def tagged(image: pyvips.Image) -> pyvips.Image:
    """The image with an EXIF artist, an XMP packet and a Display P3 profile."""
    image = image.icc_transform("p3", input_profile="srgb").cast("uchar").copy()
    image.set_type(pyvips.GValue.gstr_type, "exif-ifd0-Artist", "Test Artist")
    image.set_type(pyvips.GValue.blob_type, "xmp-data", b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>')
    return image


def metadata(webp: bytes) -> dict[bytes, bytes]:
    """The metadata chunks, EXIF without the "Exif" header libvips puts before it."""
    wanted = (b"EXIF", b"XMP ", b"ICCP")
    return {k: v.removeprefix(b"Exif\x00\x00") for k, v in riff_chunks(webp) if k in wanted}


@pytest.mark.parametrize(
    "image",
    [
        PHOTO,
        PHOTO.bandjoin(PHOTO[1]),
        PHOTO.colourspace("b-w"),
        PHOTO.colourspace("b-w").bandjoin(PHOTO[0]),
        transparent_square(37),
        solid(1, 1, (10, 200, 30)),
    ],
    ids=["rgb", "rgba", "grey", "grey-alpha", "transparent", "one-pixel"],
)
@pytest.mark.parametrize("quality", [5, 80, 100])
def test_the_bitstream_is_libvips_own(image, quality):
    ours = encode_still(image, quality, 4, KEEP.NONE)
    assert ours == image.webpsave_buffer(Q=quality, effort=4, keep=KEEP.NONE)


def test_effort_reaches_the_encoder():
    fastest = PHOTO.webpsave_buffer(Q=80, effort=0, keep=KEEP.NONE)
    assert encode_still(PHOTO, 80, 0, KEEP.NONE) == fastest
    assert encode_still(PHOTO, 80, 0, KEEP.NONE) != encode_still(PHOTO, 80, 6, KEEP.NONE)


@pytest.mark.parametrize("keep", [KEEP.ICC, KEEP.ALL])
def test_metadata_is_what_libvips_writes(keep):
    image = tagged(PHOTO)
    ours = metadata(encode_still(image, 80, 4, keep))
    assert ours == metadata(image.webpsave_buffer(Q=80, effort=4, keep=keep))
    assert (b"EXIF" in ours) == (keep == KEEP.ALL) and b"ICCP" in ours


@pytest.mark.parametrize("keep", [KEEP.ICC, KEEP.ALL])
def test_an_image_without_metadata_keeps_none(keep):
    assert metadata(encode_still(PHOTO, 80, 4, keep)) == {}


@pytest.mark.parametrize(
    ("image", "profile"),
    [(PHOTO.colourspace("b-w"), "sgrey"), (PHOTO, "sgrey"), (PHOTO, "cmyk")],
    ids=["grey-with-grey", "rgb-with-grey", "rgb-with-cmyk"],
)
def test_a_profile_that_does_not_fit_webp_is_left_out_as_libvips_leaves_it(image, profile):
    image = image.copy()
    image.set_type(pyvips.GValue.blob_type, "icc-profile-data", pyvips.Image.profile_load(profile))
    ours = metadata(encode_still(image, 80, 4, KEEP.ALL))
    assert b"ICCP" not in ours
    assert ours == metadata(image.webpsave_buffer(Q=80, effort=4, keep=KEEP.ALL))


def test_exif_gives_the_image_size_and_reads_back():
    out = pyvips.Image.new_from_buffer(encode_still(tagged(PHOTO), 80, 4, KEEP.ALL), "")
    assert out.get("exif-ifd0-Artist").startswith("Test Artist")
    assert out.get("exif-ifd2-PixelXDimension").startswith(str(PHOTO.width))
    assert out.get("exif-ifd2-PixelYDimension").startswith(str(PHOTO.height))


def test_an_autorotated_photo_says_it_needs_no_turn(render):
    image = solid(300, 200, (255, 255, 255)).copy()
    image.set_type(pyvips.GValue.gint_type, "orientation", 6)
    out = render(image.jpegsave_buffer(), "format=webp")
    written = pyvips.Image.new_from_buffer(out.body, "")
    assert (written.width, written.height) == (200, 300)
    assert written.get("orientation") == 1


def big_endian_exif(width_kind: int, height_kind: int) -> bytes:
    """A TIFF block in Motorola order: IFD0 points to an EXIF IFD holding both dimensions."""
    ifd0 = struct.pack(">H", 1) + struct.pack(">HHII", 0x8769, 4, 1, 26) + struct.pack(">I", 0)
    exif_ifd = struct.pack(">H", 2)
    for tag, kind in ((0xA002, width_kind), (0xA003, height_kind)):
        value = struct.pack(">HH", 1, 0) if kind == 3 else struct.pack(">I", 1)
        exif_ifd += struct.pack(">HHI", tag, kind, 1) + value
    return b"Exif\x00\x00MM\x00\x2a" + struct.pack(">I", 8) + ifd0 + exif_ifd + b"\x00" * 4


@pytest.mark.parametrize(("width_kind", "height_kind"), [(3, 4), (4, 3)])
def test_pixel_dimensions_are_set_in_either_byte_order_and_type(width_kind, height_kind):
    block = with_pixel_dimensions(big_endian_exif(width_kind, height_kind), 1234, 567)
    width_at, height_at = 6 + 26 + 2 + 8, 6 + 26 + 2 + 12 + 8
    width_format = ">H" if width_kind == 3 else ">I"
    height_format = ">H" if height_kind == 3 else ">I"
    assert struct.unpack_from(width_format, block, width_at)[0] == 1234
    assert struct.unpack_from(height_format, block, height_at)[0] == 567


@pytest.mark.parametrize(
    "block",
    [b"", b"Exif\x00\x00", b"Exif\x00\x00XX\x00\x2a\x00\x00\x00\x08", b"II*\x00\xff\xff\xff\x7f"],
    ids=["empty", "header-only", "not-tiff", "ifd-past-the-end"],
)
def test_a_block_that_cannot_be_walked_is_left_as_it_is(block):
    assert with_pixel_dimensions(block, 10, 10) == block


def test_only_still_eight_bit_images_that_webp_can_hold_are_taken():
    frames = solid(20, 60, (1, 2, 3)).copy()
    frames.set_type(pyvips.GValue.gint_type, "page-height", 20)
    assert handles(PHOTO) and handles(transparent_square(10))
    assert not handles(frames)
    assert not handles(PHOTO.cast("ushort"))
    assert not handles(solid(16384, 1, (0, 0, 0)))
    assert not handles(PHOTO.colourspace("cmyk"))
    assert not handles(PHOTO.colourspace("lab").cast("uchar"))
