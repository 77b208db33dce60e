"""POST /<path>: process an uploaded image; keep it and warm the result cache when asked."""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message

from imgproxy.cache.keys import path_tag, result_key
from imgproxy.errors import ForbiddenByConfig, InvalidParameter, NotFound, SourceTooLarge
from imgproxy.origins.base import Source
from imgproxy.params.decode import decode
from imgproxy.params.plan import Plan
from imgproxy.params.spec import Boolean
from imgproxy.pipeline.context import Rendered
from imgproxy.pipeline.run import execute
from imgproxy.web.negotiate import accepted_formats, format_token
from imgproxy.web.responses import Answer

if TYPE_CHECKING:
    from imgproxy.app import AppState

# Room for multipart boundaries and form fields around the file itself.
FORM_OVERHEAD = 64 * 1024


async def post_image(request: Request, state: AppState, answer: Answer) -> Response:
    check_token(request.headers.get("authorization", ""), state.settings.uploads.token)
    path = request.path_params["path"]
    if not path:
        raise NotFound("POST to the path the image belongs to, for example /photo.jpg")
    data, fields = await read_upload(request, state.settings.origin.max_bytes)
    pairs, keep_processed, queries = split_controls([*request.query_params.multi_items(), *fields])
    plan = decode(pairs, state.decode_options)
    accept = request.headers.get("accept", "")
    rendered = await _render(state, plan, data, accept)
    if state.settings.uploads.enabled:
        await state.sources.store_original(path, data)
    if keep_processed or queries:
        original = rendered.body if keep_processed else data
        validator = await asyncio.to_thread(state.sources.default.keep, path, original)
        for query in queries:
            await warm(state, path, Source(original, validator), query, accept)
    meta = result_meta(rendered, None)
    response = answer.image(
        meta,
        rendered.body,
        etag=f'"{plan.key}"',
        vary=False,
        cache="MISS",
        timings=rendered.timings,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def check_token(authorization: str, token: str) -> None:
    if not token:
        raise ForbiddenByConfig("POST is turned off on this server ([uploads] token is not set)")
    scheme, _, offered = authorization.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(offered.strip(), token):
        raise ForbiddenByConfig("POST needs Authorization: Bearer with the server's token")


async def read_upload(request: Request, max_bytes: int) -> tuple[bytes, list[tuple[str, str]]]:
    """The uploaded file and the form's text fields; over `max_bytes` stops reading with 413."""
    limit = max_bytes + FORM_OVERHEAD
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(max_bytes)
    received = 0

    async def counted() -> Message:
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise _too_large(max_bytes)
        return message

    form = await Request(request.scope, counted).form()
    files = [value for _, value in form.multi_items() if isinstance(value, UploadFile)]
    if not files:
        raise InvalidParameter("POST needs a multipart form with an image file", param="file")
    data = await files[0].read()
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    fields = [(key, value) for key, value in form.multi_items() if isinstance(value, str)]
    return data, fields


def _too_large(max_bytes: int) -> SourceTooLarge:
    return SourceTooLarge(f"the upload is larger than the {max_bytes} byte limit")


def split_controls(
    pairs: Iterable[tuple[str, str]],
) -> tuple[list[tuple[str, str]], bool, list[str]]:
    """(render parameters, cache_processed, cache_queries) of a POST."""
    render, keep, queries = [], False, []
    for key, value in pairs:
        if key == "cache_processed":
            keep = _boolean(key, value)
        elif key == "cache_queries":
            queries.extend(_queries(value))
        else:
            render.append((key, value))
    return render, keep, queries


def _boolean(key: str, value: str) -> bool:
    try:
        return Boolean().parse(value, {})
    except ValueError as exc:
        raise InvalidParameter(f"{key} {exc}", param=key) from None


def _queries(value: str) -> list[str]:
    if not value.strip().startswith("["):
        return [value]
    try:
        queries = json.loads(value)
    except ValueError:
        queries = None
    if not isinstance(queries, list) or not all(isinstance(q, str) for q in queries):
        raise InvalidParameter(
            "cache_queries must be a JSON array of query strings", param="cache_queries"
        )
    return queries


async def warm(state: AppState, path: str, source: Source, query: str, accept: str) -> None:
    """Render one cache_queries variant into the result cache, as a GET would find it."""
    try:
        plan = decode(parse_qsl(query.lstrip("?"), keep_blank_values=True), state.decode_options)
    except InvalidParameter as exc:
        raise InvalidParameter(
            f"cache_queries {query!r}: {exc.message}", param="cache_queries"
        ) from None
    rendered = await _render(state, plan, source.data, accept)
    accepts = _accepts(plan, accept)
    token = format_token(plan.output.format, accepts)
    key = result_key(state.sources.default.name, path, plan.key, token, source.validator)
    meta, tag = result_meta(rendered, source), path_tag(state.sources.default.name, path)
    await asyncio.to_thread(state.results.put, key, meta, rendered.body, None, tag)


def _accepts(plan: Plan, accept: str) -> frozenset[str]:
    return accepted_formats(accept) if plan.output.format == "auto" else frozenset()


async def _render(state: AppState, plan: Plan, data: bytes, accept: str) -> Rendered:
    options = replace(state.render_options, accepts=_accepts(plan, accept))
    return await state.pool.run(execute, plan, data, options)


def result_meta(rendered: Rendered, source: Source | None) -> dict[str, object]:
    """What a cached result keeps besides its bytes, for the headers of later answers."""
    return {
        "media_type": rendered.media_type,
        "width": rendered.width,
        "height": rendered.height,
        "source_size": rendered.source.size,
        "source_width": rendered.source.width,
        "source_height": rendered.source.height,
        "last_modified": source.last_modified if source else None,
        "quality": rendered.quality,
    }
