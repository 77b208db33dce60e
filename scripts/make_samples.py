"""Create the sample originals the default configuration serves, from code and bundled photos."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyvips
from skimage import data as photos


def photo(array: Any) -> pyvips.Image:
    return pyvips.Image.new_from_array(array).copy(interpretation="srgb")


def astronaut() -> pyvips.Image:
    return photo(photos.astronaut())


def coffee() -> pyvips.Image:
    return photo(photos.coffee())


def chelsea() -> pyvips.Image:
    return photo(photos.chelsea())


def rocket() -> pyvips.Image:
    return photo(photos.rocket())


def logo() -> pyvips.Image:
    """400x300 RGBA: transparent, an opaque orange disc and a half-transparent blue square."""
    canvas = pyvips.Image.black(400, 300, bands=4).copy(interpretation="srgb").cast("uchar")
    canvas = canvas.draw_circle([255, 140, 0, 255], 150, 150, 100, fill=True)
    return canvas.draw_rect([0, 90, 255, 128], 200, 60, 160, 160, fill=True)


def bordered() -> pyvips.Image:
    """300x200: a teal rectangle on a wide white border, for trim=color."""
    white = (pyvips.Image.black(300, 200, bands=3) + 255).cast("uchar")
    inner = (pyvips.Image.black(180, 100, bands=3) + [0, 128, 128]).cast("uchar")
    return white.insert(inner, 60, 50).copy(interpretation="srgb")


def animated() -> pyvips.Image:
    """120x90, 8 frames of a dot moving left to right, 100 ms each."""
    frames = []
    for index in range(8):
        frame = (pyvips.Image.black(120, 90, bands=3) + [240, 240, 250]).cast("uchar")
        frames.append(frame.draw_circle([200, 30, 30], 12 + index * 13, 45, 10, fill=True))
    strip = pyvips.Image.arrayjoin(frames, across=1).copy(interpretation="srgb")
    strip.set_type(pyvips.GValue.gint_type, "page-height", 90)
    strip.set_type(pyvips.GValue.array_int_type, "delay", [100] * len(frames))
    strip.set_type(pyvips.GValue.gint_type, "loop", 0)
    return strip


def oriented() -> pyvips.Image:
    """300x200 stored sideways with EXIF Orientation 6: a red block marks the stored top-left."""
    image = (pyvips.Image.black(300, 200, bands=3) + 235).cast("uchar")
    image = image.draw_rect([220, 20, 20], 0, 0, 80, 50, fill=True).copy(interpretation="srgb")
    image.set_type(pyvips.GValue.gint_type, "orientation", 6)
    return image


SAMPLES: dict[str, tuple[Callable[[], pyvips.Image], dict[str, Any]]] = {
    "astronaut.jpg": (astronaut, {"Q": 85}),
    "coffee.jpg": (coffee, {"Q": 85}),
    "chelsea.jpg": (chelsea, {"Q": 85}),
    "rocket.jpg": (rocket, {"Q": 85}),
    "logo.png": (logo, {}),
    "bordered.png": (bordered, {}),
    "animated.gif": (animated, {}),
    "orientation-6.jpg": (oriented, {"Q": 90}),
    "photo.webp": (coffee, {"Q": 80}),
}


def main(argv: list[str]) -> int:
    folder = Path(argv[1] if len(argv) > 1 else "samples")
    folder.mkdir(parents=True, exist_ok=True)
    for name, (make, options) in SAMPLES.items():
        make().write_to_file(str(folder / name), **options)
        print(f"{name}: {(folder / name).stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
