"""What a POST asks beyond its answer: keep the original, warm the result cache. Runs in a
render slot for a synchronous POST and in a job for an asynchronous one."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from imgproxy.cache.changes import announce
from imgproxy.cache.keys import ResultName, result_name
from imgproxy.cache.results import Results
from imgproxy.errors import DeadlineExceeded, ImgproxyError, InvalidParameter
from imgproxy.origins.base import Source
from imgproxy.overlays import FetchedOverlays, fetch_overlays
from imgproxy.params.decode import DecodeOptions, decode
from imgproxy.params.plan import Plan
from imgproxy.pipeline.context import Rendered, RenderOptions
from imgproxy.pipeline.run import execute
from imgproxy.sources import Picked, Sources
from imgproxy.web.negotiate import accepted_formats

T = TypeVar("T")


@dataclass(frozen=True)
class Preprocess:
    """One POST: the upload, its render parameters and its cache controls."""

    path: str
    data: bytes
    pairs: tuple[tuple[str, str], ...]
    keep_processed: bool = False
    queries: tuple[str, ...] = ()
    accept: str = ""


@dataclass
class Preprocessor:
    decode_options: DecodeOptions
    render_options: RenderOptions
    results: Results
    sources: Sources
    store_uploads: bool
    # Digest of render_options: results made under other settings never match.
    render_digest: str
    # The loop the origins' connections belong to; `run` is called from other threads.
    loop: asyncio.AbstractEventLoop
    # How long a render thread waits for origin I/O on the loop.
    loop_timeout_s: float
    # Set once the server shuts down: renders still running get no more origin I/O.
    closing: threading.Event = field(default_factory=threading.Event)

    def run(self, job: Preprocess, strict: bool = True) -> tuple[Rendered, list[dict[str, Any]]]:
        """The processed upload, and one report per cache query. `strict` raises the first
        failing query; otherwise it is reported and the rest go on."""
        plan = decode(job.pairs, self.decode_options)
        # What is kept as the original must be whole: each of its overlays is required then.
        overlays = self._overlays(plan, job.path, require_all=job.keep_processed)
        rendered = self.render(plan, job.data, job.accept, overlays)
        if self.store_uploads:
            self._on_loop(self.sources.store_original(job.path, job.data))
        reports: list[dict[str, Any]] = []
        if job.keep_processed or job.queries:
            original = rendered.body if job.keep_processed else job.data
            source = Source(original, self.sources.preprocessed.keep(job.path, original))
            for query in job.queries:
                try:
                    done = self.warm(job.path, source, query, job.accept)
                    reports.append({"query": query, "status": "done", **done})
                except ImgproxyError as exc:
                    if strict:
                        raise
                    reports.append({"query": query, "status": "failed", **exc.to_dict()})
        if self.store_uploads or job.keep_processed or job.queries:
            # The path's original changed: what processes keep in memory for it must go.
            announce(self.sources.settings.cache.dir)
        return rendered, reports

    def render(self, plan: Plan, data: bytes, accept: str, overlays: FetchedOverlays) -> Rendered:
        options = replace(self.render_options, accepts=_accepts(plan, accept))
        return execute(plan, data, options, overlays.images)

    def warm(self, path: str, source: Source, query: str, accept: str) -> dict[str, Any]:
        """Render one cache_queries variant into the result cache, as a GET would find it. What
        the report adds: a result with overlays left out is not cached, and says so."""
        try:
            pairs = parse_qsl(query.lstrip("?"), keep_blank_values=True)
            plan = decode(pairs, self.decode_options)
        except InvalidParameter as exc:
            raise InvalidParameter(
                f"cache_queries {query!r}: {exc.message}", param="cache_queries"
            ) from None
        overlays = self._overlays(plan, path)
        rendered = self.render(plan, source.data, accept, overlays)
        if overlays.left_out:
            return {"cached": False, "left_out": list(overlays.left_out)}
        accepts = _accepts(plan, accept)
        name = result_name(
            self.sources.default.name, path, plan, accepts, source.validator, self.render_digest
        )
        store_result(self.results, name, rendered, source)
        return {}

    def _overlays(self, plan: Plan, path: str, require_all: bool = False) -> FetchedOverlays:
        picked = Picked(self.sources.default, path)
        return self._on_loop(fetch_overlays(plan.overlays, picked, self.sources, require_all))

    def _on_loop(self, work: Coroutine[Any, Any, T]) -> T:
        """`work` run on the loop, from a render or job thread; DeadlineExceeded when the loop
        does not finish it in time or the server is shutting down."""
        if self.closing.is_set() or self.loop.is_closed():
            work.close()
            raise DeadlineExceeded("the server is shutting down")
        future = asyncio.run_coroutine_threadsafe(work, self.loop)
        try:
            return future.result(self.loop_timeout_s)
        except FutureTimeout:
            future.cancel()
            raise DeadlineExceeded(
                f"origin I/O for the upload took more than {self.loop_timeout_s:g} s"
            ) from None


def _accepts(plan: Plan, accept: str) -> frozenset[str]:
    return accepted_formats(accept) if plan.output.format == "auto" else frozenset()


def store_result(results: Results, name: ResultName, rendered: Rendered, source: Source) -> bool:
    """Store `rendered` under `name` unless it was made from another version of the original than
    the one `name` holds (replaced meanwhile); whether it was stored."""
    if source.validator != name.validator:
        return False
    results.put(name, result_meta(rendered, source), rendered.body)
    return True


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
