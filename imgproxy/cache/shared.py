"""The S3 tier that several servers share: rendered results and originals replaced by POST."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from imgproxy.cache.keys import ResultName
from imgproxy.cache.stores import Entry, pack, unpack
from imgproxy.config import Settings
from imgproxy.origins.s3 import s3_client

log = logging.getLogger(__name__)
# A shared tier that fails must not fail the request: the render happens again instead.
S3_FAILURES = (BotoCoreError, ClientError)
VALIDATOR_META = "validator"


class SharedTier:
    """Objects under `prefix`: one folder per original (its preprocessed copy and its results),
    one sub-folder per plan, so that purges can list what they remove."""

    def __init__(self, bucket: str, prefix: str, client: Any) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.client = client

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
        self._put(self._result(name), pack(meta, body), {})

    def forget(self, tag: str, plan_key: str) -> set[str]:
        """Delete every result of one plan of an original; the result keys that went."""
        deleted = self._delete_under(self._plan_folder(tag, plan_key))
        return {key.rsplit("/", 1)[1] for key in deleted}

    def original_version(self, tag: str) -> str | None:
        """The version tag of the original a POST put here, or None."""
        try:
            found = self.client.head_object(Bucket=self.bucket, Key=self._original(tag))
        except S3_FAILURES as exc:
            _warn_unless_missing("head", exc)
            return None
        return found.get("Metadata", {}).get(VALIDATOR_META)

    def get_original(self, tag: str) -> Entry | None:
        return self._get(self._original(tag))

    def put_original(self, tag: str, validator: str, data: bytes) -> None:
        body = pack({VALIDATOR_META: validator}, data)
        self._put(self._original(tag), body, {VALIDATOR_META: validator})

    def evict(self, tag: str) -> int:
        return len(self._delete_under(self._folder(tag)))

    def clear(self) -> int:
        return len(self._delete_under(self.prefix))

    def _get(self, key: str) -> Entry | None:
        try:
            found = self.client.get_object(Bucket=self.bucket, Key=key)
            return unpack(found["Body"].read())
        except S3_FAILURES as exc:
            _warn_unless_missing("get", exc)
            return None

    def _put(self, key: str, body: bytes, metadata: dict[str, str]) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body, Metadata=metadata)
        except S3_FAILURES as exc:
            log.warning("shared cache: put failed: %s", type(exc).__name__)

    def _delete_under(self, prefix: str) -> list[str]:
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


def _warn_unless_missing(action: str, exc: Exception) -> None:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
    if code not in ("NoSuchKey", "404", "NotFound"):
        log.warning("shared cache: %s failed: %s", action, type(exc).__name__)
