"""The quality a JPEG was saved with, estimated from its luminance quantisation table."""

from __future__ import annotations

from imgproxy.pipeline.jpeginfo import luma_table

# ITU-T T.81 Annex K luminance table (quality 50); its sum is what a scaled table is compared to.
ANNEX_K_LUMA_SUM = sum(
    (16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
     14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
     18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
     49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99)
)  # fmt: skip


def estimate_jpeg_quality(data: bytes) -> int | None:
    """The IJG quality (1-100) whose scaling gives this file's luminance table, or None."""
    table = luma_table(data)
    if table is None:
        return None
    if max(table) == 1:
        return 100
    scale = 100.0 * sum(table) / ANNEX_K_LUMA_SUM
    quality = (200.0 - scale) / 2.0 if scale <= 100.0 else 5000.0 / scale
    return max(1, min(100, round(quality)))
