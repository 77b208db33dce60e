"""A GIF file of palette frames with see-through pixels, each frame cut to the rectangle that
has to be drawn and told whether it stays or is cleared once shown.

FFmpeg's GIF encoder packs each rectangle's indices (LZW); the file around them is written
here, keeping track of the canvas a decoder holds. A frame is drawn as what it changes on the
canvas: the pixels it shares with it are set to the see-through entry. The next frame cannot
make an opaque pixel of the canvas see-through, so a frame whose opaque pixels the next one
shows see-through is cleared once shown (disposal "restore to background", which clears the
frame's own rectangle), its rectangle taking in those pixels; any other frame stays. The first
frame is whole, so that no decoder's idea of the canvas before it matters; when the animation
plays again, it follows the last.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from itertools import chain, pairwise

import av
import numpy as np

# GIF blocks: an extension's introducer, the graphic control's and the application
# extension's labels, the trailer.
EXTENSION, GRAPHIC_CONTROL, APPLICATION, TRAILER = 0x21, 0xF9, 0xFF, 0x3B
# A graphic control's packed byte: disposal "do not dispose" (the frame stays) or "restore to
# background" (it is cleared), and the transparency flag.
STAYS, CLEARED, TRANSPARENT = 1 << 2, 2 << 2, 0x01
# Signature, version and logical screen descriptor, before the global colour table.
SCREEN_HEADER = 13
# The encoder's flags off: it writes the rectangle it is given, as it is.
AS_GIVEN = {"gifflags": "0"}

Box = tuple[int, int, int, int]
Frame = tuple[np.ndarray, np.ndarray]


def gif_file(
    frames: Iterable[Frame], durations: list[int], repeats: int | None, see_through_index: int
) -> bytes:
    """The GIF of `frames` (palette indices and their palette, as PyAV gives an 8-bit palette
    frame, with `see_through_index` see-through), each shown for its centiseconds in
    `durations`; played once more `repeats` times (0: for ever; None: once)."""
    parts: list[bytes] = []
    canvas: np.ndarray | None = None
    first_see_through: np.ndarray | None = None
    pairs = pairwise(chain(frames, [None]))
    for ((indices, colours), following), duration in zip(pairs, durations, strict=True):
        if first_see_through is None:
            first_see_through = indices == see_through_index
        # After the last frame comes the first again.
        next_see_through = (
            first_see_through if following is None else following[0] == see_through_index
        )
        uncovered = (indices != see_through_index) & next_see_through
        clear = bool(uncovered.any())
        if canvas is None:
            drawn, box = indices, (0, 0, indices.shape[1], indices.shape[0])
        else:
            drawn = np.where(indices == canvas, np.uint8(see_through_index), indices)
            box = _bounds((drawn != see_through_index) | uncovered)
        image = _packed_image(drawn, box, colours)
        if not parts:
            parts += [image[: _header_size(image)], _looping(repeats)]
        parts += [_graphic_control(duration, clear, see_through_index), _image_blocks(image, box)]
        canvas = _cleared(indices, box, see_through_index) if clear else indices
    return b"".join([*parts, bytes([TRAILER])])


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


def _cleared(indices: np.ndarray, box: Box, see_through_index: int) -> np.ndarray:
    """The canvas `indices` once the `box` is cleared."""
    left, top, width, height = box
    canvas = indices.copy()
    canvas[top : top + height, left : left + width] = see_through_index
    return canvas


def _packed_image(drawn: np.ndarray, box: Box, colours: np.ndarray) -> bytes:
    """The GIF FFmpeg's encoder writes of the `box` of `drawn`: a header with the colour table,
    then the image (its graphic control, descriptor and LZW data)."""
    left, top, width, height = box
    codec = av.CodecContext.create("gif", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "pal8"
    codec.time_base = Fraction(1, 100)
    codec.options = AS_GIVEN
    codec.open()
    cut = np.ascontiguousarray(drawn[top : top + height, left : left + width])
    frame = av.VideoFrame.from_ndarray((cut, colours), format="pal8")
    frame.pts = 0
    return b"".join(bytes(packet) for packet in [*codec.encode(frame), *codec.encode(None)])


def _looping(repeats: int | None) -> bytes:
    """The application extension (NETSCAPE2.0) that plays the animation again `repeats`
    times, 0 for ever; none for an animation played once."""
    if repeats is None:
        return b""
    count = repeats.to_bytes(2, "little")
    return bytes([EXTENSION, APPLICATION, 11]) + b"NETSCAPE2.0" + bytes([3, 1]) + count + b"\0"


def _graphic_control(duration: int, cleared: bool, see_through_index: int) -> bytes:
    """A frame's graphic control: shown for `duration` centiseconds, then cleared or kept,
    with `see_through_index` see-through."""
    packed = (CLEARED if cleared else STAYS) | TRANSPARENT
    delay = duration.to_bytes(2, "little")
    return bytes([EXTENSION, GRAPHIC_CONTROL, 4, packed]) + delay + bytes([see_through_index, 0])


def _image_blocks(packed: bytes, box: Box) -> bytes:
    """The image of a GIF the encoder wrote (descriptor, LZW code size and data; the encoder
    leaves the trailer to a muxer), placed at the `box`'s corner."""
    image = bytearray(packed[_first_block(packed) :])
    image[1:5] = box[0].to_bytes(2, "little") + box[1].to_bytes(2, "little")
    return bytes(image)


def _first_block(packed: bytes) -> int:
    """Where the image of a GIF starts, past its header, global colour table and any extension
    the encoder wrote before it."""
    pos = _header_size(packed)
    while packed[pos] == EXTENSION:
        pos += 2
        while packed[pos]:
            pos += packed[pos] + 1
        pos += 1
    return pos


def _header_size(gif: bytes) -> int:
    """The bytes of a GIF's header and global colour table."""
    flags = gif[10]
    return SCREEN_HEADER + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
