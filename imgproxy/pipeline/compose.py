"""Overlays: image and text layers, then the watermark, composited over the image."""

from __future__ import annotations

import html

import pyvips

from imgproxy.errors import ImgproxyError, InvalidParameter
from imgproxy.params.colors import RGBA
from imgproxy.params.plan import Layer, OverlaySource
from imgproxy.pipeline.context import Context
from imgproxy.pipeline.fonts import resolve
from imgproxy.pipeline.load import load_overlay, vips_reason
from imgproxy.pipeline.resample import fit_inside


def layers(ctx: Context) -> None:
    for index, layer in enumerate(ctx.plan.overlays.layers):
        overlay = _layer_image(ctx, index, layer)
        if overlay is None:
            continue
        left, top = place(
            (ctx.image.width, ctx.image.height),
            (overlay.width, overlay.height),
            layer.pos,
            (layer.offset, layer.offset),
        )
        left = layer.x if layer.x is not None else left
        top = layer.y if layer.y is not None else top
        ctx.image = composite(ctx.image, overlay, left, top, layer.alpha)


def mark(ctx: Context) -> None:
    spec = ctx.plan.overlays.mark
    if spec is None:
        return
    width, height = ctx.image.width, ctx.image.height
    side = max(1, round(min(width, height) * spec.scale / 100)) if spec.scale else None
    source = OverlaySource("mark", "mark", spec.url, spec.required)
    overlay = _decoded(ctx, source, (side, side) if side else None)
    if overlay is None:
        return
    if side is not None:
        overlay = fit_inside(overlay, side, side, upscale=spec.upscale)
    offsets = (round(width * spec.offset / 100), round(height * spec.offset / 100))
    left, top = place((width, height), (overlay.width, overlay.height), spec.pos, offsets)
    ctx.image = composite(ctx.image, overlay, left, top, spec.alpha)


def _layer_image(ctx: Context, index: int, layer: Layer) -> pyvips.Image | None:
    scale = (layer.scale if layer.scale is not None else 100) / 100
    box = (max(1, round(ctx.image.width * scale)), max(1, round(ctx.image.height * scale)))
    if layer.text is not None:
        overlay = _text_layer(index, layer)
        return overlay if layer.scale is None else fit_inside(overlay, *box, upscale=layer.upscale)
    assert layer.url is not None
    source = OverlaySource("layers", f"layers item {index}", layer.url, layer.required)
    overlay = _decoded(ctx, source, box)
    return None if overlay is None else fit_inside(overlay, *box, upscale=layer.upscale)


def _text_layer(index: int, layer: Layer) -> pyvips.Image:
    assert layer.text is not None
    try:
        return text_image(layer.text, layer.font, layer.color)
    except pyvips.Error as exc:
        # cairo refuses surfaces over 32767 px a side.
        raise InvalidParameter(
            f"layers item {index}: the text is too large to draw ({vips_reason(exc)})",
            param="layers",
        ) from None


def _decoded(
    ctx: Context, source: OverlaySource, box: tuple[int, int] | None
) -> pyvips.Image | None:
    """The fetched overlay as sRGB with alpha, decoded no larger than `box`; None when it is
    missing or refused and not required."""
    data = ctx.sources.get(source.url)
    if data is None:
        return None
    try:
        image = load_overlay(data, box, ctx.options.max_src_pixels)
    except ImgproxyError as exc:
        if source.required:
            message = f"{source.label}: {source.url}: {exc.message}"
            raise type(exc)(message, param=source.param) from None
        return None
    return with_alpha(image)


def with_alpha(image: pyvips.Image) -> pyvips.Image:
    if image.bands < 3:
        image = image.colourspace("srgb")
    if not image.hasalpha():
        image = image.bandjoin_const([255])
    return image.copy(interpretation="srgb")


def text_image(text: str, font: str, color: RGBA) -> pyvips.Image:
    """The text in `color` on transparency, at the requested font size."""
    mask = pyvips.Image.text(html.escape(text), font=resolve(font).pango, dpi=72)
    r, g, b, a = color
    paint = (mask.new_from_image([r, g, b])).cast("uchar")
    return paint.bandjoin((mask * (a / 255)).cast("uchar")).copy(interpretation="srgb")


def place(
    base: tuple[int, int], size: tuple[int, int], pos: tuple[str, ...], offset: tuple[int, int]
) -> tuple[int, int]:
    """Top-left corner for `size` at `pos` of `base`, `offset` pixels in from the named edges."""
    (base_w, base_h), (width, height), (dx, dy) = base, size, offset
    left, top = (base_w - width) // 2, (base_h - height) // 2
    if "left" in pos:
        left = dx
    elif "right" in pos:
        left = base_w - width - dx
    if "top" in pos:
        top = dy
    elif "bottom" in pos:
        top = base_h - height - dy
    return left, top


def composite(
    base: pyvips.Image, overlay: pyvips.Image, left: int, top: int, alpha: float
) -> pyvips.Image:
    if alpha < 100:
        colour, opacity = overlay.extract_band(0, n=3), overlay[3] * (alpha / 100)
        overlay = colour.bandjoin(opacity.cast("uchar")).copy(interpretation="srgb")
    opaque = not base.hasalpha()
    ready = base if base.bands >= 3 else base.colourspace("srgb")
    result = ready.copy(interpretation="srgb").composite2(overlay, "over", x=left, y=top)
    return result.extract_band(0, n=3) if opaque else result
