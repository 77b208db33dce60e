"""An S3 bucket (or an S3-compatible store) as the origin, through boto3 off the event loop."""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    ReadTimeoutError,
)

from imgproxy.errors import DeadlineExceeded, NotFound, OriginFailed, SourceTooLarge
from imgproxy.origins.base import Source

if TYPE_CHECKING:
    import boto3

MISSING = frozenset({"NoSuchKey", "NoSuchBucket", "404", "NotFound"})
# A boto3 session is not thread-safe; the clients it makes are.
SESSION_LOCK = threading.Lock()


@functools.cache
def _session() -> boto3.session.Session:
    """One session for every client: credentials and service models are loaded once. boto3 is
    imported here, on first use: it weighs about 20 MB in every process that never asks S3."""
    import boto3

    return boto3.session.Session()


def s3_client(region: str, endpoint_url: str, timeout_s: float, connect_timeout_s: float) -> Any:
    """A boto3 S3 client with the standard credential chain and our deadlines."""
    from botocore.config import Config

    config = Config(
        region_name=region or None,
        connect_timeout=connect_timeout_s,
        read_timeout=timeout_s,
        retries={"max_attempts": 2, "mode": "standard"},
    )
    with SESSION_LOCK:
        return _session().client("s3", endpoint_url=endpoint_url or None, config=config)


class RegionClients:
    """One S3 client per region, shared by every bucket there. A client costs ~80 ms of CPU to
    build and ~10 MB: those of the `size` regions used last are kept (and pinned ones always);
    an evicted one is closed, and requests in flight on it still finish."""

    def __init__(self, build: Callable[[str], Any], size: int) -> None:
        self.build = build
        self.size = size
        self._pinned: dict[str, Any] = {}
        self._clients: OrderedDict[str, Any] = OrderedDict()
        self._building = asyncio.Lock()

    def pin(self, region: str) -> Any:
        """The client of `region`, built now and never evicted (the configured origin's)."""
        if region not in self._pinned:
            self._pinned[region] = self.build(region)
        return self._pinned[region]

    async def get(self, region: str) -> Any:
        """The client of `region`; only requests for a region without one wait for its build."""
        if region in self._pinned:
            return self._pinned[region]
        if region not in self._clients:
            async with self._building:
                if region not in self._clients:
                    # boto3 reads its service model from disk for a client: not on the event loop.
                    self._clients[region] = await asyncio.to_thread(self.build, region)
        self._clients.move_to_end(region)
        while len(self._clients) > self.size:
            self._clients.popitem(last=False)[1].close()
        return self._clients[region]

    def close(self) -> None:
        for client in [*self._pinned.values(), *self._clients.values()]:
            client.close()


class S3Origin:
    """Keys are request paths; credentials come from boto3's standard chain. `client` is the
    region's, owned by whoever made it."""

    def __init__(
        self, bucket: str, client: Any, *, region: str, endpoint_url: str, max_bytes: int
    ) -> None:
        self.bucket = bucket
        self.max_bytes = max_bytes
        self.name = f"s3:{endpoint_url}:{region}:{bucket}"
        self._client = client

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
        # The client is the region's: RegionClients closes it.
        return None


def _http_date(moment: datetime) -> str:
    # botocore's tzutc is not datetime.UTC, which format_datetime insists on.
    return format_datetime(moment.astimezone(UTC), usegmt=True)
