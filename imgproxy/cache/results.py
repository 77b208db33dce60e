"""Rendered results: a disk store on this machine, and optionally a tier in S3 that several
machines share."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from imgproxy.cache.stores import BlobStore, Entry, pack, unpack
from imgproxy.config import Settings
from imgproxy.origins.s3 import s3_client

log = logging.getLogger(__name__)
# A shared tier that fails must not fail the request: the render happens again instead.
S3_FAILURES = (BotoCoreError, ClientError)


class SharedResults:
    """Results as S3 objects under `prefix`, grouped by original so that purges can list them."""

    def __init__(self, bucket: str, prefix: str, client: Any) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.client = client

    def key(self, key: str, tag: str) -> str:
        return f"{self._folder(tag)}{key}"

    def _folder(self, tag: str) -> str:
        return f"{self.prefix}{hashlib.sha256(tag.encode()).hexdigest()[:24]}/"

    def get(self, key: str, tag: str) -> Entry | None:
        try:
            found = self.client.get_object(Bucket=self.bucket, Key=self.key(key, tag))
            return unpack(found["Body"].read())
        except S3_FAILURES as exc:
            if not _missing(exc):
                log.warning("shared result cache: get failed: %s", type(exc).__name__)
            return None

    def put(self, key: str, meta: dict[str, Any], body: bytes, tag: str) -> None:
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self.key(key, tag), Body=pack(meta, body)
            )
        except S3_FAILURES as exc:
            log.warning("shared result cache: put failed: %s", type(exc).__name__)

    def delete(self, key: str, tag: str) -> bool:
        existed = self.get(key, tag) is not None
        self.client.delete_object(Bucket=self.bucket, Key=self.key(key, tag))
        return existed

    def evict(self, tag: str) -> int:
        return self._delete_under(self._folder(tag))

    def clear(self) -> int:
        return self._delete_under(self.prefix)

    def _delete_under(self, prefix: str) -> int:
        deleted = 0
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        for page in pages:
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys})
                deleted += len(keys)
        return deleted


def _missing(exc: Exception) -> bool:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
    return code in ("NoSuchKey", "404")


class Results:
    """The local store first; on a miss the shared tier, whose hit is kept locally too."""

    def __init__(self, local: BlobStore, shared: SharedResults | None = None) -> None:
        self.local = local
        self.shared = shared

    async def find(self, key: str, tag: str) -> Entry | None:
        entry = self.local.get(key)
        if entry is not None or self.shared is None:
            return entry
        entry = await asyncio.to_thread(self.shared.get, key, tag)
        if entry is not None:
            await asyncio.to_thread(self.local.put, key, entry.meta, entry.body, None, tag)
        return entry

    def put(self, key: str, meta: dict[str, Any], body: bytes, tag: str) -> None:
        self.local.put(key, meta, body, tag=tag)
        if self.shared is not None:
            self.shared.put(key, meta, body, tag)

    def delete(self, key: str, tag: str) -> bool:
        removed = self.local.delete(key)
        return bool(self.shared.delete(key, tag) if self.shared else False) or removed

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
    c = settings.cache
    if not c.s3_bucket:
        return Results(local)
    o = settings.origin
    client = s3_client(o.region, o.endpoint_url, o.timeout_s, o.connect_timeout_s)
    return Results(local, SharedResults(c.s3_bucket, c.s3_prefix, client))
