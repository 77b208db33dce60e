"""Resampling: exact target sizes, alpha-aware."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pyvips

from imgproxy.pipeline._alpha import premultiply
from imgproxy.pipeline._reduce import reduce_width, taps
from imgproxy.pipeline.fields import with_fields_of

Resize = Callable[[pyvips.Image], pyvips.Image]
# Beyond this residual shrink the part pixel a DCT shrink leaves out is under an eighth of an
# output pixel, and libvips' resize (which shrinks by whole blocks first) serves: reduce alone
# refuses factors past a few hundred.
MAX_ALIGNED_SHRINK = 8
# The most bytes of pixels weighted by alpha in memory (8 MP of RGBA): larger images stream
# through libvips' premultiply.
MAX_WEIGHED_IN_MEMORY = 32 << 20
# The most bytes of pixels whose rows `_reduce` shrinks at once (the 1200 px WebP's 4,243 x 800
# RGB in 10 MB): an animation's frames go in turns, whole frames at a time; a larger image,
# or a larger frame, goes to libvips' reduce, which streams it.
MAX_REDUCED_IN_MEMORY = 16 << 20
# The colour spaces whose alpha libvips' premultiply takes as out of 255, as `_alpha` does
# (16-bit spaces take 65,535 even in 8-bit images).
EIGHT_BIT_SPACES = frozenset({"srgb", "b-w", "multiband"})


@dataclass(frozen=True)
class Span:
    """The original's span in an image's pixels when a DCT shrink left part of a pixel out: a
    JPEG 4,243 px wide decoded at 1/8 spans 530.375 px, of which libjpeg gives 530. The part is
    missing at the right and bottom, or at the left or top of an axis that autorotate reversed."""

    width: float
    height: float
    short_at_start: tuple[bool, bool] = (False, False)


def resample(
    image: pyvips.Image, width: int, height: int, span: Span | None = None
) -> pyvips.Image:
    """`image` at `width` x `height`. With a `span`, the scale is taken from it, so that the
    result lines up with the original to its last pixel."""
    if span is None and (width, height) == (image.width, image.height):
        return image
    return _alpha_weighted(image, lambda pixels: _lanczos(pixels, width, height, span))


def _alpha_weighted(image: pyvips.Image, resize: Resize) -> pyvips.Image:
    """`resize` applied to `image`; with alpha, to its colour weighted by alpha, so that the
    colour of transparent pixels does not bleed into the visible ones at their edges.

    The weighted colour stays in the image's own 8-bit format, as libvips' thumbnail has it,
    so that the resamplers keep their integer paths: twice as fast as in floats. thumbnail
    itself is not used, as it leaves alpha out of the weighting when one side keeps its size.
    """
    if not image.hasalpha():
        return resize(image)
    pixel_format = image.format
    weighted = resize(_premultiplied(image))
    return weighted.unpremultiply().cast(pixel_format)


def _premultiplied(image: pyvips.Image) -> pyvips.Image:
    """`image`'s colour weighted by its alpha, in its own format. 8-bit images up to
    `MAX_WEIGHED_IN_MEMORY` are weighted by `_alpha`, the same values in a fifth of the time of
    libvips' premultiply, which works in floats; the pixels are then held whole."""
    pixel_format = image.format
    size = image.width * image.height * image.bands
    eight_bit = pixel_format == "uchar" and image.interpretation in EIGHT_BIT_SPACES
    if not eight_bit or size > MAX_WEIGHED_IN_MEMORY:
        return image.premultiply().cast(pixel_format)
    pixels = premultiply(image.write_to_memory(), image.bands)
    weighted = pyvips.Image.new_from_memory(pixels, image.width, image.height, image.bands, "uchar")
    return with_fields_of(weighted, image)


def resample_frames(
    strip: pyvips.Image, count: int, width: int, height: int, *, weighted: bool = True
) -> pyvips.Image:
    """Each of the `count` frames stacked in `strip` shrunk to `width` x `height`, pixel for pixel
    as `resample` shrinks a frame on its own, but in two passes over all the frames at once.
    Without `weighted`, alpha is resized as any other band: for alpha that is opaque
    everywhere, the same colours in less time.

    A frame at a time is a pipeline per frame: 20 frames took twice the time on 2 threads. Laid
    side by side (`grid`), the frames shrink vertically together, as no column crosses from one
    frame into the next; then horizontally, as no row does, read where they lie and written out
    stacked again. Enlargements come back as they are, for `resample` to do frame by frame.
    """
    frame_width, frame_height = strip.width, strip.height // count
    unchanged = (width, height) == (frame_width, frame_height)
    if unchanged or width > frame_width or height > frame_height:
        return strip
    if not weighted:
        return _two_passes(strip, count, width, height)
    return _alpha_weighted(strip, lambda pixels: _two_passes(pixels, count, width, height))


def _two_passes(strip: pyvips.Image, count: int, width: int, height: int) -> pyvips.Image:
    frame_width, frame_height = strip.width, strip.height // count
    if height < frame_height:
        side_by_side = strip.grid(frame_height, count, 1)
        shorter = _by_libvips(
            side_by_side, height, frame_height / height, at_start=False, vertical=True
        )
        if width < frame_width:
            return _narrower(
                shorter, width, frame_width / width, at_start=False, frames=count, across=True
            )
        return _stacked(shorter, count)
    if width < frame_width:
        return _narrower(strip, width, frame_width / width, at_start=False, frames=count)
    return strip


