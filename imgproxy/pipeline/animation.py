"""Animated originals: how many frames to load, and splitting and joining a strip of frames."""

from __future__ import annotations

import sys

import pyvips

from imgproxy.errors import SourceTooLarge, UndecodableImage
from imgproxy.pipeline import gifload
from imgproxy.pipeline.context import RenderOptions, SourceInfo

ANIMATED_OUTPUTS = ("gif", "webp", "mp4", "auto")
DEFAULT_DELAY_MS = 100
SEQUENTIAL = "vips-sequential"
# An 8-bit pixel of grey or RGB with alpha last, read as one little-endian number of its bytes,
# has its alpha as the most significant byte: the least such number holds the least alpha.
# libvips finds that least number in half the time it takes to pull the alpha band out.
WHOLE_PIXEL = {2: "ushort", 4: "uint"}


def frames_to_load(wanted: str | None, info: SourceInfo, options: RenderOptions) -> int:
    """All frames when animation is allowed and the output can move; else the first one."""
    moves = (wanted or info.format) in ANIMATED_OUTPUTS
    if info.pages <= 1 or options.max_frames <= 1 or not moves:
        return 1
    if info.pages > options.max_frames:
        raise SourceTooLarge(
            f"the original has {info.pages} frames, over the {options.max_frames} frame limit"
        )
    return info.pages


def decoded(strip: pyvips.Image, data: bytes, fmt: str) -> tuple[pyvips.Image, bool]:
    """A tall strip of frames decoded once from `data`, a file of format `fmt`, so that every
    step may read it in any order, and whether it may be taken as opaque. GIF frames load with
    alpha even when no pixel is see-through: `solid_alpha` tells, or imgproxy's own GIF decoder
    as it decodes them."""
    if fmt == "gif":
        found = gifload.decoded(data, strip, colour_if_opaque=True)
        if found is not None:
            return found
    try:
        strip = strip.copy_memory()
    except pyvips.Error as exc:
        raise UndecodableImage(f"the animation could not be decoded ({exc.message})") from None
    # The loader's mark of a top-to-bottom read would make libvips' resamplers cache lines for
    # one: steps that read frames side by side would then read each line many times over.
    strip = strip.copy()
    strip.remove(SEQUENTIAL)
    return strip, solid_alpha(strip)


def split(strip: pyvips.Image, count: int) -> list[pyvips.Image]:
    """The frames of a tall strip."""
    height = strip.height // count
    return [strip.crop(0, index * height, strip.width, height) for index in range(count)]


def least_alpha(image: pyvips.Image) -> int:
    """The least alpha of `image`, whose last band is alpha."""
    whole = WHOLE_PIXEL.get(image.bands)
    if image.format != "uchar" or whole is None or sys.byteorder != "little":
        return int(image[image.bands - 1].min())
    return int(image.copy(bands=1, format=whole).min()) >> (8 * (image.bands - 1))


def solid_alpha(strip: pyvips.Image) -> bool:
    """Whether `strip` has alpha and every pixel is opaque: resized as one more band, the
    alpha then dropped, later steps work on fewer bands instead of premultiplying."""
    return strip.hasalpha() and least_alpha(strip) == 255


def without_alpha(strip: pyvips.Image) -> pyvips.Image:
    return strip.extract_band(0, n=strip.bands - 1)


def join(frames: list[pyvips.Image], original: pyvips.Image) -> pyvips.Image:
    return framed(pyvips.Image.arrayjoin(frames, across=1), len(frames), original)


def framed(strip: pyvips.Image, count: int, original: pyvips.Image) -> pyvips.Image:
    """`strip` as `count` frames with `original`'s delays and loop count."""
    strip = strip.copy()
    strip.set_type(pyvips.GValue.gint_type, "page-height", strip.height // count)
    strip.set_type(pyvips.GValue.array_int_type, "delay", delays(original, count))
    loop = original.get("loop") if original.get_typeof("loop") else 0
    strip.set_type(pyvips.GValue.gint_type, "loop", loop)
    return strip


def delays(image: pyvips.Image, count: int) -> list[int]:
    """Per-frame delays in milliseconds; frames without one show for 100 ms."""
    given = list(image.get("delay")) if image.get_typeof("delay") else []
    given += [DEFAULT_DELAY_MS] * (count - len(given))
    return [delay or DEFAULT_DELAY_MS for delay in given[:count]]
