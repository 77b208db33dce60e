"""recognition=: JSON about what the image shows, from the optional recognition extra."""

from __future__ import annotations

import importlib
from typing import Any

import pyvips

from imgproxy.errors import ExtraNotInstalled

MODULES = {"nsfw": "imgproxy.recognition.nsfw", "labels": "imgproxy.recognition.labels"}


def recognize(image: pyvips.Image, kind: str) -> dict[str, Any]:
    """{"nsfw": ...} or {"labels": [...]} for the processed image."""
    try:
        module = importlib.import_module(MODULES[kind])
    except ImportError:
        raise ExtraNotInstalled(
            "recognition needs the recognition extra: pip install 'imgproxy[recognition]'",
            param="recognition",
        ) from None
    return {kind: getattr(module, kind)(_rgb(image))}


def _rgb(image: pyvips.Image) -> pyvips.Image:
    if image.hasalpha():
        image = image.flatten(background=[255] * (image.bands - 1))
    if image.bands < 3:
        image = image.colourspace("srgb")
    return image.cast("uchar")
