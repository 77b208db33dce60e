"""Load: sniff and measure from the header, enforce limits, shrink on load, autorotate."""

from __future__ import annotations

import re
from typing import Any

import pyvips

from imgproxy.errors import SourceTooLarge, UndecodableImage
from imgproxy.pipeline import gifload, jpegload
from imgproxy.pipeline.animation import frames_to_load
from imgproxy.pipeline.context import Context, SourceInfo
from imgproxy.pipeline.quality import estimate_jpeg_quality
from imgproxy.pipeline.sizing import RESAMPLE_HEADROOM, jpeg_shrink, output_scale

# Loaders libvips marks untrusted (SVG, PDF, ImageMagick, MATLAB, ...) parse formats too rich to
# expose to files from the internet.
pyvips.block_untrusted_set(True)
# What libvips may read from a request, by loader; it also trusts text formats such as its
# matrix files, which no image on the web is.
READABLE = frozenset({"jpeg", "png", "webp", "gif", "avif", "heif", "tiff"})
SVG_START = re.compile(
    rb"^(\xef\xbb\xbf)?\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*(<!DOCTYPE[^>]*>\s*)?<svg", re.S
)

# Orientations 5-8 turn the image a quarter: width and height swap.
SWAPPING_ORIENTATIONS = (5, 6, 7, 8)
# Display axes (x, y) that run against the stored ones once each orientation is applied: the
# stored top-left corner lands on the right, the bottom, or both.
REVERSED_AXES = {
    2: (True, False),
    3: (True, True),
    4: (False, True),
    6: (True, False),
    7: (True, True),
    8: (False, True),
}
# Orientations that a sequential (top to bottom) read cannot apply.
RANDOM_ACCESS_ORIENTATIONS = (3, 4, 5, 6, 7, 8)


def load(ctx: Context) -> None:
    header = open_image(ctx.data, access="sequential")
    info = read_info(header, ctx.data)
    ctx.info, ctx.header = info, header
    ctx.frames = frames_to_load(ctx.plan.output.format, info, ctx.options)
    _check_limits(info, ctx.options.max_src_pixels, ctx.frames)
    g = ctx.plan.geometry
    rotated = g.autorotate and info.orientation in SWAPPING_ORIENTATIONS
    width, height = (info.height, info.width) if rotated else (info.width, info.height)
    options = _load_options(ctx, info, width, height)
    ctx.shrink = options.get("shrink", 1)
    image = open_image(ctx.data, **options)
    if info.format == "jpeg" and ctx.frames == 1:
        size = (info.width, info.height)
        image = jpegload.decoded(ctx.data, image, size, ctx.shrink, options["access"])
    elif info.format == "gif" and ctx.frames == 1:
        image = gifload.first_frame(ctx.data, image)
    if info.orientation > 1:
        image = image.autorot() if g.autorotate else _without_orientation(image)
        if g.autorotate:
            ctx.reversed_axes = REVERSED_AXES.get(info.orientation, (False, False))
    ctx.image = ctx.loaded = to_web_colours(image)
    ctx.source_size = ctx.logical_size = (width, height)


def _without_orientation(image: pyvips.Image) -> pyvips.Image:
    # Left in, the tag would make browsers turn the stored pixels that autorotate=false asked for.
    image = image.copy()
    image.remove("orientation")
    return image


def sniff(data: bytes) -> SourceInfo:
    """What the bytes are, from their header alone."""
    return read_info(open_image(data, access="sequential"), data)


def load_overlay(data: bytes, box: tuple[int, int] | None, max_pixels: int) -> pyvips.Image:
    """A layer or watermark image under the original's checks, decoded no larger than `box`
    (its own size when None)."""
    info = sniff(data)
    _check_limits(info, max_pixels, 1)
    width, height = box or (max(info.width, info.height),) * 2
    try:
        image = pyvips.Image.thumbnail_buffer(
            data, width, height=height, size="down", option_string="fail_on=truncated"
        )
        return to_web_colours(image).copy_memory()
    except pyvips.Error as exc:
        raise UndecodableImage(f"the image cannot be decoded ({vips_reason(exc)})") from None


