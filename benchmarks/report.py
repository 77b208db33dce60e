"""The benchmark's findings as a Markdown report with ratios and targets, and a plot."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.costs import CostRow, table
from benchmarks.fidelity import Detail, Point, size_at
from benchmarks.load import LoadResult

# The mix's row name among thumbor's configurations.
MIX = "mix of cases 1-6"
# Seconds a server rests after the mix before its resident memory is read.
REST_S = 2.5
# Cases 1-6: served throughput at least this share of raw pyvips'.
SERVED_PER_RAW = 0.95
# Width of one bar in the plot: four series side by side per case, each in its colour in both.
BAR = 0.2
COLOURS = {
    "raw pyvips": "tab:gray",
    "bare endpoint": "tab:orange",
    "imgproxy": "tab:blue",
    "thumbor": "tab:red",
}


@dataclass(frozen=True)
class CaseRow:
    name: str
    raw: float
    pipeline: float
    served: LoadResult
    # The same renders behind the least Python server (benchmarks/bare.py --render).
    bare: LoadResult | None = None
    thumbor: LoadResult | None = None
    # Raw pyvips' rate in each turn, beside the served load's turns.
    raw_turns: tuple[float, ...] = ()


@dataclass(frozen=True)
class Fidelity:
    name: str
    ours: list[Point]
    theirs: list[Point]


@dataclass
class Results:
    cores: int
    seconds: float
    connections: int
    cases: list[CaseRow] = field(default_factory=list)
    # The configuration of thumbor whose figure each case (by name) and the mix (MIX) keep.
    thumbor_configurations: dict[str, str] = field(default_factory=dict)
    mix: dict[str, LoadResult] = field(default_factory=dict)
    mix_rss_mb: dict[str, float] = field(default_factory=dict)
    # Resident memory a few seconds after the mix, once the server has nothing to do.
    mix_rest_rss_mb: dict[str, float] = field(default_factory=dict)
    hit: LoadResult | None = None
    # Case 7 with `[log] requests = false`: what one request line costs a hot answer.
    hit_unlogged: LoadResult | None = None
    bare: LoadResult | None = None
    # The bare endpoint sending the hot answer's headers too, and how many the answer has.
    bare_headers: LoadResult | None = None
    hit_header_count: int = 0
    coalesced_renders: list[int] = field(default_factory=list)
    quality_auto: LoadResult | None = None
    quality_fixed: LoadResult | None = None
    rss_16_mb: float | None = None
    # Case 1's JPEG decode alone by DCT shrink factor, in as many threads as render slots:
    # 8 is the fastest decode to 400 px, 4 the one our default pipeline does.
    decode_limits: dict[int, float] = field(default_factory=dict)
    # The shrink-8 decode by libvips' loader: the machine's speed beside earlier runs.
    libvips_decode: float | None = None
    fidelity: list[Fidelity] = field(default_factory=list)
    # SSIM before encoding of detailed originals under each shrink_on_load.
    detail: list[Detail] = field(default_factory=list)
    # crop=face, quality=auto and recognition beside the same requests without them.
    costs: list[CostRow] = field(default_factory=list)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else ""


def _head(*columns: str) -> list[str]:
    """A Markdown table's header and separator rows."""
    return ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]


def case_table(results: Results) -> list[str]:
    lines = _head(
        "case",
        "raw pyvips ops/s",
        "pipeline in-process ops/s",
        "served req/s",
        "served p99 ms",
        "thumbor req/s",
        "thumbor p99 ms",
        "served / raw",
        "served / thumbor",
        "bare endpoint req/s",
        "bare / raw",
        "served / bare",
    )
    for row in results.cases:
        theirs, bare = row.thumbor, row.bare
        lines.append(
            f"| {row.name} | {row.raw:.1f} | {row.pipeline:.1f} | {row.served.per_second:.1f} "
            f"| {row.served.p99_ms:.0f} | {f'{theirs.per_second:.1f}' if theirs else ''} "
            f"| {f'{theirs.p99_ms:.0f}' if theirs else ''} "
            f"| {served_per_raw(row)[0] if row.raw else ''} "
            f"| {_ratio(row.served.per_second, theirs.per_second) if theirs else ''} "
            f"| {f'{bare.per_second:.1f}' if bare else ''} "
            f"| {_ratio(bare.per_second, row.raw) if bare else ''} "
            f"| {_ratio(row.served.per_second, bare.per_second) if bare else ''} |"
        )
    return lines


def judged(value: float, bound: float, at_least: bool) -> tuple[str, bool]:
    """`value` against a target of at least (or at most) `bound`: whether it is met, and the
    value with two decimals, or as many more as it takes not to round onto the other side
    (0.9496 against 0.95 is shown as 0.9496, not 0.95)."""
    meets = (lambda v: v >= bound) if at_least else (lambda v: v <= bound)
    met = meets(value)
    for digits in range(2, 7):
        shown = f"{value:.{digits}f}"
        if meets(float(shown)) == met:
            break
    return shown, met


def served_per_raw(row: CaseRow) -> tuple[str, bool]:
    """A case's served throughput against raw pyvips', judged against its target."""
    return judged(row.served.per_second / row.raw if row.raw else 0.0, SERVED_PER_RAW, True)


