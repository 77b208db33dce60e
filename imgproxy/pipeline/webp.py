"""Still WebP through Pillow's libwebp: the same bitstream as libvips' webpsave, sooner.

libvips' wheel builds libwebp into itself; Pillow's wheel links its own build, which encodes a
tenth faster. Both are handed the same 8-bit pixels and settings, and write the same image data.
The metadata (EXIF, XMP, ICC) is libvips' own, so that `keep` means what it means for every
other format; Pillow writes the EXIF block without the 6-byte "Exif" header libvips puts first.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator

import pyvips
from PIL import Image, features

from imgproxy.pipeline.fields import with_fields_of

# Pillow's modes for 8-bit images of 1 to 4 bands.
PIL_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
# WebP's largest side.
MAX_SIDE = 16383
# The colour spaces whose bands Pillow's modes take as they are; libvips converts the others.
PIL_SPACES = frozenset({"srgb", "b-w"})
PILLOW_WRITES_WEBP = features.check("webp")
# Pillow's save options, by the RIFF chunk libvips writes each piece of metadata to.
METADATA_CHUNKS = {b"EXIF": "exif", b"XMP ": "xmp", b"ICCP": "icc_profile"}
METADATA_FIELDS = ("exif-data", "xmp-data", "icc-profile-data")
EXIF_HEADER = b"Exif\x00\x00"
TIFF_FORMATS = {b"II": "<", b"MM": ">"}
EXIF_IFD_POINTER = 0x8769
PIXEL_X_DIMENSION, PIXEL_Y_DIMENSION = 0xA002, 0xA003
SHORT, LONG = 3, 4


def handles(image: pyvips.Image) -> bool:
    """Whether the image is one this encoder takes: a still 8-bit sRGB or grey image WebP can
    hold, where Pillow writes WebP at all."""
    still = not image.get_typeof("page-height") or image.get("page-height") == image.height
    sides_fit = image.width <= MAX_SIDE and image.height <= MAX_SIDE
    pixels = image.format == "uchar" and image.coding == "none" and image.bands in PIL_MODES
    plain = pixels and image.interpretation in PIL_SPACES
    return PILLOW_WRITES_WEBP and still and sides_fit and plain


def encode_still(image: pyvips.Image, quality: int, effort: int, keep: int) -> bytes:
    """The image as lossy WebP, with the metadata libvips would write under `keep`."""
    mode = PIL_MODES[image.bands]
    size = (image.width, image.height)
    pixels = Image.frombuffer(mode, size, image.write_to_memory(), "raw", mode, 0, 1)
    out = io.BytesIO()
    pixels.save(out, "WEBP", quality=quality, method=effort, **_metadata(image, keep))
    return out.getvalue()


def _metadata(image: pyvips.Image, keep: int) -> dict[str, bytes]:
    """The EXIF, XMP and ICC chunks libvips writes for `image`, as Pillow's save options.

    libvips writes them for one pixel that carries the same metadata, and leaves out a profile
    that does not fit WebP's RGB; only the EXIF block's pixel dimensions describe the pixel, and
    are set to the image's own. An image with none of the three keeps nothing: libvips would
    add an EXIF block of its resolution alone, which is left out, as is that pixel's 1 ms.
    """
    if keep == pyvips.enums.ForeignKeep.NONE:
        return {}
    if not any(image.get_typeof(name) for name in METADATA_FIELDS):
        return {}
    pixel = pyvips.Image.black(1, 1, bands=image.bands).cast("uchar")
    probe = with_fields_of(pixel, image).webpsave_buffer(keep=keep)
    options = {
        METADATA_CHUNKS[fourcc]: body
        for fourcc, body in riff_chunks(probe)
        if fourcc in METADATA_CHUNKS
    }
    if "exif" in options:
        options["exif"] = with_pixel_dimensions(options["exif"], image.width, image.height)
    return options


def riff_chunks(webp: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(fourcc, body) of each chunk of a WebP file."""
    pos = 12
    while pos + 8 <= len(webp):
        fourcc = webp[pos : pos + 4]
        (size,) = struct.unpack("<I", webp[pos + 4 : pos + 8])
        yield fourcc, webp[pos + 8 : pos + 8 + size]
        pos += 8 + size + (size & 1)


def with_pixel_dimensions(exif: bytes, width: int, height: int) -> bytes:
    """The EXIF block with PixelXDimension and PixelYDimension set, where it has them."""
    start = len(EXIF_HEADER) if exif.startswith(EXIF_HEADER) else 0
    order = TIFF_FORMATS.get(exif[start : start + 2])
    if order is None or len(exif) < start + 8:
        return exif
    block = bytearray(exif)
    (first,) = struct.unpack_from(order + "I", block, start + 4)
    exif_ifd = _entry_value(block, start, first, EXIF_IFD_POINTER, order)
    if exif_ifd is None:
        return exif
    _set_entry(block, start, exif_ifd, PIXEL_X_DIMENSION, width, order)
    _set_entry(block, start, exif_ifd, PIXEL_Y_DIMENSION, height, order)
    return bytes(block)


def _entries(block: bytearray, start: int, ifd: int, order: str) -> Iterator[tuple[int, int]]:
    """(tag, offset of the entry) of each entry of the IFD at `ifd` within the TIFF at `start`."""
    base = start + ifd
    if base + 2 > len(block):
        return
    (count,) = struct.unpack_from(order + "H", block, base)
    for n in range(count):
        entry = base + 2 + 12 * n
        if entry + 12 > len(block):
            return
        (tag,) = struct.unpack_from(order + "H", block, entry)
        yield tag, entry


def _entry_value(block: bytearray, start: int, ifd: int, tag: int, order: str) -> int | None:
    for found, entry in _entries(block, start, ifd, order):
        if found == tag:
            return struct.unpack_from(order + "I", block, entry + 8)[0]
    return None


def _set_entry(block: bytearray, start: int, ifd: int, tag: int, value: int, order: str) -> None:
    """Set a one-value SHORT or LONG entry; the value sits in the entry itself."""
    for found, entry in _entries(block, start, ifd, order):
        kind, count = struct.unpack_from(order + "HI", block, entry + 2)
        if found == tag and count == 1 and kind in (SHORT, LONG):
            struct.pack_into(order + ("H" if kind == SHORT else "I"), block, entry + 8, value)
