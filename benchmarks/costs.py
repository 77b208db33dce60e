"""What seeing the image adds to a request: crop=face, quality=auto and recognition, each beside
the same request without it, through imgproxy's pipeline in one thread of this process.

`python -m benchmarks.costs` prints the table; `make bench` adds it to its report.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass

from benchmarks import raw
from benchmarks.inputs import face_jpeg, large_jpeg


@dataclass(frozen=True)
class Cost:
    name: str
    file: str
    query: str
    # The same request without the feature.
    plain: str


@dataclass(frozen=True)
class CostRow:
    cost: Cost
    first_ms: float
    ms: float
    plain_ms: float


COSTS = (
    Cost(
        "crop=face 300x300",
        "face.jpg",
        "width=300&height=300&crop=face&quality=80",
        "width=300&height=300&crop=fit&quality=80",
    ),
    Cost("quality=auto at 800 px", "large.jpg", "width=800&quality=auto", "width=800&quality=80"),
    Cost("recognition=nsfw", "face.jpg", "recognition=nsfw", "width=224&quality=80"),
    Cost("recognition=labels", "face.jpg", "recognition=labels", "width=224&quality=80"),
)


def milliseconds(query: str, data: bytes, seconds: float) -> float:
    """Milliseconds a render in one thread, after a first one."""
    return 1000 / raw.throughput(raw.pipeline(query), data, 1, seconds)


def first_milliseconds(query: str, data: bytes) -> float:
    """The first render of this process: models and detectors load on their first use."""
    started = time.perf_counter()
    raw.pipeline(query)(data)
    return (time.perf_counter() - started) * 1000


def measure(inputs: dict[str, bytes], seconds: float) -> list[CostRow]:
    plain_ms: dict[tuple[str, str], float] = {}
    rows = []
    for cost in COSTS:
        data = inputs[cost.file]
        first = first_milliseconds(cost.query, data)
        ms = milliseconds(cost.query, data, seconds)
        plain = (cost.file, cost.plain)
        if plain not in plain_ms:
            plain_ms[plain] = milliseconds(cost.plain, data, seconds)
        rows.append(CostRow(cost, first, ms, plain_ms[plain]))
    return rows


def table(rows: list[CostRow]) -> list[str]:
    lines = [
        "| request | ms a request | the same without it | its ms | added ms "
        "| first in a process, ms |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.cost.name} | {row.ms:.1f} | `{row.cost.plain}` | {row.plain_ms:.1f} "
            f"| {row.ms - row.plain_ms:+.1f} | {row.first_ms:.0f} |"
        )
    return lines


def main() -> int:
    seconds = float(os.environ.get("BENCH_SECONDS", "8"))
    inputs = {"face.jpg": face_jpeg(), "large.jpg": large_jpeg()}
    print("\n".join(table(measure(inputs, seconds))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
