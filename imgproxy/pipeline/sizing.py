"""Pure arithmetic of output sizes: how far to scale, and what box to cut or fill."""

from __future__ import annotations

import math
from dataclasses import dataclass

from imgproxy.params.plan import Geometry
from imgproxy.pipeline.context import Context, RenderOptions
from imgproxy.pipeline.resample import Span

COVER_MODES = ("fit", "top", "bottom", "face", "entropy")
JPEG_SHRINKS = (8, 4, 2)
# What each `[output] shrink_on_load` leaves the Lanczos step, as a multiple of the target. DCT
# scaling averages 8x8 (or 4x4, 2x2) blocks with no filter: detail finer than the thumbnail can
# show comes through as a beat (stripes of 7 px give a 400 px thumbnail a spread of 6.7 levels,
# against 0.8 when Lanczos has twice the target to filter). The finer decode costs up to a fifth
# of the throughput of a large downscale.
RESAMPLE_HEADROOM = {"fine": 2, "fast": 1}


@dataclass(frozen=True)
class Scale:
    """The size to resample to, and the final box a cover crop or a pad makes of it."""

    width: int
    height: int
    box_width: int
    box_height: int


def output_scale(src_w: int, src_h: int, g: Geometry, options: RenderOptions) -> Scale:
    """The size width and height ask for; without them, the original's own size fitted inside
    the output limit."""
    if g.resizes:
        return plan_scale(src_w, src_h, g, options.allow_upscale)
    factor = min(1.0, options.max_out_side / max(src_w, src_h))
    size = (_at_least_one(src_w * factor), _at_least_one(src_h * factor))
    return Scale(*size, *size)


def plan_scale(src_w: int, src_h: int, g: Geometry, allow_upscale: bool) -> Scale:
    if g.crop == "stretch" and g.width and g.height:
        hscale, vscale = (
            _capped(g.width / src_w, allow_upscale),
            _capped(g.height / src_h, allow_upscale),
        )
        size = (_at_least_one(src_w * hscale), _at_least_one(src_h * vscale))
        return Scale(*size, *size)
    factor = _capped(_factor(src_w, src_h, g), allow_upscale)
    width, height = _at_least_one(src_w * factor), _at_least_one(src_h * factor)
    if g.crop in COVER_MODES and g.width and g.height:
        return Scale(width, height, min(g.width, width), min(g.height, height))
    if g.crop == "pad" and g.width and g.height:
        return Scale(width, height, g.width, g.height)
    return Scale(width, height, width, height)


def _factor(src_w: int, src_h: int, g: Geometry) -> float:
    if g.width and g.height:
        pick = max if g.crop in COVER_MODES else min
        return pick(g.width / src_w, g.height / src_h)
    if g.width:
        return g.width / src_w
    assert g.height is not None
    return g.height / src_h


def _capped(factor: float, allow_upscale: bool) -> float:
    return factor if allow_upscale else min(factor, 1.0)


def _at_least_one(value: float) -> int:
    return max(1, round(value))


def cover_offset(mode: str | None, scaled: int, box: int, vertical: bool) -> int:
    """Where a cover crop starts along one axis: centred, or at the top or bottom rows."""
    spare = scaled - box
    if vertical and mode == "top":
        return 0
    if vertical and mode == "bottom":
        return spare
    return spare // 2


def jpeg_shrink(src_w: int, src_h: int, scale: Scale, headroom: float) -> int:
    """The largest DCT shrink that still leaves `headroom` x the target to resample from."""
    for shrink in JPEG_SHRINKS:
        wide_enough = src_w // shrink >= headroom * scale.width
        if wide_enough and src_h // shrink >= headroom * scale.height:
            return shrink
    return 1


def zoom_factor(width: int, height: int, degrees: float) -> float:
    """Scale of the largest same-aspect rectangle inside a rotated width x height image."""
    radians = math.radians(degrees)
    cos, sin = abs(math.cos(radians)), abs(math.sin(radians))
    return min(width / (width * cos + height * sin), height / (width * sin + height * cos))


def decoded_span(ctx: Context) -> Span | None:
    """The original's span in the pixels of a JPEG decoded at a DCT shrink: 530.375 x 353.5 for
    4,243 x 2,828 at 1/8 (libjpeg gives 530 x 353). None without a shrink."""
    if ctx.shrink == 1:
        return None
    width, height = ctx.logical_size
    return Span(width / ctx.shrink, height / ctx.shrink, ctx.reversed_axes)
