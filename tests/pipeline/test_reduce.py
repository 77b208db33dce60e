"""Rows shrunk by Lanczos 3 (`_reduce`): the weights, the edges, the AVX2 path against the plain
one, and resampling through it: lined up with the original, frames in turns as one by one."""

from __future__ import annotations

import math

import numpy as np
import pytest
import pyvips

from imgproxy.pipeline import resample as resample_module
from imgproxy.pipeline._reduce import reduce_width, taps
from imgproxy.pipeline.resample import resample, resample_frames
from tests.support.images import animated, solid


def lanczos3(d: np.ndarray) -> np.ndarray:
    safe = np.where(d == 0, 1.0, d)
    weights = 3 * np.sin(np.pi * safe) * np.sin(np.pi * safe / 3) / (np.pi * safe) ** 2
    return np.where(d == 0, 1.0, np.where(np.abs(d) < 3, weights, 0.0))


def exact(pixels: np.ndarray, out_width: int, shrink: float, offset: float) -> np.ndarray:
    """The same shrink in double precision: every tap within three output pixels of the centre,
    the edge pixel standing in for taps beyond the edge."""
    width = pixels.shape[1]
    out = np.empty((pixels.shape[0], out_width, pixels.shape[2]))
    for x in range(out_width):
        centre = (x + 0.5) * shrink - 0.5 + offset
        at = np.arange(math.floor(centre - 3 * shrink) + 1, math.ceil(centre + 3 * shrink))
        weights = lanczos3((at - centre) / shrink)
        taken = pixels[:, np.clip(at, 0, width - 1)].astype(float)
        out[:, x] = np.einsum("htb,t->hb", taken, weights / weights.sum())
    return np.clip(out, 0, 255)


def reduced(pixels: np.ndarray, out_width: int, shrink: float, offset: float = 0.0, **kw):
    height, width, bands = pixels.shape
    out = reduce_width(pixels.tobytes(), width, height, bands, out_width, shrink, offset, **kw)
    return np.frombuffer(out, np.uint8).reshape(height, out_width, bands)


CASES = [
    # bands, height, width, out width, offset: heights around the 16 rows taken together,
    # widths with and without whole vectors of columns, shrinks from 1.3 to 5.9.
    (1, 16, 300, 100, 0.0),
    (2, 17, 257, 60, -0.375),
    (3, 33, 4243 // 4, 400, 0.0),
    (3, 5, 640, 320, 0.0),
    (4, 48, 1500, 400, -0.5),
    (3, 1, 97, 73, 0.0),
    (4, 31, 211, 36, 0.0),
]


@pytest.mark.parametrize(("bands", "height", "width", "out_width", "offset"), CASES)
def test_each_value_is_the_exact_lanczos_sum_rounded(bands, height, width, out_width, offset):
    rng = np.random.default_rng(width + bands)
    pixels = rng.integers(0, 256, (height, width, bands), dtype=np.uint8)
    shrink = width / out_width
    fast = reduced(pixels, out_width, shrink, offset)
    # 14-bit weights leave each sum within a few hundredths of a level of the exact one.
    assert np.abs(fast - exact(pixels, out_width, shrink, offset)).max() <= 0.55
    assert np.array_equal(fast, reduced(pixels, out_width, shrink, offset, vector=False))


@pytest.mark.parametrize("level", [0, 1, 128, 254, 255])
def test_a_flat_image_stays_flat_to_its_edges(level):
    flat = np.full((19, 333, 3), level, np.uint8)
    assert (reduced(flat, 94, 333 / 94, -0.25) == level).all()


def test_the_edge_pixel_stands_in_for_taps_beyond_the_edge():
    # A bright first column: taps left of it see it again, so the first output is brighter than
    # one with a dark column repeated there would be, and the far side is untouched.
    pixels = np.zeros((2, 60, 1), np.uint8)
    pixels[:, 0] = 240
    out = reduced(pixels, 20, 3.0)[0, :, 0].astype(int)
    assert out[0] == round(exact(pixels, 20, 3.0, 0.0)[0, 0, 0]) and out[0] > 60
    assert (out[4:] == 0).all()


def test_an_image_narrower_than_the_taps_is_refused():
    assert taps(2.0) == 14 and taps(3.54) == 24
    with pytest.raises(ValueError, match="narrower"):
        reduce_width(bytes(13 * 3), 13, 1, 3, 6, 13 / 6, 0.0)
    with pytest.raises(ValueError, match="width x height x bands"):
        reduce_width(bytes(10), 20, 1, 3, 5, 4.0, 0.0)
    with pytest.raises(ValueError, match="shrink"):
        reduce_width(bytes(60), 20, 1, 3, 40, 0.5, 0.0)


@pytest.mark.parametrize(("across", "height"), [(3, 13), (5, 16), (2, 1), (1, 20)])
def test_images_side_by_side_come_out_one_after_the_other(across, height):
    # Heights that put the 16 rows taken together across the images' borders.
    rng = np.random.default_rng(across * height)
    images = rng.integers(0, 256, (across, height, 90, 3), dtype=np.uint8)
    side_by_side = np.concatenate(list(images), axis=1).tobytes()
    expected = np.concatenate([reduced(image, 30, 3.0) for image in images]).tobytes()
    for vector in (True, False):
        out = reduce_width(side_by_side, 90, height, 3, 30, 3.0, 0.0, vector=vector, across=across)
        assert out == expected
    with pytest.raises(ValueError, match="across x width"):
        reduce_width(side_by_side, 90, height, 3, 30, 3.0, 0.0, across=across + 1)


def test_resampled_rows_line_up_with_the_original():
    # An edge at 1,234 of 3,001 px: 400 / 3,001 puts it at 164.48 px of the thumbnail.
    row = np.where(np.arange(3001) < 1234, 30, 220).astype(np.uint8)
    image = pyvips.Image.new_from_array(np.tile(row, (12, 1))).copy(interpretation="b-w")
    out = resample(image, 400, 12).numpy()[6].astype(float)
    crossing = np.argmax(out > 125)
    before, after = out[crossing - 1], out[crossing]
    edge = crossing - 1 + (125 - before) / (after - before) + 0.5
    assert edge == pytest.approx(1234 * 400 / 3001, abs=0.1)


def test_frames_over_the_limit_go_in_turns_and_match_frames_one_by_one(monkeypatch):
    rng = np.random.default_rng(8)
    frames = [
        pyvips.Image.new_from_array(rng.integers(0, 256, (40, 90, 3), dtype=np.uint8))
        for _ in range(5)
    ]
    strip = animated(frames)
    alone = [resample(frame, 30, 13).numpy() for frame in frames]
    # Two frames of 90 x 13 (after the columns shrink) a turn.
    monkeypatch.setattr(resample_module, "MAX_REDUCED_IN_MEMORY", 2 * 90 * 13 * 3)
    together = resample_frames(strip, 5, 30, 13).numpy()
    assert np.array_equal(together, np.concatenate(alone))


def test_images_the_kernel_does_not_take_are_shrunk_by_libvips(monkeypatch):
    grey16 = (solid(300, 20, (30000,)).cast("ushort")).copy(interpretation="grey16")
    assert resample(grey16, 100, 20).format == "ushort"
    monkeypatch.setattr(resample_module, "MAX_REDUCED_IN_MEMORY", 0)
    big = solid(300, 20, (10, 200, 90))
    out = resample(big, 100, 20).numpy()
    assert out.shape == (20, 100, 3) and np.abs(out.astype(int) - (10, 200, 90)).max() <= 1
