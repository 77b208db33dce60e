"""Query string -> Plan. Every error names the parameter as the URL wrote it."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from imgproxy.errors import ForbiddenByConfig, InvalidParameter
from imgproxy.params.plan import (
    BOX_MODES,
    WHITE,
    Adjust,
    AutoQuality,
    Geometry,
    Mark,
    Meta,
    Output,
    Overlays,
    Plan,
    Region,
    SourceRequest,
)
from imgproxy.params.spec import BY_NAME, Param

BASE64_SUFFIX = "64"
AUTO_QUALITY_PARAMS = (
    "quality_attempts",
    "quality_method",
    "quality_preset",
    "quality_target",
    "quality_min",
    "quality_max",
)
# Controls of a POST: they say what to do with an upload, not how to render it.
POST_ONLY = ("cache_queries", "cache_processed")
# quality_target is on the method's own scale.
TARGET_LIMITS = {"ssim": 1.0, "mpe": 255.0, "smallfry": 200.0}


@dataclass(frozen=True)
class DecodeOptions:
    presets: Mapping[str, str] = field(default_factory=dict)
    image_params_allowed: frozenset[str] = frozenset()
    strict: bool = False
    max_side: int = 8192
    max_layers: int = 10


@dataclass(frozen=True)
class Given:
    """One parameter as it stood in the URL: the key written and its (base64-decoded) text."""

    key: str
    text: str


def decode(query: Iterable[tuple[str, str]], options: DecodeOptions) -> Plan:
    given = collect(query, options)
    for name in POST_ONLY:
        if name in given:
            key = given[name].key
            raise InvalidParameter(f"{key} works with POST requests only", param=key)
    values = {name: _parse(BY_NAME[name], item, options) for name, item in given.items()}
    _check_requires(given)
    return Plan(
        geometry=_geometry(values, given, options),
        adjust=Adjust(**{f.name: values[f.name] for f in fields(Adjust) if f.name in values}),
        overlays=_overlays(values, given, options),
        output=_output(values, given),
        meta=Meta(
            enabled=values.get("meta", False),
            faces=values.get("face", False),
            include_image_data=values.get("include_image_data", False),
            recognition=values.get("recognition"),
        ),
        source=_source(values, given),
    )


def collect(query: Iterable[tuple[str, str]], options: DecodeOptions) -> dict[str, Given]:
    """Known parameters by canonical name; unknown ones are dropped (or refused when strict)."""
    found: dict[str, Given] = {}
    for key, text in query:
        param, encoded = _lookup(key)
        if param is None:
            if options.strict:
                raise InvalidParameter(f"unknown parameter {key!r}", param=key)
            continue
        if options.image_params_allowed and param.name not in options.image_params_allowed:
            raise ForbiddenByConfig(f"{key} is not allowed on this server", param=key)
        item = Given(key, _from_base64(key, text) if encoded else text)
        earlier = found.get(param.name)
        if earlier is not None and earlier != item:
            raise InvalidParameter(f"{key} conflicts with {earlier.key} given earlier", param=key)
        found[param.name] = item
    return found


def _lookup(key: str) -> tuple[Param | None, bool]:
    if key in BY_NAME:
        return BY_NAME[key], False
    if key.endswith(BASE64_SUFFIX) and key[: -len(BASE64_SUFFIX)] in BY_NAME:
        return BY_NAME[key[: -len(BASE64_SUFFIX)]], True
    return None, False


def _from_base64(key: str, text: str) -> str:
    # A '+' of standard base64 arrives as a space after form decoding of the query.
    compact = text.strip().replace(" ", "+").replace("-", "+").replace("_", "/")
    compact += "=" * (-len(compact) % 4)
    try:
        return base64.b64decode(compact, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidParameter(f"{key} is not valid base64 text, got {text!r}", param=key) from None


def _parse(param: Param, item: Given, options: DecodeOptions) -> Any:
    try:
        return param.type.parse(item.text, options.presets)
    except ValueError as exc:
        raise InvalidParameter(f"{item.key} {exc}", param=item.key) from None


def _check_requires(given: Mapping[str, Given]) -> None:
    for name, item in given.items():
        needs = BY_NAME[name].requires
        if needs and not any(other in given for other in needs):
            raise InvalidParameter(f"{item.key} needs {' or '.join(needs)}", param=item.key)


def _geometry(
    values: Mapping[str, Any], given: Mapping[str, Given], options: DecodeOptions
) -> Geometry:
    dpr = values.get("dpr", 1.0)
    width = _scaled("width", values, given, dpr, options.max_side)
    height = _scaled("height", values, given, dpr, options.max_side)
    crop = values.get("crop")
    mode = crop if crop in BOX_MODES else None
    # crop=face alone cuts the image to its faces; every other mode fills a width x height box.
    if mode and mode != "face" and (width is None or height is None):
        raise InvalidParameter(f"crop={mode} needs both width and height", param=given["crop"].key)
    if crop == "zoom" and "rotate" not in values and "angle" not in values:
        raise InvalidParameter("crop=zoom needs rotate or angle", param=given["crop"].key)
    # Region and pad are in CSS pixels, as width and height are.
    return Geometry(
        width=width,
        height=height,
        crop=mode,
        region=crop.times(dpr) if isinstance(crop, Region) else None,
        rotate=(values.get("rotate", 0.0) - values.get("angle", 0.0)) % 360,
        rotate_param=_rotate_key(given),
        zoom=crop == "zoom",
        flip=values.get("flip", False),
        trim_color=values.get("trim_color", WHITE) if values.get("trim") else None,
        autorotate=values.get("autorotate", True),
        pad=round(values.get("pad", 0) * dpr),
        pad_color=values.get("pad_color", WHITE),
        flatten=values.get("flatten", False),
    )


def _rotate_key(given: Mapping[str, Given]) -> str:
    """The key an error about the rotated size names: rotate when given, else angle."""
    item = given.get("rotate") or given.get("angle")
    return item.key if item is not None else "rotate"


def _scaled(
    name: str, values: Mapping[str, Any], given: Mapping[str, Given], dpr: float, max_side: int
) -> int | None:
    if name not in values:
        return None
    pixels = max(1, round(values[name] * dpr))
    if pixels > max_side:
        key = given[name].key
        raise InvalidParameter(
            f"{key} gives {pixels} px, over the {max_side} px limit of this server", param=key
        )
    return pixels


def _overlays(
    values: Mapping[str, Any], given: Mapping[str, Given], options: DecodeOptions
) -> Overlays:
    layers = values.get("layers", ())
    if len(layers) > options.max_layers:
        key = given["layers"].key
        raise InvalidParameter(
            f"{key} has {len(layers)} layers, over the limit of {options.max_layers}", param=key
        )
    mark = None
    if "mark" in values:
        mark = Mark(
            url=values["mark"],
            alpha=values.get("mark_alpha", 100),
            scale=values.get("mark_scale"),
            pos=values.get("mark_pos", ()),
            offset=values.get("mark_offset", 0.0),
            upscale=values.get("mark_upscale", False),
            required=values.get("mark_required", False),
        )
    return Overlays(layers=layers, mark=mark)


def _source(values: Mapping[str, Any], given: Mapping[str, Given]) -> SourceRequest:
    chosen = [name for name in ("origin", "source_url", "bucket") if name in values]
    if len(chosen) > 1:
        key = given[chosen[1]].key
        raise InvalidParameter(f"{key} cannot be combined with {given[chosen[0]].key}", param=key)
    return SourceRequest(
        **{f.name: values[f.name] for f in fields(SourceRequest) if f.name in values}
    )


def _output(values: Mapping[str, Any], given: Mapping[str, Given]) -> Output:
    quality = values.get("quality")
    auto = _auto_quality(values, given) if quality == "auto" else None
    if auto is None:
        for name in AUTO_QUALITY_PARAMS:
            if name in given:
                key = given[name].key
                raise InvalidParameter(f"{key} needs quality=auto", param=key)
    return Output(
        format=values.get("format"),
        quality=None if quality == "auto" else quality,
        auto=auto,
        interlace=values.get("interlace", False),
        strip_exif=values.get("strip_exif", False),
    )


def _auto_quality(values: Mapping[str, Any], given: Mapping[str, Given]) -> AutoQuality:
    method = values.get("quality_method", "ssim")
    target = values.get("quality_target")
    if target is not None and not 0 < target <= TARGET_LIMITS[method]:
        key = given["quality_target"].key
        raise InvalidParameter(
            f"{key} must be above 0 and at most {TARGET_LIMITS[method]:g} for {method}, "
            f"got {target:g}",
            param=key,
        )
    auto = AutoQuality(
        method=method,
        preset=values.get("quality_preset", "medium"),
        target=target,
        attempts=values.get("quality_attempts", 6),
        minimum=values.get("quality_min", 40),
        maximum=values.get("quality_max", 90),
    )
    if auto.minimum > auto.maximum:
        key = (given.get("quality_min") or given["quality_max"]).key
        raise InvalidParameter(
            f"quality_min ({auto.minimum}) is above quality_max ({auto.maximum})", param=key
        )
    return auto
