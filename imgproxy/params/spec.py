"""The one table of every parameter: name, aliases, value type, range, default, requires, doc."""

from __future__ import annotations

from dataclasses import dataclass

from imgproxy.params.values import (
    FILTER_NAMES,
    Boolean,
    Choice,
    Color,
    Crop,
    Filter,
    Integer,
    Layers,
    Number,
    Pattern,
    Position,
    Quality,
    Resolve,
    Text,
    Trim,
    Url,
    ValueType,
)


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
