"""The one table of every parameter: name, aliases, value type, range, default, requires, doc."""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from imgproxy.params.colors import parse_color
from imgproxy.params.layers import parse_layers, parse_position
from imgproxy.params.plan import BOX_MODES, Layer, Region

TRUE_WORDS = ("true", "1", "yes", "on")
FALSE_WORDS = ("false", "0", "no", "off")


class ValueType(Protocol):
    description: str

    def parse(self, text: str, presets: Mapping[str, str]) -> Any: ...


@dataclass(frozen=True)
class Integer:
    lo: int
    hi: int | None = None

    @property
    def description(self) -> str:
        return f"integer {self.lo}-{self.hi}" if self.hi is not None else f"integer >= {self.lo}"

    def parse(self, text: str, presets: Mapping[str, str]) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise ValueError(f"must be an {self.description}, got {text!r}") from None
        if value < self.lo or (self.hi is not None and value > self.hi):
            raise ValueError(f"must be an {self.description}, got {text!r}")
        return value


@dataclass(frozen=True)
class Number:
    lo: float
    hi: float

    @property
    def description(self) -> str:
        return f"number {self.lo:g} to {self.hi:g}"

    def parse(self, text: str, presets: Mapping[str, str]) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise ValueError(f"must be a {self.description}, got {text!r}") from None
        if not math.isfinite(value) or not self.lo <= value <= self.hi:
            raise ValueError(f"must be a {self.description}, got {text!r}")
        return value


@dataclass(frozen=True)
class Boolean:
    description: str = "true or false"

    def parse(self, text: str, presets: Mapping[str, str]) -> bool:
        word = text.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueError(f"must be true or false, got {text!r}")


@dataclass(frozen=True)
class Color:
    description: str = "colour: name, hex (3/4/6/8 digits), rgb(), rgba()"

    def parse(self, text: str, presets: Mapping[str, str]) -> tuple[int, int, int, int]:
        return parse_color(text, presets)


@dataclass(frozen=True)
class Choice:
    values: tuple[str, ...]
    synonyms: tuple[tuple[str, str], ...] = ()

    @property
    def description(self) -> str:
        spelled = {word: synonym for synonym, word in self.synonyms}
        return ", ".join(f"{v} ({spelled[v]})" if v in spelled else v for v in self.values)

    def parse(self, text: str, presets: Mapping[str, str]) -> str:
        word = dict(self.synonyms).get(text.strip().lower(), text.strip().lower())
        if word in self.values:
            return word
        raise ValueError(f"must be one of {', '.join(self.values)}, got {text!r}")


@dataclass(frozen=True)
class Quality:
    description: str = "integer 1-100 or auto"

    def parse(self, text: str, presets: Mapping[str, str]) -> int | str:
        if text.strip().lower() == "auto":
            return "auto"
        return Integer(1, 100).parse(text, presets)


@dataclass(frozen=True)
class Trim:
    description: str = "color"

    def parse(self, text: str, presets: Mapping[str, str]) -> bool:
        if text.strip().lower() == "color":
            return True
        try:
            return Boolean().parse(text, presets)
        except ValueError:
            raise ValueError(f"must be 'color', got {text!r}") from None


@dataclass(frozen=True)
class Crop:
    description: str = "fit, top, bottom, pad, stretch, face, entropy, zoom or x,y,w,h"

    def parse(self, text: str, presets: Mapping[str, str]) -> str | Region:
        word = text.strip().lower()
        if "," in word:
            return _region(text)
        return Choice((*BOX_MODES, "zoom")).parse(word, presets)


def _region(text: str) -> Region:
    parts = [part.strip().lower() for part in text.split(",")]
    if len(parts) != 4:
        raise ValueError(f"must be a mode or a region x,y,w,h, got {text!r}")
    x, y = (_region_origin(part, text) for part in parts[:2])
    width, height = (_region_size(part, text) for part in parts[2:])
    return Region(x, y, width, height)


def _region_origin(part: str, text: str) -> int | None:
    if part == "center":
        return None
    if part.isdigit():
        return int(part)
    raise ValueError(f"region x and y must be integers >= 0 or center, got {text!r}")


def _region_size(part: str, text: str) -> int:
    if part.isdigit() and int(part) > 0:
        return int(part)
    raise ValueError(f"region w and h must be integers >= 1, got {text!r}")


