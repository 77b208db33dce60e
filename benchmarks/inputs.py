"""The originals the benchmark reads: scikit-image's photographs, made in code, never downloaded."""

from __future__ import annotations

from pathlib import Path

import pyvips
from skimage import data as photos


def photo(name: str) -> pyvips.Image:
    return pyvips.Image.new_from_array(getattr(photos, name)()).copy(interpretation="srgb")


def large_jpeg() -> bytes:
    """scikit-image's coffee upscaled to 4243x2828 (12 MP), as a quality-90 JPEG."""
    return photo("coffee").resize(4243 / 600).jpegsave_buffer(Q=90)


def textured_jpeg() -> bytes:
    """scikit-image's gravel tiled at its own resolution to 4243x2828, every other tile mirrored
    so that no seam shows: fine detail everywhere, as a quality-90 JPEG."""
    gravel = pyvips.Image.new_from_array(photos.gravel())
    tiles = [gravel if n % 2 == 0 else gravel.fliphor() for n in range(9)]
    row = pyvips.Image.arrayjoin(tiles, across=9)
    rows = [row if n % 2 == 0 else row.flipver() for n in range(6)]
    tiled = pyvips.Image.arrayjoin(rows, across=1).crop(0, 0, 4243, 2828)
    return tiled.copy(interpretation="b-w").jpegsave_buffer(Q=90)


def zone_plate_jpeg() -> bytes:
    """A zone plate at 4243x2828, every frequency up to the limit of its pixels: the worst case
    for aliasing, as a quality-95 JPEG."""
    plate = pyvips.Image.zone(4243, 2828).linear(127, 128).cast("uchar")
    return plate.copy(interpretation="b-w").jpegsave_buffer(Q=95)


def face_jpeg() -> bytes:
    """The astronaut (one face) at 1536x1536, as a quality-90 JPEG."""
    return photo("astronaut").resize(3).jpegsave_buffer(Q=90)


def alpha_png() -> bytes:
    """scikit-image's logo, which has an alpha channel, at 1500x1500."""
    return photo("logo").resize(3).pngsave_buffer()


def animated_gif(frames: int = 20) -> bytes:
    """The rocket at 640x427, 20 frames that brighten step by step, 80 ms each."""
    rocket = photo("rocket")
    strip = pyvips.Image.arrayjoin(
        [(rocket * (0.6 + 0.02 * n)).cast("uchar") for n in range(frames)], across=1
    ).copy(interpretation="srgb")
    strip.set_type(pyvips.GValue.gint_type, "page-height", rocket.height)
    strip.set_type(pyvips.GValue.array_int_type, "delay", [80] * frames)
    return strip.gifsave_buffer()


def copy_name(file: str, n: int) -> str:
    """The name of the `n`th copy of `file`: large.jpg -> large-3.jpg."""
    stem, dot, suffix = file.rpartition(".")
    return f"{stem}-{n}{dot}{suffix}"


def write_inputs(root: Path, copies: int) -> dict[str, bytes]:
    """Every original, written under `root` with `copies` byte-identical copies, so that
    concurrent requests ask for different URLs and each one is rendered; returned by name."""
    made = {
        "large.jpg": large_jpeg(),
        "face.jpg": face_jpeg(),
        "alpha.png": alpha_png(),
        "animated.gif": animated_gif(),
    }
    for name, data in made.items():
        (root / name).write_bytes(data)
        for n in range(copies):
            (root / copy_name(name, n)).write_bytes(data)
    return made
