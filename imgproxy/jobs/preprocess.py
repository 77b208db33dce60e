"""What a POST asks beyond its answer: keep the original, warm the result cache. Runs in a
render slot for a synchronous POST and in a job for an asynchronous one."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from imgproxy.cache.keys import ResultName, digest
from imgproxy.cache.results import Results
from imgproxy.errors import ImgproxyError, InvalidParameter
from imgproxy.origins.base import Source
from imgproxy.overlays import FetchedOverlays, fetch_overlays
from imgproxy.params.decode import DecodeOptions, decode
from imgproxy.params.plan import Plan
from imgproxy.pipeline.context import Rendered, RenderOptions
from imgproxy.pipeline.run import execute
from imgproxy.sources import Picked, Sources
from imgproxy.web.negotiate import accepted_formats, format_token

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
    # The loop the origins' connections belong to; `run` is called from other threads.
    loop: asyncio.AbstractEventLoop

    @cached_property
    def render_digest(self) -> str:
        """The server's render settings in short: results made under other settings never match."""
        return digest(replace(self.render_options, accepts=frozenset()))

    def result_name(
        self, origin: str, path: str, plan: Plan, accepts: frozenset[str], validator: str
    ) -> ResultName:
        token = format_token(plan.output.format, accepts)
        return ResultName(origin, path, plan.key, token, validator, self.render_digest)

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
            source = Source(original, self.sources.default.keep(job.path, original))
            for query in job.queries:
                try:
                    done = self.warm(job.path, source, query, job.accept)
                    reports.append({"query": query, "status": "done", **done})
                except ImgproxyError as exc:
                    if strict:
                        raise
                    reports.append({"query": query, "status": "failed", **exc.to_dict()})
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
        name = self.result_name(self.sources.default.name, path, plan, accepts, source.validator)
        self.results.put(name, result_meta(rendered, source), rendered.body)
        return {}

    def _overlays(self, plan: Plan, path: str, require_all: bool = False) -> FetchedOverlays:
        picked = Picked(self.sources.default, path)
        return self._on_loop(fetch_overlays(plan.overlays, picked, self.sources, require_all))

    def _on_loop(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result()


def _accepts(plan: Plan, accept: str) -> frozenset[str]:
    return accepted_formats(accept) if plan.output.format == "auto" else frozenset()


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
