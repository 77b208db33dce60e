"""Build image URLs in Python: `ImageURL(base, path).width(400).format("auto").sign(key)`."""

from __future__ import annotations

from base64 import urlsafe_b64encode
from collections.abc import Iterable
from dataclasses import KW_ONLY, dataclass, replace
from urllib.parse import quote, urlencode

from imgproxy.params.decode import BASE64_SUFFIX
from imgproxy.params.spec import BY_NAME
from imgproxy.signing import SIGNATURE_PARAM, signature

Value = str | int | float | bool


@dataclass(frozen=True)
class ImageURL:
    """An image URL under construction; every method answers a new ImageURL.

    `base64=True` writes each parameter as its 64 twin (`width64=NDAw`), which keeps values such
    as layer JSON or colours free of characters that need escaping.
    """

    base: str
    path: str
    _: KW_ONLY
    base64: bool = False
    params: tuple[tuple[str, str], ...] = ()

    def param(self, name: str, value: Value) -> ImageURL:
        """Set any parameter of params/spec.py (aliases too); a second call replaces the first."""
        if name not in BY_NAME:
            raise ValueError(f"unknown parameter {name!r}")
        canonical = BY_NAME[name].name
        kept = tuple((key, text) for key, text in self.params if key != canonical)
        return replace(self, params=(*kept, (canonical, _text(value))))

    def width(self, pixels: int) -> ImageURL:
        return self.param("width", pixels)

    def height(self, pixels: int) -> ImageURL:
        return self.param("height", pixels)

    def dpr(self, ratio: float) -> ImageURL:
        return self.param("dpr", ratio)

    def crop(self, mode: str) -> ImageURL:
        return self.param("crop", mode)

    def format(self, name: str) -> ImageURL:
        return self.param("format", name)

    def quality(self, value: int | str) -> ImageURL:
        return self.param("quality", value)

    def rotate(self, degrees: float) -> ImageURL:
        return self.param("rotate", degrees)

    def flip(self, on: bool = True) -> ImageURL:
        return self.param("flip", on)

    def pad(self, pixels: int, color: str | None = None) -> ImageURL:
        padded = self.param("pad", pixels)
        return padded if color is None else padded.param("pad_color", color)

    def blur(self, amount: float) -> ImageURL:
        return self.param("blur", amount)

    def filter(self, name: str) -> ImageURL:
        return self.param("filter", name)

    def mark(self, url: str) -> ImageURL:
        return self.param("mark", url)

    def strip_exif(self, on: bool = True) -> ImageURL:
        return self.param("strip_exif", on)

    def pairs(self) -> list[tuple[str, str]]:
        """The query as sent: 64 twins with unpadded URL-safe base64 when `base64` is set."""
        if not self.base64:
            return list(self.params)
        return [(f"{key}{BASE64_SUFFIX}", _base64(text)) for key, text in self.params]

    def url(self) -> str:
        return self._address(self.pairs())

    def sign(self, key: str) -> str:
        """The URL with `s`, computed by imgproxy.signing as the server checks it."""
        pairs = self.pairs()
        return self._address([*pairs, (SIGNATURE_PARAM, signature(key, self.path, pairs))])

    def srcset(self, widths: Iterable[int], key: str | None = None) -> str:
        """'url 400w, url 800w' for an <img srcset>; each URL signed when `key` is given."""
        candidates = []
        for width in widths:
            sized = self.width(width)
            candidates.append(f"{sized.url() if key is None else sized.sign(key)} {width}w")
        return ", ".join(candidates)

    def _address(self, pairs: list[tuple[str, str]]) -> str:
        query = f"?{urlencode(pairs)}" if pairs else ""
        return f"{self.base.rstrip('/')}/{quote(self.path.lstrip('/'))}{query}"

    def __str__(self) -> str:
        return self.url()


def _text(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _base64(text: str) -> str:
    return urlsafe_b64encode(text.encode()).decode().rstrip("=")
