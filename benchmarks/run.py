"""`make bench`: imgproxy side by side with raw pyvips and thumbor 7, in one run, as ratios.

Writes benchmarks/results/latest.md and latest.png. `--quick` runs case 1 for one second
without thumbor (a smoke run), writing into `--out`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from statistics import mean

import httpx

from benchmarks import costs, raw, servers
from benchmarks.cases import CASES, COPIES, QUALITY_AUTO, QUALITY_FIXED, Case
from benchmarks.fidelity import curve, detail
from benchmarks.inputs import textured_jpeg, write_inputs, zone_plate_jpeg
from benchmarks.load import LoadResult, load, load_fast, warm
from benchmarks.report import MIX, REST_S, CaseRow, Fidelity, Results, markdown, plot
from benchmarks.servers import Server
from benchmarks.thumbor import check_tools, thumbor

CORES = os.cpu_count() or 1
CONNECTIONS = 2 * CORES
# A case's raw, in-process, bare endpoint and served figures are taken in this many turns of a
# third of its seconds each, so that the machine's drift over the case falls on the four alike.
TURNS = 3
RESULTS = Path(__file__).parent / "results"
QUALITY_PATHS = (QUALITY_AUTO, QUALITY_FIXED)
# A load of some paths for the seconds given.
Measure = Callable[[float], LoadResult]
# Cold renders of one URL sent at once; all but one must wait for the first render.
COALESCED = 16
# imgproxy's configurations for the mix and the output bytes: the defaults, and JPEGs decoded
# to just above the target as thumbor does.
FAST_SHRINK = 'imgproxy, shrink_on_load = "fast"'
CONFIGURATIONS = {"imgproxy": {}, FAST_SHRINK: {"IMGPROXY_OUTPUT_SHRINK_ON_LOAD": "fast"}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def case_row(
    case: Case, inputs: dict[str, bytes], base: str, bare_base: str, seconds: float
) -> CaseRow:
    """Raw pyvips, the pipeline in-process (as many threads as render slots), the bare render
    endpoint and the served figure, in turns."""
    data, paths = inputs[case.file], case.paths()
    in_process = raw.pipeline(case.query)
    share = seconds / TURNS
    warm(base, paths)
    warm(bare_base, paths)
    raws, pipelines, bares, loads = [], [], [], []
    for _ in range(TURNS):
        raws.append(raw.throughput(case.raw, data, CORES, share))
        pipelines.append(raw.throughput(in_process, data, CORES, share))
        bares.append(load(bare_base, paths, CONNECTIONS, share))
        loads.append(load(base, paths, CONNECTIONS, share))
    return CaseRow(
        case.name,
        mean(raws),
        mean(pipelines),
        LoadResult.joined(loads),
        bare=LoadResult.joined(bares),
        raw_turns=tuple(raws),
    )


def _mixed(per_case: Iterable[list[str]]) -> list[str]:
    """Cases 1-6 in turn: one request of each case, then the next copy of each."""
    return [path for paths in zip(*per_case, strict=True) for path in paths]


async def _cold_burst(base: str, path: str) -> None:
    async with httpx.AsyncClient(timeout=120) as http:
        answers = await asyncio.gather(*(http.get(base + path) for _ in range(COALESCED)))
    assert all(answer.status_code == 200 for answer in answers)


def coalescing(base: str, admin_port: int, trials: int = 3) -> list[int]:
    """Renders per burst of identical cold requests (the result cache is off)."""
    counts = []
    for trial in range(trials):
        time.sleep(1.2)
        before = servers.renders(admin_port)
        asyncio.run(_cold_burst(base, f"/large.jpg?width={640 + trial}"))
        time.sleep(1.2)
        counts.append(servers.renders(admin_port) - before)
    return counts


async def _distinct_burst(base: str) -> None:
    async with httpx.AsyncClient(timeout=300) as http:
        paths = [f"/large.jpg?width={3000 + n}" for n in range(16)]
        await asyncio.gather(*(http.get(base + path) for path in paths))


def peak_rss_under_16_renders(root: Path) -> float:
    """A fresh server's peak RSS after 16 concurrent distinct renders of the 12 MP JPEG."""
    port = free_port()
    with servers.imgproxy(root, port, free_port(), result_cache_mb=0) as server:
        asyncio.run(_distinct_burst(server.base))
        return server.peak_rss_mb()


def imgproxy_section(
    root: Path, inputs: dict[str, bytes], results: Results, seconds: float, quick: bool
) -> None:
    port, admin = free_port(), free_port()
    cases = CASES[:1] if quick else CASES
    with (
        servers.imgproxy(root, port, admin, result_cache_mb=0) as server,
        servers.bare_render(root, free_port()) as bare,
    ):
        # Case 1's limit is measured just before case 1.
        for shrink in (8, 4):
            decode = functools.partial(raw.jpeg_decode_only, shrink=shrink)
            results.decode_limits[shrink] = raw.throughput(
                decode, inputs["large.jpg"], CORES, seconds
            )
        results.libvips_decode = raw.throughput(
            raw.libvips_decode_only, inputs["large.jpg"], CORES, seconds
        )
        results.cases = [case_row(case, inputs, server.base, bare.base, seconds) for case in cases]
        if quick:
            return
        results.coalesced_renders = coalescing(server.base, admin)
        results.quality_auto, results.quality_fixed = quality_auto_and_fixed(server.base, seconds)


