"""Animated GIFs decoded by imgproxy's own C module (`_gifload.c`): the frames libvips' GIF loader
composes, pixel for pixel, in a quarter of its time (the benchmark's 20 frames of 640 x 427 in
10 against 38 ms), with whether every pixel is opaque found on the way. A file outside what the
module reads (see its comment) is left to libvips, which decodes it, recovers from its damage or
refuses it as before."""

from __future__ import annotations

import pyvips

from imgproxy.pipeline._gifload import decode
from imgproxy.pipeline.fields import with_fields_of


def decoded(data: bytes, lazy: pyvips.Image) -> tuple[pyvips.Image, bool] | None:
    """The frames of `lazy`, libvips' not yet decoded strip of the GIF `data`, in memory with its
    fields, and whether they may be taken as opaque: every pixel is, or libvips' strip has no
    alpha (no frame has a see-through entry), whose colour is these pixels' without it. None
    where libvips decodes."""
    height = int(lazy.get("page-height")) if lazy.get_typeof("page-height") else lazy.height
    found = decode(data, lazy.width, height, lazy.height // height)
    if found is None:
        return None
    pixels, opaque = found
    image = pyvips.Image.new_from_memory(pixels, lazy.width, lazy.height, 4, "uchar")
    return with_fields_of(image, lazy), opaque or not lazy.hasalpha()
