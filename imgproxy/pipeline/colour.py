"""Working on the colour of an image: alpha set aside, CIELAB bands, clamping, vignettes."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import pyvips

from imgproxy.params.colors import RGBA
from imgproxy.pipeline import tonal

ImageOp = Callable[[pyvips.Image], pyvips.Image]


class Lab(NamedTuple):
    """CIELAB as three float bands: L 0-100, a and b about -128 to 127."""

    L: pyvips.Image
    a: pyvips.Image
    b: pyvips.Image


def on_colour(image: pyvips.Image, fn: ImageOp, *, may_tone: bool = True) -> pyvips.Image:
    """Apply `fn` to the sRGB colour bands of `image`; alpha is kept as it was.

    Where `fn` may go through `tonal`, an image with alpha whose colour `tonal` may take is held
    in memory first: `tonal` reads the colour whole, and a sequential original cannot be read a
    second time for the alpha. Steps made of libvips' own operations alone (`may_tone=False`)
    read both as one stream and need no copy."""
    if may_tone and image.hasalpha() and tonal.holds(image.width, image.height):
        image = image.copy_memory()
    alpha = image[image.bands - 1] if image.hasalpha() else None
    colour = image.extract_band(0, n=image.bands - 1) if alpha is not None else image
    if colour.bands < 3:
        colour = colour.colourspace("srgb")
    result = to_uchar(fn(colour.copy(interpretation="srgb")))
    return result.bandjoin(alpha) if alpha is not None else result


def to_uchar(image: pyvips.Image) -> pyvips.Image:
    """`image` as 8-bit sRGB: rounded and clamped, unless it is 8-bit already, which a clamp
    would only pass over in full for nothing."""
    if image.format in ("float", "double"):
        image = image.rint()
    if image.format != "uchar":
        image = clamp(image, 0, 255).cast("uchar")
    return image.copy(interpretation="srgb")


def clamp(image: pyvips.Image, lo: float, hi: float) -> pyvips.Image:
    return image.clamp(min=lo, max=hi)


def to_lab(rgb: pyvips.Image) -> Lab:
    lab = rgb.colourspace("lab")
    return Lab(lab[0], lab[1], lab[2])


def from_lab(lab: Lab, then: ImageOp | None = None) -> pyvips.Image:
    """`lab` as one sRGB image, after `then` on its CIELAB form."""
    joined = lab.L.bandjoin([lab.a, lab.b]).copy(interpretation="lab")
    return (then(joined) if then else joined).colourspace("srgb")


def lab_of(color: RGBA) -> tuple[float, float, float]:
    r, g, b, _ = color
    pixel = (pyvips.Image.black(1, 1, bands=3) + [r, g, b]).cast("uchar")
    lightness, a, b_ = pixel.copy(interpretation="srgb").colourspace("lab")(0, 0)
    return lightness, a, b_


def luma(rgb: pyvips.Image) -> pyvips.Image:
    """Rec. 709 luma of gamma-encoded sRGB, one float band."""
    return rgb.recomb([[0.2126, 0.7152, 0.0722]])


def grey3(band: pyvips.Image) -> pyvips.Image:
    return band.bandjoin([band, band])


def vignette(rgb: pyvips.Image, strength: float) -> pyvips.Image:
    """Darken towards the corners: 1 - strength at the corners, 1 in the middle."""
    half_w, half_h = rgb.width / 2, rgb.height / 2
    xy = pyvips.Image.xyz(rgb.width, rgb.height)
    distance = ((xy[0] - half_w) / half_w) ** 2 + ((xy[1] - half_h) / half_h) ** 2
    return rgb * (1 - strength * clamp(distance / 2, 0, 1))
