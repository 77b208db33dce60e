"""Prometheus metrics, all named here; the rest of the code calls the small functions below.

With several worker processes, `imgproxy serve` names a folder in PROMETHEUS_MULTIPROC_DIR before
the workers start: each process then keeps its values in files there, and a scrape of any worker
adds up every process's files.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
# prometheus-client picks where values live when it is imported, so this is fixed per process.
MULTIPROCESS = MULTIPROCESS_ENV in os.environ
# Render steps that only add an operation to libvips' graph take microseconds; encodes take more.
STEP_BUCKETS = (1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)
SECONDS_BUCKETS = (1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

REQUESTS = Counter(
    "imgproxy_requests", "Answers sent, by route and HTTP status.", ["route", "status"]
)
REQUEST_SECONDS = Histogram(
    "imgproxy_request_seconds",
    "Time from a request's arrival to the end of its answer, by route.",
    ["route"],
    buckets=SECONDS_BUCKETS,
)
RENDER_STEP_SECONDS = Histogram(
    "imgproxy_render_step_seconds",
    "Time of each render step, in the render thread. libvips is lazy: most steps only add "
    "operations to a graph, and the pixels are computed in the encode step.",
    ["step"],
    buckets=STEP_BUCKETS,
)
RENDER_SECONDS = Histogram(
    "imgproxy_render_seconds",
    "Time of whole renders, from the original's bytes to the encoded answer.",
    buckets=SECONDS_BUCKETS,
)
ORIGIN_FETCH_SECONDS = Histogram(
    "imgproxy_origin_fetch_seconds",
    "Time of fetches from origins (the originals cache answers the others), by origin kind.",
    ["origin"],
    buckets=SECONDS_BUCKETS,
)
ORIGIN_FETCH_BYTES = Counter(
    "imgproxy_origin_fetch_bytes", "Bytes of the originals fetched from origins.", ["origin"]
)
CACHE_HITS = Counter("imgproxy_cache_hits", "Lookups answered by a cache, by cache.", ["cache"])
CACHE_MISSES = Counter("imgproxy_cache_misses", "Lookups a cache could not answer.", ["cache"])
CACHE_EVICTIONS = Counter(
    "imgproxy_cache_evictions",
    "Entries a cache dropped for room or because they expired (purges not included).",
    ["cache"],
)
RENDER_SLOTS = Gauge(
    "imgproxy_render_slots", "Render slots of the serving processes.", multiprocess_mode="livesum"
)
RENDER_SLOTS_BUSY = Gauge(
    "imgproxy_render_slots_busy", "Renders running now.", multiprocess_mode="livesum"
)
RENDER_QUEUE_DEPTH = Gauge(
    "imgproxy_render_queue_depth",
    "Renders waiting for a slot now (at most [server] queue_size per process).",
    multiprocess_mode="livesum",
)
COALESCED = Counter(
    "imgproxy_coalesced_requests",
    "Requests that shared an identical render already in flight instead of starting one.",
)
JOBS = Counter(
    "imgproxy_jobs",
    "Background jobs that reached each status (queued, running, done, failed).",
    ["status"],
)
JOBS_RUNNING = Gauge(
    "imgproxy_jobs_running", "Background jobs running now.", multiprocess_mode="livesum"
)


@cache
def _requests(route: str, status: int) -> Counter:
    return REQUESTS.labels(route, str(status))


@cache
def _request_seconds(route: str) -> Histogram:
    return REQUEST_SECONDS.labels(route)


@cache
def _steps(names: tuple[str, ...]) -> tuple[Histogram, ...]:
    return tuple(RENDER_STEP_SECONDS.labels(name) for name in names)


@cache
def _hits(name: str) -> Counter:
    return CACHE_HITS.labels(name)


@cache
def _misses(name: str) -> Counter:
    return CACHE_MISSES.labels(name)


def request_answered(route: str, status: int, seconds: float) -> None:
    _requests(route, status).inc()
    _request_seconds(route).observe(seconds)


def render_timed(steps: tuple[str, ...], seconds: Sequence[float], total: float) -> None:
    """One render's time per step (`steps[i]` took `seconds[i]`) and in all."""
    for histogram, spent in zip(_steps(steps), seconds, strict=True):
        histogram.observe(spent)
    RENDER_SECONDS.observe(total)


def origin_fetched(origin: str, seconds: float, size: int) -> None:
    ORIGIN_FETCH_SECONDS.labels(origin).observe(seconds)
    ORIGIN_FETCH_BYTES.labels(origin).inc(size)


def cache_lookup(name: str, hit: bool) -> None:
    (_hits if hit else _misses)(name).inc()


def cache_evicted(name: str, count: int) -> None:
    if count:
        CACHE_EVICTIONS.labels(name).inc(count)


def render_slots(change: int) -> None:
    RENDER_SLOTS.inc(change)


def render_waiting(change: int) -> None:
    RENDER_QUEUE_DEPTH.inc(change)


def render_running(change: int) -> None:
    RENDER_SLOTS_BUSY.inc(change)


def coalesced() -> None:
    COALESCED.inc()


def job_reported(status: str) -> None:
    JOBS.labels(status).inc()


def jobs_running(change: int) -> None:
    JOBS_RUNNING.inc(change)


def exposition() -> tuple[bytes, str]:
    """The text a scrape reads, and its content type: this process's values, or with several
    worker processes the sum of all of theirs."""
    registry = REGISTRY
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry), CONTENT_TYPE_LATEST


def multiprocess_dir(cache_dir: str | Path) -> Path:
    """An empty `metrics` folder under the cache folder, for the values of worker processes:
    files left by an earlier run would be added to this run's."""
    folder = Path(cache_dir).resolve() / "metrics"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def process_stopped() -> None:
    """This process's live gauges leave the sums of the other workers."""
    if MULTIPROCESS:
        multiprocess.mark_process_dead(os.getpid())
