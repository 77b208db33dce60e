"""Side by side in one run: the served path against raw pyvips doing the same work, same bytes.

Prints a table of ratios and writes benchmarks/results/latest.md.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyvips
from skimage import data as photos

from benchmarks.load import LoadResult, load

CORES = os.cpu_count() or 1
SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
RESULTS = Path(__file__).parent / "results" / "latest.md"


@dataclass(frozen=True)
class Case:
    name: str
    query: str
    raw: Callable[[bytes], bytes]


def large_photo() -> bytes:
    """scikit-image's astronaut upscaled to 4000x3000 (12 MP), as a quality-90 JPEG."""
    photo = pyvips.Image.new_from_array(photos.astronaut()).copy(interpretation="srgb")
    return photo.resize(4000 / 512, vscale=3000 / 512).jpegsave_buffer(Q=90)


def raw_width_400(data: bytes) -> bytes:
    image = pyvips.Image.new_from_buffer(data, "", shrink=8, access="sequential")
    return image.resize(400 / image.width, kernel="lanczos3").jpegsave_buffer(
        Q=80, optimize_coding=True
    )


def raw_width_1200_webp(data: bytes) -> bytes:
    image = pyvips.Image.new_from_buffer(data, "", shrink=2, access="sequential")
    return image.resize(1200 / image.width, kernel="lanczos3").webpsave_buffer(Q=80, effort=4)


CASES = (
    Case("12 MP JPEG -> width=400 JPEG q80", "width=400&quality=80", raw_width_400),
    Case("12 MP JPEG -> width=1200 WebP", "width=1200&format=webp&quality=80", raw_width_1200_webp),
)


def raw_throughput(fn: Callable[[bytes], bytes], data: bytes, seconds: float) -> float:
    """Operations per second of `fn` in CORES threads, as the server's render slots run it."""
    pyvips.cache_set_max(0)
    pyvips.concurrency_set(1)
    until = time.perf_counter() + seconds

    def worker() -> int:
        count = 0
        while time.perf_counter() < until:
            fn(data)
            count += 1
        return count

    started = time.perf_counter()
    with ThreadPoolExecutor(CORES) as pool:
        total = sum(pool.map(lambda _: worker(), range(CORES)))
    return total / (time.perf_counter() - started)


def start_server(root: Path, port: int, result_cache_mb: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "IMGPROXY_ORIGIN_ROOT": str(root),
        "IMGPROXY_CACHE_DIR": str(root / "cache"),
        "IMGPROXY_CACHE_RESULT_SIZE_MB": str(result_cache_mb),
        "IMGPROXY_SERVER_PORT": str(port),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "imgproxy", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("imgproxy did not start")


def served(url: str) -> LoadResult:
    """Load from a separate process, as a real client would be."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(load, (url, 2 * CORES, SECONDS))


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="imgproxy-bench-"))
    data = large_photo()
    (workdir / "large.jpg").write_bytes(data)
    rows = []
    server = start_server(workdir, 18181, result_cache_mb=0)
    try:
        for case in CASES:
            raw = raw_throughput(case.raw, data, SECONDS)
            result = served(f"http://127.0.0.1:18181/large.jpg?{case.query}")
            rows.append((case.name, result, raw))
    finally:
        server.terminate()
        server.wait()
    cached = start_server(workdir, 18182, result_cache_mb=256)
    try:
        hit = served("http://127.0.0.1:18182/large.jpg?width=400&quality=80")
    finally:
        cached.terminate()
        cached.wait()
    report = render_report(rows, hit)
    print(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report)
    return 0


def render_report(rows: list[tuple[str, LoadResult, float]], hit: LoadResult) -> str:
    lines = [
        f"# Benchmark ({CORES} cores, {SECONDS:g} s per case, {2 * CORES} concurrent clients)",
        "",
        "| case | served req/s | p99 ms | errors | raw pyvips ops/s | served / raw |",
        "|---|---|---|---|---|---|",
    ]
    for name, result, raw in rows:
        lines.append(
            f"| {name} | {result.per_second:.1f} | {result.p99_ms:.0f} | {result.errors} "
            f"| {raw:.1f} | {result.per_second / raw:.2f} |"
        )
    lines.append(
        f"| result-cache hit of case 1 | {hit.per_second:.0f} | {hit.p99_ms:.0f} "
        f"| {hit.errors} | | |"
    )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
