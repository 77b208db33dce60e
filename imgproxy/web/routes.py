"""The HTTP edge: one image request from query string to bytes, top to bottom."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from imgproxy.cache.keys import ResultName, result_key, result_name
from imgproxy.errors import DeadlineExceeded, ImgproxyError, NotFound
from imgproxy.jobs.preprocess import result_meta, store_result
from imgproxy.metrics import exposition
from imgproxy.overlays import fetch_overlays
from imgproxy.pipeline.fonts import font_table
from imgproxy.pipeline.load import sniff
from imgproxy.pipeline.meta import MIME_TYPES
from imgproxy.pipeline.run import execute
from imgproxy.signing import SIGNATURE_PARAM, verify
from imgproxy.web.hot import KEEPABLE, Keepable
from imgproxy.web.limits import until_disconnected
from imgproxy.web.logs import note_error
from imgproxy.web.negotiate import accepted_formats
from imgproxy.web.responses import Answer, etag_matches, request_id_from
from imgproxy.web.uploads import post_image

if TYPE_CHECKING:
    from imgproxy.app import AppState
    from imgproxy.origins.base import Origin, Source
    from imgproxy.params.plan import Plan
    from imgproxy.pipeline.context import Rendered
    from imgproxy.sources import Picked


async def health(request: Request) -> Response:
    if request.query_params.get("fonts") in ("1", "true"):
        return JSONResponse({"status": "healthy", "fonts": font_table()})
    return PlainTextResponse("healthy")


async def metrics(request: Request) -> Response:
    # Off the loop: with several worker processes this reads every process's files.
    body, content_type = await asyncio.to_thread(exposition)
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})


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
    plan = state.plans.decode(unsigned_pairs(request, state))
    picked = await state.sources.choose(plan.source, request.path_params["path"])
    if plan.changes_nothing and state.settings.security.allow_original_request:
        return await original(request, picked.origin, picked.path, answer)
    negotiated = plan.output.format == "auto"
    accepts = accepted_formats(request.headers.get("accept", "")) if negotiated else frozenset()
    validator, source = await version_of(picked.origin, picked.path)
    name = result_name(
        picked.origin.name, picked.path, plan, accepts, validator, state.render_digest
    )
    etag = f'"{name.key}"'
    if etag_matches(request.headers.get("if-none-match"), etag):
        return answer.not_modified(etag, negotiated)
    epoch = state.sources.epoch() if picked.origin is state.sources.default else None
    keepable = Keepable.of(negotiated, state.sources.local_file(picked), epoch)
    hit = await stored_answer(state, answer, name, negotiated)
    if hit is not None:
        keep_hot(request, keepable)
        return hit
    miss = Miss(plan, picked, accepts, name, source, keepable)
    return await rendered_answer(request, state, answer, miss)


def keep_hot(request: Request, keepable: Keepable) -> None:
    """Lets the hot answers keep this request's 200 (a whole image, never a partial one)."""
    setattr(request.state, KEEPABLE, keepable)


def unsigned_pairs(request: Request, state: AppState) -> list[tuple[str, str]]:
    """The query's pairs, once its signature is checked (when the server has keys) and left out."""
    pairs = request.query_params.multi_items()
    keys = state.settings.security.signing_keys
    if not keys:
        return pairs
    verify(keys, request.path_params["path"], pairs)
    return [(k, v) for k, v in pairs if k != SIGNATURE_PARAM]


async def version_of(origin: Origin, path: str) -> tuple[str, Source | None]:
    """The original's version tag, and the original itself when only fetching it could tell."""
    validator = await origin.validator(path)
    if validator is not None:
        return validator, None
    source = await origin.fetch(path)
    return source.validator, source


async def stored_answer(
    state: AppState, answer: Answer, name: ResultName, vary: bool
) -> Response | None:
    """The answer from the result cache, or None when the result is not stored."""
    started = time.perf_counter()
    entry = await state.results.find(name)
    if entry is None:
        return None
    state.stats.count("cache_hits")
    state.stats.count("bytes_sent", len(entry.body))
    timings = {"cache": (time.perf_counter() - started) * 1000}
    return answer.image(
        entry.meta, entry.body, etag=f'"{name.key}"', vary=vary, cache="HIT", timings=timings
    )


@dataclass(frozen=True)
class Miss:
    """A request the result cache missed; `source` is the original when already fetched."""

    plan: Plan
    picked: Picked
    accepts: frozenset[str]
    name: ResultName
    source: Source | None
    keepable: Keepable


async def rendered_answer(
    request: Request, state: AppState, answer: Answer, miss: Miss
) -> Response:
    """The answer of a fresh render, which is stored for the requests that follow."""
    # Identical requests in flight share one render; a client that leaves stops waiting for it.
    coalesced = state.coalescer.run(miss.name.key, lambda: render_and_store(state, miss))
    rendered, fetched, left_out, stored = await until_disconnected(request, coalesced)
    state.stats.count("cache_misses")
    state.stats.count("bytes_sent", len(rendered.body))
    if stored:
        keep_hot(request, miss.keepable)
    return answer.image(
        result_meta(rendered, fetched),
        rendered.body,
        etag=f'"{miss.name.key}"',
        vary=miss.plan.output.format == "auto",
        cache="MISS",
        timings={"fetch": fetched.fetch_ms, **rendered.timings},
        complete=not left_out,
    )


async def render_and_store(
    state: AppState, miss: Miss
) -> tuple[Rendered, Source, tuple[str, ...], bool]:
    """The render, the original it was made from, the overlays left out of it, and whether it
    was stored."""
    fetched = miss.source or await miss.picked.origin.fetch(miss.picked.path)
    overlays = await fetch_overlays(miss.plan.overlays, miss.picked, state.sources)
    options = replace(state.preprocessor.render_options, accepts=miss.accepts)
    rendered = await state.pool.run(execute, miss.plan, fetched.data, options, overlays.images)
    state.stats.count("renders")
    args = (state.results, miss.name, rendered, fetched)
    # Without a layer it is not the image the URL names: later requests try again.
    if overlays.left_out:
        stored = False
    elif state.results.enabled:
        stored = await asyncio.to_thread(store_result, *args)
    else:
        # Nothing is written: no thread needed.
        stored = store_result(*args)
    return rendered, fetched, overlays.left_out, stored


async def original(request: Request, origin: Origin, path: str, answer: Answer) -> Response:
    """The original's bytes unchanged, for a URL without image parameters."""
    validator, source = await version_of(origin, path)
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
        known = request.state.request_id = request_id_from(request.headers.get("x-request-id", ""))
    return known


async def handle_error(request: Request, exc: Exception) -> Response:
    state: AppState = request.app.state.imgproxy
    assert isinstance(exc, ImgproxyError)
    state.stats.count("errors")
    note_error(request, exc)
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
    Route("/metrics", metrics, methods=["GET"]),
    Route("/jobs/{job_id}", job, methods=["GET"]),
    Route("/{path:path}", image, methods=["GET", "HEAD"]),
    Route("/{path:path}", upload, methods=["POST"]),
]
