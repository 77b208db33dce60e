"""The admin API, on its own port: configuration, counters, and purging cached images."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from imgproxy.cache.changes import announce
from imgproxy.cache.keys import path_tag
from imgproxy.cache.results import Results, build_results
from imgproxy.cache.stores import BlobStore
from imgproxy.config import Settings
from imgproxy.errors import ForbiddenByConfig, ImgproxyError
from imgproxy.params.decode import DecodeOptions, decode
from imgproxy.sources import Sources
from imgproxy.web.auth import bearer_matches
from imgproxy.web.routes import handle_crash, handle_error
from imgproxy.web.stats import Stats

SECRETS = (("uploads", "token"), ("admin", "token"), ("security", "signing_keys"))
REDACTED = "***"


@dataclass
class AdminState:
    settings: Settings
    sources: Sources
    results: Results
    originals: BlobStore
    preprocessed: BlobStore
    stats: Stats

    def stores(self) -> dict[str, Results | BlobStore]:
        return {
            "results": self.results,
            "originals": self.originals,
            "preprocessed": self.preprocessed,
        }


def create_admin_app(settings: Settings) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        cache_dir = Path(settings.cache.dir)
        originals = BlobStore(cache_dir / "originals", settings.cache.origin_size_mb)
        preprocessed = BlobStore(cache_dir / "preprocessed", settings.cache.preprocessed_size_mb)
        # The main app's error handlers read `settings` and `stats` from state.imgproxy.
        app.state.admin = app.state.imgproxy = AdminState(
            settings=settings,
            sources=Sources(settings, originals, preprocessed),
            results=build_results(settings),
            originals=originals,
            preprocessed=preprocessed,
            stats=Stats(cache_dir / "stats"),
        )
        yield
        await app.state.admin.sources.close()

    return Starlette(
        routes=[
            Route("/config", config, methods=["GET"]),
            Route("/stats", stats, methods=["GET"]),
            Route("/{path:path}", purge, methods=["DELETE"]),
        ],
        exception_handlers={ImgproxyError: handle_error, Exception: handle_crash},
        lifespan=lifespan,
    )


def _state(request: Request) -> AdminState:
    state: AdminState = request.app.state.admin
    if not bearer_matches(request.headers.get("authorization", ""), state.settings.admin.token):
        raise ForbiddenByConfig("the admin API needs Authorization: Bearer with the admin token")
    return state


async def config(request: Request) -> Response:
    settings = dataclasses.asdict(_state(request).settings)
    for section, key in SECRETS:
        if settings[section][key]:
            settings[section][key] = REDACTED
    return JSONResponse(without_url_credentials(settings))


def without_url_credentials(value: Any) -> Any:
    """`value` with the user:password part of every URL inside it replaced by REDACTED."""
    if isinstance(value, dict):
        return {key: without_url_credentials(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [without_url_credentials(item) for item in value]
    if not isinstance(value, str):
        return value
    try:
        parts = urlsplit(value)
    except ValueError:
        return value
    if "@" not in parts.netloc:
        return value
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{REDACTED}@{host}"))


async def stats(request: Request) -> Response:
    state = _state(request)
    caches = {name: store.usage() for name, store in state.stores().items()}
    return JSONResponse({**state.stats.totals(), "caches": caches})


async def purge(request: Request) -> Response:
    """DELETE / empties every cache; DELETE /<path>?all=true forgets an original and all its
    variants; DELETE /<path>?<query> one rendered result."""
    state = _state(request)
    purged = await _purged(state, request)
    # Then every process drops the answers it keeps in memory, which the stores no longer hold.
    announce(state.settings.cache.dir)
    return JSONResponse({"purged": purged})


async def _purged(state: AdminState, request: Request) -> int:
    path = request.path_params["path"]
    stores = state.stores().values()
    if not path:
        # Off the loop: the shared tier's objects are listed and deleted page by page.
        return await asyncio.to_thread(_clear, stores)
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "all"]
    plan = decode(query, DecodeOptions(presets=state.settings.colors))
    picked = await state.sources.choose(plan.source, path)
    name = picked.origin.name
    if request.query_params.get("all") in ("1", "true"):
        return await asyncio.to_thread(_evict, stores, path_tag(name, picked.path))
    return await state.results.forget(name, picked.path, plan.key)


def _clear(stores: Iterable[Results | BlobStore]) -> int:
    return sum(store.clear() for store in stores)


def _evict(stores: Iterable[Results | BlobStore], tag: str) -> int:
    return sum(store.evict(tag) for store in stores)
