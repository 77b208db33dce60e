"""`python -m benchmarks.bare FILE PORT`: uvicorn answering every GET with FILE's bytes from memory,
with the loop and parser imgproxy serve uses. What a cache hit is measured against."""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn
from starlette.types import Receive, Scope, Send


def app_for(body: bytes, media_type: str) -> object:
    headers = [(b"content-type", media_type.encode()), (b"content-length", str(len(body)).encode())]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def main() -> None:
    body_file, port = Path(sys.argv[1]), int(sys.argv[2])
    uvicorn.run(app_for(body_file.read_bytes(), "image/jpeg"), port=port, log_level="warning")


if __name__ == "__main__":
    main()
