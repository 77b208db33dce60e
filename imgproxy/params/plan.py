"""The Plan: frozen values that say what to do to one image, and its cache key."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from functools import cached_property

from imgproxy.params.colors import RGBA

WHITE: RGBA = (255, 255, 255, 255)
BLACK: RGBA = (0, 0, 0, 255)
BOX_MODES = ("fit", "top", "bottom", "pad", "stretch", "face", "entropy")


@dataclass(frozen=True)
class Region:
    """`crop=x,y,w,h` in the pixels of the scaled image (times dpr); None for x or y: centred."""

    x: int | None
    y: int | None
    width: int
    height: int

    def times(self, dpr: float) -> Region:
        return Region(
            None if self.x is None else round(self.x * dpr),
            None if self.y is None else round(self.y * dpr),
            max(1, round(self.width * dpr)),
            max(1, round(self.height * dpr)),
        )


@dataclass(frozen=True)
class Geometry:
    width: int | None = None
    height: int | None = None
    crop: str | None = None
    region: Region | None = None
    rotate: float = 0.0
    # The key that asked for the rotation, for errors: out of equality and of the cache key.
    rotate_param: str = field(default="rotate", compare=False, repr=False)
    zoom: bool = False
    flip: bool = False
    trim_color: RGBA | None = None
    autorotate: bool = True
    pad: int = 0
    pad_color: RGBA = WHITE
    flatten: bool = False

    @property
    def resizes(self) -> bool:
        return self.width is not None or self.height is not None


@dataclass(frozen=True)
class Adjust:
    """Tonal adjustments; field names are the parameter names, defaults mean 'leave alone'."""

    auto_level: bool = False
    auto_fix: bool = False
    brightness: float = 0.0
    contrast: float = 0.0
    gamma: float = 0.0
    saturation: float = 0.0
    vibrance: float = 0.0
    warmth: float = 0.0
    highlights: float = 0.0
    shadow: float = 0.0
    fill_flash: float = 0.0
    colorize: RGBA | None = None
    colorize_intensity: int = 1
    blur: float = 0.0
    sharp_amount: float = 0.0
    sharp_radius: float = 10.0
    filter: str | None = None
    redeye: bool = False


@dataclass(frozen=True)
class Layer:
    """One entry of `layers`: an image (url) or a text, placed over the image."""

    url: str | None = None
    text: str | None = None
    color: RGBA = BLACK
    font: str = ""
    pos: tuple[str, ...] = ()
    scale: float | None = None
    upscale: bool = True
    x: int | None = None
    y: int | None = None
    alpha: float = 100.0
    offset: int = 0
    required: bool = False


@dataclass(frozen=True)
class Mark:
    """The watermark: `mark` and its `mark_*` parameters."""

    url: str
    alpha: int = 100
    scale: int | None = None
    pos: tuple[str, ...] = ()
    offset: float = 0.0
    upscale: bool = False
    required: bool = False


@dataclass(frozen=True)
class OverlaySource:
    """An image a layer or the watermark needs, with the names its errors use."""

    param: str
    label: str
    url: str
    required: bool


@dataclass(frozen=True)
class Overlays:
    layers: tuple[Layer, ...] = ()
    mark: Mark | None = None

    def sources(self) -> list[OverlaySource]:
        found = [
            OverlaySource("layers", f"layers item {index}", layer.url, layer.required)
            for index, layer in enumerate(self.layers)
            if layer.url is not None
        ]
        if self.mark is not None:
            found.append(OverlaySource("mark", "mark", self.mark.url, self.mark.required))
        return found


@dataclass(frozen=True)
class AutoQuality:
    """quality=auto and its quality_* parameters."""

    method: str = "ssim"
    preset: str = "medium"
    target: float | None = None
    attempts: int = 6
    minimum: int = 40
    maximum: int = 90


@dataclass(frozen=True)
class Output:
    format: str | None = None
    quality: int | None = None
    auto: AutoQuality | None = None
    interlace: bool = False
    strip_exif: bool = False


@dataclass(frozen=True)
class Meta:
    """meta=true answers JSON about the original instead of the image."""

    enabled: bool = False
    faces: bool = False
    include_image_data: bool = False
    # recognition=nsfw|labels: JSON about what the image shows.
    recognition: str | None = None

    @property
    def answers_json(self) -> bool:
        return self.enabled or self.recognition is not None


@dataclass(frozen=True)
class SourceRequest:
    """Where the original comes from when the URL says so: origin, source_url, bucket."""

    origin: str | None = None
    source_url: str | None = None
    host_header: str | None = None
    resolve: tuple[str, int, str] | None = None
    bucket: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class Plan:
    geometry: Geometry = Geometry()
    adjust: Adjust = Adjust()
    overlays: Overlays = Overlays()
    output: Output = Output()
    meta: Meta = Meta()
    source: SourceRequest = SourceRequest()

    @cached_property
    def changes_nothing(self) -> bool:
        """True when no parameter asks for any processing (the source may still be chosen)."""
        return replace(self, source=SourceRequest()) == Plan()

    @cached_property
    def key(self) -> str:
        """A stable digest of everything that changes the output."""
        return hashlib.sha256(repr(self).encode()).hexdigest()[:32]
