"""meta=true: the original described as JSON, as the reference shapes it."""

from __future__ import annotations

import base64
import functools
import re
import socket
from typing import Any

import numpy as np
import pyvips

from imgproxy.pipeline.context import Context
from imgproxy.pipeline.faces import source_faces
from imgproxy.pipeline.jpeginfo import frame_info

MIME_TYPES = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
    "avif": "image/avif",
    "heif": "image/heif",
    "tiff": "image/tiff",
    "svg": "image/svg+xml",
}
COLOUR_SPACES = {"srgb": "srgb", "rgb16": "srgb", "b-w": "gray", "grey16": "gray", "cmyk": "cmyk"}
HISTOGRAM_BINS = 16
COLOUR_THUMBNAIL = 64
THUMBNAIL_IFD = "ifd1"
EXIF_VALUE = re.compile(r"^(?P<body>.*), (?P<format>[A-Za-z]+), \d+ components?, \d+ bytes?\)$")


def describe(ctx: Context, original: pyvips.Image, rendered: bytes | None) -> dict[str, Any]:
    """`original` is the image as loaded (display orientation, perhaps shrunk on load, every
    frame of an animation stacked); the first frame is described."""
    info = ctx.info
    assert info is not None and ctx.header is not None
    found: dict[str, Any] = {
        "fileSize": info.size,
        "width": info.width,
        "height": info.height,
        "fileType": info.format,
        "mimeType": MIME_TYPES.get(info.format, "application/octet-stream"),
        "hasAlpha": info.has_alpha,
        "colorSpace": COLOUR_SPACES.get(ctx.header.interpretation, ctx.header.interpretation),
        "exif": exif_tags(ctx.header),
        "faces": face_boxes(ctx) if ctx.plan.meta.faces else [],
        "server": server(),
        "dominateColor": dominant_colour(
            original.crop(0, 0, original.width, original.height // ctx.frames)
        ),
    }
    if info.format == "jpeg":
        found["jpeg"] = frame_info(ctx.data) or {}
    if rendered is not None:
        found["imageData"] = base64.b64encode(rendered).decode()
    return found


def exif_tags(header: pyvips.Image) -> dict[str, Any]:
    """EXIF tags by their names ("Make", "ExposureTime"), values as the file holds them."""
    tags: dict[str, Any] = {}
    for field in header.get_fields():
        if not field.startswith("exif-ifd"):
            continue
        ifd, name = field.split("-", 2)[1:]
        value = _exif_value(str(header.get(field)))
        # IFD1 describes the embedded thumbnail: its resolution or size is not the image's.
        if ifd == THUMBNAIL_IFD:
            tags.setdefault(name, value)
        else:
            tags[name] = value
    return tags


def _exif_value(text: str) -> Any:
    match = EXIF_VALUE.match(text)
    if match is None:
        return text
    body = match["body"]
    # libvips writes "raw (readable, Format, ...)"; for text the two halves are the same string.
    raw = body[: (len(body) - 2) // 2] if match["format"] == "ASCII" else body.split(" (", 1)[0]
    return int(raw) if re.fullmatch(r"-?\d+", raw) else raw


def face_boxes(ctx: Context) -> list[dict[str, int]]:
    return [
        {"xPos": box.x, "yPos": box.y, "width": box.width, "height": box.height}
        for box in source_faces(ctx)
    ]


def dominant_colour(image: pyvips.Image) -> str:
    """Centre of the fullest bin of a 16x16x16 colour histogram of a small thumbnail."""
    thumb = image.thumbnail_image(COLOUR_THUMBNAIL, height=COLOUR_THUMBNAIL)
    if thumb.hasalpha():
        thumb = thumb.flatten(background=[255, 255, 255])
    if thumb.bands < 3:
        thumb = thumb.colourspace("srgb")
    counts = thumb.cast("uchar").hist_find_ndim(bins=HISTOGRAM_BINS).numpy()
    y, x, band = np.unravel_index(int(np.argmax(counts)), counts.shape)
    step = 256 // HISTOGRAM_BINS
    red, green, blue = (int(i) * step + step // 2 for i in (x, y, band))
    return f"#{red:02X}{green:02X}{blue:02X}"


@functools.cache
def server() -> dict[str, str]:
    host = socket.gethostname()
    try:
        address = socket.gethostbyname(host)
    except OSError:
        address = ""
    return {"host": host, "ip": address}
