"""Adjustments: auto_level in RGB, a tonal block in CIELAB, then blur and sharpening."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable

import pyvips

from imgproxy.params.colors import RGBA
from imgproxy.params.plan import Adjust
from imgproxy.pipeline import tonal
from imgproxy.pipeline.colour import Lab, clamp, from_lab, lab_of, on_colour, to_lab
from imgproxy.pipeline.context import Context, Measurements
from imgproxy.pipeline.tonal import Sharpening

LEVEL_PERCENTILES = (0.5, 99.5)
VIVID_CHROMA = 80.0
REGION_SHIFT = 35.0
FILL_SHIFT = 45.0
WARMTH_A, WARMTH_B = 4.0, 24.0
BLUR_SIGMA_PER_UNIT = 0.2
# Below this sigma a Gaussian mask is a single tap: even blur=1 must soften.
BLUR_MIN_SIGMA = 0.3
SHARP_SIGMA_PER_UNIT = 0.1
SHARP_SLOPE_PER_UNIT = 0.1

LabOp = Callable[[Lab, float], Lab]
# LabS, libvips' 16-bit CIELAB, codes lightness 0-100 as 0-32767.
LABS_L_MAX = 32767
LIGHTNESS_TABLES_KEPT = 16


def auto_level(ctx: Context) -> None:
    if ctx.plan.adjust.auto_level:
        ctx.image = on_colour(
            ctx.image.copy_memory(), lambda rgb: stretch_channels(rgb, _levels(ctx, rgb))
        )


def _levels(ctx: Context, rgb: pyvips.Image) -> tuple[tuple[float, float], ...]:
    """Each band's percentiles, measured on the first frame so that frames do not flicker."""
    if ctx.measured.levels is None:
        ctx.measured.levels = tuple(
            (rgb[index].percent(LEVEL_PERCENTILES[0]), rgb[index].percent(LEVEL_PERCENTILES[1]))
            for index in range(rgb.bands)
        )
    return ctx.measured.levels


def stretch_channels(rgb: pyvips.Image, levels: tuple[tuple[float, float], ...]) -> pyvips.Image:
    bands = []
    for index, (lo, hi) in enumerate(levels):
        band = rgb[index]
        bands.append(band if hi <= lo else (band - lo) * (255.0 / (hi - lo)))
    return bands[0].bandjoin(bands[1:])


def tone(ctx: Context) -> None:
    a = ctx.plan.adjust
    steps = list(tone_steps(a))
    if a.auto_fix:
        steps.insert(0, (auto_fix_with(ctx.measured), 1.0))
        ctx.image = ctx.image.copy_memory()
    if steps:
        then = _unsharp_mask(a) if sharpened_with_tone(a) else None
        ctx.image = on_colour(ctx.image, lambda rgb: in_lab(rgb, steps, then))


def in_lab(
    rgb: pyvips.Image,
    steps: Iterable[tuple[LabOp, float]],
    then: Sharpening | None = None,
) -> pyvips.Image:
    """`steps` on CIELAB values of `rgb`, `then` on their result, still in CIELAB."""
    steps = list(steps)
    if all(op in LIGHTNESS_OPS for op, _ in steps):
        return _lightness_mapped(rgb, steps, then)
    lab = to_lab(rgb)
    for op, value in steps:
        lab = op(lab, value)
    return from_lab(lab, then)


def _lightness_mapped(
    rgb: pyvips.Image, steps: list[tuple[LabOp, float]], then: Sharpening | None
) -> pyvips.Image:
    """Steps that change lightness alone, as one table lookup on libvips' 16-bit CIELAB (LabS),
    where libvips' sharpen works too: one pass, where float lightness took two to six
    operations a step, and the bands are never split and joined again. 8-bit sRGB goes through
    `tonal` in one pass over memory."""
    if tonal.fits(rgb):
        return tonal.toned(rgb, _lightness_codes(tuple(steps)), then)
    labs = rgb.colourspace("labs")
    # Read as unsigned, a and b keep their bits through the table's identity bands.
    mapped = labs.copy(format="ushort").maplut(_lightness_table(tuple(steps)))
    mapped = mapped.copy(format="short", interpretation="labs")
    return (then(mapped) if then else mapped).colourspace("srgb")


@functools.lru_cache(maxsize=LIGHTNESS_TABLES_KEPT)
def _lightness_table(steps: tuple[tuple[LabOp, float], ...]) -> pyvips.Image:
    """A table of every 16-bit code: the lightness `steps` give, in LabS codes, for band 0;
    the code itself for bands 1 and 2. Making one takes about 3 ms, so the last few are kept
    (384 KiB each): a site's URLs repeat the same adjustments."""
    codes = pyvips.Image.identity(ushort=True)
    curve = Lab(codes * (100 / LABS_L_MAX), codes, codes)
    for op, value in steps:
        curve = op(curve, value)
    lightness = (curve.L * (LABS_L_MAX / 100)).rint().cast("ushort")
    return lightness.bandjoin([codes, codes]).copy_memory()


@functools.lru_cache(maxsize=LIGHTNESS_TABLES_KEPT)
def _lightness_codes(steps: tuple[tuple[LabOp, float], ...]) -> bytes:
    """Band 0 of `_lightness_table`: the 65,536 lightness codes, 16 bits each."""
    return _lightness_table(steps)[0].write_to_memory()


def sharpened_with_tone(a: Adjust) -> bool:
    """Sharpening right after the tonal block (no blur between) runs on its CIELAB result: one
    round trip through sRGB fewer, and no rounding to 8 bits between the two."""
    return bool(a.sharp_amount) and not a.blur and (a.auto_fix or any(tone_steps(a)))