def _served_per_raw_by_turn(row: CaseRow) -> list[str]:
    """Served against raw in each turn, the two taken a few seconds apart: how far the
    machine's drift moves the ratio."""
    turns = row.served.turns
    if not row.raw_turns or len(turns) != len(row.raw_turns) or not all(row.raw_turns):
        return []
    pairs = zip(turns, row.raw_turns, strict=True)
    return ["by turn " + ", ".join(f"{served.per_second / raw:.2f}" for served, raw in pairs)]


def targets(results: Results) -> list[tuple[str, str, bool | None]]:
    """(target, what was measured, met) for every target the figures allow to judge."""
    found: list[tuple[str, str, bool | None]] = []
    for row in results.cases:
        measured, met = served_per_raw(row)
        notes = (
            [f"bare endpoint: {row.bare.per_second / row.raw:.2f}"] if row.bare and row.raw else []
        )
        notes += _served_per_raw_by_turn(row)
        if notes:
            measured += f" ({'; '.join(notes)})"
        found.append((f"{row.name}: served >= {SERVED_PER_RAW:g} x raw", measured, met))
    for shrink, limit in results.decode_limits.items():
        if results.cases:
            target = f"1. served >= 0.9 x the JPEG decode limit (shrink {shrink})"
            found.append((target, *judged(results.cases[0].served.per_second / limit, 0.9, True)))
    ours, theirs = results.mix.get("imgproxy"), results.mix.get("thumbor")
    if ours and theirs:
        ratio = ours.per_second / theirs.per_second
        found.append(("mix: >= 1.5 x thumbor's throughput", *judged(ratio, 1.5, True)))
        rss = results.mix_rss_mb["imgproxy"] / results.mix_rss_mb["thumbor"]
        found.append(("mix: peak RSS <= 0.5 x thumbor's", *judged(rss, 0.5, False)))
    if results.hit and results.bare:
        measured, met = judged(results.hit.per_second / results.bare.per_second, 0.5, True)
        if results.bare_headers:
            same = results.hit.per_second / results.bare_headers.per_second
            measured += f" ({same:.2f} x bare uvicorn sending the same headers)"
        found.append(("7. cache hit >= 0.5 x bare uvicorn", measured, met))
    if results.coalesced_renders:
        counts = ", ".join(str(n) for n in results.coalesced_renders)
        exact = all(n == 1 for n in results.coalesced_renders)
        found.append(("8. 16 identical cold requests: 1 render", counts, exact))
    if results.quality_auto and results.quality_fixed:
        ratio = results.quality_fixed.per_second / results.quality_auto.per_second
        found.append(("9. quality=auto <= 3 x fixed quality's time", *judged(ratio, 3, False)))
    if results.rss_16_mb is not None:
        mb = results.rss_16_mb
        found.append(("peak RSS <= 400 MB, 16 concurrent 12 MP renders", f"{mb:.0f}", mb <= 400))
    return found


def fidelity_table(results: Results) -> list[str]:
    lines = _head(
        "output",
        "thumbor default: bytes, SSIM",
        "imgproxy bytes at that SSIM",
        "imgproxy default: bytes, SSIM",
        "thumbor bytes at that SSIM",
    )
    for row in results.fidelity:
        ours, theirs = row.ours[0], row.theirs[0]
        ours_at, theirs_at = size_at(row.ours, theirs.ssim), size_at(row.theirs, ours.ssim)
        lines.append(
            f"| {row.name} | {theirs.size}, {theirs.ssim:.4f} "
            f"| {f'{ours_at:.0f}' if ours_at else 'outside the curve'} "
            f"| {ours.size}, {ours.ssim:.4f} "
            f"| {f'{theirs_at:.0f}' if theirs_at else 'outside the curve'} |"
        )
    return lines


def detail_table(rows: list[Detail]) -> list[str]:
    """SSIM before encoding, by original and shrink_on_load, at each width."""
    lines = [
        "SSIM before encoding (PNG answers) against the exact resize:",
        "",
        *_head("original", "shrink_on_load", *(f"{width} px" for width in rows[0].widths)),
    ]
    for row in rows:
        ssims = " | ".join(f"{ssim:.4f}" for ssim in row.ssims)
        lines.append(f"| {row.original} | {row.shrink_on_load} | {ssims} |")
    return lines


def _row_label(row: str) -> str:
    """A case's number ("1. 12 MP JPEG ..." gives "case 1"), or the mix."""
    return "the mix" if row == MIX else "case " + row.split(".", 1)[0]


def thumbor_note(configurations: dict[str, str]) -> str:
    """Which of thumbor's configurations gave each of its figures."""
    by_label: dict[str, list[str]] = {}
    for row, label in configurations.items():
        by_label.setdefault(label, []).append(_row_label(row))
    gave = "; ".join(f"{label}: {', '.join(rows)}" for label, rows in by_label.items())
    return (
        "thumbor ran in each of its configurations, and each of its figures is the better one's, "
        "itself the better of two runs on new connections, the mix's in each of its turns "
        f"beside imgproxy's ({gave})."
    )