def quality_auto_and_fixed(base: str, seconds: float) -> tuple[LoadResult, LoadResult]:
    """quality=auto and the same render at a fixed quality, each for `seconds`, in turns."""
    renders = {path: functools.partial(load, base, [path], CONNECTIONS) for path in QUALITY_PATHS}
    warm(base, QUALITY_PATHS)
    found = in_turns(renders, seconds)
    return found[QUALITY_AUTO], found[QUALITY_FIXED]


def in_turns(measures: dict[str, Measure], seconds: float) -> dict[str, LoadResult]:
    """Each measure for `seconds` in all, in TURNS turns, so that the machine's drift falls on
    all alike; each one's turns joined."""
    loads: dict[str, list[LoadResult]] = {name: [] for name in measures}
    for _ in range(TURNS):
        for name, measure in measures.items():
            loads[name].append(measure(seconds / TURNS))
    return {name: LoadResult.joined(runs) for name, runs in loads.items()}


def each_configuration(stack: contextlib.ExitStack, root: Path) -> dict[str, Server]:
    """An imgproxy server for each of CONFIGURATIONS, stopped with `stack`."""
    return {
        name: stack.enter_context(
            servers.imgproxy(root, free_port(), free_port(), result_cache_mb=0, extra=env)
        )
        for name, env in CONFIGURATIONS.items()
    }


def mix_section(root: Path, results: Results, seconds: float) -> None:
    """The mix under each of imgproxy's configurations and each of thumbor's, every server
    running, in turns, so that the machine's drift over the section falls on all alike."""
    ours, theirs = _mixed(c.paths() for c in CASES), _mixed(c.thumbor_paths() for c in CASES)
    with contextlib.ExitStack() as stack:
        running = each_configuration(stack, root)
        rivals = {
            label: stack.enter_context(thumbor(root, free_port(), processes, threads))
            for (processes, threads), label in THUMBOR_CONFIGURATIONS.items()
        }
        for server in running.values():
            warm(server.base, ours)
        for server in rivals.values():
            warm(server.base, theirs)
        measures = {
            **{
                name: functools.partial(load, s.base, ours, CONNECTIONS)
                for name, s in running.items()
            },
            **{
                label: functools.partial(better_of_two, s.base, theirs)
                for label, s in rivals.items()
            },
        }
        mixes = in_turns(measures, seconds * 2)
        time.sleep(REST_S)
        for name, server in running.items():
            record_mix(results, name, mixes[name], server)
        label = max(rivals, key=lambda label: mixes[label].per_second)
        record_mix(results, "thumbor", mixes[label], rivals[label])
        results.thumbor_configurations[MIX] = label


def record_mix(results: Results, name: str, mix: LoadResult, server: Server) -> None:
    """A server's mix, its peak memory, and its memory REST_S after the last turn."""
    results.mix[name] = mix
    results.mix_rss_mb[name] = server.peak_rss_mb()
    results.mix_rest_rss_mb[name] = server.rss_mb()


def cache_hit_section(root: Path, results: Results, seconds: float) -> None:
    """Case 1's cache hits, with and without request lines, and bare uvicorn sending the same
    bytes, with and without the same headers: the four servers running together, in turns."""
    path, unlogged = CASES[0].path, {"IMGPROXY_LOG_REQUESTS": "false"}
    with contextlib.ExitStack() as stack:
        logged = stack.enter_context(servers.imgproxy(root, free_port(), free_port(), 256))
        quiet = stack.enter_context(servers.imgproxy(root, free_port(), free_port(), 256, unlogged))
        # The answer a hit sends, once a first request has rendered and kept it.
        warm(logged.base, [path])
        hit = httpx.get(logged.base + path)
        body_file, headers_file = root / "hit.jpg", root / "hit-headers.json"
        body_file.write_bytes(hit.content)
        headers_file.write_text(json.dumps(hit_headers(hit)))
        bare = stack.enter_context(servers.bare(body_file, free_port()))
        dressed = stack.enter_context(servers.bare(body_file, free_port(), headers_file))
        targets = {
            "hit": (logged.base, path),
            "unlogged": (quiet.base, path),
            "bare": (bare.base, "/"),
            "bare with headers": (dressed.base, "/"),
        }
        for base, target in targets.values():
            warm(base, [target])
        hits = in_turns(
            {
                name: functools.partial(load_fast, base, [target], CONNECTIONS)
                for name, (base, target) in targets.items()
            },
            seconds,
        )
    results.hit, results.hit_unlogged = hits["hit"], hits["unlogged"]
    results.bare, results.bare_headers = hits["bare"], hits["bare with headers"]
    results.hit_header_count = len(hit.headers)


