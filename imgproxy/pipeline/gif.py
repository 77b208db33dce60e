"""Animated GIF out: one palette for the whole animation, every frame mapped to it with error
diffusion (both by `_palette`, in C), FFmpeg's encoder for the indices.

libvips quantises every frame on its own, which costs 25-90 ms a frame at web sizes; one shared
palette is several times faster, keeps colours steady from frame to frame and gives smaller
files at the same fidelity; mapping again only what changed keeps the still parts of frames
still. The palette is chosen from every other pixel of every other row: a quarter of the
counting, and every detail at least two pixels wide and tall still counted; on photographs the
mapped frames came out as close to the originals as with every pixel counted.

GIF transparency is one bit: alpha below `SEE_THROUGH_BELOW` is see-through, the rest opaque.
Opaque animations are FFmpeg's to write: each frame cut down to what changed since the one
before. Animations with see-through pixels are not: FFmpeg clears exactly the frames that have
see-through pixels, where a frame has to be cleared once shown whenever the next one has
see-through pixels where it is opaque, and the cut it makes around a frame's opaque pixels
drops columns that only their last row reaches. Their frames are written by `gifwrite`.
(libvips' encoder clears an opaque frame without a see-through entry, and Pillow and libvips
then fill the next frame's see-through pixels with its opaque background colour.)
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from fractions import Fraction
from itertools import accumulate

import av
import numpy as np
import pyvips

from imgproxy.pipeline._palette import choose_palette, map_frames
from imgproxy.pipeline.animation import delays
from imgproxy.pipeline.gifwrite import gif_file

CENTISECONDS = Fraction(1, 100)
# The longest delay (centiseconds) and repeat count a GIF's 16-bit fields hold.
MAX_DELAY = MAX_REPEATS = 0xFFFF
SEE_THROUGH_BELOW = 128
# Frames at least this wide and tall feed the palette every other pixel of every other row.
PALETTE_SAMPLE_MIN_SIDE = 64
# A GIF's palette holds 256 entries; with see-through pixels, the last is theirs.
PALETTE_SIZE = 256
SEE_THROUGH = (0, 0, 0, 0)


def encoded_gif(strip: pyvips.Image, count: int) -> bytes:
    """The `count` frames of `strip` as an animated GIF."""
    see_through = strip.hasalpha() and strip[strip.bands - 1].min() < SEE_THROUGH_BELOW
    return animated_gif(strip, count, see_through=see_through)


def animated_gif(strip: pyvips.Image, count: int, *, see_through: bool = False) -> bytes:
    """The `count` frames of `strip`, with their delays and loop count. Without `see_through`,
    alpha is ignored and FFmpeg writes the file; with it, the palette keeps an entry for the
    pixels whose alpha is below `SEE_THROUGH_BELOW`, and `gifwrite` writes the file."""
    page_height = strip.height // count
    rgba = _rgba(strip)
    pixels = rgba.write_to_memory()
    durations = [min(MAX_DELAY, max(1, round(delay / 10))) for delay in delays(strip, count)]
    palette = _palette(pixels, rgba.width, page_height, count, see_through)
    see_through_index = PALETTE_SIZE - 1 if see_through else None
    indices = _indices(pixels, rgba.width, page_height, count, palette, see_through_index)
    # PyAV takes an 8-bit palette frame's colours as ARGB.
    colours = np.ascontiguousarray(palette[:, [3, 0, 1, 2]])
    if see_through_index is None:
        frames = _palette_frames(indices, colours, durations)
        return _muxed(frames, strip.width, page_height, durations, _repeats(strip))
    frames = ((frame, colours) for frame in indices)
    return gif_file(frames, durations, _repeats(strip), see_through_index)


def _muxed(
    mapped: Iterator[av.VideoFrame],
    width: int,
    height: int,
    durations: list[int],
    repeats: int | None,
) -> bytes:
    """The `mapped` frames through FFmpeg's GIF encoder and muxer, each cut down to what
    changed since the one before."""
    # Frame delays come from the gaps between timestamps; the last one has no gap after it.
    loop = "-1" if repeats is None else str(repeats)
    options = {"loop": loop, "final_delay": str(durations[-1])}
    muxed = io.BytesIO()
    with av.open(muxed, mode="w", format="gif", options=options) as out:
        stream = out.add_stream("gif")
        stream.width, stream.height, stream.pix_fmt = width, height, "pal8"
        stream.time_base = stream.codec_context.time_base = CENTISECONDS
        for frame in mapped:
            frame.time_base = CENTISECONDS
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return muxed.getvalue()


def _rgba(strip: pyvips.Image) -> pyvips.Image:
    """sRGB with an alpha band: the palette is chosen and mapped on RGBA pixels."""
    if strip.bands < 3:
        strip = strip.colourspace("srgb")
    return strip if strip.hasalpha() else strip.bandjoin_const([255])


def _repeats(strip: pyvips.Image) -> int | None:
    """libvips' loop (0 for ever, else the number of plays) as the number of plays after the
    first (0 for ever), None for one play."""
    loop = strip.get("loop") if strip.get_typeof("loop") else 0
    return 0 if loop == 0 else min(MAX_REPEATS, loop - 1) if loop > 1 else None


def _palette(pixels: bytes, width: int, height: int, count: int, see_through: bool) -> np.ndarray:
    """`PALETTE_SIZE` RGBA entries for the `count` frames of `pixels` (RGBA, `width` x
    `height` each), counted over a sample of their pixels; with `see_through`, over their
    opaque pixels only, and the last entry is the see-through one."""
    step = 2 if min(width, height) >= PALETTE_SAMPLE_MIN_SIDE else 1
    wanted = PALETTE_SIZE - 1 if see_through else PALETTE_SIZE
    opaque_from = SEE_THROUGH_BELOW if see_through else 0
    chosen = choose_palette(pixels, width, height, count, step, wanted, opaque_from)
    colours = (
        np.frombuffer(chosen, np.uint8).reshape(-1, 3) if chosen else np.zeros((1, 3), np.uint8)
    )
    entries = np.full((PALETTE_SIZE, 4), 255, np.uint8)
    entries[: len(colours), :3] = colours
    # Unused entries repeat the last colour: the mapping takes the first of equal ones.
    entries[len(colours) :, :3] = colours[-1]
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
    """The palette indices of each of the `count` frames of `pixels` (count x height x width),
    mapped to `palette` (RGBA entries) with error diffusion; pixels whose alpha is below
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


def _palette_frames(
    indices: np.ndarray, colours: np.ndarray, durations: list[int]
) -> Iterator[av.VideoFrame]:
    """Each frame's `indices` as an 8-bit palette frame of `colours` (ARGB), timed by
    `durations` (centiseconds)."""
    for frame_indices, start in zip(indices, _starts(durations), strict=True):
        frame = av.VideoFrame.from_ndarray((frame_indices, colours), format="pal8")
        frame.pts, frame.time_base = start, CENTISECONDS
        yield frame


def _starts(durations: list[int]) -> Iterator[int]:
    """When each frame starts, in centiseconds from the first."""
    return accumulate(durations[:-1], initial=0)
