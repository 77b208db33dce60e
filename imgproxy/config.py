"""The settings model: every section and key with its default, its checks and its doc line.
config_loader.py reads them from TOML and the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def _setting(
    default: Any,
    doc: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    choices: tuple[str, ...] = (),
) -> Any:
    """A setting: its default, its checks, and the one-line doc that docs/config.md and the
    comments of config/imgproxy.toml are generated from (`make docs`)."""
    return field(default=default, metadata={"doc": doc, "min": lo, "max": hi, "choices": choices})


@dataclass(frozen=True)
class ServerSettings:
    host: str = _setting("127.0.0.1", "Address to listen on.")
    port: int = _setting(8080, "Port to listen on.", lo=1, hi=65535)
    workers: int = _setting(
        1,
        "Worker processes; each has its own render slots and shares the disk caches.",
        lo=1,
        hi=64,
    )
    render_slots: int = _setting(
        0, "Renders running at once per process; 0 means one per CPU core.", lo=0, hi=256
    )
    queue_size: int = _setting(
        64,
        "Requests that may wait for a render slot; more get 503 with Retry-After.",
        lo=0,
        hi=100_000,
    )
    request_timeout_s: float = _setting(
        30.0,
        "Deadline of one image request (fetch + render), in seconds; past it the answer is 504.",
        lo=0.1,
        hi=3600,
    )
    vips_concurrency: int = _setting(
        1,
        "libvips threads per render; parallelism comes from concurrent requests.",
        lo=1,
        hi=64,
    )
    malloc_arenas: int = _setting(
        2,
        "glibc malloc arenas per process; 0 keeps glibc's default (8 per core), which lets "
        "render threads scatter freed pixel buffers over many arenas and raises peak memory.",
        lo=0,
        hi=64,
    )
    malloc_trim_threshold_mb: int = _setting(
        64,
        "Freed memory, in MB, glibc may keep at the top of each malloc heap while renders run "
        "(blocks up to 32 MB then come from the heaps), rather than hand it back and fault it "
        "in again for the next render; 0 keeps glibc's own thresholds. What stays is handed "
        "back once renders stop (release_memory_after_ms).",
        lo=0,
        hi=65_536,
    )
    release_memory_after_ms: int = _setting(
        1000,
        "Once no render has run for this long, the process hands the memory its renders freed "
        "back to the system (glibc's malloc_trim); 0 never does.",
        lo=0,
        hi=3_600_000,
    )

    def slots(self) -> int:
        """Render slots in force: the configured number, or one per core when 0."""
        return self.render_slots or os.cpu_count() or 1


@dataclass(frozen=True)
class OriginSettings:
    kind: str = _setting(
        "local",
        'Where originals come from: "local" (a folder), "http" (a base URL) or "s3" (a bucket).',
        choices=("local", "http", "s3"),
    )
    root: str = _setting("samples", 'Folder of originals for kind = "local".')
    url: str = _setting("", 'Base URL for kind = "http"; the request path is appended to it.')
    bucket: str = _setting(
        "",
        'Bucket for kind = "s3"; credentials come from boto3\'s standard chain (env, files, IAM '
        "role).",
    )
    region: str = _setting("", 'AWS region of the bucket ("" lets boto3 decide).')
    endpoint_url: str = _setting("", 'S3-compatible endpoint such as MinIO ("" is AWS).')
    timeout_s: float = _setting(
        10.0,
        'Deadline of a whole fetch, in seconds (kind = "http"); past it the answer is 504.',
        lo=0.1,
        hi=600,
    )
    connect_timeout_s: float = _setting(
        3.0, 'Deadline of connecting to the origin, in seconds (kind = "http").', lo=0.1, hi=600
    )
    max_bytes: int = _setting(
        100_000_000, "Largest original accepted, in bytes; bigger ones get 413.", lo=1
    )


@dataclass(frozen=True)
class SecuritySettings:
    allow_dynamic_origin: bool = _setting(
        True,
        "Allow sources taken from a request (origin, hostname, source_url, bucket, absolute "
        "layer and watermark URLs); false answers 401.",
    )
    hosts_allowed: tuple[str, ...] = _setting(
        (),
        'When not empty, absolute URLs must name one of these hosts ("img.example.com" or '
        '"*.example.com"); others get 401.',
    )
    allow_private_networks: bool = _setting(
        False,
        "Allow absolute URLs whose host resolves to loopback, private, link-local or CGNAT "
        "addresses.",
    )
    buckets_allowed: tuple[str, ...] = _setting(
        (), "When not empty, the bucket parameter may only name these buckets; others get 401."
    )
    signing_keys: tuple[str, ...] = _setting(
        (),
        "Secrets for signed URLs: when set, every image URL needs s = HMAC-SHA256 over its path "
        "and sorted query (imgproxy url --sign makes them); several keys allow rotation. "
        "Missing or bad: 403.",
    )
    allow_original_request: bool = _setting(
        False,
        "A URL with no image parameters answers the original bytes unchanged (otherwise it is "
        "re-encoded like any other request).",
    )
    image_params_allowed: tuple[str, ...] = _setting(
        (), "When not empty, only these image parameters are allowed; others get 401."
    )
    strict_params: bool = _setting(
        False, "Refuse unknown query parameters with 400 instead of ignoring them."
    )
    max_src_pixels: int = _setting(
        50_000_000,
        "Largest original, in pixels (width x height); bigger ones get 413.",
        lo=1,
    )
    max_frames: int = _setting(
        1,
        "Frames of an animated GIF or WebP that are kept; 1 serves the first frame only. Above "
        "1, animations keep every frame and their delays, and longer ones get 413.",
        lo=1,
        hi=10_000,
    )
    max_layers: int = _setting(10, "Most entries `layers` may hold; more get 400.", lo=0, hi=100)
    max_out_pixels: int = _setting(
        8192,
        "Longest side an output may have, in pixels; bigger requests get 400.",
        lo=1,
        hi=65_535,
    )


@dataclass(frozen=True)
class CacheSettings:
    dir: str = _setting(
        "var/cache",
        "Folder of the disk caches (originals from remote origins, rendered results).",
    )
    origin_size_mb: int = _setting(
        1024,
        "Size limit of the originals fetched from remote origins, in MiB; 0 turns it off.",
        lo=0,
    )
    result_size_mb: int = _setting(
        1024, "Size limit of the rendered results, in MiB; 0 turns it off.", lo=0
    )
    preprocessed_size_mb: int = _setting(
        1024,
        "Size limit of originals replaced by POST preprocessing (cache_processed, "
        "cache_queries), in MiB; they do not expire, but the oldest go when the limit is "
        "reached.",
        lo=0,
    )
    memory_mb: int = _setting(
        64,
        "Memory for hot answers: whole answers sent again without routing or disk lookups, "
        "per process, in MiB; 0 turns it off.",
        lo=0,
    )
    memory_ttl_s: float = _setting(
        5.0,
        "How long a hot answer is sent from memory, in seconds: a replaced or purged original "
        "shows within this time.",
        lo=0,
        hi=3600,
    )
    s3_bucket: str = _setting(
        "",
        "S3 bucket of a second tier that several servers share, for results and for originals "
        'kept by POST ("" keeps both local only); it uses [origin] region and endpoint_url and '
        "boto3's credentials.",
    )
    s3_prefix: str = _setting(
        "imgproxy/results/",
        "Key prefix of shared results, and of originals kept by POST, in that bucket.",
    )
    origin_ttl_s: int = _setting(
        3600,
        "How long a fetched original is reused before the origin is asked again, in seconds.",
        lo=0,
    )


@dataclass(frozen=True)
class UploadsSettings:
    token: str = _setting(
        "",
        "Bearer token that POST requests must send (Authorization: Bearer ...); "
        '"" refuses every POST.',
    )
    enabled: bool = _setting(
        False, "Also write POSTed originals to the origin store (a local file or S3 PutObject)."
    )


@dataclass(frozen=True)
class JobsSettings:
    redis_url: str = _setting(
        "",
        "Redis URL (redis://host:6379/0) of a queue that several machines share; "
        '"" keeps jobs in SQLite next to the caches ([cache] dir/jobs.db), which needs no server.',
    )
    consumer: bool = _setting(
        True,
        "Run jobs inside `imgproxy serve`; false leaves them to `imgproxy worker` processes.",
    )
    workers: int = _setting(1, "Jobs run at once by each consumer.", lo=1, hi=64)
    report_retention_days: int = _setting(
        7,
        "Days a job's report (`GET /jobs/<id>`) is kept; it goes within a day after.",
        lo=1,
        hi=3650,
    )


@dataclass(frozen=True)
class AdminSettings:
    enabled: bool = _setting(
        False,
        "The admin API (GET /config, GET /stats, DELETE purges) on its own address; "
        "off by default.",
    )
    host: str = _setting("127.0.0.1", "Address of the admin API.")
    port: int = _setting(8081, "Port of the admin API.", lo=1, hi=65535)
    token: str = _setting("", "Bearer token the admin API requires; must be set when enabled.")


@dataclass(frozen=True)
class HttpSettings:
    cache_control: str = _setting(
        "public, max-age=86400",
        "Cache-Control of successful image answers (errors always get no-store; an image with a "
        "layer left out gets these directives with max-age and s-maxage capped at 60 s).",
    )
    cors_allow_origin: str = _setting(
        "*", 'Access-Control-Allow-Origin of every answer; "" leaves the header out.'
    )
    add_response_headers: Mapping[str, str] = field(
        default_factory=dict,
        metadata={"doc": 'Extra headers on every answer, e.g. { "X-Served-By" = "img-1" }.'},
    )


@dataclass(frozen=True)
class OutputSettings:
    default_quality: int = _setting(
        90,
        "JPEG/WebP/AVIF quality when neither the URL nor a JPEG original gives one.",
        lo=1,
        hi=100,
    )
    auto_avif: bool = _setting(True, "Let format=auto choose AVIF for clients that accept it.")
    avif_max_side: int = _setting(
        1200,
        "format=auto chooses AVIF only up to this longest side (AVIF encodes ~10x slower than "
        "WebP).",
        lo=1,
    )
    allow_upscale: bool = _setting(True, "Allow width/height larger than the original.")
    shrink_on_load: str = _setting(
        "fine",
        'How far a JPEG is shrunk while it is decoded: "fine" leaves Lanczos at least twice the '
        'target to resample; "fast" decodes to just above it, as thumbor and sharp do (up to a '
        "fifth faster on large downscales, with more aliasing).",
        choices=("fine", "fast"),
    )


@dataclass(frozen=True)
class PlaygroundSettings:
    enabled: bool = _setting(
        False, "Serve /playground; refused at start-up when [security] signing_keys is set."
    )


@dataclass(frozen=True)
class LogSettings:
    format: str = _setting(
        "json",
        'Log lines as "json" (one JSON object a line) or "text" (a time, a level and '
        "key=value pairs).",
        choices=("json", "text"),
    )
    level: str = _setting(
        "info",
        "Least severe level written: request lines are info (error for 5xx answers).",
        choices=("debug", "info", "warning", "error"),
    )
    requests: bool = _setting(
        True,
        "One line per request (id, method, path, query with secrets redacted, status, bytes, "
        "timings, cache); false writes none.",
    )
    flush_ms: int = _setting(
        200,
        "Request lines are written in batches, at most this many milliseconds after the first "
        "of a batch (at once for 5xx answers and on shutdown); 0 writes every line as it comes.",
        lo=0,
        hi=10000,
    )


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = field(
        default_factory=ServerSettings,
        metadata={"doc": "The HTTP listener and the pool of render slots."},
    )
    origin: OriginSettings = field(
        default_factory=OriginSettings, metadata={"doc": "Where originals come from."}
    )
    security: SecuritySettings = field(
        default_factory=SecuritySettings,
        metadata={
            "doc": "Which sources, signatures and parameters are accepted, and the size limits."
        },
    )
    cache: CacheSettings = field(
        default_factory=CacheSettings,
        metadata={"doc": "Disk caches of originals and results, and the shared S3 tier."},
    )
    http: HttpSettings = field(
        default_factory=HttpSettings, metadata={"doc": "Headers of every answer."}
    )
    output: OutputSettings = field(
        default_factory=OutputSettings, metadata={"doc": "Encoding when the URL leaves it open."}
    )
    uploads: UploadsSettings = field(
        default_factory=UploadsSettings, metadata={"doc": "POST uploads."}
    )
    admin: AdminSettings = field(
        default_factory=AdminSettings, metadata={"doc": "The admin API, on an address of its own."}
    )
    jobs: JobsSettings = field(
        default_factory=JobsSettings,
        metadata={"doc": "Background jobs: POST cache_queries and asynchronous POST."},
    )
    playground: PlaygroundSettings = field(
        default_factory=PlaygroundSettings,
        metadata={"doc": "A page that builds image URLs with controls and shows the answers."},
    )
    log: LogSettings = field(
        default_factory=LogSettings,
        metadata={"doc": "Log lines: one per request, and the server's own messages, on stderr."},
    )
    colors: Mapping[str, str] = field(
        default_factory=dict,
        metadata={
            "doc": "Named colours usable wherever a colour is (presetColors), "
            'e.g. brand = "#ff6600".'
        },
    )
