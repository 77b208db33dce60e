"""create_app(settings) -> App: wires origins, caches and render slots for one process."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyvips
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

from imgproxy import metrics
from imgproxy.cache.changes import ChangeWatch
from imgproxy.cache.keys import digest
from imgproxy.cache.results import Results, build_results
from imgproxy.cache.shared import SharedTier
from imgproxy.cache.stores import BlobStore
from imgproxy.config import Settings
from imgproxy.config_loader import load_settings
from imgproxy.errors import ImgproxyError
from imgproxy.jobs.preprocess import Preprocessor
from imgproxy.jobs.queue import Jobs, build_huey
from imgproxy.logs import flush_request_lines
from imgproxy.memory import keep_freed_memory, limit_malloc_arenas
from imgproxy.params.decode import DecodeOptions
from imgproxy.params.recent import RecentPlans
from imgproxy.pipeline.context import RenderOptions
from imgproxy.sources import Sources
from imgproxy.web.hot import (
    HotAnswer,
    HotAnswers,
    find_kept,
    keeping,
    request_headers,
    send_kept,
)
from imgproxy.web.limits import Coalescer, RenderPool
from imgproxy.web.logs import RequestLines, RequestLog, Sent
from imgproxy.web.playground import PLAYGROUND_ROUTES
from imgproxy.web.routes import ROUTES, handle_crash, handle_error
from imgproxy.web.stats import FLUSH_EVERY_S, Stats

# Set in a request's scope, to its request headers (`request_headers`), once its kept answer was
# looked for and not found.
LOOKED_UP = "imgproxy.hot_looked_up"


@dataclass
class AppState:
    settings: Settings
    sources: Sources
    results: Results
    stats: Stats
    pool: RenderPool
    coalescer: Coalescer
    preprocessor: Preprocessor
    jobs: Jobs
    # The render settings in short: results made under other settings never match.
    render_digest: str
    hot: HotAnswers
    plans: RecentPlans

    async def close(self) -> None:
        # Off the loop: running jobs still use it for their origin I/O until they finish.
        await asyncio.to_thread(self.jobs.stop)
        # Renders left by answered requests (deadline, client gone) wait for no more origin I/O.
        self.preprocessor.closing.set()
        await asyncio.to_thread(self.pool.close)
        await self.sources.close()
        self.results.close()
        self.stats.close()


class App(Starlette):
    """Starlette with the hot answers in front: a kept answer is sent, counted and logged before
    any middleware, routing or parsing; the rest goes through Starlette, which may keep its
    200s. A server that writes answers itself sends kept ones before the app runs at all
    (`answer_hot`)."""

    def __init__(self, lines: RequestLines, **options: Any) -> None:
        super().__init__(**options)
        self.lines = lines

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = self._hot_state(scope)
        if state is None:
            await super().__call__(scope, receive, send)
            return
        started = time.perf_counter()
        looked_up: dict[bytes, str] | None = scope.get(LOOKED_UP)
        headers = request_headers(scope) if looked_up is None else looked_up
        sent = None if looked_up is not None else await send_kept(state.hot, scope, headers, send)
        if sent is None:
            await super().__call__(scope, receive, keeping(state.hot, scope, headers, send))
            return
        self._answered_hot(state, scope, sent, started)

    def answer_hot(self, scope: Scope, write: Callable[[HotAnswer, str], Sent]) -> bool:
        """Writes the kept answer for this request with `write`, and counts and logs it, for a
        server that writes answers itself before calling the app. False when there is none;
        the app, called then, does not look again."""
        state = self._hot_state(scope)
        if state is None:
            return False
        started = time.perf_counter()
        headers = request_headers(scope)
        kept = find_kept(state.hot, scope, headers)
        if kept is None:
            scope[LOOKED_UP] = headers
            return False
        self._answered_hot(state, scope, write(*kept), started)
        return True

    def _hot_state(self, scope: Scope) -> AppState | None:
        """The app's state, for a GET or HEAD that may have a kept answer once it has started."""
        state: AppState | None = getattr(self.state, "imgproxy", None)
        if state is None or scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return None
        return state

    def _answered_hot(self, state: AppState, scope: Scope, sent: Sent, started: float) -> None:
        state.stats.count_all({"requests": 1, "cache_hits": 1, "bytes_sent": sent.bytes})
        self.lines.answered("image", scope, sent, time.perf_counter() - started)


