"""An origin in front of another: keeps originals on disk for a while."""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from typing import Any

from imgproxy import metrics
from imgproxy.cache.changes import ChangeWatch
from imgproxy.cache.keys import origin_key, path_tag
from imgproxy.cache.shared import SharedTier
from imgproxy.cache.stores import BlobStore, Entry
from imgproxy.errors import OriginFailed
from imgproxy.origins.base import Origin, Source

# Version memos a process keeps in memory; they start over when this many are kept.
MEMOS_KEPT = 10_000
# How long a process trusts its last answer to whether the shared tier's originals changed.
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
        metrics.cache_lookup(self.store.name, hit=entry is not None)
        if entry is not None:
            return Source(entry.body, str(entry.meta["validator"]), entry.meta.get("last_modified"))
        source = await self.inner.fetch(path)
        metrics.origin_fetched(origin_kind(self.name), source.fetch_ms / 1000, len(source.data))
        await asyncio.to_thread(self._keep, path, source)
        return source

    def _keep(self, path: str, source: Source) -> None:
        meta = {"validator": source.validator, "last_modified": source.last_modified}
        tag = path_tag(self.name, path)
        self.store.put(origin_key("d", self.name, path), meta, source.data, self.ttl_s, tag)
        self.store.put(origin_key("v", self.name, path), meta, b"", self.ttl_s, tag)

    async def close(self) -> None:
        await self.inner.close()


def origin_kind(name: str) -> str:
    """local, http, url or s3: how the metrics name an origin (its name starts with it)."""
    return name.partition(":")[0]


class Generation:
    """The shared tier's generation, asked at most every SHARED_CHECK_S seconds by a process.
    Requests take the last answer while a newer one is asked for; only the first one waits."""

    def __init__(self, shared: SharedTier) -> None:
        self.shared = shared
        self.known: str | None = None
        self._asked_at = -math.inf
        self._asking: asyncio.Task[None] | None = None

    async def current(self) -> str | None:
        self.refresh()
        if self.known is None and self._asking is not None:
            await asyncio.shield(self._asking)
        return self.known

    def refresh(self) -> str | None:
        """The last answer, after asking for a newer one when it is due (without waiting)."""
        idle = self._asking is None or self._asking.done()
        if idle and time.monotonic() - self._asked_at >= SHARED_CHECK_S:
            self._asked_at = time.monotonic()
            self._asking = asyncio.ensure_future(self._ask())
        return self.known

    async def _ask(self) -> None:
        found = await asyncio.to_thread(self.shared.generation)
        # When S3 cannot tell, the last answer stands until it can.
        if found is not None:
            self.known = found


class PreprocessedOrigin:
    """Originals that a POST replaced (cache_processed, cache_queries) win over `inner`'s own.

    They are kept without expiry in their own store; `keep` returns the new version tag. With a
    shared tier they are kept there too, and a memo of a path's version holds while the tier's
    generation is the one it was taken under: cache hits ask S3 nothing per path.
    """

    def __init__(
        self,
        inner: Origin,
        store: BlobStore,
        shared: SharedTier | None = None,
        watch: ChangeWatch | None = None,
    ) -> None:
        self.inner = inner
        self.store = store
        self.shared = shared
        self.generation = Generation(shared) if shared is not None else None
        self.name = inner.name
        # Version memos read from disk, kept in memory until a POST or purge is announced.
        self.watch = watch
        self._memos: dict[str, Entry | None] = {}

    async def validator(self, path: str) -> str | None:
        return await self._version(path) or await self.inner.validator(path)

    def epoch(self) -> str | None:
        """What answers kept in memory were made under: the shared tier's generation (None
        without one). An answer made under another must be made again."""
        return self.generation.refresh() if self.generation is not None else None

    async def fetch(self, path: str) -> Source:
        version = await self._version(path)
        if version is None:
            return await self.inner.fetch(path)
        entry = await asyncio.to_thread(self._kept, path, version)
        if entry is None:
            # Results are named by this version already: `inner`'s original must not stand in.
            self.store.delete(origin_key("pv", self.name, path))
            self._memos.pop(path, None)
            raise OriginFailed(f"the preprocessed original of {path} could not be read")
        return Source(entry.body, str(entry.meta["validator"]))

    def _kept(self, path: str, version: str) -> Entry | None:
        """The kept original: this machine's copy of `version`, else the shared tier's."""
        entry = self.store.get(origin_key("pd", self.name, path))
        if (entry is None or entry.meta["validator"] != version) and self.shared is not None:
            entry = self._copy_shared(self.shared, path)
        return entry

    async def _version(self, path: str) -> str | None:
        memo = self._memo(path)
        known = memo.meta["validator"] if memo is not None else None
        if self.generation is None:
            return known
        generation = await self.generation.current()
        # Unchanged since the memo, or S3 cannot tell now (a path would fail alike): the memo.
        if generation is None or (memo and memo.meta.get("generation") == generation):
            return known
        tag = path_tag(self.name, path)
        try:
            version = await asyncio.to_thread(self.generation.shared.original_version, tag)
        except OriginFailed:
            # No memo that would outlive the failure.
            return known
        self._remember(path, version, generation)
        return version

    def _memo(self, path: str) -> Entry | None:
        """The path's version memo: read on every request, so from memory after the first."""
        if self.watch is None:
            return self.store.get(origin_key("pv", self.name, path))
        if self.watch.changed() or len(self._memos) >= MEMOS_KEPT:
            self._memos.clear()
        if path not in self._memos:
            self._memos[path] = self.store.get(origin_key("pv", self.name, path))
        return self._memos[path]

    def _copy_shared(self, shared: SharedTier, path: str) -> Entry | None:
        entry = shared.get_original(path_tag(self.name, path))
        if entry is not None:
            self._store(path, entry.meta, entry.body)
        return entry

    def keep(self, path: str, data: bytes) -> str:
        """Keep `data` as the original of `path`; its version tag. With a shared tier that fails,
        OriginFailed: an original only this server would serve is not kept."""
        validator = "pre-" + hashlib.sha256(data).hexdigest()[:32]
        tag = path_tag(self.name, path)
        generation = None
        if self.generation is not None:
            generation = self.generation.shared.put_original(tag, validator, data)
            self.generation.known = generation
        self._store(path, {"validator": validator}, data)
        self._remember(path, validator, generation)
        return validator

    def _store(self, path: str, meta: dict[str, Any], data: bytes) -> None:
        tag = path_tag(self.name, path)
        self.store.put(origin_key("pd", self.name, path), meta, data, tag=tag)

    def _remember(self, path: str, version: str | None, generation: str | None) -> None:
        meta = {"validator": version, "generation": generation}
        tag = path_tag(self.name, path)
        self.store.put(origin_key("pv", self.name, path), meta, b"", tag=tag)
        self._memos[path] = Entry(meta, b"")

    async def close(self) -> None:
        await self.inner.close()
