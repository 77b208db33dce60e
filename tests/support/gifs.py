"""GIF files written byte by byte, to reach what encoders seldom write: every disposal, the
see-through flag with and without an index in use, local tables shorter or longer than the
global one, interlaced frames, frames over part of the canvas, code sizes 2-8, clear codes at
any point or none at all (the table full and kept), sub-blocks of any length."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MAX_CODES = 4096
TRAILER = b"\x3b"
LOOP_FOREVER = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
COMMENT = b"\x21\xfe\x05hello\x00"
PLAIN_TEXT = b"\x21\x01\x0c" + bytes(12) + b"\x02ab\x00"


def lzw_codes(
    indices: np.ndarray, min_size: int, clear_every: int | None, clear_first: bool
) -> list[tuple[int, int]]:
    """The (code, width) pairs of `indices`: a clear code first if `clear_first`, another after
    every `clear_every` codes if given, else none once the table is full."""
    clear = 1 << min_size
    codes: list[tuple[int, int]] = [(clear, min_size + 1)] if clear_first else []
    size, next_code, table = min_size + 1, clear + 2, {}
    string: int | None = None
    since_clear = 0
    for index in indices.tolist():
        if string is None:
            string = index
            continue
        if (string, index) in table:
            string = table[string, index]
            continue
        codes.append((string, size))
        since_clear += 1
        if next_code < MAX_CODES:
            table[string, index] = next_code
            next_code += 1
            if next_code - 1 == 1 << size and size < 12:
                size += 1
        string = index
        if clear_every and since_clear == clear_every:
            codes.append((clear, size))
            size, next_code, table, since_clear = min_size + 1, clear + 2, {}, 0
    if string is not None:
        codes.append((string, size))
    codes.append((clear + 1, size))
    return codes


def packed_bits(codes: list[tuple[int, int]]) -> bytes:
    """Codes least significant bit first, as GIF stores them."""
    out, pending, count = bytearray(), 0, 0
    for code, width in codes:
        pending |= code << count
        count += width
        while count >= 8:
            out.append(pending & 0xFF)
            pending >>= 8
            count -= 8
    return bytes(out + (bytes([pending]) if count else b""))


def sub_blocks(payload: bytes, lengths: list[int]) -> bytes:
    """`payload` in sub-blocks of the given lengths in turn (255 once they run out), then the
    empty block."""
    out, at, turn = bytearray(), 0, 0
    while at < len(payload):
        length = lengths[turn] if turn < len(lengths) else 255
        chunk = payload[at : at + length]
        out += bytes([len(chunk)]) + chunk
        at, turn = at + length, turn + 1
    return bytes(out) + b"\0"


@dataclass
class Frame:
    indices: np.ndarray
    x: int = 0
    y: int = 0
    disposal: int | None = None
    see_through: int | None = None
    local_table: bytes | None = None
    interlaced: bool = False
    min_size: int = 8
    clear_every: int | None = None
    clear_first: bool = True
    block_lengths: list[int] = field(default_factory=list)

    def encoded(self) -> bytes:
        control = b""
        if self.disposal is not None or self.see_through is not None:
            flags = (self.disposal or 0) << 2 | (self.see_through is not None)
            control = bytes([0x21, 0xF9, 4, flags, 10, 0, self.see_through or 0, 0])
        height, width = self.indices.shape
        fields = (self.x, self.y, width, height)
        flags = 0x40 if self.interlaced else 0
        if self.local_table is not None:
            flags |= 0x80 | table_bits(self.local_table) - 1
        descriptor = b"\x2c" + b"".join(v.to_bytes(2, "little") for v in fields) + bytes([flags])
        rows = interlaced_rows(height) if self.interlaced else list(range(height))
        stored = self.indices[rows].ravel()
        codes = lzw_codes(stored, self.min_size, self.clear_every, self.clear_first)
        data = bytes([self.min_size]) + sub_blocks(packed_bits(codes), self.block_lengths)
        return control + descriptor + (self.local_table or b"") + data


def table_bits(table: bytes) -> int:
    return (len(table) // 3).bit_length() - 1


def interlaced_rows(height: int) -> list[int]:
    """The canvas rows of an interlaced frame's stored rows, in their order."""
    return [
        y for start, step in ((0, 8), (4, 8), (2, 4), (1, 2)) for y in range(start, height, step)
    ]


