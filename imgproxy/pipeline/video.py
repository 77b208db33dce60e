"""MP4 (H.264) from an animated strip, with PyAV's bundled FFmpeg."""

from __future__ import annotations

import tempfile
from fractions import Fraction
from pathlib import Path

import av
import pyvips

from imgproxy.pipeline.animation import delays

MILLISECONDS = Fraction(1, 1000)
CRF = "23"
PRESET = "veryfast"


def mp4(strip: pyvips.Image) -> bytes:
    """Each frame for its own delay; sizes rounded down to even numbers, as yuv420p requires."""
    page_height = strip.get("page-height") if strip.get_typeof("page-height") else strip.height
    count = strip.height // page_height
    width, height = max(2, strip.width - strip.width % 2), max(2, page_height - page_height % 2)
    if strip.hasalpha():
        strip = strip.flatten(background=[255, 255, 255]).cast("uchar")
    if strip.bands < 3:
        strip = strip.colourspace("srgb")
    # faststart moves the index to the front so that browsers can play while downloading; it
    # rewrites the file in a second pass, which needs a real file.
    with tempfile.NamedTemporaryFile(suffix=".mp4") as target:
        _write(strip, target.name, count, page_height, (width, height))
        return Path(target.name).read_bytes()


def _write(
    strip: pyvips.Image, path: str, count: int, page_height: int, size: tuple[int, int]
) -> None:
    width, height = size
    with av.open(path, mode="w", format="mp4", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", options={"crf": CRF, "preset": PRESET})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = stream.codec_context.time_base = MILLISECONDS
        pts = 0
        for index, delay in enumerate(delays(strip, count)):
            pixels = strip.crop(0, index * page_height, width, height).numpy()
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts, frame.time_base = pts, MILLISECONDS
            container.mux(stream.encode(frame))
            pts += delay
        container.mux(stream.encode(None))
