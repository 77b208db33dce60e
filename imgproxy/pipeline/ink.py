"""Colours as libvips wants them: one value per band of the image they are drawn on."""

from __future__ import annotations

import pyvips

from imgproxy.params.colors import RGBA


def ready_for(image: pyvips.Image, color: RGBA) -> pyvips.Image:
    """`image` with the bands `color` needs: sRGB unless it is grey, alpha if it is see-through."""
    r, g, b, a = color
    if image.bands < 3 and not r == g == b:
        image = image.colourspace("srgb")
    if a < 255 and not image.hasalpha():
        image = image.bandjoin_const([255])
    return image


def ink(image: pyvips.Image, color: RGBA) -> list[float]:
    """`color` as a pixel value of `image` (grey or sRGB, with or without alpha)."""
    r, g, b, a = color
    values = [r] if image.bands < 3 else [r, g, b]
    return [*values, a] if image.hasalpha() else values


def solid(image: pyvips.Image, color: RGBA) -> list[float]:
    """`color` without its alpha, as a value of `image`'s colour bands (for flattening)."""
    r, g, b, _ = color
    return [r] if image.bands < 3 else [r, g, b]