def markdown(results: Results) -> str:
    lines = [
        f"# Benchmark ({results.cores} cores, {results.seconds:g} s per case, "
        f"{results.connections} connections)",
        "",
        *case_table(results),
    ]
    if results.thumbor_configurations:
        lines += ["", thumbor_note(results.thumbor_configurations)]
    lines += ["", *_head("target", "measured", "met")]
    for name, measured, met in targets(results):
        lines.append(f"| {name} | {measured} | {'yes' if met else 'NO'} |")
    lines += _extras(results)
    if results.fidelity:
        lines += ["", *fidelity_table(results)]
    if results.detail:
        lines += ["", *detail_table(results.detail)]
    if results.costs:
        lines += ["", "Per request, one thread, in-process:", "", *table(results.costs)]
    return "\n".join(lines) + "\n"


def _by_turn(mix: LoadResult, thumbor: LoadResult | None) -> str:
    """A mix's rate in each of its turns and, beside thumbor's, its ratio in each: whether
    the machine's drift fell on both alike."""
    if not mix.turns:
        return ""
    found = "; by turn " + ", ".join(f"{turn.per_second:.1f}" for turn in mix.turns) + " req/s"
    if thumbor and len(thumbor.turns) == len(mix.turns) and all(t.requests for t in thumbor.turns):
        pairs = zip(mix.turns, thumbor.turns, strict=True)
        ratios = ", ".join(f"{ours.per_second / theirs.per_second:.2f}" for ours, theirs in pairs)
        found += f", {ratios} x thumbor"
    return found


def _extras(results: Results) -> list[str]:
    lines = [""]
    thumbor = results.mix.get("thumbor")
    for name, mix in results.mix.items():
        rival = thumbor if name != "thumbor" else None
        against = f", {mix.per_second / rival.per_second:.2f} x thumbor" if rival else ""
        lines.append(
            f"- {MIX}, {name}: {mix.per_second:.1f} req/s{against}, "
            f"p99 {mix.p99_ms:.0f} ms, peak RSS {results.mix_rss_mb[name]:.0f} MB, "
            f"{results.mix_rest_rss_mb[name]:.0f} MB {REST_S:g} s after" + _by_turn(mix, rival)
        )
    for shrink, limit in results.decode_limits.items():
        lines.append(
            f"- case 1's JPEG decode alone (shrink {shrink}, {results.cores} threads): "
            f"{limit:.1f} ops/s"
        )
    if results.libvips_decode:
        lines.append(
            f"- the same by libvips' loader (shrink 8, {results.cores} threads): "
            f"{results.libvips_decode:.1f} ops/s"
        )
    if results.hit and results.bare:
        lines.append(
            f"- 7. cache hit {results.hit.per_second:.0f} req/s (p99 {results.hit.p99_ms:.1f} ms), "
            f"bare uvicorn {results.bare.per_second:.0f} req/s"
        )
    if results.bare_headers:
        lines.append(
            f"- 7. bare uvicorn sending the hot answer's {results.hit_header_count} headers: "
            f"{results.bare_headers.per_second:.0f} req/s"
        )
    if results.hit_unlogged and results.bare:
        ratio = results.hit_unlogged.per_second / results.bare.per_second
        lines.append(
            f"- 7. cache hit without request log lines ([log] requests = false): "
            f"{results.hit_unlogged.per_second:.0f} req/s, {ratio:.2f} x bare uvicorn"
        )
    if results.quality_auto and results.quality_fixed:
        lines.append(
            f"- 9. quality=auto {results.quality_auto.per_second:.1f} req/s, "
            f"quality=80 {results.quality_fixed.per_second:.1f} req/s"
        )
    return lines


def plot(results: Results, path: Path) -> None:
    """Throughput and p99 per case, imgproxy beside thumbor and the raw limit."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    names = [row.name.split(".")[0] for row in results.cases]
    xs = range(len(names))
    figure, (rate, tail) = pyplot.subplots(1, 2, figsize=(11, 4))
    series = {
        "raw pyvips": [row.raw for row in results.cases],
        "bare endpoint": [row.bare.per_second if row.bare else 0 for row in results.cases],
        "imgproxy": [row.served.per_second for row in results.cases],
        "thumbor": [row.thumbor.per_second if row.thumbor else 0 for row in results.cases],
    }
    for offset, (label, values) in enumerate(series.items()):
        rate.bar([x + offset * BAR for x in xs], values, BAR, label=label, color=COLOURS[label])
    rate.set(title="throughput (higher is better)", xlabel="case", ylabel="req/s")
    tails = {
        "imgproxy": [row.served.p99_ms for row in results.cases],
        "thumbor": [row.thumbor.p99_ms if row.thumbor else 0 for row in results.cases],
    }
    for offset, (label, values) in enumerate(tails.items(), start=2):
        tail.bar([x + offset * BAR for x in xs], values, BAR, label=label, color=COLOURS[label])
    tail.set(title="p99 latency (lower is better)", xlabel="case", ylabel="ms")
    for axis in (rate, tail):
        axis.set_xticks([x + 1.5 * BAR for x in xs], names)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
