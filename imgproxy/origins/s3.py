"""An S3 bucket (or an S3-compatible store) as the origin, through boto3 off the event loop."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    ReadTimeoutError,
)

from imgproxy.errors import DeadlineExceeded, NotFound, OriginFailed, SourceTooLarge
from imgproxy.origins.base import Source

MISSING = frozenset({"NoSuchKey", "NoSuchBucket", "404", "NotFound"})


def s3_client(region: str, endpoint_url: str, timeout_s: float, connect_timeout_s: float) -> Any:
    """A boto3 S3 client with the standard credential chain and our deadlines."""
    config = Config(
        region_name=region or None,
        connect_timeout=connect_timeout_s,
        read_timeout=timeout_s,
        retries={"max_attempts": 2, "mode": "standard"},
    )
    return boto3.session.Session().client("s3", endpoint_url=endpoint_url or None, config=config)


class S3Origin:
    """Keys are request paths; credentials come from boto3's standard chain."""

    def __init__(
        self,
        bucket: str,
        *,
        region: str,
        endpoint_url: str,
        timeout_s: float,
        connect_timeout_s: float,
        max_bytes: int,
    ) -> None:
        self.bucket = bucket
        self.max_bytes = max_bytes
        self.name = f"s3:{endpoint_url}:{region}:{bucket}"
        self._client = s3_client(region, endpoint_url, timeout_s, connect_timeout_s)

    async def validator(self, path: str) -> str | None:
        return None

    async def fetch(self, path: str) -> Source:
        return await asyncio.to_thread(self._get, path)

    def _get(self, key: str) -> Source:
        started = time.perf_counter()
        try:
            found = self._client.get_object(Bucket=self.bucket, Key=key)
            data = self._read_capped(found, key)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in MISSING:
                raise NotFound(f"{key} was not found in bucket {self.bucket}") from None
            raise OriginFailed(f"S3 answered {code or 'an error'} for {key}") from None
        except (ConnectTimeoutError, ReadTimeoutError):
            raise DeadlineExceeded(f"S3 did not deliver {key} in time") from None
        except BotoCoreError as exc:
            raise OriginFailed(f"fetching {key} from S3 failed: {type(exc).__name__}") from None
        modified = found.get("LastModified")
        return Source(
            data=data,
            validator=str(found.get("ETag") or modified or ""),
            last_modified=_http_date(modified) if modified else None,
            fetch_ms=(time.perf_counter() - started) * 1000,
        )

    def _read_capped(self, found: dict[str, Any], key: str) -> bytes:
        if int(found.get("ContentLength") or 0) > self.max_bytes:
            raise SourceTooLarge(f"{key} is larger than the {self.max_bytes} byte limit")
        data = found["Body"].read(self.max_bytes + 1)
        if len(data) > self.max_bytes:
            raise SourceTooLarge(f"{key} is larger than the {self.max_bytes} byte limit")
        return data

    async def store(self, path: str, data: bytes) -> None:
        """PutObject an uploaded original."""
        await asyncio.to_thread(self._put, path, data)

    def _put(self, key: str, data: bytes) -> None:
        try:
            self._client.put_object(Bucket=self.bucket, Key=key, Body=data)
        except (ClientError, BotoCoreError) as exc:
            raise OriginFailed(f"storing {key} in S3 failed: {type(exc).__name__}") from None

    async def close(self) -> None:
        self._client.close()


def _http_date(moment: datetime) -> str:
    # botocore's tzutc is not datetime.UTC, which format_datetime insists on.
    return format_datetime(moment.astimezone(UTC), usegmt=True)
