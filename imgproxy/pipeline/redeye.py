"""redeye: pixels inside each face's eye regions lose the red a camera flash gave them."""

from __future__ import annotations

import pyvips

from imgproxy.pipeline.context import Context
from imgproxy.pipeline.detect import Box, faces

# Where eyes sit in a detected face box, as (left, top, right, bottom) fractions of the box.
EYE_REGIONS = ((0.12, 0.22, 0.48, 0.55), (0.52, 0.22, 0.88, 0.55))
# Red-eye: red over this factor times the mean of green and blue, and bright enough.
REDNESS = 1.6
MIN_RED = 60


def redeye(ctx: Context) -> None:
    if not ctx.plan.adjust.redeye or ctx.image.bands < 3:
        return
    image = ctx.image
    # Every frame has had the same geometry: the first frame's faces stand for all.
    if ctx.measured.redeye_faces is None:
        ctx.measured.redeye_faces = faces(image)
    for face in ctx.measured.redeye_faces:
        for region in EYE_REGIONS:
            image = _corrected(image, _eye(face, region, image.width, image.height))
    ctx.image = image


def _eye(face: Box, region: tuple[float, float, float, float], width: int, height: int) -> Box:
    left = max(0, face.x + round(face.width * region[0]))
    top = max(0, face.y + round(face.height * region[1]))
    right = min(width, face.x + round(face.width * region[2]))
    bottom = min(height, face.y + round(face.height * region[3]))
    return Box(left, top, max(1, right - left), max(1, bottom - top))


def _corrected(image: pyvips.Image, eye: Box) -> pyvips.Image:
    patch = image.crop(eye.x, eye.y, eye.width, eye.height)
    red, others = patch[0], (patch[1] + patch[2]) / 2
    mask = (red > others * REDNESS) & (red > MIN_RED)
    fixed = (
        mask.ifthenelse(others, red)
        .cast("uchar")
        .bandjoin(patch.extract_band(1, n=patch.bands - 1))
    )
    return image.insert(fixed.copy(interpretation=image.interpretation), eye.x, eye.y)
