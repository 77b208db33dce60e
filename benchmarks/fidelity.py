"""Output bytes against fidelity: SSIM of each answer's luma against an exact full-resolution
resize of the original, over a range of qualities, so that encoders compare at equal SSIM."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

import httpx
import numpy as np
import pyvips
from skimage.metrics import structural_similarity

from imgproxy.params.decode import DecodeOptions, decode
from imgproxy.pipeline.context import RenderOptions
from imgproxy.pipeline.run import execute

QUALITIES = (50, 60, 70, 80, 90)
# Widths at which detail() renders each original: 1/8, 1/4 and 1/2 decodes of 4243 px in "fast".
DETAIL_WIDTHS = (400, 800, 1200)


@dataclass(frozen=True)
class Point:
    quality: int | None
    size: int
    ssim: float


def luma(image: pyvips.Image) -> np.ndarray:
    rgb = image.flatten() if image.hasalpha() else image
    return rgb.colourspace("srgb").recomb([[0.2126, 0.7152, 0.0722]]).numpy()


def score(body: bytes, original: bytes, quality: int | None) -> Point:
    """SSIM of `body` against the original decoded whole and resized to the same size."""
    out = pyvips.Image.new_from_buffer(body, "")
    full = pyvips.Image.new_from_buffer(original, "")
    reference = full.resize(out.width / full.width, vscale=out.height / full.height)
    ssim = structural_similarity(luma(out), luma(reference), data_range=255.0)
    return Point(quality, len(body), float(ssim))


def curve(url_for: Callable[[int | None], str], original: bytes) -> list[Point]:
    """The default (quality None) and each of QUALITIES."""
    points = []
    for quality in (None, *QUALITIES):
        response = httpx.get(url_for(quality), timeout=120)
        response.raise_for_status()
        points.append(score(response.content, original, quality))
    return points


def size_at(points: Sequence[Point], ssim: float) -> float | None:
    """Bytes at `ssim`, interpolated along the quality curve; None outside its range."""
    ordered = sorted((p for p in points if p.quality is not None), key=lambda p: p.ssim)
    for low, high in itertools.pairwise(ordered):
        if low.ssim <= ssim <= high.ssim:
            span = (high.ssim - low.ssim) or 1.0
            return low.size + (high.size - low.size) * (ssim - low.ssim) / span
    return None


@dataclass(frozen=True)
class Detail:
    """SSIM before encoding of one original at each of `widths` under one shrink_on_load."""

    original: str
    shrink_on_load: str
    widths: tuple[int, ...]
    ssims: tuple[float, ...]


def detail(originals: Mapping[str, bytes], widths: Sequence[int] = DETAIL_WIDTHS) -> list[Detail]:
    """What each `[output] shrink_on_load` keeps of each original's detail: lossless (PNG)
    renders through the pipeline in this process, scored against the exact resize."""
    found = []
    for name, data in originals.items():
        for mode in ("fine", "fast"):
            options = RenderOptions(shrink_on_load=mode)
            ssims = []
            for width in widths:
                plan = decode(parse_qsl(f"width={width}&format=png"), DecodeOptions())
                ssims.append(score(execute(plan, data, options).body, data, None).ssim)
            found.append(Detail(name, mode, tuple(widths), tuple(ssims)))
    return found
