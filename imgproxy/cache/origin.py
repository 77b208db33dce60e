"""An origin in front of another: keeps originals on disk for a while."""

from __future__ import annotations

import asyncio
import hashlib

from imgproxy.cache.keys import origin_key, path_tag
from imgproxy.cache.stores import BlobStore
from imgproxy.origins.base import Origin, Source


class CachedOrigin:
    """Serves originals from `store` for `ttl_s` seconds after they were fetched from `inner`."""

    def __init__(self, inner: Origin, store: BlobStore, ttl_s: float) -> None:
        self.inner = inner
        self.store = store
        self.ttl_s = ttl_s
        self.name = inner.name

    async def validator(self, path: str) -> str | None:
        own = await self.inner.validator(path)
        if own is not None:
            return own
        # A body-less twin entry answers without reading the whole original from disk.
        entry = await asyncio.to_thread(self.store.get, origin_key("v", self.name, path))
        return str(entry.meta["validator"]) if entry else None

    async def fetch(self, path: str) -> Source:
        entry = await asyncio.to_thread(self.store.get, origin_key("d", self.name, path))
        if entry is not None:
            return Source(entry.body, str(entry.meta["validator"]), entry.meta.get("last_modified"))
        source = await self.inner.fetch(path)
        await asyncio.to_thread(self._keep, path, source)
        return source

    def _keep(self, path: str, source: Source) -> None:
        meta = {"validator": source.validator, "last_modified": source.last_modified}
        tag = path_tag(self.name, path)
        self.store.put(origin_key("d", self.name, path), meta, source.data, self.ttl_s, tag)
        self.store.put(origin_key("v", self.name, path), meta, b"", self.ttl_s, tag)

    async def close(self) -> None:
        await self.inner.close()


class PreprocessedOrigin:
    """Originals that a POST replaced (cache_processed, cache_queries) win over `inner`'s own.

    They are kept without expiry in their own store; `keep` returns the new version tag.
    """

    def __init__(self, inner: Origin, store: BlobStore) -> None:
        self.inner = inner
        self.store = store
        self.name = inner.name

    async def validator(self, path: str) -> str | None:
        # Small and read on every request for this origin: inline, no thread hop.
        entry = self.store.get(origin_key("pv", self.name, path))
        return str(entry.meta["validator"]) if entry else await self.inner.validator(path)

    async def fetch(self, path: str) -> Source:
        entry = await asyncio.to_thread(self.store.get, origin_key("pd", self.name, path))
        if entry is not None:
            return Source(entry.body, str(entry.meta["validator"]))
        return await self.inner.fetch(path)

    def keep(self, path: str, data: bytes) -> str:
        validator = "pre-" + hashlib.sha256(data).hexdigest()[:32]
        meta, tag = {"validator": validator}, path_tag(self.name, path)
        self.store.put(origin_key("pd", self.name, path), meta, data, tag=tag)
        self.store.put(origin_key("pv", self.name, path), meta, b"", tag=tag)
        return validator

    async def close(self) -> None:
        await self.inner.close()
