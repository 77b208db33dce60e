"""What a POST asks beyond its answer: keep the original, warm the result cache. Runs in a
render slot for a synchronous POST and in a job for an asynchronous one."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl

from imgproxy.cache.keys import path_tag, result_key
from imgproxy.cache.results import Results
from imgproxy.errors import ImgproxyError, InvalidParameter
from imgproxy.origins.base import Source
from imgproxy.params.decode import DecodeOptions, decode
from imgproxy.params.plan import Plan
from imgproxy.pipeline.context import Rendered, RenderOptions
from imgproxy.pipeline.run import execute
from imgproxy.sources import Sources
from imgproxy.web.negotiate import accepted_formats, format_token


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

    def run(self, job: Preprocess, strict: bool = True) -> tuple[Rendered, list[dict[str, Any]]]:
        """The processed upload, and one report per cache query. `strict` raises the first
        failing query; otherwise it is reported and the rest go on."""
        rendered = self.render(decode(job.pairs, self.decode_options), job.data, job.accept)
        if self.store_uploads:
            asyncio.run(self.sources.store_original(job.path, job.data))
        reports: list[dict[str, Any]] = []
        if job.keep_processed or job.queries:
            original = rendered.body if job.keep_processed else job.data
            source = Source(original, self.sources.default.keep(job.path, original))
            for query in job.queries:
                try:
                    self.warm(job.path, source, query, job.accept)
                    reports.append({"query": query, "status": "done"})
                except ImgproxyError as exc:
                    if strict:
                        raise
                    reports.append({"query": query, "status": "failed", **exc.to_dict()})
        return rendered, reports

    def render(self, plan: Plan, data: bytes, accept: str) -> Rendered:
        return execute(plan, data, replace(self.render_options, accepts=_accepts(plan, accept)))

    def warm(self, path: str, source: Source, query: str, accept: str) -> None:
        """Render one cache_queries variant into the result cache, as a GET would find it."""
        try:
            pairs = parse_qsl(query.lstrip("?"), keep_blank_values=True)
            plan = decode(pairs, self.decode_options)
        except InvalidParameter as exc:
            raise InvalidParameter(
                f"cache_queries {query!r}: {exc.message}", param="cache_queries"
            ) from None
        rendered = self.render(plan, source.data, accept)
        token = format_token(plan.output.format, _accepts(plan, accept))
        name = self.sources.default.name
        key = result_key(name, path, plan.key, token, source.validator)
        meta = result_meta(rendered, source)
        self.results.put(key, meta, rendered.body, path_tag(name, path))


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
