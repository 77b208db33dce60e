"""Geometry steps: trim, resize and crop modes, region crop, rotate and zoom, flip, pad, flatten."""

from __future__ import annotations

from imgproxy.errors import InvalidParameter
from imgproxy.params.plan import Region
from imgproxy.pipeline.context import Context
from imgproxy.pipeline.ink import ink, ready_for, solid
from imgproxy.pipeline.resample import resample
from imgproxy.pipeline.sizing import COVER_MODES, Scale, cover_offset, plan_scale, zoom_factor
from imgproxy.pipeline.smartcrop import face_window

TRIM_THRESHOLD = 10.0
QUARTER_TURNS = {90.0: "d90", 180.0: "d180", 270.0: "d270"}


def trim(ctx: Context) -> None:
    color = ctx.plan.geometry.trim_color
    if color is None:
        return
    image = ctx.image
    if ctx.trim_box is None:
        probe = image.flatten(background=solid(image, color)) if image.hasalpha() else image
        ctx.trim_box = probe.find_trim(background=solid(probe, color), threshold=TRIM_THRESHOLD)
    left, top, width, height = ctx.trim_box
    if width > 0 and height > 0 and (width, height) != (image.width, image.height):
        ctx.image = image.crop(left, top, width, height)
        ctx.logical_size = (width, height)


def resize(ctx: Context) -> None:
    g = ctx.plan.geometry
    if not g.resizes:
        return
    scale = plan_scale(*ctx.logical_size, g, ctx.options.allow_upscale)
    _check_output_size(scale, ctx)
    if g.crop == "face":
        ctx.image = face_window(ctx.image, scale, g.pad_color)
        return
    image = resample(ctx.image, scale.width, scale.height)
    if g.crop == "entropy":
        image = image.smartcrop(scale.box_width, scale.box_height, interesting="entropy")
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


def _check_output_size(scale: Scale, ctx: Context) -> None:
    limit = ctx.options.max_out_side
    g = ctx.plan.geometry
    width, height = max(scale.width, scale.box_width), max(scale.height, scale.box_height)
    if max(width, height) <= limit:
        return
    param = "width" if g.width is not None and (g.height is None or width > limit) else "height"
    raise InvalidParameter(
        f"{param} makes the image {width}x{height} px, over the {limit} px limit of this server",
        param=param,
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
    ctx.image = image


def flip(ctx: Context) -> None:
    if ctx.plan.geometry.flip:
        ctx.image = ctx.image.fliphor()


def pad(ctx: Context) -> None:
    g = ctx.plan.geometry
    if g.pad == 0:
        return
    image = ready_for(ctx.image, g.pad_color)
    ctx.image = image.embed(
        g.pad,
        g.pad,
        image.width + 2 * g.pad,
        image.height + 2 * g.pad,
        extend="background",
        background=ink(image, g.pad_color),
    )


def flatten(ctx: Context) -> None:
    g = ctx.plan.geometry
    if g.flatten and ctx.image.hasalpha():
        ctx.image = ctx.image.flatten(background=solid(ctx.image, g.pad_color)).cast("uchar")