def open_image(data: bytes, **options: Any) -> pyvips.Image:
    if SVG_START.match(data[:4096]):
        raise UndecodableImage("SVG images are refused: scripts and external entities ride in them")
    try:
        # A source reads `data` where it lies; new_from_buffer would copy it first (0.2 ms for
        # 3 MB, twice per render). The render keeps `data` alive while libvips reads it.
        return pyvips.Image.new_from_source(pyvips.Source.new_from_memory(data), "", **options)
    except pyvips.Error as exc:
        raise UndecodableImage(
            f"the bytes are not an image we can read ({vips_reason(exc)})"
        ) from None


def read_info(header: pyvips.Image, data: bytes) -> SourceInfo:
    """What a source is, from its header; every source passes here before its pixels are read."""
    fmt = _format(header)
    if fmt not in READABLE:
        raise UndecodableImage(f"{fmt} files are not read here")
    return SourceInfo(
        format=fmt,
        width=header.width,
        height=header.height,
        pages=_int_field(header, "n-pages", 1),
        has_alpha=bool(header.hasalpha()),
        orientation=_int_field(header, "orientation", 1),
        size=len(data),
        quality=estimate_jpeg_quality(data) if fmt == "jpeg" else None,
    )


def _format(header: pyvips.Image) -> str:
    loader = str(header.get("vips-loader"))
    name = loader.removesuffix("_buffer").removesuffix("_source").removesuffix("load")
    if name == "heif" and _str_field(header, "heif-compression") == "av1":
        return "avif"
    return name


def _int_field(image: pyvips.Image, name: str, default: int) -> int:
    return int(image.get(name)) if image.get_typeof(name) else default


def _str_field(image: pyvips.Image, name: str) -> str:
    return str(image.get(name)) if image.get_typeof(name) else ""


def _check_limits(info: SourceInfo, max_pixels: int, frames: int) -> None:
    pixels = info.width * info.height * frames
    if pixels > max_pixels:
        raise SourceTooLarge(
            f"the image has {pixels} pixels ({info.width}x{info.height} x {frames} frames), "
            f"over the {max_pixels} pixel limit"
        )


def _load_options(ctx: Context, info: SourceInfo, width: int, height: int) -> dict[str, Any]:
    g = ctx.plan.geometry
    # Steps that read the image twice (to measure, then to cut) need random access.
    random = (
        g.trim_color is not None
        or g.rotate != 0
        or g.crop in ("face", "entropy")
        or ctx.plan.adjust.redeye
        or ctx.plan.meta.enabled
        or (g.autorotate and info.orientation in RANDOM_ACCESS_ORIENTATIONS)
    )
    # A cut-off original would otherwise render as a silently half-grey image.
    options: dict[str, Any] = {
        "access": "random" if random else "sequential",
        "fail_on": "truncated",
    }
    if ctx.frames > 1:
        return {**options, "n": ctx.frames}
    # Trim and crop=face alone cut first and scale the cut: they need the full-resolution image.
    if g.trim_color is not None or (g.crop == "face" and not (g.width and g.height)):
        return options
    scale = output_scale(width, height, g, ctx.options)
    if info.format == "jpeg":
        headroom = RESAMPLE_HEADROOM[ctx.options.shrink_on_load]
        shrink = jpeg_shrink(width, height, scale, headroom)
        if shrink > 1:
            options["shrink"] = shrink
    elif info.format == "webp":
        factor = max(scale.width / width, scale.height / height)
        if factor < 1:
            options["scale"] = factor
    return options


def to_web_colours(image: pyvips.Image) -> pyvips.Image:
    """8-bit sRGB or grey; CMYK and 16-bit sources are converted."""
    interpretation = image.interpretation
    if interpretation == "cmyk":
        image = image.colourspace("srgb")
        # The CMYK profile no longer describes the pixels.
        if image.get_typeof("icc-profile-data"):
            image = image.copy()
            image.remove("icc-profile-data")
    elif interpretation in ("grey16", "b-w") and image.bands <= 2:
        image = image.colourspace("b-w")
    elif interpretation != "srgb":
        image = image.colourspace("srgb")
    if image.format != "uchar":
        image = image.cast("uchar")
    return image


def vips_reason(exc: pyvips.Error) -> str:
    """The line of a libvips error worth showing to a client."""
    detail = (exc.detail or exc.message or "").strip().splitlines()
    return detail[0] if detail else "unknown format"
