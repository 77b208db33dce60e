"""`layers`: a JSON array of image and text layer objects, checked key by key."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from imgproxy.params.colors import parse_color
from imgproxy.params.plan import Layer

POSITIONS = ("left", "right", "top", "bottom", "center")
MAX_TEXT = 500
MAX_FONT = 100
MAX_COORDINATE = 100_000


def parse_position(text: str) -> tuple[str, ...]:
    """`top|left` (or `top,left`) -> ('top', 'left'); center alone is the empty tuple."""
    parts = tuple(p.strip().lower() for p in text.replace(",", "|").split("|") if p.strip())
    unknown = [p for p in parts if p not in POSITIONS]
    if not parts or unknown:
        raise ValueError(f"must be {', '.join(POSITIONS)} or combinations like top|left")
    if {"left", "right"} <= set(parts) or {"top", "bottom"} <= set(parts):
        raise ValueError(f"cannot be both sides at once, got {text!r}")
    return tuple(sorted(p for p in set(parts) if p != "center"))


def _text(limit: int) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise ValueError("must be a non-empty string")
        if len(value) > limit:
            raise ValueError(f"must be at most {limit} characters, got {len(value)}")
        return value

    return parse


def _number(lo: float, hi: float, integer: bool = False) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        try:
            number = float(value) if not isinstance(value, bool) else float("nan")
        except (TypeError, ValueError):
            number = float("nan")
        if not lo <= number <= hi or (integer and number != int(number)):
            kind = "an integer" if integer else "a number"
            raise ValueError(f"must be {kind} from {lo:g} to {hi:g}, got {value!r}")
        return int(number) if integer else number

    return parse


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(f"must be true or false, got {value!r}")


def _string_of(parse: Callable[[str], Any]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError(f"must be a string, got {value!r}")
        return parse(value)

    return check


@dataclass(frozen=True)
class LayerKeys:
    presets: Mapping[str, str]

    def parsers(self) -> dict[str, Callable[[Any], Any]]:
        return {
            "url": _text(2048),
            "text": _text(MAX_TEXT),
            "color": _string_of(lambda text: parse_color(text, self.presets)),
            "font": _text(MAX_FONT),
            "pos": _string_of(parse_position),
            "scale": _number(1, 100),
            "upscale": _boolean,
            "x": _number(-MAX_COORDINATE, MAX_COORDINATE, integer=True),
            "y": _number(-MAX_COORDINATE, MAX_COORDINATE, integer=True),
            "alpha": _number(0, 100),
            "offset": _number(0, MAX_COORDINATE, integer=True),
            "required": _boolean,
        }


def parse_layers(text: str, presets: Mapping[str, str]) -> tuple[Layer, ...]:
    try:
        items = json.loads(text)
    except ValueError:
        raise ValueError(f"must be a JSON array of layer objects, got {text[:80]!r}") from None
    except RecursionError:
        raise ValueError(
            "must be a JSON array of layer objects, not arrays nested this deep"
        ) from None
    if not isinstance(items, list):
        raise ValueError("must be a JSON array of layer objects")
    parsers = LayerKeys(presets).parsers()
    return tuple(_layer(index, item, parsers) for index, item in enumerate(items))


def _layer(index: int, item: Any, parsers: Mapping[str, Callable[[Any], Any]]) -> Layer:
    where = f"item {index}"
    if not isinstance(item, dict):
        raise ValueError(f"{where}: must be an object, got {json.dumps(item)[:40]}")
    values: dict[str, Any] = {}
    for key, value in item.items():
        if key not in parsers:
            raise ValueError(f"{where}: unknown key {key!r}")
        try:
            values[key] = parsers[key](value)
        except ValueError as exc:
            raise ValueError(f"{where}: {key} {exc}") from None
    if ("url" in values) == ("text" in values):
        raise ValueError(f"{where}: needs either url or text")
    return Layer(**values)
