"""execute(plan, data) -> Rendered: the ordered steps over one context, then the encoder."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pyvips

from imgproxy import metrics
from imgproxy.errors import UndecodableImage
from imgproxy.params.plan import Plan
from imgproxy.pipeline import adjust, animation, compose, filters, geometry, redeye, smartcrop
from imgproxy.pipeline.context import Context, Rendered, RenderOptions
from imgproxy.pipeline.encode import MEDIA_TYPES, choose_format, encode
from imgproxy.pipeline.geometry import check_output_side
from imgproxy.pipeline.load import load, vips_reason
from imgproxy.pipeline.meta import describe
from imgproxy.pipeline.recognize import recognize

Step = Callable[[Context], None]

STEPS: tuple[Step, ...] = (
    geometry.trim,
    smartcrop.face_crop,
    geometry.resize,
    geometry.crop_region,
    geometry.rotate,
    geometry.flip,
    adjust.auto_level,
    adjust.tone,
    adjust.blur,
    adjust.sharpen,
    filters.apply,
    redeye.redeye,
    geometry.pad,
    geometry.flatten,
    compose.layers,
    compose.mark,
)
# The render's stages as the metrics name them: load, each step, then the encoder.
STAGES = (
    "load",
    *(f"{step.__module__.rpartition('.')[2]}.{step.__name__}" for step in STEPS),
    "encode",
)
LOAD, RESIZE, ENCODE = 0, STEPS.index(geometry.resize) + 1, len(STAGES) - 1


def _run_steps(ctx: Context, spent: list[float]) -> None:
    """The steps in order; each one's seconds are added to `spent` (one clock read per step)."""
    clock = time.perf_counter
    before = clock()
    for index, step in enumerate(STEPS, start=1):
        step(ctx)
        after = clock()
        spent[index] += after - before
        before = after


def _each_frame(ctx: Context, spent: list[float]) -> pyvips.Image:
    """Every step on every frame, so that frames keep one size and their delays; the frames'
    contexts share one Measurements, so statistics come from the first frame."""
    started = time.perf_counter()
    assert ctx.info is not None
    strip, opaque = animation.decoded(ctx.image, ctx.data, ctx.info.format)
    resizing = time.perf_counter()
    strip = geometry.resize_frames(ctx, strip, weighted=not opaque)
    if opaque and strip.hasalpha():
        strip = animation.without_alpha(strip)
    spent[LOAD] += resizing - started
    spent[RESIZE] += time.perf_counter() - resizing
    frames = animation.split(strip, ctx.frames)
    done = []
    for frame in frames:
        frame_ctx = replace(ctx, image=frame)
        _run_steps(frame_ctx, spent)
        done.append(frame_ctx.image)
    if all(after is before for after, before in zip(done, frames, strict=True)):
        # No step changed a frame: the strip is the frames joined, without a pass that joins
        # them (5-7 ms for the benchmark's 20 frames at 320 px).
        return animation.framed(strip, ctx.frames, ctx.image)
    return animation.join(done, ctx.image)


def _json_answer(ctx: Context, original: pyvips.Image, image: bytes | None) -> dict[str, Any]:
    """meta=true's description, recognition's findings, or both in one object."""
    meta = ctx.plan.meta
    answer = describe(ctx, original, image) if meta.enabled else {}
    if meta.recognition is not None:
        answer.update(recognize(ctx.image, meta.recognition))
    return answer


@contextmanager
def _undecodable() -> Iterator[None]:
    """libvips decodes lazily, so a damaged original may fail in any step, not only at load."""
    try:
        yield
    except pyvips.Error as exc:
        raise UndecodableImage(f"the original could not be decoded ({vips_reason(exc)})") from None


def _render(ctx: Context, spent: list[float]) -> tuple[str, bytes, float]:
    """The steps, the output limit, then the encoder or the JSON answer: the format, the body
    and when encoding started. The seconds of loading and of each step go to `spent`."""
    started = time.perf_counter()
    load(ctx)
    spent[LOAD] = time.perf_counter() - started
    original = ctx.image
    if ctx.frames > 1:
        ctx.image = _each_frame(ctx, spent)
    else:
        _run_steps(ctx, spent)
    check_output_side(ctx, ctx.image.width, ctx.image.height // ctx.frames, None)
    fmt = choose_format(ctx)
    encode_started = time.perf_counter()
    meta = ctx.plan.meta
    body = encode(ctx, fmt) if not meta.answers_json or meta.include_image_data else None
    if meta.answers_json:
        return "json", json.dumps(_json_answer(ctx, original, body)).encode(), encode_started
    assert body is not None
    return fmt, body, encode_started


def execute(
    plan: Plan,
    data: bytes,
    options: RenderOptions | None = None,
    sources: Mapping[str, bytes] | None = None,
) -> Rendered:
    """Render `data` as `plan` says. libvips runs the whole graph when the encoder pulls pixels.

    `sources` holds the fetched layer and watermark images by URL.
    """
    ctx = Context(plan=plan, data=data, options=options or RenderOptions(), sources=sources or {})
    spent = [0.0] * len(STAGES)
    started = time.perf_counter()
    with _undecodable():
        fmt, body, encode_started = _render(ctx, spent)
    done = time.perf_counter()
    spent[ENCODE] = done - encode_started
    metrics.render_timed(STAGES, spent, done - started)
    assert ctx.info is not None
    return Rendered(
        body=body,
        format=fmt,
        media_type="application/json" if fmt == "json" else MEDIA_TYPES[fmt],
        width=ctx.image.width,
        height=ctx.image.height // ctx.frames,
        source=ctx.info,
        quality=ctx.quality,
        timings={"render": (done - started) * 1000, "encode": (done - encode_started) * 1000},
    )
