"""A size-bounded disk store of entries made of a small JSON header and a body of bytes."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import diskcache

MB = 1024 * 1024
HEADER = struct.Struct(">I")


@dataclass(frozen=True)
class Entry:
    meta: dict[str, Any]
    body: bytes


class BlobStore:
    """diskcache underneath: many processes may share one directory; size 0 turns it off."""

    def __init__(self, directory: str | Path, size_mb: int) -> None:
        self.enabled = size_mb > 0
        self._cache = (
            diskcache.Cache(str(directory), size_limit=size_mb * MB) if self.enabled else None
        )

    def get(self, key: str) -> Entry | None:
        if self._cache is None:
            return None
        value = self._cache.get(key)
        return unpack(value) if isinstance(value, bytes) else None

    def put(
        self, key: str, meta: dict[str, Any], body: bytes, expire_s: float | None = None
    ) -> None:
        if self._cache is not None:
            self._cache.set(key, pack(meta, body), expire=expire_s or None)

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()


def pack(meta: dict[str, Any], body: bytes) -> bytes:
    header = json.dumps(meta, separators=(",", ":")).encode()
    return HEADER.pack(len(header)) + header + body


def unpack(value: bytes) -> Entry | None:
    """The entry, or None when the bytes are not one (a torn or foreign value)."""
    if len(value) < HEADER.size:
        return None
    (length,) = HEADER.unpack_from(value)
    start = HEADER.size + length
    if start > len(value):
        return None
    try:
        meta = json.loads(value[HEADER.size : start])
    except ValueError:
        return None
    return Entry(meta, value[start:]) if isinstance(meta, dict) else None