def tone_steps(a: Adjust) -> Iterable[tuple[LabOp, float]]:
    """The CIELAB operations in force after auto_fix, in the documented order."""
    for op, value in (
        (brightness, a.brightness),
        (contrast, a.contrast),
        (gamma, a.gamma),
        (saturation, a.saturation),
        (vibrance, a.vibrance),
        (warmth, a.warmth),
        (highlights, a.highlights),
        (shadow, a.shadow),
        (fill_flash, a.fill_flash),
    ):
        if value:
            yield op, value
    if a.colorize is not None:
        yield colorize_with(a.colorize), a.colorize_intensity / 100


def with_lightness(lab: Lab, lightness: pyvips.Image) -> Lab:
    return Lab(clamp(lightness, 0, 100), lab.a, lab.b)


def auto_fix_with(measured: Measurements) -> LabOp:
    """auto_fix with the lightness curve of the first frame it sees, so that frames match."""

    def auto_fix(lab: Lab, _: float) -> Lab:
        if measured.lightness is None:
            measured.lightness = lightness_curve(lab.L)
        lo, hi, exponent = measured.lightness
        stretched = clamp((lab.L - lo) * (100 / (hi - lo)), 0, 100) if hi > lo else lab.L
        return with_lightness(lab, (stretched / 100) ** exponent * 100)

    return auto_fix


def lightness_curve(lightness: pyvips.Image) -> tuple[float, float, float]:
    """L's 1st and 99th percentiles, and the exponent that moves the stretched mean towards 50."""
    scaled = (lightness * 100).cast("ushort")
    lo, hi = scaled.percent(1) / 100, scaled.percent(99) / 100
    stretched = clamp((lightness - lo) * (100 / (hi - lo)), 0, 100) if hi > lo else lightness
    mean = min(max(stretched.avg() / 100, 0.05), 0.95)
    return lo, hi, min(max(math.log(0.5) / math.log(mean), 0.7), 1.4)


def brightness(lab: Lab, value: float) -> Lab:
    return with_lightness(lab, lab.L + value * lab.L * (100 - lab.L) / 100)


def contrast(lab: Lab, value: float) -> Lab:
    return with_lightness(lab, (lab.L - 50) * 2**value + 50)


def gamma(lab: Lab, value: float) -> Lab:
    return with_lightness(lab, (lab.L / 100) ** (2**-value) * 100)


def saturation(lab: Lab, value: float) -> Lab:
    return Lab(lab.L, lab.a * (1 + value), lab.b * (1 + value))


def vibrance(lab: Lab, value: float) -> Lab:
    chroma = (lab.a**2 + lab.b**2) ** 0.5
    factor = 1 + value * (1 - clamp(chroma / VIVID_CHROMA, 0, 1))
    return Lab(lab.L, lab.a * factor, lab.b * factor)


def warmth(lab: Lab, value: float) -> Lab:
    return Lab(lab.L, lab.a + WARMTH_A * value, lab.b + WARMTH_B * value)


def highlights(lab: Lab, value: float) -> Lab:
    weight = clamp((lab.L - 50) / 50, 0, 1) ** 2
    return with_lightness(lab, lab.L + value * REGION_SHIFT * weight)


def shadow(lab: Lab, value: float) -> Lab:
    weight = clamp((50 - lab.L) / 50, 0, 1) ** 2
    return with_lightness(lab, lab.L + value * REGION_SHIFT * weight)


def fill_flash(lab: Lab, value: float) -> Lab:
    weight = (1 - lab.L / 100) ** 2
    return with_lightness(lab, lab.L + value * FILL_SHIFT * weight)


# The steps whose result depends on lightness alone and changes nothing else.
LIGHTNESS_OPS: frozenset[LabOp] = frozenset(
    {brightness, contrast, gamma, highlights, shadow, fill_flash}
)


def colorize_with(color: RGBA) -> LabOp:
    """Move a and b towards the colour's by `strength` (0-1); lightness stays."""
    _, target_a, target_b = lab_of(color)

    def colorize(lab: Lab, strength: float) -> Lab:
        return Lab(
            lab.L,
            lab.a * (1 - strength) + target_a * strength,
            lab.b * (1 - strength) + target_b * strength,
        )

    return colorize


def blur(ctx: Context) -> None:
    amount = ctx.plan.adjust.blur
    if amount:
        sigma = BLUR_MIN_SIGMA + amount * BLUR_SIGMA_PER_UNIT
        ctx.image = on_colour(
            ctx.image, lambda rgb: rgb.gaussblur(sigma, min_ampl=0.1), may_tone=False
        )


def sharpen(ctx: Context) -> None:
    a = ctx.plan.adjust
    if a.sharp_amount and not sharpened_with_tone(a):
        sharpening = _unsharp_mask(a)
        ctx.image = on_colour(ctx.image, lambda rgb: _sharpened(rgb, sharpening))


def _sharpened(rgb: pyvips.Image, sharpening: Sharpening) -> pyvips.Image:
    return tonal.toned(rgb, None, sharpening) if tonal.fits(rgb) else sharpening(rgb)


def _unsharp_mask(a: Adjust) -> Sharpening:
    """An unsharp mask on CIELAB lightness, whatever the image's space."""
    slope = a.sharp_amount * SHARP_SLOPE_PER_UNIT
    return Sharpening(a.sharp_radius * SHARP_SIGMA_PER_UNIT, slope / 4, slope)
