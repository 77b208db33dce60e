"""The least a Python server can be, for the served figures to be read against:

- `python -m benchmarks.bare FILE PORT [HEADERS]`: uvicorn answering every GET with FILE's bytes
  from memory, with the loop and parser imgproxy serve uses. What a cache hit is measured
  against; HEADERS, a JSON list of [name, value] pairs, adds those headers to each answer.
- `python -m benchmarks.bare --render ROOT PORT`: uvicorn reading the file a GET names below
  ROOT in a thread and rendering its query with imgproxy's own pipeline in a pool of one thread
  per core. No parameters checked, no cache, no log, no deadline: what serving costs any Python
  server of this design on these cores, whatever it does besides.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import unquote

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from benchmarks import raw

HEALTH = "/health"
Headers = list[tuple[bytes, bytes]]


def app_for(body: bytes, media_type: str, extra: Sequence[tuple[str, str]] = ()) -> ASGIApp:
    headers = [(b"content-type", media_type.encode()), (b"content-length", str(len(body)).encode())]
    headers += [(name.encode("latin-1"), value.encode("latin-1")) for name, value in extra]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await _answer(send, body, headers)

    return app


def render_app_for(root: Path, threads: int) -> ASGIApp:
    pool = ThreadPoolExecutor(threads, thread_name_prefix="render")
    pipelines: dict[str, Callable[[bytes], bytes]] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == HEALTH:
            await _answer(send, b"ok")
            return
        query = scope["query_string"].decode()
        if query not in pipelines:
            pipelines[query] = raw.pipeline(query)
        path = root / unquote(scope["path"]).lstrip("/")
        data = await asyncio.to_thread(path.read_bytes)
        body = await asyncio.get_running_loop().run_in_executor(pool, pipelines[query], data)
        await _answer(send, body)

    return app


async def _answer(send: Send, body: bytes, headers: Headers | None = None) -> None:
    headers = headers or [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    if sys.argv[1] == "--render":
        root, port = Path(sys.argv[2]), int(sys.argv[3])
        raw.as_served()
        app = render_app_for(root, os.cpu_count() or 1)
    else:
        body_file, port = Path(sys.argv[1]), int(sys.argv[2])
        extra = json.loads(Path(sys.argv[3]).read_text()) if len(sys.argv) > 3 else []
        app = app_for(body_file.read_bytes(), "image/jpeg", extra)
    uvicorn.run(app, port=port, log_level="warning")


if __name__ == "__main__":
    main()
