"""crop=face and its fallback: keep every detected face, centred, in the requested box."""

from __future__ import annotations

import pyvips

from imgproxy.params.colors import RGBA
from imgproxy.pipeline.context import Context
from imgproxy.pipeline.detect import faces, union
from imgproxy.pipeline.ink import ink, ready_for
from imgproxy.pipeline.resample import resample
from imgproxy.pipeline.sizing import Scale

# Room around the faces, as a share of their box on each side: hair, chin and shoulders.
FACE_MARGIN = 0.3


def face_crop(ctx: Context) -> None:
    """crop=face without a full width x height box: cut the image to its faces."""
    g = ctx.plan.geometry
    if g.crop != "face" or (g.width and g.height):
        return
    image = ctx.image
    found = faces(image)
    if not found:
        return
    box = union(found, FACE_MARGIN, image.width, image.height)
    ctx.image = image.crop(box.x, box.y, box.width, box.height)
    fx, fy = ctx.logical_size[0] / image.width, ctx.logical_size[1] / image.height
    ctx.logical_size = (round(box.width * fx), round(box.height * fy))


def face_window(image: pyvips.Image, scale: Scale, pad_color: RGBA) -> pyvips.Image:
    """Cover the box as crop=fit would, with the window on the faces; zoom out if they do not
    fit, padding with `pad_color`. Without faces, libvips' attention crop chooses."""
    box_w, box_h = scale.box_width, scale.box_height
    found = faces(image)
    if not found:
        covered = resample(image, scale.width, scale.height)
        return covered.smartcrop(box_w, box_h, interesting="attention")
    around = union(found, FACE_MARGIN, image.width, image.height)
    factor = scale.width / image.width
    if around.width * factor > box_w or around.height * factor > box_h:
        factor = min(box_w / around.width, box_h / around.height)
    resized = resample(
        image, max(1, round(image.width * factor)), max(1, round(image.height * factor))
    )
    left = _start(around.x + around.width / 2, factor, resized.width, box_w)
    top = _start(around.y + around.height / 2, factor, resized.height, box_h)
    resized = ready_for(resized, pad_color)
    return resized.embed(
        -left, -top, box_w, box_h, extend="background", background=ink(resized, pad_color)
    )


def _start(centre: float, factor: float, length: int, window: int) -> int:
    """Where a window centred on `centre` starts, kept inside the image when it fits in it."""
    if length < window:
        return (length - window) // 2
    return min(max(round(centre * factor - window / 2), 0), length - window)