def create_app(settings: Settings) -> App:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state = build_state(settings)
        app.state.imgproxy = state
        if settings.jobs.consumer:
            state.jobs.start(settings.jobs.workers)
        flusher = asyncio.create_task(flush_stats(state.stats))
        try:
            yield
        finally:
            flusher.cancel()
            await state.close()
            metrics.process_stopped()
            # uvicorn ends a process stopped by a signal with that same signal, so no exit
            # handler would write the request lines still waiting in a batch.
            flush_request_lines()

    lines = RequestLines(settings.log)
    return App(
        lines,
        routes=routes_for(settings),
        middleware=[Middleware(RequestLog, lines=lines)],
        exception_handlers={ImgproxyError: handle_error, Exception: handle_crash},
        lifespan=lifespan,
    )


def routes_for(settings: Settings) -> list[BaseRoute]:
    """The server's routes; the playground's come before the image route, which takes any path."""
    return [*PLAYGROUND_ROUTES, *ROUTES] if settings.playground.enabled else list(ROUTES)


async def flush_stats(stats: Stats) -> None:
    while True:
        await asyncio.sleep(FLUSH_EVERY_S)
        await asyncio.to_thread(stats.flush)


def app_from_env() -> App:
    """The uvicorn factory: settings come from IMGPROXY_CONFIG and IMGPROXY_* variables."""
    return create_app(load_settings())


def build_state(settings: Settings) -> AppState:
    # Renders never repeat an operation on the same pixels: libvips' cache would only cost memory.
    pyvips.cache_set_max(0)
    pyvips.concurrency_set(settings.server.vips_concurrency)
    limit_malloc_arenas(settings.server.malloc_arenas)
    keep_freed_memory(settings.server.malloc_trim_threshold_mb)
    cache_dir = Path(settings.cache.dir)
    results = build_results(settings)
    sources = build_sources(settings, results.shared)
    preprocessor = build_preprocessor(settings, sources, results, asyncio.get_running_loop())
    return AppState(
        settings=settings,
        sources=sources,
        results=results,
        stats=Stats(cache_dir / "stats"),
        pool=RenderPool(
            settings.server.slots(),
            settings.server.queue_size,
            settings.server.release_memory_after_ms / 1000,
        ),
        coalescer=Coalescer(),
        preprocessor=preprocessor,
        jobs=Jobs(build_huey(settings), preprocessor, settings.jobs.report_retention_days),
        render_digest=preprocessor.render_digest,
        hot=HotAnswers(
            settings.cache.memory_mb * 2**20,
            settings.cache.memory_ttl_s,
            ChangeWatch(cache_dir),
            sources.epoch,
        ),
        plans=RecentPlans(preprocessor.decode_options),
    )


def build_sources(settings: Settings, shared: SharedTier | None) -> Sources:
    cache_dir = Path(settings.cache.dir)
    return Sources(
        settings,
        BlobStore(cache_dir / "originals", settings.cache.origin_size_mb),
        BlobStore(cache_dir / "preprocessed", settings.cache.preprocessed_size_mb),
        shared,
    )


def build_preprocessor(
    settings: Settings, sources: Sources, results: Results, loop: asyncio.AbstractEventLoop
) -> Preprocessor:
    security, output = settings.security, settings.output
    render_options = RenderOptions(
        default_quality=output.default_quality,
        auto_avif=output.auto_avif,
        avif_max_side=output.avif_max_side,
        allow_upscale=output.allow_upscale,
        shrink_on_load=output.shrink_on_load,
        max_src_pixels=security.max_src_pixels,
        max_out_side=security.max_out_pixels,
        max_frames=security.max_frames,
    )
    return Preprocessor(
        decode_options=DecodeOptions(
            presets=settings.colors,
            image_params_allowed=frozenset(security.image_params_allowed),
            strict=security.strict_params,
            max_side=security.max_out_pixels,
            max_layers=security.max_layers,
        ),
        render_options=render_options,
        results=results,
        sources=sources,
        store_uploads=settings.uploads.enabled,
        render_digest=digest(render_options),
        loop=loop,
        loop_timeout_s=settings.server.request_timeout_s,
    )
