"""The limit: each case's work done by hand with pyvips in this process, on the same bytes, with the
same encoder settings and as many threads as the server has render slots."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl

import numpy as np
import pyvips

from imgproxy.config import ServerSettings
from imgproxy.memory import keep_freed_memory, limit_malloc_arenas
from imgproxy.params.decode import DecodeOptions, decode
from imgproxy.pipeline import jpegload
from imgproxy.pipeline._labs import tone
from imgproxy.pipeline.animation import decoded, without_alpha
from imgproxy.pipeline.context import RenderOptions
from imgproxy.pipeline.detect import faces
from imgproxy.pipeline.encode import WEBP_EFFORT
from imgproxy.pipeline.gif import animated_gif
from imgproxy.pipeline.resample import Span, resample, resample_frames
from imgproxy.pipeline.run import execute
from imgproxy.pipeline.sizing import RESAMPLE_HEADROOM
from imgproxy.pipeline.tonal import Sharpening, sharpening_tables
from imgproxy.pipeline.webp import encode_still

RawFn = Callable[[bytes], bytes]


def shrunk_jpeg(data: bytes, width: int) -> pyvips.Image:
    """The largest DCT shrink that leaves twice `width` to resample, then Lanczos to `width`
    from the part of a pixel the shrink leaves at the edges, as imgproxy does."""
    header = pyvips.Image.new_from_buffer(data, "")
    return _resampled(header, *_dct_decoded(data, header, width), width)


def _dct_decoded(
    data: bytes, header: pyvips.Image, width: int, access: str = "sequential"
) -> tuple[pyvips.Image, int]:
    """The JPEG at the largest DCT shrink that leaves twice `width`, and that shrink. A shrunk
    decode, or one read more than once (`access` "random"), is libjpeg-turbo's through
    simplejpeg, as imgproxy's is; a whole-size one read once streams through libvips."""
    headroom = RESAMPLE_HEADROOM["fine"]
    shrink = next((s for s in (8, 4, 2) if header.width // s >= headroom * width), 1)
    image = pyvips.Image.new_from_buffer(data, "", shrink=shrink, access=access)
    size = (header.width, header.height)
    return jpegload.decoded(data, image, size, shrink, access), shrink


def _resampled(header: pyvips.Image, image: pyvips.Image, shrink: int, width: int) -> pyvips.Image:
    height = max(1, round(header.height * width / header.width))
    return resample(image, width, height, Span(header.width / shrink, header.height / shrink))


def jpeg_decode_only(data: bytes, shrink: int = 8) -> bytes:
    """Case 1's decode alone, DCT-scaled by `shrink`, by the decoder imgproxy uses there
    (libjpeg-turbo through simplejpeg): what no server of this case can beat."""
    header = pyvips.Image.new_from_buffer(data, "")
    return bytes(jpegload.scaled_pixels(data, (header.width, header.height), shrink)[:1, :1])


def libvips_decode_only(data: bytes, shrink: int = 8) -> bytes:
    """The same decode by libvips' loader: the machine's speed beside runs before imgproxy
    decoded with simplejpeg."""
    image = pyvips.Image.new_from_buffer(data, "", shrink=shrink, access="sequential")
    return bytes(image.write_to_memory()[:1])


def jpeg_width_400(data: bytes) -> bytes:
    return shrunk_jpeg(data, 400).jpegsave_buffer(Q=80, optimize_coding=True)


def webp_width_1200(data: bytes) -> bytes:
    return _webp(shrunk_jpeg(data, 1200))


def alpha_png_to_webp(data: bytes) -> bytes:
    """Lanczos on the colour weighted by alpha in 8 bits, as imgproxy weighs it."""
    image = pyvips.Image.new_from_buffer(data, "", access="sequential")
    return _webp(resample(image, 400, max(1, round(image.height * 400 / image.width))))


def _webp(image: pyvips.Image) -> bytes:
    """Quality 80 at imgproxy's effort, through the faster of the two libwebp builds at hand."""
    return encode_still(image, 80, WEBP_EFFORT, pyvips.enums.ForeignKeep.ALL)


def face_crop_300(data: bytes) -> bytes:
    """Decode once for a 300 px cover, detect on a 640 px view of that decode, then cut a
    300x300 window centred on the first face."""
    header = pyvips.Image.new_from_buffer(data, "")
    width = round(300 * header.width / min(header.width, header.height))
    decoded, shrink = _dct_decoded(data, header, width, access="random")
    view = decoded.thumbnail_image(640, height=640, size="down")
    found = faces(view)
    image = _resampled(header, decoded, shrink, width)
    factor = image.width / view.width
    cx, cy = image.width / 2, image.height / 2
    if found:
        cx = (found[0].x + found[0].width / 2) * factor
        cy = (found[0].y + found[0].height / 2) * factor
    left = min(max(0, round(cx - 150)), image.width - 300)
    top = min(max(0, round(cy - 150)), image.height - 300)
    return image.crop(left, top, 300, 300).jpegsave_buffer(Q=80, optimize_coding=True)


def tonal_chain_800(data: bytes) -> bytes:
    """brightness=0.2, contrast=0.2 on CIELAB lightness as one table over libvips' 16-bit
    CIELAB (LabS, lightness 0-32767), then sharp_amount=20 on the result, still in LabS, at
    800 px: the conversions, table and unsharp mask in one pass over memory, as imgproxy's
    `_labs` makes them."""
    image = shrunk_jpeg(data, 800)
    width, height = image.width, image.height
    pixels = tone(image.write_to_memory(), width, height, _TONAL_CODES, *_SHARPENING)
    toned = pyvips.Image.new_from_memory(pixels, width, height, 3, "uchar")
    return toned.jpegsave_buffer(Q=80, optimize_coding=True)


def _tonal_codes() -> bytes:
    """Each LabS lightness code after brightness=0.2 then contrast=0.2, each clamped to 0-100."""
    lightness = np.minimum(np.arange(65536), 32767) * (100 / 32767)
    lightness = np.clip(lightness + 0.2 * lightness * (100 - lightness) / 100, 0, 100)
    lightness = np.clip((lightness - 50) * 2**0.2 + 50, 0, 100)
    return np.rint(lightness * 327.67).astype(np.uint16).tobytes()


_TONAL_CODES = _tonal_codes()
_SHARPENING = sharpening_tables(Sharpening(sigma=1.0, flat_slope=0.5, edge_slope=2.0))


def animated_gif_320(data: bytes) -> bytes:
    """Every frame decoded (by imgproxy's GIF decoder, as the pipeline does) and resized, then
    one palette for all of them, as imgproxy does: the frames shrink together in two passes that
    cross no frame border (libvips' thumbnail of the whole strip would let the filter cross
    them), alpha that is opaque everywhere resized as a band and dropped."""
    strip, opaque = decoded(pyvips.Image.new_from_buffer(data, "", n=-1), data, "gif")
    count = strip.height // strip.get("page-height")
    height = max(1, round(strip.height / count * 320 / strip.width))
    resized = resample_frames(strip, count, 320, height, weighted=not opaque).copy_memory()
    return animated_gif(without_alpha(resized) if opaque and resized.hasalpha() else resized, count)


def quality_fixed_800(data: bytes) -> bytes:
    return shrunk_jpeg(data, 800).jpegsave_buffer(Q=80, optimize_coding=True)


def as_served() -> None:
    """libvips and glibc's malloc set up as `imgproxy serve` sets them by default: no operation
    cache, one libvips thread a render, its arena limit and its freed memory kept while
    renders run."""
    server = ServerSettings()
    pyvips.cache_set_max(0)
    pyvips.concurrency_set(server.vips_concurrency)
    limit_malloc_arenas(server.malloc_arenas)
    keep_freed_memory(server.malloc_trim_threshold_mb)


def throughput(fn: RawFn, data: bytes, threads: int, seconds: float) -> float:
    """Operations per second of `fn` run back to back in `threads` threads."""
    as_served()
    fn(data)
    until = time.perf_counter() + seconds

    def worker() -> int:
        count = 0
        while time.perf_counter() < until:
            fn(data)
            count += 1
        return count

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(lambda _: worker(), range(threads)))
    return total / (time.perf_counter() - started)


def pipeline(query: str) -> RawFn:
    """imgproxy's own pipeline in this process, without HTTP: what serving adds is the rest."""
    plan = decode(parse_qsl(query), DecodeOptions())
    options = RenderOptions(max_frames=100)
    return lambda data: execute(plan, data, options).body