def _stacked(side_by_side: pyvips.Image, count: int) -> pyvips.Image:
    """The `count` frames of `side_by_side` one above the other."""
    frame_width = side_by_side.width // count
    frames = [
        side_by_side.crop(index * frame_width, 0, frame_width, side_by_side.height)
        for index in range(count)
    ]
    return pyvips.Image.arrayjoin(frames, across=1)


def _lanczos(image: pyvips.Image, width: int, height: int, span: Span | None) -> pyvips.Image:
    span = span or Span(image.width, image.height)
    hshrink, vshrink = span.width / width, span.height / height
    if min(hshrink, vshrink) < 1:
        return image.resize(width / image.width, vscale=height / image.height, kernel="lanczos3")
    at_start_x, at_start_y = span.short_at_start
    image = _by_libvips(image, height, vshrink, at_start_y, vertical=True)
    return _narrower(image, width, hshrink, at_start_x)


def _narrower(
    image: pyvips.Image,
    width: int,
    shrink: float,
    at_start: bool,
    frames: int = 1,
    *,
    across: bool = False,
) -> pyvips.Image:
    """The rows of `image`, `frames` frames stacked (or side by side, `across`), reduced by
    `shrink` to `width` pixels, the frames stacked, and lined up with the original to the part
    of a pixel, by `_reduce`: two to four times as fast as libvips' horizontal reduce on colour,
    which takes one pixel at a time, and about nine times on grey, which it takes without
    vectors. Frames go in turns, as many at a time as MAX_REDUCED_IN_MEMORY holds, so that each
    comes out as it would alone; `_reduce` reads frames side by side where they lie, with no
    pass to stack them first."""
    frame_width = image.width // frames if across else image.width
    frame_height = image.height if across else image.height // frames
    frame_bytes = frame_width * frame_height * image.bands
    reducible = image.format == "uchar" and image.coding == "none" and image.bands <= 4
    if (
        shrink == 1
        or shrink > MAX_ALIGNED_SHRINK
        or not reducible
        or frame_bytes > MAX_REDUCED_IN_MEMORY
        or taps(shrink) > frame_width
    ):
        stacked = _stacked(image, frames) if across else image
        return _by_libvips(stacked, width, shrink, at_start, vertical=False)
    # Where the part pixel is missing at the start, the pixels begin that far into the original.
    offset = frame_width - shrink * width if at_start else 0.0
    in_turn = max(1, MAX_REDUCED_IN_MEMORY // frame_bytes)
    pieces = []
    for first in range(0, frames, in_turn):
        taken = min(in_turn, frames - first)
        if across:
            piece = image.crop(first * frame_width, 0, taken * frame_width, frame_height)
        else:
            piece = image.crop(0, first * frame_height, frame_width, taken * frame_height)
        pieces.append(
            reduce_width(
                piece.write_to_memory(),
                frame_width,
                frame_height if across else taken * frame_height,
                image.bands,
                width,
                shrink,
                offset,
                across=taken if across else 1,
            )
        )
    reduced = pyvips.Image.new_from_memory(
        b"".join(pieces), width, frame_height * frames, image.bands, "uchar"
    )
    return with_fields_of(reduced, image)


def _by_libvips(
    image: pyvips.Image, target: int, shrink: float, at_start: bool, *, vertical: bool
) -> pyvips.Image:
    """One axis of `image` reduced by `shrink` to `target` pixels by libvips: its reduce, lined
    up with the original, up to MAX_ALIGNED_SHRINK, its resize beyond. Columns always shrink
    here: libvips' vertical pass takes about half the time of `_reduce`'s horizontal one."""
    if shrink == 1:
        return image
    if shrink > MAX_ALIGNED_SHRINK:
        if vertical:
            return image.resize(1, vscale=target / image.height, kernel="lanczos3")
        return image.resize(target / image.width, vscale=1, kernel="lanczos3")
    return _aligned_reduce(image, target, shrink, at_start, vertical=vertical)


def _aligned_reduce(
    image: pyvips.Image, target: int, shrink: float, at_start: bool, *, vertical: bool
) -> pyvips.Image:
    """One axis of `image` reduced by `shrink` to `target` pixels, its edge pixels repeated at
    the end (at the start, where the part pixel is missing there) so that libvips' reduce, which
    centres its output on its input, lines up with the original; what lies beyond is cut."""
    size = image.height if vertical else image.width
    pad = _centring_pad(size, target, shrink)
    if pad:
        before = pad if at_start else 0
        if vertical:
            image = image.embed(0, before, image.width, size + pad, extend="copy")
        else:
            image = image.embed(before, 0, size + pad, image.height, extend="copy")
    if vertical:
        reduced = image.reducev(shrink, kernel="lanczos3")
        start = reduced.height - target if at_start else 0
        return reduced.crop(0, start, reduced.width, target)
    reduced = image.reduceh(shrink, kernel="lanczos3")
    start = reduced.width - target if at_start else 0
    return reduced.crop(start, 0, target, reduced.height)


def _centring_pad(size: int, target: int, shrink: float) -> int:
    """Edge pixels to repeat beside `size` so that libvips' reduce, which centres its output on
    its input (`int(size / shrink + 0.5)` pixels), lines up with the original: 1,001 px that
    span 1,001.75 reduce to 400 px 0.15 px off; 1,002 within 0.05 px."""

    def misalignment(pad: int) -> float:
        out = int((size + pad) / shrink + 0.5)
        return abs(size + pad - out * shrink) if out >= target else math.inf

    return min(range(math.ceil(2 * shrink) + 2), key=misalignment)


def fit_inside(image: pyvips.Image, width: int, height: int, *, upscale: bool) -> pyvips.Image:
    factor = min(width / image.width, height / image.height)
    if factor > 1 and not upscale:
        return image
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return resample(image, *size)
