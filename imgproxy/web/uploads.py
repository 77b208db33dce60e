"""POST /<path>: process an uploaded image; keep it and warm the result cache when asked."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message

from imgproxy.errors import ForbiddenByConfig, InvalidParameter, NotFound, SourceTooLarge
from imgproxy.jobs.preprocess import Preprocess, result_meta
from imgproxy.params.values import Boolean
from imgproxy.web.auth import bearer_matches
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
    pairs, keep_processed, queries, run_async = split_controls(
        [*request.query_params.multi_items(), *fields]
    )
    job = Preprocess(
        path, data, tuple(pairs), keep_processed, tuple(queries), request.headers.get("accept", "")
    )
    if run_async or "respond-async" in request.headers.get("prefer", "").lower():
        job_id = await asyncio.to_thread(state.jobs.submit, job)
        return JSONResponse(
            {"id": job_id, "status": "queued"},
            status_code=202,
            headers={**answer.common(), "Location": f"/jobs/{job_id}", "Cache-Control": "no-store"},
        )
    rendered, _ = await state.pool.run(state.preprocessor.run, job)
    response = answer.image(
        result_meta(rendered, None),
        rendered.body,
        etag=f'"{hashlib.sha256(rendered.body).hexdigest()[:40]}"',
        vary=False,
        cache="MISS",
        timings=rendered.timings,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def check_token(authorization: str, token: str) -> None:
    if not token:
        raise ForbiddenByConfig("POST is turned off on this server ([uploads] token is not set)")
    if not bearer_matches(authorization, token):
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
) -> tuple[list[tuple[str, str]], bool, list[str], bool]:
    """(render parameters, cache_processed, cache_queries, async) of a POST."""
    render, keep, queries, run_async = [], False, [], False
    for key, value in pairs:
        if key == "cache_processed":
            keep = _boolean(key, value)
        elif key == "async":
            run_async = _boolean(key, value)
        elif key == "cache_queries":
            queries.extend(_queries(value))
        else:
            render.append((key, value))
    return render, keep, queries, run_async


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
