"""Fetching the images that layers and the watermark name, before a render (GET and POST)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from imgproxy.errors import DeadlineExceeded, ImgproxyError, NotFound, OriginFailed, SourceTooLarge
from imgproxy.origins.base import Origin
from imgproxy.origins.guard import check_url, is_absolute
from imgproxy.params.plan import Overlays, OverlaySource

if TYPE_CHECKING:
    from imgproxy.sources import Picked, Sources

# Failures that leave out a layer that is not required; anything else is the request's fault.
DROPPABLE = (NotFound, OriginFailed, DeadlineExceeded, SourceTooLarge)


@dataclass(frozen=True)
class FetchedOverlays:
    """Image bytes by the URL the plan names, and the labels of the overlays left out."""

    images: dict[str, bytes]
    left_out: tuple[str, ...] = ()


async def fetch_overlays(
    overlays: Overlays, picked: Picked, sources: Sources, require_all: bool = False
) -> FetchedOverlays:
    """Every overlay image that could be fetched; a failed one is an error when it is required
    (or `require_all`), else it is left out. Paths come from the image's own origin."""
    wanted = overlays.sources()
    found = await asyncio.gather(*(_fetch(item, picked, sources, require_all) for item in wanted))
    pairs = list(zip(wanted, found, strict=True))
    return FetchedOverlays(
        images={item.url: data for item, data in pairs if data is not None},
        left_out=tuple(item.label for item, data in pairs if data is None),
    )


async def _fetch(
    item: OverlaySource, picked: Picked, sources: Sources, require_all: bool
) -> bytes | None:
    try:
        origin, where = await _locate(item, picked, sources)
        return (await origin.fetch(where)).data
    except DROPPABLE as exc:
        if item.required or require_all:
            raise _named(exc, item) from None
        return None
    except ImgproxyError as exc:
        if exc.param is None:
            raise _named(exc, item) from None
        raise


async def _locate(item: OverlaySource, picked: Picked, sources: Sources) -> tuple[Origin, str]:
    """The origin to ask for an overlay and the path or URL to ask it for."""
    if is_absolute(item.url):
        await check_url(item.url, sources.policy, item.param, item.label)
        return sources.urls, item.url
    if picked.base_url is None:
        return picked.origin, item.url.lstrip("/")
    url = urljoin(picked.base_url, item.url)
    await check_url(url, sources.policy, item.param, item.label)
    # The image's own host is reached as the image was (host_header, resolve); others directly.
    same_host = urlsplit(url).netloc == urlsplit(picked.base_url).netloc
    return (picked.origin if same_host else sources.urls), url


def _named(exc: ImgproxyError, source: OverlaySource) -> ImgproxyError:
    return type(exc)(f"{source.label}: {exc.message}", param=source.param)
