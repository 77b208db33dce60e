"""A size-bounded disk store of entries made of a small JSON header and a body of bytes."""

from __future__ import annotations

import json
import pickle
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import diskcache

from imgproxy import metrics

MB = 1024 * 1024
# Meta length, body length and the body's CRC-32: a torn or damaged entry never reads as valid.
HEADER = struct.Struct(">III")


@dataclass(frozen=True)
class Entry:
    meta: dict[str, Any]
    body: bytes


class BlobStore:
    """diskcache underneath: many processes may share one directory; size 0 turns it off.
    The metrics name a store by its folder's name."""

    def __init__(self, directory: str | Path, size_mb: int) -> None:
        self.enabled = size_mb > 0
        self.name = Path(directory).name
        # No culling inside diskcache's writes: `put` culls, and counts what goes.
        self._cache = (
            diskcache.Cache(str(directory), size_limit=size_mb * MB, cull_limit=0)
            if self.enabled
            else None
        )
        if self._cache is not None:
            # Tags name the original an entry belongs to, so purges can find all its variants.
            self._cache.create_tag_index()

    def get(self, key: str) -> Entry | None:
        if self._cache is None:
            return None
        try:
            value = self._cache.get(key)
        except (OSError, ValueError, pickle.UnpicklingError):
            value = None
        entry = unpack(value) if isinstance(value, bytes) else None
        if entry is None and value is not None:
            # Damaged: drop it so that the next request renders and stores it again.
            self._cache.delete(key)
        return entry

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
            metrics.cache_evicted(self.name, self._cull(self._cache))

    @staticmethod
    def _cull(cache: diskcache.Cache) -> int:
        """Drop expired entries, then the oldest while over the size limit; how many went."""
        try:
            return cache.cull()
        except diskcache.Timeout:
            # Another process holds the database: the next write culls.
            return 0

    def delete(self, key: str) -> bool:
        return bool(self._cache is not None and self._cache.delete(key))

    def add_member(self, key: str, member: str, tag: str, limit: int) -> None:
        """Add `member` to the list kept under `key`, keeping the newest `limit`."""
        if self._cache is None:
            return
        # One transaction: the worker processes of a machine write to one list.
        with self._cache.transact():
            members = [m for m in self.members(key) if m != member] + [member]
            self.put(key, {"members": members[-limit:]}, b"", tag=tag)

    def members(self, key: str) -> list[str]:
        entry = self.get(key)
        return list(entry.meta["members"]) if entry is not None else []

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
    return HEADER.pack(len(header), len(body), zlib.crc32(body)) + header + body


def unpack(value: bytes) -> Entry | None:
    """The entry, or None when the bytes are not one (torn, damaged or foreign)."""
    if len(value) < HEADER.size:
        return None
    meta_length, body_length, checksum = HEADER.unpack_from(value)
    start = HEADER.size + meta_length
    body = value[start:]
    if len(body) != body_length or zlib.crc32(body) != checksum:
        return None
    try:
        meta = json.loads(value[HEADER.size : start])
    except ValueError:
        return None
    return Entry(meta, body) if isinstance(meta, dict) else None
