"""A GIF file of palette frames, each frame cut to the rectangle that has to be drawn, its
pixels packed with LZW by `_gifpack`.

A decoder keeps the canvas from one frame to the next, so each frame after the first is drawn
as what it changes on the canvas: the pixels it shares with it are set to a see-through entry,
which packs into fewer bytes than the pixels themselves.

Opaque animations have no see-through entry of their own: each frame takes, for the pixels it
shares with the canvas, an entry of the colour table that none of the pixels in its rectangle
uses, when one is free. The colour table has room for one entry more than the palette's colours
wherever 256 allow, so a free entry is there for most frames.

Animations with see-through pixels have one. The next frame cannot make an opaque pixel of the
canvas see-through, so a frame whose opaque pixels the next one shows see-through is cleared
once shown (disposal "restore to background", which clears the frame's own rectangle), its
rectangle taking in those pixels; any other frame stays. The first frame is whole, so that no
decoder's idea of the canvas before it matters; when the animation plays again, it follows the
last.

The colour table holds as few entries as a power of two allows, and the LZW codes start at
the bits that hold them: an animation of a few colours packs in a few bits a pixel.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from imgproxy.pipeline._gifpack import pack, unused_entry

# GIF blocks: an extension's introducer, the graphic control's and the application
# extension's labels, the image descriptor's separator, the trailer.
EXTENSION, GRAPHIC_CONTROL, APPLICATION, IMAGE, TRAILER = 0x21, 0xF9, 0xFF, 0x2C, 0x3B
# A graphic control's packed byte: disposal "do not dispose" (the frame stays) or "restore to
# background" (it is cleared), and the transparency flag.
STAYS, CLEARED, TRANSPARENT = 1 << 2, 2 << 2, 0x01
# A logical screen descriptor's flag for a global colour table.
GLOBAL_TABLE = 0x80
MAX_ENTRIES = 256
# LZW codes start at no fewer bits than this.
MIN_CODE_SIZE = 2

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Drawn:
    """One frame as written: the indices of its `box`, the canvas a decoder shows there (where
    they equal it, the `see_through` entry is written), and whether the frame is cleared once
    shown."""

    pixels: np.ndarray
    canvas: np.ndarray | None
    box: Box
    see_through: int | None
    cleared: bool


def gif_file(
    frames: np.ndarray,
    colours: np.ndarray,
    durations: list[int],
    repeats: int | None,
    see_through_index: int | None,
) -> bytes:
    """The GIF of `frames` (count x height x width indices of `colours`, RGB; with a
    `see_through_index`, that index is see-through), each shown for its centiseconds in
    `durations`; played once more `repeats` times (0: for ever; None: once)."""
    _, height, width = frames.shape
    bits = table_bits(len(colours))
    drawn = (
        _opaque_frames(frames, 1 << bits)
        if see_through_index is None
        else _see_through_frames(frames, see_through_index)
    )
    code_size = max(MIN_CODE_SIZE, bits)
    background = see_through_index or 0
    parts = [_screen(width, height, colours, bits, background), _looping(repeats)]
    for frame, duration in zip(drawn, durations, strict=True):
        parts += [_graphic_control(duration, frame), _descriptor(frame.box)]
        parts.append(pack(frame.pixels, code_size, *_over(frame)))
    return b"".join([*parts, bytes([TRAILER])])


def table_bits(colours: int) -> int:
    """The bits of a colour table with room for `colours` and one more, 256 entries at most."""
    return max(1, min(MAX_ENTRIES - 1, colours).bit_length())


def _over(frame: Drawn) -> tuple[np.ndarray, int] | tuple[()]:
    """The canvas and see-through entry `pack` takes for `frame`, if it is drawn over one."""
    if frame.canvas is None or frame.see_through is None:
        return ()
    return frame.canvas, frame.see_through


def _opaque_frames(frames: np.ndarray, entries: int) -> Iterator[Drawn]:
    """Each frame after the first cut to what changed since the one before; the pixels that
    did not change take an entry below `entries` that no pixel of the cut uses, when one is
    free."""
    canvas: np.ndarray | None = None
    for indices in frames:
        if canvas is None:
            yield Drawn(indices, None, _whole(indices), None, False)
        else:
            box = _bounds(indices != canvas)
            cut = _cut(indices, box)
            free = unused_entry(cut, entries)
            yield Drawn(cut, _cut(canvas, box), box, free, False)
        canvas = indices


def _see_through_frames(frames: np.ndarray, see_through_index: int) -> Iterator[Drawn]:
    """Each frame cut to what it changes on the canvas, or clears, and cleared once shown when
    the next one shows see-through any of its opaque pixels."""
    canvas: np.ndarray | None = None
    see_through = frames == see_through_index
    for index, indices in enumerate(frames):
        # After the last frame comes the first again.
        next_see_through = see_through[(index + 1) % len(frames)]
        uncovered = ~see_through[index] & next_see_through
        clear = bool(uncovered.any())
        if canvas is None:
            box = _whole(indices)
            yield Drawn(indices, None, box, see_through_index, clear)
        else:
            box = _bounds((indices != canvas) & ~see_through[index] | uncovered)
            yield Drawn(_cut(indices, box), _cut(canvas, box), box, see_through_index, clear)
        canvas = _cleared(indices, box, see_through_index) if clear else indices


def _whole(indices: np.ndarray) -> Box:
    return 0, 0, indices.shape[1], indices.shape[0]


def _bounds(marked: np.ndarray) -> Box:
    """(left, top, width, height) of the smallest rectangle holding every `marked` pixel; one
    pixel in the corner when none is."""
    rows, columns = np.flatnonzero(marked.any(axis=1)), np.flatnonzero(marked.any(axis=0))
    if not len(rows):
        return 0, 0, 1, 1
    return (
        int(columns[0]),
        int(rows[0]),
        int(columns[-1] - columns[0] + 1),
        int(rows[-1] - rows[0] + 1),
    )


def _cut(pixels: np.ndarray, box: Box) -> np.ndarray:
    left, top, width, height = box
    return np.ascontiguousarray(pixels[top : top + height, left : left + width])


def _cleared(indices: np.ndarray, box: Box, see_through_index: int) -> np.ndarray:
    """The canvas `indices` once the `box` is cleared."""
    left, top, width, height = box
    canvas = indices.copy()
    canvas[top : top + height, left : left + width] = see_through_index
    return canvas


def _screen(width: int, height: int, colours: np.ndarray, bits: int, background: int) -> bytes:
    """The signature, the logical screen descriptor and the global colour table of `bits`,
    `colours` followed by black. A cleared frame leaves the `background` entry, which decoders
    show as see-through when it is the see-through one."""
    table = np.zeros((1 << bits, 3), np.uint8)
    table[: len(colours)] = colours
    flags = GLOBAL_TABLE | (bits - 1) << 4 | (bits - 1)
    size = width.to_bytes(2, "little") + height.to_bytes(2, "little")
    return b"GIF89a" + size + bytes([flags, background, 0]) + table.tobytes()


def _looping(repeats: int | None) -> bytes:
    """The application extension (NETSCAPE2.0) that plays the animation again `repeats`
    times, 0 for ever; none for an animation played once."""
    if repeats is None:
        return b""
    count = repeats.to_bytes(2, "little")
    return bytes([EXTENSION, APPLICATION, 11]) + b"NETSCAPE2.0" + bytes([3, 1]) + count + b"\0"


def _graphic_control(duration: int, frame: Drawn) -> bytes:
    """A frame's graphic control: shown for `duration` centiseconds, then cleared or kept,
    with its see-through entry, if any."""
    packed = CLEARED if frame.cleared else STAYS
    if frame.see_through is not None:
        packed |= TRANSPARENT
    delay = duration.to_bytes(2, "little")
    index = frame.see_through or 0
    return bytes([EXTENSION, GRAPHIC_CONTROL, 4, packed]) + delay + bytes([index, 0])


def _descriptor(box: Box) -> bytes:
    """An image descriptor placing a frame at its `box`, without a colour table of its own."""
    fields = b"".join(value.to_bytes(2, "little") for value in box)
    return bytes([IMAGE]) + fields + b"\0"
