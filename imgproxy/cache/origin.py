"""An origin in front of another: keeps originals on disk for a while."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from imgproxy.cache.keys import origin_key, path_tag
from imgproxy.cache.shared import SharedTier
from imgproxy.cache.stores import BlobStore, Entry
from imgproxy.origins.base import Origin, Source

# How long a server trusts its memo of whether a POST replaced an original in the shared tier.
SHARED_CHECK_S = 5.0


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

    They are kept without expiry in their own store; `keep` returns the new version tag. With a
    shared tier they are kept there too, and other servers ask it at most every
    SHARED_CHECK_S seconds per path whether a POST replaced an original.
    """

    def __init__(self, inner: Origin, store: BlobStore, shared: SharedTier | None = None) -> None:
        self.inner = inner
        self.store = store
        self.shared = shared
        self.name = inner.name

    async def validator(self, path: str) -> str | None:
        return await self._version(path) or await self.inner.validator(path)

    async def fetch(self, path: str) -> Source:
        version = await self._version(path)
        if version is None:
            return await self.inner.fetch(path)
        entry = await asyncio.to_thread(self.store.get, origin_key("pd", self.name, path))
        if (entry is None or entry.meta["validator"] != version) and self.shared is not None:
            entry = await asyncio.to_thread(self._copy_shared, self.shared, path)
        if entry is None:
            return await self.inner.fetch(path)
        return Source(entry.body, str(entry.meta["validator"]))

    async def _version(self, path: str) -> str | None:
        # Small and read on every request for this origin: inline, no thread hop.
        entry = self.store.get(origin_key("pv", self.name, path))
        if entry is None and self.shared is not None:
            entry = await asyncio.to_thread(self._ask_shared, self.shared, path)
        return entry.meta["validator"] if entry is not None else None

    def _ask_shared(self, shared: SharedTier, path: str) -> Entry:
        """The shared tier's version tag (None: no POST replaced it), remembered for a while."""
        meta = {"validator": shared.original_version(path_tag(self.name, path))}
        self._remember(path, meta)
        return Entry(meta, b"")

    def _copy_shared(self, shared: SharedTier, path: str) -> Entry | None:
        entry = shared.get_original(path_tag(self.name, path))
        if entry is not None:
            self._store(path, entry.meta, entry.body)
        return entry

    def keep(self, path: str, data: bytes) -> str:
        validator = "pre-" + hashlib.sha256(data).hexdigest()[:32]
        if self.shared is not None:
            self.shared.put_original(path_tag(self.name, path), validator, data)
        meta = {"validator": validator}
        self._store(path, meta, data)
        self._remember(path, meta)
        return validator

    def _store(self, path: str, meta: dict[str, Any], data: bytes) -> None:
        tag = path_tag(self.name, path)
        self.store.put(origin_key("pd", self.name, path), meta, data, tag=tag)

    def _remember(self, path: str, meta: dict[str, Any]) -> None:
        # With a shared tier this is only a memo of its answer: other servers may POST too.
        expire = SHARED_CHECK_S if self.shared is not None else None
        tag = path_tag(self.name, path)
        self.store.put(origin_key("pv", self.name, path), meta, b"", expire, tag)

    async def close(self) -> None:
        await self.inner.close()
