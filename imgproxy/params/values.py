"""The value types of parameters: how each parses a query value, and how the docs name it."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from imgproxy.params.colors import parse_color
from imgproxy.params.layers import parse_layers, parse_position
from imgproxy.params.plan import BOX_MODES, Layer, Region

TRUE_WORDS = ("true", "1", "yes", "on")
FALSE_WORDS = ("false", "0", "no", "off")
# ASCII only: int(), float() and str.isdigit() also take other scripts' digits, and the first
# two underscores and a plus sign.
COUNT_TEXT = re.compile(r"[0-9]+")
INTEGER_TEXT = re.compile(r"-?[0-9]+")
NUMBER_TEXT = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


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
        if not INTEGER_TEXT.fullmatch(digits := text.strip()):
            raise ValueError(f"must be an {self.description}, got {text!r}")
        value = int(digits)
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
        if not NUMBER_TEXT.fullmatch(digits := text.strip()):
            raise ValueError(f"must be a {self.description}, got {text!r}")
        value = float(digits)
        if not self.lo <= value <= self.hi:
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
    if COUNT_TEXT.fullmatch(part):
        return int(part)
    raise ValueError(f"region x and y must be integers >= 0 or center, got {text!r}")


def _region_size(part: str, text: str) -> int:
    if COUNT_TEXT.fullmatch(part) and int(part) > 0:
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
        if COUNT_TEXT.fullmatch(word) and 1 <= int(word) <= len(FILTER_NAMES):
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
