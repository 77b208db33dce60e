"""The quality a JPEG was saved with, estimated from its luminance quantisation table."""

from __future__ import annotations

import struct

# ITU-T T.81 Annex K luminance table (quality 50); its sum is what a scaled table is compared to.
ANNEX_K_LUMA_SUM = sum(
    (16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
     14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
     18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
     49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99)
)  # fmt: skip
SOI, DQT, SOS, EOI = 0xD8, 0xDB, 0xDA, 0xD9


def estimate_jpeg_quality(data: bytes) -> int | None:
    """The IJG quality (1-100) whose scaling gives this file's luminance table, or None."""
    table = _luma_table(data)
    if table is None:
        return None
    if max(table) == 1:
        return 100
    scale = 100.0 * sum(table) / ANNEX_K_LUMA_SUM
    quality = (200.0 - scale) / 2.0 if scale <= 100.0 else 5000.0 / scale
    return max(1, min(100, round(quality)))


def _luma_table(data: bytes) -> list[int] | None:
    if data[:2] != b"\xff" + bytes([SOI]):
        return None
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker in (SOS, EOI):
            return None
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker == DQT:
            table = _table_zero(data[pos + 4 : pos + 2 + length])
            if table is not None:
                return table
        pos += 2 + length
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
