"""Geometry steps: trim, resize and crop modes, region crop, rotate and zoom, flip, pad, flatten."""

from __future__ import annotations

import pyvips

from imgproxy.errors import InvalidParameter
from imgproxy.params.colors import RGBA
from imgproxy.params.plan import Region
from imgproxy.pipeline.context import Context
from imgproxy.pipeline.ink import ink, ready_for, solid
from imgproxy.pipeline.resample import resample, resample_frames
from imgproxy.pipeline.sizing import (
    COVER_MODES,
    Scale,
    cover_offset,
    decoded_span,
    output_scale,
    zoom_factor,
)
from imgproxy.pipeline.smartcrop import face_window, smart_window

TRIM_THRESHOLD = 10.0
# find_trim takes a 3x3 median first: a thinner image has nothing it can measure.
TRIM_MIN_SIDE = 3
QUARTER_TURNS = {90.0: "d90", 180.0: "d180", 270.0: "d270"}


def trim(ctx: Context) -> None:
    color = ctx.plan.geometry.trim_color
    if color is None:
        return
    image = ctx.image
    if ctx.measured.trim_box is None:
        ctx.measured.trim_box = _trim_box(image, color)
    left, top, width, height = ctx.measured.trim_box
    if (width, height) != (image.width, image.height):
        ctx.image = image.crop(left, top, width, height)
        ctx.logical_size = (width, height)


def _trim_box(image: pyvips.Image, color: RGBA) -> tuple[int, int, int, int]:
    """The box inside a border of `color`; the whole image when it is all border or too thin."""
    whole = (0, 0, image.width, image.height)
    if min(image.width, image.height) < TRIM_MIN_SIDE:
        return whole
    probe = image.flatten(background=solid(image, color)) if image.hasalpha() else image
    left, top, width, height = probe.find_trim(
        background=solid(probe, color), threshold=TRIM_THRESHOLD
    )
    return (left, top, width, height) if width > 0 and height > 0 else whole


def resize(ctx: Context) -> None:
    g = ctx.plan.geometry
    scale = output_scale(*ctx.logical_size, g, ctx.options)
    if not g.resizes:
        ctx.image = resample(ctx.image, scale.width, scale.height, decoded_span(ctx))
        return
    _check_output_size(scale, ctx)
    if g.crop == "face":
        ctx.image = face_window(ctx, scale)
        return
    image = resample(ctx.image, scale.width, scale.height, decoded_span(ctx))
    if g.crop == "entropy":
        image = smart_window(ctx, image, scale, "entropy")
    elif g.crop in COVER_MODES:
        left = cover_offset(g.crop, scale.width, scale.box_width, vertical=False)
        top = cover_offset(g.crop, scale.height, scale.box_height, vertical=True)
        image = image.crop(left, top, scale.box_width, scale.box_height)
    elif g.crop == "pad":
        image = ready_for(image, g.pad_color)
        image = image.embed(
            (scale.box_width - scale.width) // 2,
            (scale.box_height - scale.height) // 2,
            scale.box_width,
            scale.box_height,
            extend="background",
            background=ink(image, g.pad_color),
        )
    ctx.image = image


def resize_frames(ctx: Context, strip: pyvips.Image, *, weighted: bool = True) -> pyvips.Image:
    """An animation's frames, stacked in `strip`, brought together to the size `resize` gives
    each; `resize` then finds every frame at that size. Trim and crop=face measure a frame before
    it is resized, so their frames resize one by one. Without `weighted`, alpha is resized as
    any other band (`resample_frames`)."""
    g = ctx.plan.geometry
    frame_size = (strip.width, strip.height // ctx.frames)
    if g.trim_color is not None or g.crop == "face" or frame_size != ctx.logical_size:
        return strip
    scale = output_scale(*ctx.logical_size, g, ctx.options)
    resized = resample_frames(strip, ctx.frames, scale.width, scale.height, weighted=weighted)
    # Left to the encoder, which reads frame by frame, the passes would run again for each frame.
    return strip if resized is strip else resized.copy_memory()


def _check_output_size(scale: Scale, ctx: Context) -> None:
    limit = ctx.options.max_out_side
    g = ctx.plan.geometry
    width, height = max(scale.width, scale.box_width), max(scale.height, scale.box_height)
    param = "width" if g.width is not None and (g.height is None or width > limit) else "height"
    check_output_side(ctx, width, height, param)


def check_output_side(ctx: Context, width: int, height: int, param: str | None) -> None:
    """A 400 naming `param` when a `width` x `height` output breaks the server's side limit."""
    limit = ctx.options.max_out_side
    if max(width, height) <= limit:
        return
    cause = f"{param} makes the image" if param else "the image would be"
    raise InvalidParameter(
        f"{cause} {width}x{height} px, over the {limit} px limit of this server", param=param
    )


def crop_region(ctx: Context) -> None:
    region = ctx.plan.geometry.region
    if region is None:
        return
    image = ctx.image
    left, top, width, height = _clamp(region, image.width, image.height)
    ctx.image = image.crop(left, top, width, height)


def _clamp(region: Region, width: int, height: int) -> tuple[int, int, int, int]:
    left = (width - region.width) // 2 if region.x is None else region.x
    top = (height - region.height) // 2 if region.y is None else region.y
    left, top = max(0, left), max(0, top)
    if left >= width or top >= height:
        raise InvalidParameter(
            f"crop region starts outside the {width}x{height} image", param="crop"
        )
    return left, top, min(region.width, width - left), min(region.height, height - top)


def rotate(ctx: Context) -> None:
    g = ctx.plan.geometry
    if g.rotate == 0:
        return
    image = ctx.image
    if g.rotate in QUARTER_TURNS:
        ctx.image = image.rot(QUARTER_TURNS[g.rotate])
        return
    before = (image.width, image.height)
    image = ready_for(image, g.pad_color)
    image = image.rotate(g.rotate, background=ink(image, g.pad_color))
    if g.zoom:
        factor = zoom_factor(*before, g.rotate)
        width, height = max(1, int(before[0] * factor)), max(1, int(before[1] * factor))
        image = image.crop((image.width - width) // 2, (image.height - height) // 2, width, height)
    check_output_side(ctx, image.width, image.height, g.rotate_param)
    ctx.image = image


def flip(ctx: Context) -> None:
    if ctx.plan.geometry.flip:
        ctx.image = ctx.image.fliphor()


def pad(ctx: Context) -> None:
    g = ctx.plan.geometry
    if g.pad == 0:
        return
    image = ready_for(ctx.image, g.pad_color)
    width, height = image.width + 2 * g.pad, image.height + 2 * g.pad
    check_output_side(ctx, width, height, "pad")
    ctx.image = image.embed(
        g.pad, g.pad, width, height, extend="background", background=ink(image, g.pad_color)
    )


def flatten(ctx: Context) -> None:
    g = ctx.plan.geometry
    if g.flatten and ctx.image.hasalpha():
        ctx.image = ctx.image.flatten(background=solid(ctx.image, g.pad_color)).cast("uchar")
