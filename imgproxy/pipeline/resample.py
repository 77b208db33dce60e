"""Resampling: exact target sizes, alpha-aware."""

from __future__ import annotations

import pyvips


def resample(image: pyvips.Image, width: int, height: int) -> pyvips.Image:
    if (width, height) == (image.width, image.height):
        return image
    hscale, vscale = width / image.width, height / image.height
    if not image.hasalpha():
        return image.resize(hscale, vscale=vscale, kernel="lanczos3")
    # Premultiplied alpha keeps transparent pixels' colour from bleeding into edges.
    resized = image.premultiply().resize(hscale, vscale=vscale, kernel="lanczos3")
    return resized.unpremultiply().cast("uchar")


def fit_inside(image: pyvips.Image, width: int, height: int, *, upscale: bool) -> pyvips.Image:
    factor = min(width / image.width, height / image.height)
    if factor > 1 and not upscale:
        return image
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return resample(image, *size)
