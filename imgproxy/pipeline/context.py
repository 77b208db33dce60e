"""The values a render passes between its steps."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pyvips

from imgproxy.params.plan import Plan
from imgproxy.pipeline.detect import Box


@dataclass(frozen=True)
class RenderOptions:
    """Server-wide settings and client features that shape a render."""

    accepts: frozenset[str] = frozenset()
    default_quality: int = 90
    auto_avif: bool = True
    avif_max_side: int = 1200
    allow_upscale: bool = True
    shrink_on_load: str = "fine"
    max_src_pixels: int = 50_000_000
    max_out_side: int = 8192
    max_frames: int = 1


@dataclass(frozen=True)
class SourceInfo:
    """What the original is, read from its header before any pixel is decoded."""

    format: str
    width: int
    height: int
    pages: int
    has_alpha: bool
    orientation: int
    size: int
    quality: int | None


@dataclass
class Measurements:
    """Statistics measured once, on the first frame, and applied to every frame alike."""

    # The box inside the trimmed border, in the loaded image's pixels (the whole image if none).
    trim_box: tuple[int, int, int, int] | None = None
    # Faces of the original, in its displayed full-size pixels.
    faces: list[Box] | None = None
    # Faces redeye found on the first processed frame.
    redeye_faces: list[Box] | None = None
    # auto_level's 0.5th and 99.5th percentiles, per colour band.
    levels: tuple[tuple[float, float], ...] | None = None
    # auto_fix's lightness curve: low and high percentiles, then the exponent.
    lightness: tuple[float, float, float] | None = None
    # Top-left corner of the window smartcrop chose (entropy, attention).
    window: tuple[int, int] | None = None


@dataclass
class Context:
    plan: Plan
    data: bytes
    options: RenderOptions
    # Fetched layer and watermark images by URL; a missing one is left out.
    sources: Mapping[str, bytes] = field(default_factory=dict)
    info: SourceInfo | None = None
    # The original's header, opened without decoding pixels (EXIF, interpretation).
    header: pyvips.Image | None = None
    image: pyvips.Image | None = None
    # The image as load left it, before any step.
    loaded: pyvips.Image | None = None
    # Size of the original in display orientation, as loaded; never changes.
    source_size: tuple[int, int] = (0, 0)
    # Size of the image before shrink-on-load, in display orientation: targets are computed on it.
    logical_size: tuple[int, int] = (0, 0)
    # The DCT shrink a JPEG was decoded at (1 for none).
    shrink: int = 1
    # Display axes (x, y) that autorotate ran against the stored ones.
    reversed_axes: tuple[bool, bool] = (False, False)
    # Frames loaded from an animated original (1 for a still image).
    frames: int = 1
    # The quality quality=auto chose.
    quality: int | None = None
    # Shared by the contexts of every frame of an animation.
    measured: Measurements = field(default_factory=Measurements)


@dataclass(frozen=True)
class Rendered:
    body: bytes
    format: str
    media_type: str
    width: int
    height: int
    source: SourceInfo
    timings: Mapping[str, float]
    quality: int | None = None
