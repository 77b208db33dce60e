"""The original's faces, found once per render on a view that does not depend on the output size."""

from __future__ import annotations

import pyvips

from imgproxy.pipeline.context import Context
from imgproxy.pipeline.detect import DETECT_SIDE, Box, faces
from imgproxy.pipeline.load import to_web_colours


def source_faces(ctx: Context) -> list[Box]:
    """Faces in the original's displayed full-size pixels, most confident first."""
    if ctx.measured.faces is None:
        view = _detection_view(ctx)
        fx, fy = ctx.source_size[0] / view.width, ctx.source_size[1] / view.height
        ctx.measured.faces = [face.scaled(fx, fy) for face in faces(view)]
    return ctx.measured.faces


def _detection_view(ctx: Context) -> pyvips.Image:
    """The original at most DETECT_SIDE a side, from the loaded pixels when they hold that
    many, so that the original is decoded once."""
    loaded = ctx.loaded
    if loaded is not None and ctx.frames == 1 and _holds_view(loaded, ctx.source_size):
        return loaded.thumbnail_image(DETECT_SIDE, height=DETECT_SIDE, size="down")
    # The loaded image may be shrunk for a small output: a tiny view finds phantom faces.
    view = pyvips.Image.thumbnail_buffer(
        ctx.data,
        DETECT_SIDE,
        height=DETECT_SIDE,
        size="down",
        no_rotate=not ctx.plan.geometry.autorotate,
    )
    return to_web_colours(view)


def _holds_view(image: pyvips.Image, size: tuple[int, int]) -> bool:
    """Whether `image`, the original of `size` as loaded, has at least the whole pixels of the
    original's view at most DETECT_SIDE a side (a DCT shrink rounds its size down)."""
    scale = min(1.0, DETECT_SIDE / max(size))
    return image.width >= int(size[0] * scale) and image.height >= int(size[1] * scale)


def faces_in(ctx: Context, image: pyvips.Image) -> list[Box]:
    """The original's faces in the pixels of `image`, the loaded image after trim."""
    left, top = ctx.measured.trim_box[:2] if ctx.measured.trim_box else (0, 0)
    fx, fy = image.width / ctx.logical_size[0], image.height / ctx.logical_size[1]
    moved = (
        Box(face.x - left, face.y - top, face.width, face.height).scaled(fx, fy)
        for face in source_faces(ctx)
    )
    return [face for face in moved if _overlaps(face, image.width, image.height)]


def _overlaps(box: Box, width: int, height: int) -> bool:
    return box.x < width and box.y < height and box.x + box.width > 0 and box.y + box.height > 0
