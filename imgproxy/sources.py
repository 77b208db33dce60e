"""Which origin an image comes from: the configured one, or the one its URL names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import quote

from imgproxy.cache.changes import ChangeWatch
from imgproxy.cache.origin import CachedOrigin, PreprocessedOrigin
from imgproxy.cache.shared import SharedTier
from imgproxy.cache.stores import BlobStore
from imgproxy.config import Settings
from imgproxy.errors import ForbiddenByConfig, InvalidParameter, NotFound, OriginFailed
from imgproxy.origins.base import Origin
from imgproxy.origins.guard import UrlPolicy, check_url, is_public
from imgproxy.origins.http import HttpOrigin, Route, RoutedOrigin, UrlOrigin
from imgproxy.origins.local import LocalOrigin
from imgproxy.origins.s3 import RegionClients, S3Origin, s3_client
from imgproxy.params.plan import SourceRequest

# AWS region names: us-east-1, eu-central-2, ap-southeast-4, us-gov-west-1, cn-northwest-1, ...
AWS_REGION = re.compile(
    r"(?:af|ap|ca|cn|eu|il|me|mx|sa|us)-(?:gov-|iso-|isob-)?"
    r"(?:north|south|east|west|central|northeast|northwest|southeast|southwest)-\d{1,2}"
)
# S3 clients kept for the regions the bucket parameter names, besides the configured one's.
REGION_CLIENTS = 4


@dataclass(frozen=True)
class Picked:
    """The origin of one image and the path (or whole URL) to ask it for; `base_url` is the
    image's URL when it comes from one, which relative layer and watermark paths follow."""

    origin: Origin
    path: str
    base_url: str | None = None


class Sources:
    """The configured origin, whole-URL fetching and S3 buckets, all behind the originals cache."""

    def __init__(
        self,
        settings: Settings,
        originals: BlobStore,
        preprocessed: BlobStore,
        shared: SharedTier | None = None,
    ) -> None:
        self.settings = settings
        self.originals = originals
        s = settings.security
        self.policy = UrlPolicy(s.allow_dynamic_origin, s.hosts_allowed, s.allow_private_networks)
        o = settings.origin
        self.fetcher = UrlOrigin(
            timeout_s=o.timeout_s,
            connect_timeout_s=o.connect_timeout_s,
            max_bytes=o.max_bytes,
            policy=self.policy,
        )
        self.urls = self.cached(self.fetcher)
        build = partial(
            s3_client,
            endpoint_url=o.endpoint_url,
            timeout_s=o.timeout_s,
            connect_timeout_s=o.connect_timeout_s,
        )
        self.clients = RegionClients(build, REGION_CLIENTS)
        self.writable: LocalOrigin | S3Origin | None = None
        self.configured = self._configured()
        watch = ChangeWatch(settings.cache.dir)
        self.preprocessed = PreprocessedOrigin(self.configured, preprocessed, shared, watch)
        self.default: Origin = self.preprocessed

    def cached(self, origin: Origin) -> Origin:
        return CachedOrigin(origin, self.originals, self.settings.cache.origin_ttl_s)

    def _configured(self) -> Origin:
        o = self.settings.origin
        if o.kind == "local":
            # Files on this machine are read directly: a disk copy of them would only cost space.
            self.writable = LocalOrigin(o.root, o.max_bytes)
            return self.writable
        if o.kind == "s3":
            self.writable = self._s3(o.bucket, o.region, self.clients.pin(o.region))
            return self.cached(self.writable)
        http = HttpOrigin(
            o.url,
            timeout_s=o.timeout_s,
            connect_timeout_s=o.connect_timeout_s,
            max_bytes=o.max_bytes,
        )
        return self.cached(http)

    async def store_original(self, path: str, data: bytes) -> None:
        """Write an upload to the configured origin's own store (a folder or the bucket)."""
        if self.writable is None:
            raise OriginFailed("this origin cannot store uploads")
        await self.writable.store(path, data)

    async def bucket(self, name: str, region: str) -> Origin:
        """The origin of a bucket: a small wrapper around its region's client."""
        return self.cached(self._s3(name, region, await self.clients.get(region)))

    def _s3(self, bucket: str, region: str, client: Any) -> S3Origin:
        o = self.settings.origin
        return S3Origin(
            bucket, client, region=region, endpoint_url=o.endpoint_url, max_bytes=o.max_bytes
        )

    async def choose(self, request: SourceRequest, path: str) -> Picked:
        """Where this request's image comes from."""
        url = _url(request, path)
        if url is not None:
            param = "source_url" if request.source_url else "origin"
            await check_url(url, self.policy, param, param)
            self._check_resolve(request)
            route = Route(request.host_header, request.resolve)
            return Picked(self.cached(RoutedOrigin(self.fetcher, route)), url, url)
        if request.bucket is not None:
            self._check_bucket(request.bucket)
            region = self._region(request.region)
            return Picked(await self.bucket(request.bucket, region), path)
        if not path:
            raise NotFound("give the path of an image, for example /photo.jpg?width=400")
        return Picked(self.default, path)

    def epoch(self) -> str | None:
        """What the configured origin's answers are made under (the shared tier's generation);
        an answer kept in memory from another must be made again."""
        return self.preprocessed.epoch()

    def local_file(self, picked: Picked) -> str | None:
        """The original's file when it comes from the configured folder, else None."""
        if picked.origin is not self.default or not isinstance(self.writable, LocalOrigin):
            return None
        return self.writable.resolve(picked.path)

    def _region(self, given: str | None) -> str:
        configured = self.settings.origin.region
        if given is None or given == configured:
            return configured
        if not AWS_REGION.fullmatch(given):
            raise InvalidParameter(f"region {given!r} is not an AWS region name", param="region")
        return given

    def _check_resolve(self, request: SourceRequest) -> None:
        if request.resolve is None or self.policy.allow_private_networks:
            return
        if not is_public(request.resolve[2]):
            raise ForbiddenByConfig("resolve names a non-public address", param="resolve")

    def _check_bucket(self, bucket: str) -> None:
        s = self.settings.security
        if not s.allow_dynamic_origin:
            raise ForbiddenByConfig("the bucket parameter is not allowed here", param="bucket")
        if s.buckets_allowed and bucket not in s.buckets_allowed:
            raise ForbiddenByConfig(f"bucket {bucket} is not allowed", param="bucket")

    async def close(self) -> None:
        await self.default.close()
        await self.fetcher.close()
        self.clients.close()


def _url(request: SourceRequest, path: str) -> str | None:
    if request.source_url:
        return request.source_url
    if request.origin:
        base = request.origin if "://" in request.origin else f"http://{request.origin}"
        return f"{base.rstrip('/')}/{quote(path, safe='/')}"
    return None
