"""An image's header fields carried over to pixels that libvips' operations did not make."""

from __future__ import annotations

import pyvips

# The fields every libvips image has, which `copy` sets rather than `set_type`, and the mark of
# a sequential source, which would have libvips cache lines of pixels already in memory.
BASIC_FIELDS = frozenset(
    {"width", "height", "bands", "format", "coding", "interpretation"}
    | {"xoffset", "yoffset", "xres", "yres", "filename", "vips-sequential"}
)
EXIF = "exif-data"


def with_fields_of(pixels: pyvips.Image, source: pyvips.Image) -> pyvips.Image:
    """`pixels` with `source`'s colour space, resolution and metadata (ICC profile, EXIF, an
    animation's page height and delays), which libvips' own operations pass on."""
    image = pixels.copy(interpretation=source.interpretation)
    names = set(source.get_fields())
    # Setting "exif-data" makes libvips read the block into fields again, among them the
    # orientation autorotate took away and the block's resolution: it goes first, for
    # `source`'s own fields to overwrite what it gives, and what `source` lacks goes after.
    for name in sorted(names - BASIC_FIELDS, key=lambda field: field != EXIF):
        image.set_type(source.get_typeof(name), name, source.get(name))
    for name in set(image.get_fields()) - names - BASIC_FIELDS:
        image.remove(name)
    offsets = {"xoffset": source.xoffset, "yoffset": source.yoffset}
    return image.copy(xres=source.xres, yres=source.yres, **offsets)