FILTER_NAMES: tuple[str, ...] = (
    "grayscale", "sepia", "negate", "bw", "edgedetect", "emboss", "blurgaussian",
    "blurselective", "meanremoval", "smooth", "vintage", "lomo", "clarity", "sincity",
    "sunrise", "crossprocess", "orangepeel", "love", "hazydays", "nostalgia",
)  # fmt: skip


@dataclass(frozen=True)
class Filter:
    description: str = "1-20 or a filter name"

    def parse(self, text: str, presets: Mapping[str, str]) -> str:
        word = text.strip().lower()
        if word.isdigit() and 1 <= int(word) <= len(FILTER_NAMES):
            return FILTER_NAMES[int(word) - 1]
        if word in FILTER_NAMES:
            return word
        raise ValueError(f"must be 1-{len(FILTER_NAMES)} or a filter name, got {text!r}")


@dataclass(frozen=True)
class Layers:
    description: str = "JSON array of layer objects"

    def parse(self, text: str, presets: Mapping[str, str]) -> tuple[Layer, ...]:
        return parse_layers(text, presets)


@dataclass(frozen=True)
class Position:
    description: str = "left, right, top, bottom, center, or combinations like top|left"

    def parse(self, text: str, presets: Mapping[str, str]) -> tuple[str, ...]:
        return parse_position(text)


@dataclass(frozen=True)
class Url:
    description: str = "relative path or absolute URL"

    def parse(self, text: str, presets: Mapping[str, str]) -> str:
        if not text.strip():
            raise ValueError("must be a path or a URL, got an empty value")
        return text.strip()


@dataclass(frozen=True)
class Pattern:
    regex: str
    description: str

    def parse(self, text: str, presets: Mapping[str, str]) -> str:
        if not re.fullmatch(self.regex, text.strip()):
            raise ValueError(f"must be {self.description}, got {text!r}")
        return text.strip()


@dataclass(frozen=True)
class Resolve:
    description: str = "host:port:address"

    def parse(self, text: str, presets: Mapping[str, str]) -> tuple[str, int, str]:
        host, _, rest = text.strip().partition(":")
        port, _, address = rest.partition(":")
        try:
            ipaddress.ip_address(address.strip("[]"))
        except ValueError:
            raise ValueError(
                f"must be host:port:address with an IP address, got {text!r}"
            ) from None
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"must be host:port:address, got {text!r}")
        return host.lower(), int(port), address.strip("[]")


@dataclass(frozen=True)
class Text:
    description: str = "text"

    def parse(self, text: str, presets: Mapping[str, str]) -> str:
        return text


@dataclass(frozen=True)
class Param:
    name: str
    type: ValueType
    doc: str
    aliases: tuple[str, ...] = ()
    default: str = ""
    requires: tuple[str, ...] = ()


