"""Which modern image formats a client's Accept header asks for."""

from __future__ import annotations

NEGOTIABLE = {"image/avif": "avif", "image/webp": "webp"}


def accepted_formats(header: str) -> frozenset[str]:
    """Formats named explicitly with q > 0; `image/*` and `*/*` promise neither AVIF nor WebP."""
    found: set[str] = set()
    for part in header.split(","):
        media, _, params = part.strip().partition(";")
        fmt = NEGOTIABLE.get(media.strip().lower())
        if fmt and _quality(params) > 0:
            found.add(fmt)
    return frozenset(found)


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0
