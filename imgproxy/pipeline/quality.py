"""Quality: a JPEG original's own, and the search that quality=auto runs."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pyvips

from imgproxy.params.plan import AutoQuality
from imgproxy.pipeline.jpeginfo import luma_table

# ITU-T T.81 Annex K luminance table (quality 50); its sum is what a scaled table is compared to.
ANNEX_K_LUMA_SUM = sum(
    (16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
     14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
     18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
     49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99)
)  # fmt: skip


def estimate_jpeg_quality(data: bytes) -> int | None:
    """The IJG quality (1-100) whose scaling gives this file's luminance table, or None."""
    table = luma_table(data)
    if table is None:
        return None
    if max(table) == 1:
        return 100
    scale = 100.0 * sum(table) / ANNEX_K_LUMA_SUM
    quality = (200.0 - scale) / 2.0 if scale <= 100.0 else 5000.0 / scale
    return max(1, min(100, round(quality)))


# The search of quality=auto: the lowest quality whose decoded luma still meets the target.

METHODS = ("ssim", "mpe", "smallfry")
PRESET_NAMES = ("low", "medium", "high", "veryhigh")
SSIM_C1, SSIM_C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
BLOCK = 8
MAX_SCORED_PIXELS = 2_000_000


def luma(image: pyvips.Image) -> np.ndarray:
    """BT.601 luma (the Y a JPEG encoder keeps at full resolution) as a 2-D float array, scaled
    down (both sides alike) to about MAX_SCORED_PIXELS so that big outputs need no big arrays."""
    if image.hasalpha():
        image = image.flatten(background=[255] * (image.bands - 1))
    band = image[0] if image.bands < 3 else image.recomb([[0.299, 0.587, 0.114]])
    pixels = band.width * band.height
    if pixels > MAX_SCORED_PIXELS:
        band = band.resize(math.sqrt(MAX_SCORED_PIXELS / pixels))
    # numpy() drops both axes of a 1x1 image.
    return np.atleast_2d(band.cast("float").numpy())


def _block_means(values: np.ndarray, offset: int) -> np.ndarray:
    """Means of the 8x8 blocks of a grid that starts `offset` pixels in."""
    part = values[offset:, offset:]
    rows, cols = part.shape[0] // BLOCK, part.shape[1] // BLOCK
    whole = part[: rows * BLOCK, : cols * BLOCK]
    # Rows of blocks first, then columns: each sum runs over contiguous memory, ~5x faster
    # than one mean over two strided axes.
    columns = whole.reshape(rows, BLOCK, cols * BLOCK).sum(axis=1)
    return columns.reshape(rows, cols, BLOCK).sum(axis=2) * (1 / (BLOCK * BLOCK))


def ssim(reference: np.ndarray, candidate: np.ndarray) -> float:
    """Mean structural similarity over 8x8 windows on two grids, one aligned with JPEG blocks
    and one shifted by half a block so that block edges fall inside windows too; 1.0 means
    identical."""
    return ssim_against(reference)(candidate)


def ssim_against(reference: np.ndarray) -> Callable[[np.ndarray], float]:
    """ssim with `reference`'s block statistics computed once, for a search's many trials."""
    grids = [
        (offset, _block_means(reference, offset), _block_means(reference * reference, offset))
        for offset in (0, BLOCK // 2)
        if min(reference.shape) >= offset + BLOCK
    ]

    def score(candidate: np.ndarray) -> float:
        scores = []
        for offset, mu_x, mean_xx in grids:
            mu_y = _block_means(candidate, offset)
            var_x = mean_xx - mu_x * mu_x
            var_y = _block_means(candidate * candidate, offset) - mu_y * mu_y
            cov = _block_means(reference * candidate, offset) - mu_x * mu_y
            numerator = (2 * mu_x * mu_y + SSIM_C1) * (2 * cov + SSIM_C2)
            denominator = (mu_x * mu_x + mu_y * mu_y + SSIM_C1) * (var_x + var_y + SSIM_C2)
            scores.append(float((numerator / denominator).mean()))
        return sum(scores) / len(scores) if scores else 1.0

    return score


def mpe(reference: np.ndarray, candidate: np.ndarray) -> float:
    """Mean absolute luma error in 0-255 steps; 0 means identical."""
    return float(np.abs(reference - candidate).mean())


def smallfry(reference: np.ndarray, candidate: np.ndarray) -> float:
    """PSNR-based score, lowered by blockiness the encoder added at 8x8 block edges.

    100 + (PSNR - 40) / 2 - 2 x (added edge step): higher is better, and web-quality JPEGs
    land between about 95 and 105.
    """
    error = float(((reference - candidate) ** 2).mean())
    psnr = 99.0 if error <= 0 else 10 * math.log10(255 * 255 / error)
    added = max(0.0, _block_edges(candidate) - _block_edges(reference))
    return 100 + (psnr - 40) / 2 - 2 * added


def _block_edges(image: np.ndarray) -> float:
    """How much larger horizontal and vertical steps are across 8-pixel block edges than inside."""
    excess = 0.0
    for steps in (np.abs(np.diff(image, axis=1)), np.abs(np.diff(image, axis=0)).T):
        on_edges = steps[:, BLOCK - 1 :: BLOCK]
        excess += float(on_edges.mean() - steps.mean()) if on_edges.size else 0.0
    return excess / 2


SCORES = {"ssim": ssim, "mpe": mpe, "smallfry": smallfry}
# mpe is an error: lower is better. The others are similarities: higher is better.
LOWER_IS_BETTER = frozenset({"mpe"})
# Targets calibrated on web-size photographs by scripts/calibrate_quality.py (docs/parameters.md).
PRESETS: dict[str, dict[str, float]] = {
    "ssim": {"low": 0.957, "medium": 0.971, "high": 0.983, "veryhigh": 0.990},
    "mpe": {"low": 3.3, "medium": 2.5, "high": 1.9, "veryhigh": 1.3},
    "smallfry": {"low": 94.1, "medium": 96.1, "high": 98.4, "veryhigh": 100.7},
}


def meets(method: str, score: float, target: float) -> bool:
    return score <= target if method in LOWER_IS_BETTER else score >= target


def search(
    image: pyvips.Image, auto: AutoQuality, encode: Callable[[int], bytes], pages: int = 1
) -> int:
    """Binary search between quality_min and quality_max for the lowest quality meeting the
    target, in at most quality_attempts encodes; quality_max when none does. `pages` is the
    number of frames `image` stacks, so that every encoded frame is scored."""
    target = auto.target if auto.target is not None else PRESETS[auto.method][auto.preset]
    reference = luma(image)
    score = _against(auto.method, reference)
    low, high, best = auto.minimum, auto.maximum, auto.maximum
    for _ in range(auto.attempts):
        if low > high:
            break
        quality = (low + high) // 2
        decoded = luma(_decode(encode(quality), pages))
        if meets(auto.method, score(decoded), target):
            best, high = quality, quality - 1
        else:
            low = quality + 1
    return best


def _against(method: str, reference: np.ndarray) -> Callable[[np.ndarray], float]:
    if method == "ssim":
        return ssim_against(reference)
    return lambda candidate: SCORES[method](reference, candidate)


def _decode(data: bytes, pages: int) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(data, "", **({"n": pages} if pages > 1 else {}))
