"""Render contact sheets of the 20 filters and of every adjustment into docs/gallery/."""

from __future__ import annotations

import html
import sys
from pathlib import Path
from urllib.parse import parse_qsl

import pyvips

from imgproxy.params.decode import DecodeOptions, decode
from imgproxy.params.values import FILTER_NAMES
from imgproxy.pipeline.run import execute

TILE = 160
COLUMNS = 5
PHOTO = Path("samples/astronaut.jpg")
ADJUSTMENTS = ("brightness", "contrast", "gamma", "saturation", "vibrance", "warmth")
ADJUSTMENTS += ("highlights", "shadow")
EXTRA_ROWS = (
    ("fill_flash=0", "fill_flash=0.5", "fill_flash=1"),
    ("blur=0", "blur=10", "blur=40"),
    ("sharp_amount=20", "sharp_amount=60", "sharp_amount=100"),
    ("auto_level=true", "auto_fix=true", "colorize=teal&colorize_intensity=40"),
)


def tile(original: bytes, query: str, label: str) -> pyvips.Image:
    plan = decode(parse_qsl(f"width={TILE}&height={TILE}&crop=fit&{query}"), DecodeOptions())
    image = pyvips.Image.new_from_buffer(execute(plan, original).body, "")
    caption = pyvips.Image.text(html.escape(label), width=TILE - 8, dpi=90, font="sans")
    caption = caption.embed(4, 4, TILE, caption.height + 8, extend="black")
    return image.join((255 - caption).bandjoin([255 - caption] * 2), "vertical")


def sheet(tiles: list[pyvips.Image], across: int) -> pyvips.Image:
    return pyvips.Image.arrayjoin(tiles, across=across, shim=6, background=[255])


def filters_sheet(original: bytes) -> pyvips.Image:
    tiles = [tile(original, "", "original")]
    tiles += [
        tile(original, f"filter={n}", f"{n} {name}") for n, name in enumerate(FILTER_NAMES, 1)
    ]
    return sheet(tiles, COLUMNS)


def adjustments_sheet(original: bytes) -> pyvips.Image:
    rows = [[f"{name}={v}" for v in ("-1", "0", "1")] for name in ADJUSTMENTS]
    rows += [list(row) for row in EXTRA_ROWS]
    return sheet([tile(original, q, q.replace("&", " ")) for row in rows for q in row], 3)


def main(argv: list[str]) -> int:
    folder = Path(argv[1] if len(argv) > 1 else "docs/gallery")
    folder.mkdir(parents=True, exist_ok=True)
    original = PHOTO.read_bytes()
    filters_sheet(original).pngsave(str(folder / "filters.png"), compression=9)
    adjustments_sheet(original).pngsave(str(folder / "adjustments.png"), compression=9)
    print(f"wrote {folder / 'filters.png'} and {folder / 'adjustments.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
