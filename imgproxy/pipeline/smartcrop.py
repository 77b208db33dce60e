"""crop=face and its fallback: keep every detected face, centred, in the requested box; the
smartcrop window that every frame of an animation shares."""

from __future__ import annotations

import pyvips

from imgproxy.pipeline.context import Context
from imgproxy.pipeline.detect import union
from imgproxy.pipeline.faces import faces_in
from imgproxy.pipeline.ink import ink, ready_for
from imgproxy.pipeline.resample import resample
from imgproxy.pipeline.sizing import Scale, decoded_span

# Room around the faces, as a share of their box on each side: hair, chin and shoulders.
FACE_MARGIN = 0.3


def face_crop(ctx: Context) -> None:
    """crop=face without a full width x height box: cut the image to its faces."""
    g = ctx.plan.geometry
    if g.crop != "face" or (g.width and g.height):
        return
    image = ctx.image
    found = faces_in(ctx, image)
    if not found:
        return
    box = union(found, FACE_MARGIN, image.width, image.height)
    ctx.image = image.crop(box.x, box.y, box.width, box.height)
    fx, fy = ctx.logical_size[0] / image.width, ctx.logical_size[1] / image.height
    ctx.logical_size = (round(box.width * fx), round(box.height * fy))


def face_window(ctx: Context, scale: Scale) -> pyvips.Image:
    """Cover the box as crop=fit would, with the window on the faces; zoom out if they do not
    fit, padding with pad_color. Without faces, libvips' attention crop chooses."""
    image, pad_color = ctx.image, ctx.plan.geometry.pad_color
    box_w, box_h = scale.box_width, scale.box_height
    found = faces_in(ctx, image)
    span = decoded_span(ctx)
    if not found:
        resized = resample(image, scale.width, scale.height, span)
        return smart_window(ctx, resized, scale, "attention")
    around = union(found, FACE_MARGIN, image.width, image.height)
    spanned = (span.width, span.height) if span else (image.width, image.height)
    factor = scale.width / spanned[0]
    if around.width * factor > box_w or around.height * factor > box_h:
        factor = min(box_w / around.width, box_h / around.height)
    size = (max(1, round(spanned[0] * factor)), max(1, round(spanned[1] * factor)))
    resized = resample(image, *size, span)
    left = _start(around.x + around.width / 2, factor, resized.width, box_w)
    top = _start(around.y + around.height / 2, factor, resized.height, box_h)
    resized = ready_for(resized, pad_color)
    return resized.embed(
        -left, -top, box_w, box_h, extend="background", background=ink(resized, pad_color)
    )


def smart_window(ctx: Context, image: pyvips.Image, scale: Scale, interesting: str) -> pyvips.Image:
    """libvips' smartcrop to the box on the first frame; later frames are cut at the same place."""
    box_w, box_h = scale.box_width, scale.box_height
    if ctx.measured.window is None:
        cut = image.smartcrop(box_w, box_h, interesting=interesting)
        # smartcrop cuts with extract_area, which records the corner as negative offsets.
        ctx.measured.window = (-cut.xoffset, -cut.yoffset)
        return cut
    left, top = ctx.measured.window
    return image.crop(left, top, box_w, box_h)


def _start(centre: float, factor: float, length: int, window: int) -> int:
    """Where a window centred on `centre` starts, kept inside the image when it fits in it."""
    if length < window:
        return (length - window) // 2
    return min(max(round(centre * factor - window / 2), 0), length - window)
