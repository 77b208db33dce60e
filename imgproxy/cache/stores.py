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
        if self._cache is not None:
            # Tags name the original an entry belongs to, so purges can find all its variants.
            self._cache.create_tag_index()

    def get(self, key: str) -> Entry | None:
        if self._cache is None:
            return None
        value = self._cache.get(key)
        return unpack(value) if isinstance(value, bytes) else None

    def put(
        self,
        key: str,
        meta: dict[str, Any],
        body: bytes,
        expire_s: float | None = None,
        tag: str | None = None,
    ) -> None:
        if self._cache is not None:
            self._cache.set(key, pack(meta, body), expire=expire_s or None, tag=tag)

    def delete(self, key: str) -> bool:
        return bool(self._cache is not None and self._cache.delete(key))

    def evict(self, tag: str) -> int:
        """Delete every entry with this tag; how many went."""
        return self._cache.evict(tag) if self._cache is not None else 0

    def clear(self) -> int:
        return self._cache.clear() if self._cache is not None else 0

    def usage(self) -> dict[str, int]:
        if self._cache is None:
            return {"entries": 0, "bytes": 0}
        return {"entries": len(self._cache), "bytes": self._cache.volume()}

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
