"""The playground: a page that builds image URLs with controls, served from the package's files."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

if TYPE_CHECKING:
    from imgproxy.app import AppState

STATIC_DIR = Path(__file__).with_name("playground_static")
# What the loaders read (SVG is refused by the server, so it is not offered).
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif", ".heic", ".heif", ".tif", ".tiff"}
)
# Enough to pick from; a huge origin folder is not walked to its end.
MAX_SAMPLES = 500
# The page loads nothing from elsewhere; rendered images are shown from blob: URLs.
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' blob: data:; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'"
)
NO_STORE = {"Cache-Control": "no-store"}


async def page(request: Request) -> Response:
    headers = {**NO_STORE, "Content-Security-Policy": PAGE_POLICY}
    return FileResponse(STATIC_DIR / "index.html", headers=headers)


async def samples(request: Request) -> Response:
    """The images of a local origin, as paths the page can request; other origins list none."""
    state: AppState = request.app.state.imgproxy
    origin = state.settings.origin
    found: list[str] = []
    if origin.kind == "local":
        found = await asyncio.to_thread(image_paths, Path(origin.root))
    return JSONResponse({"origin": origin.kind, "samples": found}, headers=NO_STORE)


def image_paths(root: Path, limit: int = MAX_SAMPLES) -> list[str]:
    """Image files below `root` (hidden ones left out), at most `limit`, in a stable order."""
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(name for name in dirs if not name.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or Path(name).suffix.lower() not in IMAGE_SUFFIXES:
                continue
            found.append((Path(folder) / name).relative_to(root).as_posix())
            if len(found) >= limit:
                return found
    return found


PLAYGROUND_ROUTES: list[BaseRoute] = [
    Route("/playground", page, methods=["GET", "HEAD"], name="playground"),
    Route("/playground/samples.json", samples, methods=["GET"], name="playground-samples"),
    Mount("/playground/static", StaticFiles(directory=STATIC_DIR), name="playground-static"),
]
