"""Animated GIF out: one palette for the whole animation, every frame mapped to it with error
diffusion (both by `_palette`, in C), the file written by `gifwrite`.

libvips quantises every frame on its own, which costs 25-90 ms a frame at web sizes; one shared
palette is several times faster, keeps colours steady from frame to frame and gives smaller
files at the same fidelity; mapping again only what changed keeps the still parts of frames
still. The palette is chosen from every other pixel of every other row: a quarter of the
counting, and every detail at least two pixels wide and tall still counted; on photographs the
mapped frames came out as close to the originals as with every pixel counted.

GIF transparency is one bit: alpha below `SEE_THROUGH_BELOW` is see-through, the rest opaque;
the see-through entry follows the palette's colours.
"""

from __future__ import annotations

import numpy as np
import pyvips

from imgproxy.pipeline._palette import choose_palette, map_frames
from imgproxy.pipeline.animation import delays, least_alpha
from imgproxy.pipeline.gifwrite import gif_file

# The longest delay (centiseconds) and repeat count a GIF's 16-bit fields hold.
MAX_DELAY = MAX_REPEATS = 0xFFFF
SEE_THROUGH_BELOW = 128
# Frames at least this wide and tall feed the palette every other pixel of every other row.
PALETTE_SAMPLE_MIN_SIDE = 64
# A GIF's palette holds 256 entries; with see-through pixels, one is theirs.
PALETTE_SIZE = 256
SEE_THROUGH = (0, 0, 0, 0)


def encoded_gif(strip: pyvips.Image, count: int) -> bytes:
    """The `count` frames of `strip` as an animated GIF."""
    if strip.hasalpha():
        # Rendered once: the alpha check and the encoder both read every pixel.
        strip = strip.copy_memory()
    see_through = strip.hasalpha() and least_alpha(strip) < SEE_THROUGH_BELOW
    return animated_gif(strip, count, see_through=see_through)


def animated_gif(strip: pyvips.Image, count: int, *, see_through: bool = False) -> bytes:
    """The `count` frames of `strip`, with their delays and loop count. Without `see_through`,
    alpha is ignored; with it, the palette keeps an entry for the pixels whose alpha is below
    `SEE_THROUGH_BELOW`."""
    page_height = strip.height // count
    pixels = _colours(strip, see_through).write_to_memory()
    durations = [min(MAX_DELAY, max(1, round(delay / 10))) for delay in delays(strip, count)]
    palette = _palette(pixels, strip.width, page_height, count, see_through)
    see_through_index = len(palette) - 1 if see_through else None
    indices = _indices(pixels, strip.width, page_height, count, palette, see_through_index)
    colours = palette[:see_through_index, :3]
    return gif_file(indices, colours, durations, _repeats(strip), see_through_index)


def _colours(strip: pyvips.Image, see_through: bool) -> pyvips.Image:
    """sRGB, with an alpha band for `see_through` and without one otherwise: the pixels the
    palette is chosen from and mapped."""
    if strip.bands < 3:
        strip = strip.colourspace("srgb")
    if not see_through:
        return strip.extract_band(0, n=3) if strip.hasalpha() else strip
    return strip if strip.hasalpha() else strip.bandjoin_const([255])


def _repeats(strip: pyvips.Image) -> int | None:
    """libvips' loop (0 for ever, else the number of plays) as the number of plays after the
    first (0 for ever), None for one play."""
    loop = strip.get("loop") if strip.get_typeof("loop") else 0
    return 0 if loop == 0 else min(MAX_REPEATS, loop - 1) if loop > 1 else None


def _palette(pixels: bytes, width: int, height: int, count: int, see_through: bool) -> np.ndarray:
    """Up to `PALETTE_SIZE` RGBA entries for the `count` frames of `pixels` (RGB or RGBA,
    `width` x `height` each), counted over a sample of their pixels; with `see_through`, over their
    opaque pixels only, and the see-through entry follows their colours."""
    step = 2 if min(width, height) >= PALETTE_SAMPLE_MIN_SIDE else 1
    wanted = PALETTE_SIZE - 1 if see_through else PALETTE_SIZE
    opaque_from = SEE_THROUGH_BELOW if see_through else 0
    chosen = choose_palette(pixels, width, height, count, step, wanted, opaque_from)
    colours = (
        np.frombuffer(chosen, np.uint8).reshape(-1, 3) if chosen else np.zeros((1, 3), np.uint8)
    )
    entries = np.full((len(colours) + see_through, 4), 255, np.uint8)
    entries[: len(colours), :3] = colours
    if see_through:
        entries[-1] = SEE_THROUGH
    return entries


def _indices(
    pixels: bytes,
    width: int,
    height: int,
    count: int,
    palette: np.ndarray,
    see_through_index: int | None,
) -> np.ndarray:
    """The palette indices (count x height x width) of the `count` frames of `pixels` (RGB or
    RGBA), mapped to `palette` (RGBA entries) with error diffusion; pixels whose alpha is below
    `SEE_THROUGH_BELOW` take `see_through_index` when there is one."""
    indices = map_frames(
        pixels,
        width,
        height,
        count,
        palette.tobytes(),
        see_through=-1 if see_through_index is None else see_through_index,
        see_through_below=SEE_THROUGH_BELOW,
    )
    return np.frombuffer(indices, np.uint8).reshape(count, height, width)
