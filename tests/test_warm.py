"""`imgproxy warm`: URLs rendered into a real server's cache, with progress and a summary."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from imgproxy.cli import main
from imgproxy.warm import BROWSER_ACCEPT, Outcome, Progress, read_targets, server_base
from tests.support.images import astronaut, jpeg, png, quadrants
from tests.support.server import free_port, running_server


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("originals")
    (root / "photo.jpg").write_bytes(jpeg(astronaut(), quality=80))
    (root / "quad.png").write_bytes(png(quadrants(200, 100)))
    settings = {
        "origin": {"kind": "local", "root": str(root)},
        "cache": {"dir": str(tmp_path_factory.mktemp("cache"))},
    }
    with running_server(settings) as url:
        yield url


def urls_file(tmp_path: Path, *lines: str) -> str:
    path = tmp_path / "urls.txt"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_targets_skip_comments_and_blank_lines_and_keep_path_and_query():
    lines = [
        "# warmed every night",
        "",
        "   photo.jpg?width=400  ",
        "/quad.png",
        "https://img.example.com/photos/cat.jpg?width=300&format=auto",
        "  # an indented comment",
    ]
    assert read_targets(lines) == [
        "/photo.jpg?width=400",
        "/quad.png",
        "/photos/cat.jpg?width=300&format=auto",
    ]


def test_warm_renders_into_the_cache_and_counts_the_summary(base_url, tmp_path, capsys):
    ok = ["/photo.jpg?width=100", "/quad.png?width=50&format=webp", "/photo.jpg?w=64&format=auto"]
    listed = urls_file(
        tmp_path,
        "# three that render, two that fail",
        ok[0],
        ok[1].lstrip("/"),
        f"https://img.example.com{ok[2]}",
        "",
        "/missing.jpg?width=10",
        "/photo.jpg?width=abc",
    )
    assert main(["warm", listed, "--base", base_url, "--concurrency", "3"]) == 1

    out = capsys.readouterr()
    summary = out.out.splitlines()
    assert summary[0].startswith("warmed 3 of 5 URLs in ")
    assert summary[1:4] == ["status: 200 3, 400 1, 404 1", "cache: MISS 3", "failed (2):"]
    assert sorted(summary[4:]) == [
        "  400 invalid_parameter /photo.jpg?width=abc",
        "  404 not_found /missing.jpg?width=10",
    ]
    assert out.err.splitlines()[-1].startswith("warm: 5/5 (100%), 2 failed, ")
    with httpx.Client(base_url=base_url, headers={"Accept": BROWSER_ACCEPT}) as client:
        answers = [client.get(target) for target in ok]
    assert [answer.headers["x-cache"] for answer in answers] == ["HIT", "HIT", "HIT"]
    # format=auto was warmed for the variant a browser gets.
    assert answers[2].headers["content-type"] == "image/avif"


def test_a_second_warm_finds_every_result_cached(base_url, tmp_path, capsys):
    listed = urls_file(tmp_path, "/photo.jpg?width=90", "/quad.png?height=30")
    assert main(["warm", listed, "--base", base_url]) == 0
    assert "cache: MISS 2" in capsys.readouterr().out
    assert main(["warm", listed, "--base", base_url]) == 0
    summary = capsys.readouterr().out.splitlines()
    assert summary[1:] == ["status: 200 2", "cache: HIT 2"]


def test_a_server_that_does_not_answer_is_a_failure_with_its_code(tmp_path, capsys):
    listed = urls_file(tmp_path, "/photo.jpg?width=10")
    base = f"http://127.0.0.1:{free_port()}"
    assert main(["warm", listed, "--base", base]) == 1
    summary = capsys.readouterr().out.splitlines()
    assert summary[1] == "status: no answer 1"
    assert summary[-1] == "  - ConnectError /photo.jpg?width=10"


def test_an_unreadable_file_is_a_usage_error(tmp_path, capsys):
    assert main(["warm", str(tmp_path / "absent.txt")]) == 2
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "-1", "many", "1000"])
def test_concurrency_is_checked(tmp_path, capsys, value):
    with pytest.raises(SystemExit) as exit_:
        main(["warm", urls_file(tmp_path, "/a.jpg"), "--concurrency", value])
    assert exit_.value.code == 2
    assert "--concurrency" in capsys.readouterr().err


def test_progress_on_a_terminal_redraws_one_bar():
    terminal, clock = Terminal(), Clock()
    progress = Progress(4, terminal, clock)
    for failed in (False, True, False, False):
        clock.now += 1
        progress.advance(Outcome("/a.jpg", 500 if failed else 200, error="x" if failed else ""))
    drawn = terminal.getvalue()
    assert drawn.count("\r") == 4 and drawn.endswith("\n") and drawn.count("\n") == 1
    assert "[" + "#" * 15 + "." * 15 + "] 2/4 (50%), 1 failed, 1.0/s, 2 s left" in drawn
    assert drawn.splitlines()[-1].split("\r")[-1].startswith("[" + "#" * 30 + "] 4/4 (100%)")


def test_progress_elsewhere_prints_a_plain_line_every_few_seconds():
    log, clock = io.StringIO(), Clock()
    progress = Progress(10, log, clock)
    for _ in range(10):
        clock.now += 1
        progress.advance(Outcome("/a.jpg", 200))
    assert log.getvalue().splitlines() == [
        "warm: 5/10 (50%), 0 failed, 1.0/s, 5 s left",
        "warm: 10/10 (100%), 0 failed, 1.0/s",
    ]


@pytest.mark.parametrize(
    ("host", "base"),
    [
        ("127.0.0.1", "http://127.0.0.1:8080"),
        ("0.0.0.0", "http://127.0.0.1:8080"),
        ("::", "http://[::1]:8080"),
        ("img.internal", "http://img.internal:8080"),
    ],
)
def test_the_default_base_reaches_the_configured_server(host, base):
    assert server_base(host, 8080) == base
