"""What a JPEG's markers say before any pixel is decoded: quantisation tables and sampling."""

from __future__ import annotations

import struct
from collections.abc import Iterator

SOI, DQT, SOS, EOI = 0xD8, 0xDB, 0xDA, 0xD9
# Start-of-frame markers (baseline, extended, progressive, lossless, arithmetic variants).
SOF_MARKERS = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
)
# libjpeg's J_COLOR_SPACE numbers of the colour space a decoder hands out, by component count.
DECODED_COLORSPACE = {1: 1, 3: 2, 4: 4}


def segments(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(marker, payload) of each header segment up to the first scan."""
    if data[:2] != b"\xff" + bytes([SOI]):
        return
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker in (SOS, EOI):
            return
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        yield marker, data[pos + 4 : pos + 2 + length]
        pos += 2 + length


def luma_table(data: bytes) -> list[int] | None:
    """Quantisation table 0, which encoders use for luminance."""
    for marker, payload in segments(data):
        if marker == DQT:
            table = _table_zero(payload)
            if table is not None:
                return table
    return None


def _table_zero(segment: bytes) -> list[int] | None:
    """Table 0 of a DQT segment, which may hold several 8- or 16-bit tables."""
    pos = 0
    while pos < len(segment):
        precision, table_id = segment[pos] >> 4, segment[pos] & 0x0F
        size = 128 if precision else 64
        body = segment[pos + 1 : pos + 1 + size]
        if len(body) < size:
            return None
        if table_id == 0:
            return list(struct.unpack(">64H", body)) if precision else list(body)
        pos += 1 + size
    return None


def frame_info(data: bytes) -> dict[str, object] | None:
    """{"colorspace": libjpeg's decoded colour space, "sampling-factor": "2x2,1x1,1x1"}."""
    for marker, payload in segments(data):
        if marker in SOF_MARKERS and len(payload) >= 6:
            count = payload[5]
            factors = [payload[6 + 3 * i + 1] for i in range(count) if 6 + 3 * i + 2 < len(payload)]
            return {
                "colorspace": DECODED_COLORSPACE.get(count, 0),
                "sampling-factor": ",".join(f"{f >> 4}x{f & 0x0F}" for f in factors),
            }
    return None
