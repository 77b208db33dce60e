"""The workload: each case as an imgproxy URL, the same work as a thumbor URL, and by hand."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks import raw
from benchmarks.inputs import copy_name

# Byte-identical copies of each original: requests in flight at once name different files, so
# that none is coalesced with another and every request is a render.
COPIES = 16


@dataclass(frozen=True)
class Case:
    name: str
    file: str
    query: str
    # thumbor's URL for the same output, after /unsafe/.
    thumbor: str
    raw: raw.RawFn

    @property
    def path(self) -> str:
        return f"/{self.file}?{self.query}"

    def paths(self) -> list[str]:
        return [f"/{copy_name(self.file, n)}?{self.query}" for n in range(COPIES)]

    def thumbor_paths(self) -> list[str]:
        prefix, _, _ = self.thumbor.rpartition(self.file)
        return [f"/unsafe/{prefix}{copy_name(self.file, n)}" for n in range(COPIES)]


CASES = (
    Case(
        "1. 12 MP JPEG -> width=400 JPEG q80",
        "large.jpg",
        "width=400&quality=80",
        "400x0/filters:quality(80)/large.jpg",
        raw.jpeg_width_400,
    ),
    Case(
        "2. 12 MP JPEG -> width=1200 WebP",
        "large.jpg",
        "width=1200&format=webp&quality=80",
        "1200x0/filters:format(webp):quality(80)/large.jpg",
        raw.webp_width_1200,
    ),
    Case(
        "3. PNG with alpha -> 400 px WebP",
        "alpha.png",
        "width=400&format=webp&quality=80",
        "400x0/filters:format(webp):quality(80)/alpha.png",
        raw.alpha_png_to_webp,
    ),
    Case(
        "4. crop=face 300x300",
        "face.jpg",
        "width=300&height=300&crop=face&quality=80",
        "300x300/smart/filters:quality(80)/face.jpg",
        raw.face_crop_300,
    ),
    Case(
        "5. brightness+contrast+sharpen at 800 px",
        "large.jpg",
        "width=800&brightness=0.2&contrast=0.2&sharp_amount=20&quality=80",
        "800x0/filters:brightness(20):contrast(20):sharpen(2,1,true):quality(80)/large.jpg",
        raw.tonal_chain_800,
    ),
    Case(
        "6. animated GIF -> width=320",
        "animated.gif",
        "width=320",
        "320x0/animated.gif",
        raw.animated_gif_320,
    ),
)
QUALITY_AUTO = "/large.jpg?width=800&quality=auto"
QUALITY_FIXED = "/large.jpg?width=800&quality=80"
