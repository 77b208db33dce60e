"""Write a corpus of hostile originals, each with the status the server must answer, quickly.

`python scripts/make_hostile_corpus.py FOLDER` writes the files and FOLDER/expected.json (query ->
file name -> status).
"""

from __future__ import annotations

import json
import struct
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import pyvips

BadFile = Callable[[], bytes]


def _photo(fmt: str) -> bytes:
    image = (pyvips.Image.black(320, 240, bands=3) + [30, 120, 200]).cast("uchar")
    image = image.draw_circle([250, 200, 20], 160, 120, 60, fill=True).copy(interpretation="srgb")
    return image.write_to_buffer(f".{fmt}")


def truncated(fmt: str, keep: float) -> BadFile:
    return lambda: (data := _photo(fmt))[: int(len(data) * keep)]


def random_bytes(size: int, seed: int) -> BadFile:
    return lambda: bytes((seed * 7919 + i * 104729) % 251 for i in range(size))


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(width: int, height: int) -> BadFile:
    """A valid PNG header for a huge image, with one small compressed row: a few hundred bytes."""

    def make() -> bytes:
        header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
        row = zlib.compress(b"\0" * (width + 1), 9)
        return (
            b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", row)
            + _chunk(b"IEND", b"")
        )

    return make


def jpeg_claiming(width: int, height: int) -> BadFile:
    """A real JPEG whose frame header claims another size."""

    def make() -> bytes:
        data = bytearray(_photo("jpg"))
        at = data.index(b"\xff\xc0")
        data[at + 5 : at + 9] = struct.pack(">HH", height, width)
        return bytes(data)

    return make


def gif_frames(count: int) -> BadFile:
    """A GIF of `count` 1x1 frames, built by hand so that it stays small."""

    def make() -> bytes:
        head = b"GIF89a" + struct.pack("<HH", 1, 1) + b"\x80\x00\x00" + b"\x00\x00\x00\xff\xff\xff"
        loop = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
        frame = b"\x21\xf9\x04\x00\x01\x00\x00\x00" + b"\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00"
        frame += b"\x02\x02\x44\x01\x00"
        return head + loop + frame * count + b"\x3b"

    return make


def huge_exif() -> bytes:
    image = pyvips.Image.new_from_buffer(_photo("jpg"), "").copy()
    image.set_type(pyvips.GValue.gstr_type, "exif-ifd0-ImageDescription", "A" * 60_000)
    return image.jpegsave_buffer()


def webp_claiming(width: int, height: int) -> BadFile:
    def make() -> bytes:
        data = bytearray(_photo("webp"))
        at = data.index(b"VP8 ")
        # VP8 key frame: start code at +11, then 14-bit width and height.
        data[at + 14 : at + 18] = struct.pack("<HH", width & 0x3FFF, height & 0x3FFF)
        return bytes(data)

    return make


SVG_SCRIPT = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
SVG_ENTITY = (
    b'<?xml version="1.0"?>\n<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>'
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

# name -> (maker, status expected for ?width=100)
CORPUS: dict[str, tuple[BadFile, int]] = {
    "truncated-half.jpg": (truncated("jpg", 0.5), 400),
    "truncated-header.jpg": (truncated("jpg", 0.02), 400),
    "truncated-half.png": (truncated("png", 0.5), 400),
    "truncated-header.png": (truncated("png", 0.05), 400),
    "truncated-half.gif": (truncated("gif", 0.5), 400),
    "truncated-half.webp": (truncated("webp", 0.5), 400),
    "truncated-half.avif": (truncated("avif", 0.5), 400),
    "empty.jpg": (lambda: b"", 400),
    "empty.png": (lambda: b"", 400),
    "empty.gif": (lambda: b"", 400),
    "empty.webp": (lambda: b"", 400),
    "random.jpg": (random_bytes(5000, 1), 400),
    "random.png": (random_bytes(5000, 2), 400),
    "random.gif": (random_bytes(5000, 3), 400),
    "random.webp": (random_bytes(5000, 4), 400),
    "random-large.jpg": (random_bytes(400_000, 5), 400),
    "jpeg-magic-then-noise.jpg": (lambda: b"\xff\xd8\xff\xe0" + random_bytes(3000, 6)(), 400),
    "png-30000x30000.png": (png_bomb(30_000, 30_000), 413),
    "png-100000x1.png": (png_bomb(100_000, 1), 200),
    "png-20000x20000.png": (png_bomb(20_000, 20_000), 413),
    "png-1x20000.png": (png_bomb(1, 20_000), 400),
    "jpeg-claims-65000x65000.jpg": (jpeg_claiming(65_000, 65_000), 413),
    "webp-claims-16000x16000.webp": (webp_claiming(16_000, 16_000), 400),
    "gif-10000-frames.gif": (gif_frames(10_000), 200),
    "jpeg-huge-exif.jpg": (huge_exif, 200),
    "svg-script.svg": (lambda: SVG_SCRIPT, 400),
    "svg-entities.svg": (lambda: SVG_ENTITY, 400),
    "svg-named-as.png": (lambda: SVG_SCRIPT, 400),
    "svg-after-a-bom.png": (lambda: b"\xef\xbb\xbf" + SVG_SCRIPT, 400),
    "svg-in-utf16.svg": (lambda: SVG_SCRIPT.decode().encode("utf-16"), 400),
    "matrix-text-named-as.png": (lambda: b"2 2\n1 2\n3 4\n", 400),
    "pdf-named-as.jpg": (lambda: PDF, 400),
    "html-named-as.jpg": (lambda: b"<!doctype html><html><body>hi</body></html>", 400),
    "text-named-as.png": (lambda: b"just some text\n" * 20, 400),
    "png-named-as.jpg": (lambda: _photo("png"), 200),
    "webp-named-as.gif": (lambda: _photo("webp"), 200),
}


# Each query the corpus is requested with -> the files whose status differs from the one above.
# Beyond ?width=100: steps that read the pixels more than once or measure them first.
QUERIES: dict[str, dict[str, int]] = {
    "width=100": {},
    "trim=color": {},
    "auto_level=1": {},
    "auto_fix=1": {},
    # A 100000x1 image covering a 50x50 box would be 5,000,000 px wide.
    "width=50&height=50&crop=face": {"png-100000x1.png": 400},
}


def write(folder: Path) -> dict[str, dict[str, int]]:
    """The files in `folder`, and query -> file name -> status, also in expected.json."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, (make, _) in CORPUS.items():
        (folder / name).write_bytes(make())
    statuses = {name: status for name, (_, status) in CORPUS.items()}
    expected = {query: {**statuses, **changes} for query, changes in QUERIES.items()}
    (folder / "expected.json").write_text(json.dumps(expected, indent=1))
    return expected


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "var/hostile")
    write(target)
    print(f"{len(CORPUS)} files in {target}")
