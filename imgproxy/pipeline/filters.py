"""The 20 filters: each a recipe over an sRGB image, built from libvips operations."""

from __future__ import annotations

from collections.abc import Callable

import pyvips

from imgproxy.pipeline import adjust
from imgproxy.pipeline.colour import clamp, from_lab, grey3, luma, on_colour, to_lab, vignette
from imgproxy.pipeline.context import Context

Recipe = Callable[[pyvips.Image], pyvips.Image]

SEPIA = [[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]]
EMBOSS = [[-2, -1, 0], [-1, 0, 1], [0, 1, 2]]
MEAN_REMOVAL = [[-1, -1, -1], [-1, 9, -1], [-1, -1, -1]]
SMOOTH = [[1, 1, 1], [1, 8, 1], [1, 1, 1]]
ORANGE = (255, 144, 0, 255)
PINK = (255, 60, 120, 255)
HAZE = (200, 220, 255, 255)
AMBER = (255, 170, 60, 255)


def apply(ctx: Context) -> None:
    name = ctx.plan.adjust.filter
    if name is not None:
        ctx.image = on_colour(ctx.image, RECIPES[name])


def grayscale(rgb: pyvips.Image) -> pyvips.Image:
    return grey3(luma(rgb))


def sepia(rgb: pyvips.Image) -> pyvips.Image:
    return rgb.recomb(SEPIA)


def negate(rgb: pyvips.Image) -> pyvips.Image:
    return 255 - rgb


def bw(rgb: pyvips.Image) -> pyvips.Image:
    return grey3((luma(rgb) > 127).ifthenelse(255, 0))


def edgedetect(rgb: pyvips.Image) -> pyvips.Image:
    return grey3(luma(rgb).cast("uchar").sobel())


def emboss(rgb: pyvips.Image) -> pyvips.Image:
    kernel = pyvips.Image.new_from_list(EMBOSS)
    return grey3(luma(rgb).conv(kernel, precision="float") + 128)


def blurgaussian(rgb: pyvips.Image) -> pyvips.Image:
    return rgb.gaussblur(2.0, min_ampl=0.1)


def blurselective(rgb: pyvips.Image) -> pyvips.Image:
    """Blur flat areas only; pixels on edges keep their detail."""
    edges = luma(rgb).cast("uchar").sobel() > 40
    return edges.ifthenelse(rgb, rgb.gaussblur(3.0, min_ampl=0.1))


def meanremoval(rgb: pyvips.Image) -> pyvips.Image:
    return rgb.conv(pyvips.Image.new_from_list(MEAN_REMOVAL), precision="float")


def smooth(rgb: pyvips.Image) -> pyvips.Image:
    return rgb.conv(pyvips.Image.new_from_list(SMOOTH, scale=16), precision="float")


def vintage(rgb: pyvips.Image) -> pyvips.Image:
    toned = adjust.in_lab(
        rgb, [(adjust.saturation, -0.4), (adjust.warmth, 0.5), (adjust.contrast, -0.25)]
    )
    return vignette(clamp(toned, 0, 255) * 0.9 + 20, 0.3)


def lomo(rgb: pyvips.Image) -> pyvips.Image:
    toned = adjust.in_lab(rgb, [(adjust.contrast, 0.6), (adjust.saturation, 0.4)])
    return vignette(toned, 0.6)


def clarity(rgb: pyvips.Image) -> pyvips.Image:
    """Local contrast: lightness minus a wide blur of itself, added back."""
    lab = to_lab(rgb)
    sigma = max(2.0, min(rgb.width, rgb.height) / 50)
    detail = lab.L - lab.L.gaussblur(sigma, min_ampl=0.1)
    boosted = adjust.with_lightness(lab, lab.L + detail * 0.8)
    return adjust.in_lab(from_lab(boosted), [(adjust.vibrance, 0.2)])


def sincity(rgb: pyvips.Image) -> pyvips.Image:
    """High-contrast black and white where only strong reds keep their colour."""
    lab = to_lab(rgb)
    red = (lab.a > 30) & (lab.b < lab.a * 1.2) & (lab.b > lab.a * -0.6)
    grey = adjust.in_lab(grayscale(rgb), [(adjust.contrast, 0.6)])
    return red.ifthenelse(rgb, grey)


def sunrise(rgb: pyvips.Image) -> pyvips.Image:
    toned = adjust.in_lab(
        rgb,
        [
            (adjust.warmth, 0.8),
            (adjust.colorize_with(ORANGE), 0.15),
            (adjust.brightness, 0.15),
        ],
    )
    return vignette(toned, 0.2)


def crossprocess(rgb: pyvips.Image) -> pyvips.Image:
    """Per-channel curves: contrasty red and green, blue squeezed into 40-215 (a yellow cast)."""
    x = rgb / 255
    s_curve = (x * x * (3 - 2 * x)) * 255
    red, green = s_curve[0], (x[1] * 0.8 + s_curve[1] / 255 * 0.2) * 255
    blue = x[2] * 175 + 40
    return red.bandjoin([green, blue])


def orangepeel(rgb: pyvips.Image) -> pyvips.Image:
    return adjust.in_lab(
        rgb,
        [(adjust.colorize_with(ORANGE), 0.3), (adjust.saturation, 0.3), (adjust.contrast, 0.3)],
    )


def love(rgb: pyvips.Image) -> pyvips.Image:
    return adjust.in_lab(rgb, [(adjust.colorize_with(PINK), 0.25), (adjust.brightness, 0.15)])


def hazydays(rgb: pyvips.Image) -> pyvips.Image:
    return adjust.in_lab(
        rgb,
        [
            (adjust.contrast, -0.4),
            (adjust.fill_flash, 0.5),
            (adjust.colorize_with(HAZE), 0.15),
            (adjust.saturation, -0.2),
        ],
    )


def nostalgia(rgb: pyvips.Image) -> pyvips.Image:
    faded = adjust.in_lab(sepia(rgb) * 0.5 + rgb * 0.5, [(adjust.saturation, -0.3)])
    return vignette(adjust.in_lab(faded, [(adjust.colorize_with(AMBER), 0.1)]), 0.4)


RECIPES: dict[str, Recipe] = {
    "grayscale": grayscale,
    "sepia": sepia,
    "negate": negate,
    "bw": bw,
    "edgedetect": edgedetect,
    "emboss": emboss,
    "blurgaussian": blurgaussian,
    "blurselective": blurselective,
    "meanremoval": meanremoval,
    "smooth": smooth,
    "vintage": vintage,
    "lomo": lomo,
    "clarity": clarity,
    "sincity": sincity,
    "sunrise": sunrise,
    "crossprocess": crossprocess,
    "orangepeel": orangepeel,
    "love": love,
    "hazydays": hazydays,
    "nostalgia": nostalgia,
}