def hit_headers(hit: httpx.Response) -> list[tuple[str, str]]:
    """A hot answer's headers but those the bare endpoint sends itself (uvicorn adds date and
    server to both)."""
    own = {"content-type", "content-length", "date", "server"}
    return [(name, value) for name, value in hit.headers.items() if name not in own]


# thumbor's two ways of using the cores, (processes, engine threads): one process per core, or
# one process with a thread pool.
THUMBOR_CONFIGURATIONS = {
    (CORES, 0): f"{CORES} processes",
    (1, CORES): f"1 process, {CORES} engine threads",
}


def better_of_two(base: str, paths: Sequence[str], seconds: float) -> LoadResult:
    """thumbor's processes share one listening socket, and all of a run's keep-alive
    connections sometimes land in one of them: its better run of two, on new connections, of
    paths already asked for once."""
    runs = (load(base, paths, CONNECTIONS, seconds) for _ in range(2))
    return max(runs, key=lambda run: run.per_second)


def thumbor_section(root: Path, results: Results, seconds: float) -> None:
    """thumbor in each of its configurations: every case and the mix keep the better one's
    figures, the one that gave them named."""
    for (processes, threads), label in THUMBOR_CONFIGURATIONS.items():
        with thumbor(root, free_port(), processes, threads) as server:
            thumbor_cases(server.base, results, label, seconds)


def thumbor_cases(base: str, results: Results, label: str, seconds: float) -> None:
    for index, case in enumerate(CASES):
        row = results.cases[index]
        warm(base, case.thumbor_paths())
        rate = better_of_two(base, case.thumbor_paths(), seconds)
        if row.thumbor is None or rate.per_second > row.thumbor.per_second:
            results.cases[index] = replace(row, thumbor=rate)
            results.thumbor_configurations[row.name] = label


def fidelity_section(root: Path, results: Results, inputs: dict[str, bytes]) -> None:
    """Bytes and SSIM of cases 1 and 2's outputs, imgproxy against thumbor, at equal SSIM."""
    outputs = (
        ("400 px JPEG", "width=400", "400x0", ""),
        ("1200 px WebP", "width=1200&format=webp", "1200x0", "format(webp)"),
    )
    original = inputs["large.jpg"]
    with contextlib.ExitStack() as stack:
        ours = each_configuration(stack, root)
        theirs = stack.enter_context(thumbor(root, free_port(), 1, 0))
        for name, query, size, fmt in outputs:

            def their_url(q: int | None, size: str = size, fmt: str = fmt) -> str:
                filters = [f for f in (fmt, f"quality({q})" if q else "") if f]
                prefix = f"filters:{':'.join(filters)}/" if filters else ""
                return f"{theirs.base}/unsafe/{size}/{prefix}large.jpg"

            their_curve = curve(their_url, original)
            for configuration, server in ours.items():

                def our_url(q: int | None, base: str = server.base, query: str = query) -> str:
                    return f"{base}/large.jpg?{query}" + (f"&quality={q}" if q else "")

                label = name if configuration == "imgproxy" else f"{name}, {configuration}"
                results.fidelity.append(Fidelity(label, curve(our_url, original), their_curve))


def detailed_originals(inputs: dict[str, bytes]) -> dict[str, bytes]:
    """What `detail` scores: the benchmark's photograph (an upscaled one, without fine
    detail), a texture at its own resolution, and a zone plate, all 4243 px wide."""
    return {
        "the 12 MP photograph": inputs["large.jpg"],
        "scikit-image's gravel, tiled": textured_jpeg(),
        "zone plate": zone_plate_jpeg(),
    }


def measured(root: Path, seconds: float, quick: bool) -> Results:
    """Every figure of the report, with the originals, caches and servers' files in `root`."""
    inputs = write_inputs(root, COPIES)
    results = Results(CORES, seconds, CONNECTIONS)
    imgproxy_section(root, inputs, results, seconds, quick)
    if not quick:
        cache_hit_section(root, results, seconds)
        results.rss_16_mb = peak_rss_under_16_renders(root)
        thumbor_section(root, results, seconds)
        mix_section(root, results, seconds)
        fidelity_section(root, results, inputs)
        results.detail = detail(detailed_originals(inputs))
        results.costs = costs.measure(inputs, seconds)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="case 1 for 1 s, no thumbor")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the report")
    args = parser.parse_args(argv)
    seconds = 1.0 if args.quick else float(os.environ.get("BENCH_SECONDS", "8"))
    if not args.quick:
        check_tools()
    with tempfile.TemporaryDirectory(prefix="imgproxy-bench-") as folder:
        results = measured(Path(folder), seconds, args.quick)
    report = markdown(results)
    print(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.md").write_text(report)
    plot(results, args.out / "latest.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
