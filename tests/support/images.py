"""Test images made in code, and helpers to read rendered bytes back as pixels."""

from __future__ import annotations

import numpy as np
import pyvips
from skimage import data as skdata

RED, GREEN, BLUE, YELLOW = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)


def solid(width: int, height: int, color: tuple[int, ...]) -> pyvips.Image:
    return (pyvips.Image.black(width, height, bands=len(color)) + list(color)).cast("uchar")


def quadrants(width: int = 200, height: int = 100) -> pyvips.Image:
    """Red top-left, green top-right, blue bottom-left, yellow bottom-right: every turn shows."""
    half_w, half_h = width // 2, height // 2
    top = solid(half_w, half_h, RED).join(solid(width - half_w, half_h, GREEN), "horizontal")
    bottom = solid(half_w, height - half_h, BLUE).join(
        solid(width - half_w, height - half_h, YELLOW), "horizontal"
    )
    return top.join(bottom, "vertical")


def halves(width: int, height: int, top: tuple[int, ...], bottom: tuple[int, ...]) -> pyvips.Image:
    return solid(width, height // 2, top).join(
        solid(width, height - height // 2, bottom), "vertical"
    )


def grating(width: int, height: int, period: float) -> pyvips.Image:
    """Grey vertical stripes, a sine of `period` pixels between 28 and 228: finer than any
    thumbnail can show, so a good downscale turns them into flat grey and a poor one into a beat."""
    row = 128 + 100 * np.sin(2 * np.pi * np.arange(width) / period)
    return pyvips.Image.new_from_array(np.tile(row.astype(np.uint8), (height, 1))).copy(
        interpretation="b-w"
    )


def noise(width: int, height: int) -> pyvips.Image:
    """Grey-level noise in each of three bands: pixels no encoder can shrink much."""
    grey = pyvips.Image.gaussnoise(width, height, sigma=90, mean=128).cast("uchar")
    return grey.bandjoin([grey.rot180(), grey.fliphor()]).copy(interpretation="srgb")


def transparent_square(size: int = 100) -> pyvips.Image:
    """RGBA: fully transparent, with an opaque red square in the middle half."""
    image = pyvips.Image.black(size, size, bands=4).cast("uchar").copy(interpretation="srgb")
    quarter = size // 4
    return image.draw_rect([255, 0, 0, 255], quarter, quarter, size // 2, size // 2, fill=True)


def animated(frames: list[pyvips.Image]) -> pyvips.Image:
    """Frames of one size stacked into one tall image, as libvips holds an animation."""
    strip = pyvips.Image.arrayjoin(frames, across=1).copy(interpretation="srgb")
    strip.set_type(pyvips.GValue.gint_type, "page-height", frames[0].height)
    return strip


def astronaut() -> pyvips.Image:
    return pyvips.Image.new_from_array(skdata.astronaut()).copy(interpretation="srgb")


def jpeg(image: pyvips.Image, quality: int = 90, **options: object) -> bytes:
    return image.jpegsave_buffer(Q=quality, **options)


def png(image: pyvips.Image) -> bytes:
    return image.pngsave_buffer()


def pixels(body: bytes) -> np.ndarray:
    """Rendered bytes as an array of shape (height, width, bands)."""
    return np.atleast_3d(pyvips.Image.new_from_buffer(body, "").numpy())


def close(actual: np.ndarray, expected: tuple[int, ...], tolerance: int = 12) -> bool:
    return bool(
        np.all(np.abs(actual[: len(expected)].astype(int) - np.array(expected)) <= tolerance)
    )
