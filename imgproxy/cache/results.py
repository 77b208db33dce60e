"""Rendered results: a disk store on this machine, and optionally the S3 tier that several
machines share."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from imgproxy import metrics
from imgproxy.cache.keys import ResultName, path_tag, plan_index_key
from imgproxy.cache.shared import SharedTier, build_shared
from imgproxy.cache.stores import BlobStore, Entry
from imgproxy.config import Settings

# Results listed per plan of an original: versions x formats x render settings seen lately.
PLAN_INDEX_SIZE = 64


class Results:
    """The local store first; on a miss the shared tier, whose hit is kept locally too."""

    def __init__(self, local: BlobStore, shared: SharedTier | None = None) -> None:
        self.local = local
        self.shared = shared

    @property
    def enabled(self) -> bool:
        return self.local.enabled or self.shared is not None

    async def find(self, name: ResultName) -> Entry | None:
        entry = self.local.get(name.key)
        metrics.cache_lookup(self.local.name, hit=entry is not None)
        if entry is not None or self.shared is None:
            return entry
        entry = await asyncio.to_thread(self.shared.get, name)
        metrics.cache_lookup("shared", hit=entry is not None)
        if entry is not None:
            await asyncio.to_thread(self._keep_local, name, entry.meta, entry.body)
        return entry

    def put(self, name: ResultName, meta: dict[str, Any], body: bytes) -> None:
        self._keep_local(name, meta, body)
        if self.shared is not None:
            self.shared.put(name, meta, body)

    def _keep_local(self, name: ResultName, meta: dict[str, Any], body: bytes) -> None:
        self.local.put(name.key, meta, body, tag=name.tag)
        self.local.add_member(name.index, name.key, name.tag, PLAN_INDEX_SIZE)

    async def forget(self, origin: str, path: str, plan_key: str) -> int:
        """Delete every stored result of one plan of an original (each version, format and
        render settings); how many went."""
        index = plan_index_key(origin, path, plan_key)
        gone = {key for key in self.local.members(index) if self.local.delete(key)}
        self.local.delete(index)
        if self.shared is not None:
            gone |= await asyncio.to_thread(self.shared.forget, path_tag(origin, path), plan_key)
        return len(gone)

    def evict(self, tag: str) -> int:
        return self.local.evict(tag) + (self.shared.evict(tag) if self.shared else 0)

    def clear(self) -> int:
        return self.local.clear() + (self.shared.clear() if self.shared else 0)

    def usage(self) -> dict[str, int]:
        return self.local.usage()

    def close(self) -> None:
        self.local.close()


def build_results(settings: Settings) -> Results:
    local = BlobStore(Path(settings.cache.dir) / "results", settings.cache.result_size_mb)
    return Results(local, build_shared(settings))
