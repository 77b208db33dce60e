"""The S3 tier that several servers share: rendered results and originals replaced by POST."""

from __future__ import annotations

import hashlib
import logging
import uuid
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from imgproxy.cache.keys import ResultName
from imgproxy.cache.stores import Entry, pack, unpack
from imgproxy.config import Settings
from imgproxy.errors import OriginFailed
from imgproxy.origins.s3 import s3_client

log = logging.getLogger(__name__)
# A result the shared tier cannot give or keep is rendered again; only originals and purges fail.
S3_FAILURES = (BotoCoreError, ClientError)
VALIDATOR_META = "validator"


class SharedTier:
    """Objects under `prefix`: one folder per original (its preprocessed copy and its results),
    one sub-folder per plan, so that purges can list what they remove; and one generation
    marker, rewritten whenever an original kept here changes or goes."""

    def __init__(self, bucket: str, prefix: str, client: Any) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.client = client
        self._marker = f"{prefix}generation"

    def _folder(self, tag: str) -> str:
        return f"{self.prefix}{_hash(tag, 24)}/"

    def _plan_folder(self, tag: str, plan_key: str) -> str:
        return f"{self._folder(tag)}{_hash(plan_key, 16)}/"

    def _result(self, name: ResultName) -> str:
        return f"{self._plan_folder(name.tag, name.plan_key)}{name.key}"

    def _original(self, tag: str) -> str:
        return f"{self._folder(tag)}preprocessed"

    def get(self, name: ResultName) -> Entry | None:
        return self._get(self._result(name))

    def put(self, name: ResultName, meta: dict[str, Any], body: bytes) -> None:
        try:
            self._put(self._result(name), pack(meta, body), {})
        except S3_FAILURES as exc:
            log.warning("shared cache: put failed: %s", type(exc).__name__)

    def forget(self, tag: str, plan_key: str) -> set[str]:
        """Delete every result of one plan of an original; the result keys that went."""
        deleted = self._delete_under(self._plan_folder(tag, plan_key))
        return {key.rsplit("/", 1)[1] for key in deleted}

    def generation(self) -> str | None:
        """The token of the last change to the originals kept here; None when S3 cannot tell."""
        try:
            return str(self.client.head_object(Bucket=self.bucket, Key=self._marker)["ETag"])
        except S3_FAILURES as exc:
            if not _missing(exc):
                log.warning("shared cache: head failed: %s", type(exc).__name__)
                return None
        # Never announced, or purged with everything else: a new token re-checks every memo.
        try:
            return self.announce()
        except OriginFailed:
            return None

    def announce(self) -> str:
        """Rewrite the generation marker with a token never used before; the new generation."""
        try:
            written = self.client.put_object(
                Bucket=self.bucket, Key=self._marker, Body=uuid.uuid4().hex.encode()
            )
        except S3_FAILURES as exc:
            raise _failed("announcing a change", exc) from None
        return str(written["ETag"])

    def original_version(self, tag: str) -> str | None:
        """The version tag of the original a POST put here, or None; OriginFailed when S3 cannot
        tell."""
        try:
            found = self.client.head_object(Bucket=self.bucket, Key=self._original(tag))
        except S3_FAILURES as exc:
            if _missing(exc):
                return None
            raise _failed("asking for a kept original", exc) from None
        return found.get("Metadata", {}).get(VALIDATOR_META)

    def get_original(self, tag: str) -> Entry | None:
        return self._get(self._original(tag))

    def put_original(self, tag: str, validator: str, data: bytes) -> str:
        """Keep a POSTed original for every server and announce it; the new generation."""
        body = pack({VALIDATOR_META: validator}, data)
        try:
            self._put(self._original(tag), body, {VALIDATOR_META: validator})
        except S3_FAILURES as exc:
            raise _failed("keeping the original", exc) from None
        return self.announce()

    def evict(self, tag: str) -> int:
        gone = len(self._delete_under(self._folder(tag)))
        self.announce()
        return gone

    def clear(self) -> int:
        gone = set(self._delete_under(self.prefix)) - {self._marker}
        self.announce()
        return len(gone)

    def _get(self, key: str) -> Entry | None:
        try:
            found = self.client.get_object(Bucket=self.bucket, Key=key)
            return unpack(found["Body"].read())
        except S3_FAILURES as exc:
            if not _missing(exc):
                log.warning("shared cache: get failed: %s", type(exc).__name__)
            return None

    def _put(self, key: str, body: bytes, metadata: dict[str, str]) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, Metadata=metadata)

    def _delete_under(self, prefix: str) -> list[str]:
        try:
            return self._delete_pages(prefix)
        except S3_FAILURES as exc:
            raise _failed("purging", exc) from None

    def _delete_pages(self, prefix: str) -> list[str]:
        deleted: list[str] = []
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        for page in pages:
            keys = [item["Key"] for item in page.get("Contents", [])]
            if keys:
                objects = [{"Key": key} for key in keys]
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": objects})
                deleted.extend(keys)
        return deleted


def build_shared(settings: Settings) -> SharedTier | None:
    c, o = settings.cache, settings.origin
    if not c.s3_bucket:
        return None
    client = s3_client(o.region, o.endpoint_url, o.timeout_s, o.connect_timeout_s)
    return SharedTier(c.s3_bucket, c.s3_prefix, client)


def _hash(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _missing(exc: Exception) -> bool:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
    return code in ("NoSuchKey", "404", "NotFound")


def _failed(action: str, exc: Exception) -> OriginFailed:
    return OriginFailed(f"the shared cache failed {action}: {type(exc).__name__}")