def gif(
    width: int,
    height: int,
    frames: list[Frame],
    global_table: bytes | None,
    background: int = 0,
    extensions: bytes = LOOP_FOREVER,
    version: bytes = b"GIF89a",
) -> bytes:
    flags = 0x80 | table_bits(global_table) - 1 if global_table is not None else 0
    screen = width.to_bytes(2, "little") + height.to_bytes(2, "little")
    screen += bytes([flags, background, 0]) + (global_table or b"")
    body = b"".join(frame.encoded() for frame in frames)
    return version + screen + extensions + body + TRAILER


def random_table(rng: np.random.Generator, bits: int) -> bytes:
    return rng.integers(0, 256, (1 << bits) * 3, dtype=np.uint8).tobytes()


def random_indices(rng: np.random.Generator, shape: tuple[int, int], top: int) -> np.ndarray:
    """Noise, runs of one index, or one index throughout."""
    count = shape[0] * shape[1]
    kind = rng.integers(0, 3)
    if kind == 0:
        values = rng.integers(0, top, count)
    elif kind == 1:
        values = np.repeat(rng.integers(0, top, count // 5 + 1), 5)[:count]
    else:
        values = np.full(count, rng.integers(0, top))
    return values.astype(np.uint8).reshape(shape)


def random_frame(rng: np.random.Generator, width: int, height: int, bits: int) -> Frame:
    """A frame anywhere on a `width` x `height` canvas whose table has 2 ** `bits` entries."""
    x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
    if rng.random() < 0.4:
        x = y = 0
        shape = (height, width)
    else:
        shape = (int(rng.integers(1, height - y + 1)), int(rng.integers(1, width - x + 1)))
    local_table = random_table(rng, int(rng.integers(1, 9))) if rng.random() < 0.3 else None
    min_size = int(rng.integers(2, 9))
    top = 1 << min_size
    if rng.random() < 0.7:
        top = min(top, 1 << (table_bits(local_table) if local_table else bits))
    see_through = None
    if rng.random() < 0.5:
        see_through = int(rng.integers(0, 8)) if rng.random() < 0.8 else int(rng.integers(0, 256))
    return Frame(
        indices=random_indices(rng, shape, top),
        x=x,
        y=y,
        disposal=int(rng.integers(0, 6)) if rng.random() < 0.85 else None,
        see_through=see_through,
        local_table=local_table,
        interlaced=bool(rng.random() < 0.3),
        min_size=min_size,
        clear_every=int(rng.integers(50, 5000)) if rng.random() < 0.3 else None,
        clear_first=bool(rng.random() < 0.9),
        block_lengths=rng.integers(1, 256, 8).tolist() if rng.random() < 0.3 else [],
    )


def random_gif(rng: np.random.Generator) -> bytes:
    width, height = int(rng.integers(1, 40)), int(rng.integers(1, 40))
    bits = int(rng.integers(1, 9))
    global_table = random_table(rng, bits) if rng.random() < 0.85 else None
    frames = [random_frame(rng, width, height, bits) for _ in range(int(rng.integers(1, 7)))]
    extensions = b"".join(
        part
        for part, p in ((LOOP_FOREVER, 0.5), (COMMENT, 0.2), (PLAIN_TEXT, 0.1))
        if rng.random() < p
    )
    version = b"GIF89a" if rng.random() < 0.9 else b"GIF87a"
    background = int(rng.integers(0, 256))
    return gif(width, height, frames, global_table, background, extensions, version)


def damaged(rng: np.random.Generator, data: bytes) -> bytes:
    """`data` cut short half the time, with one to three of its bytes past the header changed."""
    out = bytearray(data)
    if rng.random() < 0.5:
        out = out[: int(rng.integers(13, len(out)))]
    for _ in range(int(rng.integers(1, 4))):
        if len(out) > 13:
            out[int(rng.integers(13, len(out)))] = int(rng.integers(0, 256))
    return bytes(out)
