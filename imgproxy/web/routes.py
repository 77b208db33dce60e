"""The HTTP edge: one image request from query string to bytes, top to bottom."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable
from dataclasses import replace
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from imgproxy.cache.keys import result_key
from imgproxy.errors import DeadlineExceeded, ImgproxyError, NotFound
from imgproxy.jobs.preprocess import result_meta
from imgproxy.overlays import fetch_overlays
from imgproxy.params.decode import decode
from imgproxy.pipeline.fonts import font_table
from imgproxy.pipeline.load import sniff
from imgproxy.pipeline.meta import MIME_TYPES
from imgproxy.pipeline.run import execute
from imgproxy.signing import SIGNATURE_PARAM, verify
from imgproxy.web.limits import until_disconnected
from imgproxy.web.negotiate import accepted_formats
from imgproxy.web.responses import Answer, etag_matches
from imgproxy.web.uploads import post_image

if TYPE_CHECKING:
    from imgproxy.app import AppState
    from imgproxy.origins.base import Origin, Source
    from imgproxy.pipeline.context import Rendered

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


async def health(request: Request) -> Response:
    if request.query_params.get("fonts") in ("1", "true"):
        return JSONResponse({"status": "healthy", "fonts": font_table()})
    return PlainTextResponse("healthy")


async def image(request: Request) -> Response:
    state: AppState = request.app.state.imgproxy
    answer = Answer(request_id(request), state.settings.http)
    state.stats.count("requests")
    return await within_deadline(state, serve_image(request, state, answer))


async def within_deadline(state: AppState, work: Awaitable[Response]) -> Response:
    """`work`'s answer, or 504 once the request's deadline has passed."""
    seconds = state.settings.server.request_timeout_s
    try:
        async with asyncio.timeout(seconds):
            return await work
    except TimeoutError:
        raise DeadlineExceeded(f"the image was not ready within {seconds:g} s") from None


async def serve_image(request: Request, state: AppState, answer: Answer) -> Response:
    pairs = request.query_params.multi_items()
    keys = state.settings.security.signing_keys
    if keys:
        verify(keys, request.path_params["path"], pairs)
        pairs = [(k, v) for k, v in pairs if k != SIGNATURE_PARAM]
    plan = decode(pairs, state.preprocessor.decode_options)
    picked = await state.sources.choose(plan.source, request.path_params["path"])
    origin, path = picked.origin, picked.path
    negotiated = plan.output.format == "auto"
    accepts = accepted_formats(request.headers.get("accept", "")) if negotiated else frozenset()

    source: Source | None = None
    if plan.changes_nothing and state.settings.security.allow_original_request:
        return await original(request, origin, path, answer)
    validator = await origin.validator(path)
    if validator is None:
        source = await origin.fetch(path)
        validator = source.validator
    name = state.preprocessor.result_name(origin.name, path, plan, accepts, validator)
    etag = f'"{name.key}"'
    if etag_matches(request.headers.get("if-none-match"), etag):
        return answer.not_modified(etag, negotiated)

    started = time.perf_counter()
    entry = await state.results.find(name)
    if entry is not None:
        state.stats.count("cache_hits")
        state.stats.count("bytes_sent", len(entry.body))
        timings = {"cache": (time.perf_counter() - started) * 1000}
        return answer.image(
            entry.meta, entry.body, etag=etag, vary=negotiated, cache="HIT", timings=timings
        )

    async def render() -> tuple[Rendered, Source, tuple[str, ...]]:
        fetched = source or await origin.fetch(path)
        overlays = await fetch_overlays(plan.overlays, picked, state.sources)
        options = replace(state.preprocessor.render_options, accepts=accepts)
        rendered = await state.pool.run(execute, plan, fetched.data, options, overlays.images)
        state.stats.count("renders")
        # Without a layer it is not the image the URL names: later requests try again.
        if not overlays.left_out:
            meta = result_meta(rendered, fetched)
            await asyncio.to_thread(state.results.put, name, meta, rendered.body)
        return rendered, fetched, overlays.left_out

    # Identical requests in flight share one render; a client that leaves stops waiting for it.
    coalesced = state.coalescer.run(name.key, render)
    rendered, fetched, left_out = await until_disconnected(request, coalesced)
    state.stats.count("cache_misses")
    state.stats.count("bytes_sent", len(rendered.body))
    return answer.image(
        result_meta(rendered, fetched),
        rendered.body,
        etag=etag,
        vary=negotiated,
        cache="MISS",
        timings={"fetch": fetched.fetch_ms, **rendered.timings},
        complete=not left_out,
    )


async def original(request: Request, origin: Origin, path: str, answer: Answer) -> Response:
    """The original's bytes unchanged, for a URL without image parameters."""
    source: Source | None = None
    validator = await origin.validator(path)
    if validator is None:
        source = await origin.fetch(path)
        validator = source.validator
    etag = original_etag(origin, path, validator)
    if etag_matches(request.headers.get("if-none-match"), etag):
        return answer.not_modified(etag, vary=False)
    source = source or await origin.fetch(path)
    info = await asyncio.to_thread(sniff, source.data)
    meta = {
        "media_type": MIME_TYPES.get(info.format, "application/octet-stream"),
        "source_size": info.size,
        "source_width": info.width,
        "source_height": info.height,
        "last_modified": source.last_modified,
    }
    timings = {"fetch": source.fetch_ms}
    return answer.image(meta, source.data, etag=etag, vary=False, cache="MISS", timings=timings)


def original_etag(origin: Origin, path: str, validator: str) -> str:
    """The original's own version names its unchanged bytes; render settings play no part."""
    return f'"{result_key(origin.name, path, "original", "unchanged", validator, "")}"'


def request_id(request: Request) -> str:
    """The client's X-Request-Id when it is a sane token, else a new one; fixed per request."""
    known = getattr(request.state, "request_id", None)
    if known is None:
        offered = request.headers.get("x-request-id", "")
        known = offered if REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex
        request.state.request_id = known
    return known


async def handle_error(request: Request, exc: Exception) -> Response:
    state: AppState = request.app.state.imgproxy
    assert isinstance(exc, ImgproxyError)
    state.stats.count("errors")
    return Answer(request_id(request), state.settings.http).error(exc)


async def handle_crash(request: Request, exc: Exception) -> Response:
    state: AppState = request.app.state.imgproxy
    state.stats.count("errors")
    return Answer(request_id(request), state.settings.http).error(
        ImgproxyError("an unexpected error happened; it has been logged")
    )


async def job(request: Request) -> Response:
    state: AppState = request.app.state.imgproxy
    found = await asyncio.to_thread(state.jobs.status, request.path_params["job_id"])
    if found is None:
        raise NotFound(f"there is no job {request.path_params['job_id']}")
    return JSONResponse(found, headers={"Cache-Control": "no-store"})


async def upload(request: Request) -> Response:
    state: AppState = request.app.state.imgproxy
    answer = Answer(request_id(request), state.settings.http)
    return await within_deadline(state, post_image(request, state, answer))


ROUTES = [
    Route("/health", health, methods=["GET", "HEAD"]),
    Route("/jobs/{job_id}", job, methods=["GET"]),
    Route("/{path:path}", image, methods=["GET", "HEAD"]),
    Route("/{path:path}", upload, methods=["POST"]),
]
