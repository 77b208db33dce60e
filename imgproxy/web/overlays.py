"""Fetching the images that layers and the watermark name, before a render."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from imgproxy.errors import DeadlineExceeded, ImgproxyError, NotFound, OriginFailed, SourceTooLarge
from imgproxy.origins.base import Origin
from imgproxy.origins.guard import check_url, is_absolute
from imgproxy.params.plan import Overlays, OverlaySource

if TYPE_CHECKING:
    from imgproxy.sources import Sources

# Failures that leave out a layer that is not required; anything else is the request's fault.
DROPPABLE = (NotFound, OriginFailed, DeadlineExceeded, SourceTooLarge)


async def fetch_overlays(overlays: Overlays, origin: Origin, sources: Sources) -> dict[str, bytes]:
    """Bytes by URL of every overlay image that could be fetched; paths come from `origin`."""
    wanted = overlays.sources()
    found = await asyncio.gather(*(_fetch(item, origin, sources) for item in wanted))
    return {item.url: data for item, data in zip(wanted, found, strict=True) if data is not None}


async def _fetch(source: OverlaySource, origin: Origin, sources: Sources) -> bytes | None:
    try:
        if is_absolute(source.url):
            await check_url(source.url, sources.policy, source.param, source.label)
            return (await sources.urls.fetch(source.url)).data
        return (await origin.fetch(source.url.lstrip("/"))).data
    except DROPPABLE as exc:
        if source.required:
            raise _named(exc, source) from None
        return None
    except ImgproxyError as exc:
        if exc.param is None:
            raise _named(exc, source) from None
        raise


def _named(exc: ImgproxyError, source: OverlaySource) -> ImgproxyError:
    return type(exc)(f"{source.label}: {exc.message}", param=source.param)
