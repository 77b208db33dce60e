"""`imgproxy warm`: ask a running server for a list of image URLs so their results are cached."""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

import httpx

# What browsers send for <img>: format=auto URLs are warmed for the variant most visitors get.
BROWSER_ACCEPT = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8"
BAR_WIDTH = 30
# A terminal is redrawn often enough to look alive; a log gets a line now and then.
TTY_EVERY_S = 0.1
LOG_EVERY_S = 5.0


@dataclass(frozen=True)
class Outcome:
    """One URL's answer: its status (None when none came), X-Cache, and its error code if failed."""

    target: str
    status: int | None
    cache: str = ""
    error: str = ""

    @property
    def failed(self) -> bool:
        return bool(self.error)


def server_base(host: str, port: int) -> str:
    """The address of a server listening on `host`; one listening everywhere is reached on
    loopback."""
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def read_lines(name: str) -> list[str]:
    """The lines of the file `name`, or of standard input for "-"."""
    if name == "-":
        return sys.stdin.read().splitlines()
    return Path(name).read_text(encoding="utf-8").splitlines()


def read_targets(lines: Iterable[str]) -> list[str]:
    """The path?query of every line; blank lines and # comments are skipped."""
    texts = (line.strip() for line in lines)
    return [target_of(text) for text in texts if text and not text.startswith("#")]


def target_of(text: str) -> str:
    """An absolute URL keeps only its path and query: the server warmed is the one at the base."""
    parts = urlsplit(text)
    if parts.scheme in ("http", "https"):
        text = parts.path + (f"?{parts.query}" if parts.query else "")
    return "/" + text.lstrip("/")


class Progress:
    """A bar redrawn in place on a terminal; elsewhere a plain line every few seconds."""

    def __init__(
        self, total: int, stream: TextIO, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.total, self.stream, self.clock = total, stream, clock
        self.tty = stream.isatty()
        self.done = self.failed = 0
        self.started = self.shown = clock()

    def advance(self, outcome: Outcome) -> None:
        self.done += 1
        self.failed += outcome.failed
        now = self.clock()
        every = TTY_EVERY_S if self.tty else LOG_EVERY_S
        if self.done == self.total or now - self.shown >= every:
            self.shown = now
            self.show(now)

    def show(self, now: float) -> None:
        if self.tty:
            filled = BAR_WIDTH * self.done // max(self.total, 1)
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            self.stream.write(f"\r[{bar}] {self.status(now)}\x1b[K")
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(f"warm: {self.status(now)}\n")
        self.stream.flush()

    def status(self, now: float) -> str:
        rate = self.done / max(now - self.started, 1e-9)
        left = ""
        if rate and self.done < self.total:
            left = f", {(self.total - self.done) / rate:.0f} s left"
        percent = 100 * self.done // max(self.total, 1)
        return f"{self.done}/{self.total} ({percent}%), {self.failed} failed, {rate:.1f}/s{left}"


async def fetch(client: httpx.AsyncClient, target: str) -> Outcome:
    try:
        response = await client.get(target)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return Outcome(target, None, error=type(exc).__name__)
    if response.is_success:
        return Outcome(target, response.status_code, response.headers.get("x-cache", ""))
    return Outcome(target, response.status_code, error=error_code(response))


def error_code(response: httpx.Response) -> str:
    """The code of the server's JSON error, or the status when the answer is not one."""
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return f"http_{response.status_code}"


async def warm(
    base: str,
    targets: Sequence[str],
    *,
    concurrency: int,
    accept: str,
    timeout_s: float,
    progress: Progress,
) -> list[Outcome]:
    """Every target asked for once, `concurrency` at a time; outcomes in the targets' order."""
    outcomes: dict[int, Outcome] = {}
    pending = iter(enumerate(targets))
    headers = {"Accept": accept}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=timeout_s) as client:

        async def worker() -> None:
            # One shared iterator: each target is taken by exactly one worker.
            for index, target in pending:
                outcome = await fetch(client, target)
                outcomes[index] = outcome
                progress.advance(outcome)

        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(targets)))))
    return [outcomes[index] for index in range(len(targets))]


def summary(outcomes: Sequence[Outcome], elapsed_s: float) -> str:
    """Counts by status and by X-Cache, every failure with its code, the time taken and the rate."""
    failures = [outcome for outcome in outcomes if outcome.failed]
    rate = len(outcomes) / elapsed_s if elapsed_s > 0 else 0.0
    statuses = Counter("no answer" if o.status is None else str(o.status) for o in outcomes)
    caches = Counter(o.cache for o in outcomes if not o.failed and o.cache)
    lines = [
        f"warmed {len(outcomes) - len(failures)} of {len(outcomes)} URLs "
        f"in {elapsed_s:.1f} s ({rate:.1f}/s)",
        "status: " + _counts(statuses),
        "cache: " + _counts(caches),
    ]
    if failures:
        lines.append(f"failed ({len(failures)}):")
        lines += [f"  {o.status or '-'} {o.error} {o.target}" for o in failures]
    return "\n".join(lines)


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{key} {count}" for key, count in sorted(counter.items())) or "none"


def run(
    lines: Iterable[str],
    base: str,
    *,
    concurrency: int,
    accept: str,
    timeout_s: float,
    out: TextIO,
    err: TextIO,
) -> int:
    """Warm every URL of `lines`, print the summary; 0 when all succeeded, else 1."""
    targets = read_targets(lines)
    progress = Progress(len(targets), err)
    started = time.monotonic()
    outcomes = asyncio.run(
        warm(
            base,
            targets,
            concurrency=concurrency,
            accept=accept,
            timeout_s=timeout_s,
            progress=progress,
        )
    )
    print(summary(outcomes, time.monotonic() - started), file=out)
    return 1 if any(outcome.failed for outcome in outcomes) else 0
