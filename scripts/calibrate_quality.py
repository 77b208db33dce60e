"""Calibrate the quality=auto presets on web-size photographs and print the table for the docs.

For each method, a preset's target is the median score, over the corpus, of a JPEG saved at the
quality that preset aims for; the table then shows the qualities the search lands on.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable

import numpy as np
import pyvips
from skimage import data as photos

from imgproxy.params.plan import AutoQuality
from imgproxy.pipeline.quality import PRESET_NAMES, PRESETS, SCORES, luma, search

CORPUS = (
    "astronaut", "coffee", "chelsea", "rocket", "camera", "hubble_deep_field",
    "immunohistochemistry", "retina", "page", "brick", "grass", "gravel",
)  # fmt: skip
WEB_SIDE = 800
AIMED_QUALITIES = {"low": 60, "medium": 75, "high": 85, "veryhigh": 92}


def corpus() -> list[pyvips.Image]:
    images = []
    for name in CORPUS:
        array: np.ndarray = getattr(photos, name)()
        image = pyvips.Image.new_from_array(array)
        image = image.extract_band(0, n=3) if image.bands == 4 else image
        interpretation = "srgb" if image.bands == 3 else "b-w"
        image = image.copy(interpretation=interpretation).thumbnail_image(WEB_SIDE, size="down")
        images.append(image.copy_memory())
    return images


def trial(image: pyvips.Image) -> Callable[[int], bytes]:
    return lambda quality: image.jpegsave_buffer(Q=quality, subsample_mode="on")


def score_at(image: pyvips.Image, method: str, quality: int) -> float:
    decoded = luma(pyvips.Image.new_from_buffer(trial(image)(quality), ""))
    return SCORES[method](luma(image), decoded)


def main() -> int:
    images = corpus()
    print("| method | preset | aimed quality | target (median) | in code | median chosen quality |")
    print("|---|---|---|---|---|---|")
    for method in SCORES:
        for preset in PRESET_NAMES:
            aimed = AIMED_QUALITIES[preset]
            target = statistics.median(score_at(image, method, aimed) for image in images)
            auto = AutoQuality(method=method, preset=preset)
            chosen = statistics.median(search(image, auto, trial(image)) for image in images)
            in_code = PRESETS[method][preset]
            print(f"| {method} | {preset} | {aimed} | {target:.4g} | {in_code:g} | {chosen:g} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
