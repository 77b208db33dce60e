"""Lightness tables and sharpening on 8-bit sRGB through libvips' 16-bit CIELAB (LabS), in one
pass over memory (`_labs`) where libvips takes a conversion each way and a sharpen."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pyvips

from imgproxy.pipeline._labs import tone
from imgproxy.pipeline.fields import with_fields_of

# The most bytes of pixels toned in memory (about 10 MP): larger images stream through libvips.
MAX_TONED_IN_MEMORY = 32 << 20
# LabS codes lightness 0-100 as 0-32767.
LABS_PER_L = 32767 / 100
# libvips' sharpen: no brightening by more than 10 L*, no darkening by more than 20, the slope
# for differences within 2 L* (flat areas) and beyond (edges), and the Gaussian's extent.
MOST_BRIGHTENING, MOST_DARKENING, FLAT_WITHIN = 10.0, 20.0, 2.0
MASK_MIN_AMPLITUDE = 0.1
SHARPENINGS_KEPT = 16


@dataclass(frozen=True)
class Sharpening:
    """An unsharp mask on CIELAB lightness, as libvips' sharpen makes it."""

    sigma: float
    flat_slope: float
    edge_slope: float

    def __call__(self, image: pyvips.Image) -> pyvips.Image:
        """libvips' own sharpen, for what `_labs` does not take."""
        return image.sharpen(sigma=self.sigma, m1=self.flat_slope, m2=self.edge_slope)


def fits(image: pyvips.Image) -> bool:
    """Whether `_labs` takes `image`: 8-bit sRGB without alpha, small enough to hold."""
    return (
        image.format == "uchar"
        and image.bands == 3
        and image.coding == "none"
        and image.interpretation == "srgb"
        and holds(image.width, image.height)
    )


def holds(width: int, height: int) -> bool:
    """Whether the colour of an image of this size is small enough for `_labs` to hold."""
    return width * height * 3 <= MAX_TONED_IN_MEMORY


def toned(
    rgb: pyvips.Image, lightness: bytes | None, sharpening: Sharpening | None
) -> pyvips.Image:
    """`rgb` (which `fits`) with each LabS lightness code through `lightness` (65,536 16-bit
    codes), then `sharpening`, back in 8-bit sRGB with `rgb`'s fields."""
    taps, boost = sharpening_tables(sharpening) if sharpening else (None, None)
    pixels = tone(rgb.write_to_memory(), rgb.width, rgb.height, lightness, taps, boost)
    result = pyvips.Image.new_from_memory(pixels, rgb.width, rgb.height, 3, "uchar")
    return with_fields_of(result, rgb)


@functools.lru_cache(maxsize=SHARPENINGS_KEPT)
def sharpening_tables(sharpening: Sharpening) -> tuple[bytes, bytes]:
    """The Gaussian's integer taps, as libvips' sharpen makes its mask, and the boost for each
    difference between lightness and its blur, indexed by the difference plus 32,768, both
    in LabS codes."""
    mask = pyvips.Image.gaussmat(
        sharpening.sigma, MASK_MIN_AMPLITUDE, separable=True, precision="integer"
    )
    taps = np.frombuffer(mask.cast("int").write_to_memory(), np.int32)
    difference = (np.arange(65536) - 32768) / LABS_PER_L
    size = np.abs(difference)
    flat, edge = sharpening.flat_slope, sharpening.edge_slope
    beyond = flat * FLAT_WITHIN + edge * (size - FLAT_WITHIN)
    shift = np.sign(difference) * np.where(size <= FLAT_WITHIN, flat * size, beyond)
    shift = np.clip(shift, -MOST_DARKENING, MOST_BRIGHTENING)
    return taps.tobytes(), np.rint(shift * LABS_PER_L).astype(np.int16).tobytes()