PARAMS: tuple[Param, ...] = (
    Param("width", Integer(1), "Output width in CSS pixels (times dpr).", aliases=("w",)),
    Param("height", Integer(1), "Output height in CSS pixels (times dpr).", aliases=("h",)),
    Param(
        "dpr",
        Number(1, 5),
        "Device pixel ratio: multiplies width and height.",
        default="1",
        requires=("width", "height"),
    ),
    Param(
        "crop",
        Crop(),
        "How width x height is filled: fit (cover, centred), top, bottom, pad (letterbox), "
        "stretch, face (cover with every face kept), entropy (libvips smartcrop); zoom removes "
        "the corners left by rotate; x,y,w,h cuts a region of the scaled image, in CSS pixels "
        "times dpr (x or y may be `center`).",
    ),
    Param("rotate", Number(-360, 360), "Rotate clockwise by degrees.", default="0"),
    Param("angle", Number(-360, 360), "Rotate counter-clockwise by degrees.", default="0"),
    Param("flip", Boolean(), "Mirror the image horizontally.", default="false"),
    Param(
        "pad",
        Integer(0, 2000),
        "Add this many CSS pixels (times dpr) of pad_color on every side.",
        default="0",
    ),
    Param(
        "pad_color",
        Color(),
        "Colour of padding, letterbox bars, rotation corners and flatten background.",
        default="white",
        requires=("pad", "crop", "rotate", "angle", "flatten"),
    ),
    Param("flatten", Boolean(), "Remove alpha by blending onto pad_color.", default="false"),
    Param("trim", Trim(), "Remove a border of trim_color around the image."),
    Param(
        "trim_color",
        Color(),
        "The border colour that trim removes.",
        default="white",
        requires=("trim",),
    ),
    Param("autorotate", Boolean(), "Apply and remove the EXIF orientation.", default="true"),
    Param(
        "format",
        Choice(
            ("jpeg", "png", "webp", "gif", "avif", "mp4", "auto"),
            synonyms=(("jpg", "jpeg"),),
        ),
        "Output format; auto picks AVIF, WebP, GIF, PNG or JPEG from the Accept header; mp4 turns "
        "an animation into H.264 video.",
        default="the source's",
    ),
    Param(
        "quality",
        Quality(),
        "Encoder quality for JPEG, WebP and AVIF; auto searches the lowest that still looks the "
        "same (JPEG and WebP; the chosen value in `X-Quality`).",
        default="the source JPEG's, else 90",
    ),
    Param("interlace", Boolean(), "Progressive JPEG or interlaced PNG.", default="false"),
    Param(
        "strip_exif", Boolean(), "Drop EXIF, XMP and IPTC (the ICC profile stays).", default="false"
    ),
    Param(
        "auto_level",
        Boolean(),
        "Stretch each RGB channel to the full 0-255 range, which also removes colour casts.",
        default="false",
    ),
    Param(
        "auto_fix",
        Boolean(),
        "Stretch lightness to the full range and pull mid-tones towards middle grey.",
        default="false",
    ),
    Param(
        "brightness",
        Number(-1, 1),
        "Lighten (> 0) or darken (< 0) the mid-tones, -1 to 1; black and white stay.",
        default="0",
    ),
    Param(
        "contrast",
        Number(-1, 1),
        "Spread (> 0) or compress (< 0) lightness around mid-grey, -1 to 1 (x2 to x0.5).",
        default="0",
    ),
    Param(
        "gamma",
        Number(-1, 1),
        "Gamma on lightness, -1 to 1: 1 lifts mid-tones (exponent 0.5), "
        "-1 lowers them (exponent 2).",
        default="0",
    ),
    Param(
        "saturation",
        Number(-1, 1),
        "Scale colourfulness, -1 to 1: -1 is greyscale, 1 doubles chroma.",
        default="0",
    ),
    Param(
        "vibrance",
        Number(-1, 1),
        "Saturation that favours muted colours over vivid ones, -1 to 1.",
        default="0",
    ),
    Param(
        "warmth",
        Number(-1, 1),
        "Shift colours towards yellow (> 0) or blue (< 0), -1 to 1.",
        default="0",
    ),
    Param(
        "highlights",
        Number(-1, 1),
        "Lighten or darken the bright regions only, -1 to 1.",
        default="0",
    ),
    Param(
        "shadow", Number(-1, 1), "Lighten or darken the dark regions only, -1 to 1.", default="0"
    ),
    Param(
        "fill_flash", Number(0, 1), "Lift dark regions as a fill light would, 0 to 1.", default="0"
    ),
    Param(
        "colorize", Color(), "Tint the image towards this colour (strength: colorize_intensity)."
    ),
    Param(
        "colorize_intensity",
        Integer(1, 100),
        "Strength of colorize in percent, 1-100.",
        default="1",
        requires=("colorize",),
    ),
    Param(
        "blur",
        Number(0, 100),
        "Gaussian blur, 0-100 (sigma = 0.3 + value / 5 pixels).",
        default="0",
    ),
    Param("sharp_amount", Number(1, 100), "Strength of sharpening, 1-100."),
    Param(
        "sharp_radius",
        Number(1, 100),
        "Size of the edges sharpening enhances, 1-100 (sigma = value / 10 pixels).",
        default="10",
        requires=("sharp_amount",),
    ),
    Param(
        "filter",
        Filter(),
        f"One of {len(FILTER_NAMES)} effects, by number or name: {', '.join(FILTER_NAMES)}.",
    ),
    Param(
        "redeye",
        Boolean(),
        "Remove flash red-eye inside the eye regions of detected faces.",
        default="false",
    ),
    Param(
        "layers",
        Layers(),
        "Image and text layers over the image: a JSON array of objects (docs/parameters.md).",
    ),
    Param(
        "mark",
        Url(),
        "Watermark image: a path on the image's own origin (relative to the image's URL under "
        "origin or source_url) or an absolute URL.",
    ),
    Param(
        "mark_alpha",
        Integer(0, 100),
        "Watermark opacity, 0 (invisible) to 100 (opaque).",
        default="100",
        requires=("mark",),
    ),
    Param(
        "mark_scale",
        Integer(1, 100),
        "Watermark size as a percentage of the image's smaller side.",
        default="the watermark's own",
        requires=("mark",),
    ),
    Param(
        "mark_pos",
        Position(),
        "Watermark position: top, right, bottom, left, center or combinations like top|left.",
        default="center",
        requires=("mark",),
    ),
    Param(
        "mark_offset",
        Number(0, 100),
        "Distance of the watermark from the edges of mark_pos, as a percentage of the image.",
        default="0",
        requires=("mark_pos",),
    ),
    Param(
        "mark_upscale",
        Boolean(),
        "Let mark_scale enlarge a watermark smaller than asked.",
        default="false",
        requires=("mark_scale",),
    ),
    Param(
        "mark_required",
        Boolean(),
        "Answer an error when the watermark cannot be fetched instead of leaving it out.",
        default="false",
        requires=("mark",),
    ),
    Param(
        "meta",
        Boolean(),
        "Answer JSON about the original (size, type, EXIF, faces, dominant colour) instead of "
        "the image.",
        default="false",
    ),
    Param(
        "face",
        Boolean(),
        "With meta: list detected faces as xPos, yPos, width, height in source pixels.",
        default="false",
        requires=("meta",),
    ),
    Param(
        "include_image_data",
        Boolean(),
        "With meta: add the processed image as base64 under imageData.",
        default="false",
        requires=("meta",),
    ),
    Param(
        "quality_attempts",
        Integer(1, 20),
        "Encodes the quality=auto search may try.",
        default="6",
        requires=("quality",),
    ),
    Param(
        "quality_method",
        Choice(("ssim", "mpe", "smallfry")),
        "Similarity metric of quality=auto, on luma.",
        default="ssim",
        requires=("quality",),
    ),
    Param(
        "quality_preset",
        Choice(("low", "medium", "high", "veryhigh")),
        "Target of quality=auto by name (calibrated table in docs/parameters.md).",
        default="medium",
        requires=("quality",),
    ),
    Param(
        "quality_target",
        Number(0, 255),
        "Target of quality=auto on the method's scale; overrides quality_preset.",
        default="the preset's",
        requires=("quality",),
    ),
    Param(
        "quality_min",
        Integer(1, 100),
        "Lowest quality quality=auto may choose.",
        default="40",
        requires=("quality",),
    ),
    Param(
        "quality_max",
        Integer(1, 100),
        "Highest quality quality=auto may choose.",
        default="90",
        requires=("quality",),
    ),
    Param(
        "recognition",
        Choice(("nsfw", "labels")),
        "Answer JSON: nsfw (nudity verdict) or labels (ImageNet classes); needs the recognition "
        "extra (else 501).",
    ),
    Param(
        "origin",
        Url(),
        "Fetch the original from this host or base URL instead of the configured origin.",
        aliases=("hostname",),
    ),
    Param(
        "source_url",
        Url(),
        "Fetch the original from this whole URL (the path may be /: `GET /?source_url=...`).",
    ),
    Param(
        "host_header",
        Pattern(r"[A-Za-z0-9.-]{1,253}(:\d{1,5})?", "a host name"),
        "Host header of the request to origin or source_url.",
        requires=("origin", "source_url"),
    ),
    Param(
        "resolve",
        Resolve(),
        "host:port:address: connect to address when fetching from host:port (as curl --resolve).",
        requires=("origin", "source_url"),
    ),
    Param(
        "bucket",
        Pattern(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", "an S3 bucket name"),
        "Fetch the original from this S3 bucket (see `[security] buckets_allowed`).",
    ),
    Param(
        "region",
        Pattern(r"[a-z]{2}(-[a-z]+)+-\d", "an AWS region such as us-west-1"),
        "Region of the bucket.",
        default="[origin] region",
        requires=("bucket",),
    ),
    Param(
        "cache_queries",
        Text(),
        "POST only: a JSON array of query strings (or the parameter repeated) whose renders are "
        "stored in the result cache.",
    ),
    Param(
        "cache_processed",
        Boolean(),
        "POST only: keep the processed upload as the original of its path.",
        default="false",
    ),
)

BY_NAME: dict[str, Param] = {
    alias: param for param in PARAMS for alias in (param.name, *param.aliases)
}
