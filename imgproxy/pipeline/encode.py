"""Encode: choose the output format, then save with quality, interlace and metadata rules."""

from __future__ import annotations

from collections.abc import Callable

import pyvips

from imgproxy.pipeline import webp
from imgproxy.pipeline.context import Context, RenderOptions
from imgproxy.pipeline.ink import solid
from imgproxy.pipeline.quality import search

MEDIA_TYPES = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
    "avif": "image/avif",
    "mp4": "video/mp4",
}
PNG_COMPRESSION = 6
WEBP_EFFORT = 4
AVIF_EFFORT = 2
NO_METADATA = pyvips.enums.ForeignKeep.NONE

Saver = Callable[[pyvips.Image, int, bool, int], bytes]


def choose_format(ctx: Context) -> str:
    wanted = ctx.plan.output.format
    image = ctx.image
    animated = ctx.frames > 1
    if wanted == "auto":
        longest = max(image.width, image.height // ctx.frames)
        return negotiate(ctx.options, image.hasalpha(), longest, animated)
    # mp4 is for moving images; a still one keeps its own format.
    if wanted is not None and (wanted != "mp4" or animated):
        return wanted
    source = ctx.info.format if ctx.info else ""
    if source in MEDIA_TYPES:
        return source
    return "png" if image.hasalpha() else "jpeg"


def negotiate(options: RenderOptions, has_alpha: bool, longest_side: int, animated: bool) -> str:
    """format=auto: AVIF for small enough stills, then WebP, then GIF, PNG or JPEG."""
    small = longest_side <= options.avif_max_side
    if "avif" in options.accepts and options.auto_avif and small and not animated:
        return "avif"
    if "webp" in options.accepts:
        return "webp"
    if animated:
        return "gif"
    return "png" if has_alpha else "jpeg"


def encode(ctx: Context, fmt: str) -> bytes:
    out = ctx.plan.output
    image = ctx.image
    # FFmpeg (PyAV) is imported on the first video: 15 MB that a process rendering only images
    # never loads.
    if fmt == "mp4":
        from imgproxy.pipeline.video import mp4

        return mp4(image)
    if fmt == "gif" and ctx.frames > 1:
        from imgproxy.pipeline.gif import encoded_gif

        return encoded_gif(image, ctx.frames)
    if fmt == "jpeg" and image.hasalpha():
        image = image.flatten(background=solid(image, ctx.plan.geometry.pad_color)).cast("uchar")
    keep = pyvips.enums.ForeignKeep.ICC if out.strip_exif else pyvips.enums.ForeignKeep.ALL
    if out.auto is not None and fmt in SEARCH_PASSES:
        # Every pass re-reads the pixels: render them once.
        image = image.copy_memory()
        trial = SEARCH_PASSES[fmt]
        ctx.quality = search(image, out.auto, lambda quality: trial(image, quality), ctx.frames)
        return SEARCH_FINALS[fmt](image, ctx.quality, out.interlace, keep)
    quality = out.quality or (ctx.info.quality if ctx.info else None) or ctx.options.default_quality
    return SAVERS[fmt](image, quality, out.interlace, keep)


def _jpeg(image: pyvips.Image, quality: int, interlace: bool, keep: int) -> bytes:
    return image.jpegsave_buffer(Q=quality, interlace=interlace, optimize_coding=True, keep=keep)


def _png(image: pyvips.Image, quality: int, interlace: bool, keep: int) -> bytes:
    return image.pngsave_buffer(compression=PNG_COMPRESSION, interlace=interlace, keep=keep)


def _webp(image: pyvips.Image, quality: int, interlace: bool, keep: int) -> bytes:
    if webp.handles(image):
        return webp.encode_still(image, quality, WEBP_EFFORT, keep)
    return image.webpsave_buffer(Q=quality, effort=WEBP_EFFORT, keep=keep)


def _gif(image: pyvips.Image, quality: int, interlace: bool, keep: int) -> bytes:
    return image.gifsave_buffer(keep=keep)


def _avif(image: pyvips.Image, quality: int, interlace: bool, keep: int) -> bytes:
    return image.heifsave_buffer(Q=quality, compression="av1", effort=AVIF_EFFORT, keep=keep)


def _jpeg_trial(image: pyvips.Image, quality: int) -> bytes:
    # One chroma subsampling for every pass and the final save, so that only quality varies.
    return image.jpegsave_buffer(Q=quality, subsample_mode="on", keep=NO_METADATA)


def _jpeg_final(image: pyvips.Image, quality: int, interlace: bool, keep: int) -> bytes:
    return image.jpegsave_buffer(
        Q=quality, subsample_mode="on", optimize_coding=True, interlace=interlace, keep=keep
    )


def _webp_trial(image: pyvips.Image, quality: int) -> bytes:
    # The final save's effort: effort changes WebP's pixels, and the file scored is the one sent.
    return _webp(image, quality, False, NO_METADATA)


SEARCH_PASSES: dict[str, Callable[[pyvips.Image, int], bytes]] = {
    "jpeg": _jpeg_trial,
    "webp": _webp_trial,
}
SEARCH_FINALS: dict[str, Saver] = {"jpeg": _jpeg_final, "webp": _webp}

SAVERS: dict[str, Saver] = {
    "jpeg": _jpeg,
    "png": _png,
    "webp": _webp,
    "gif": _gif,
    "avif": _avif,
}
