"""Shared fixtures: rendering a query through the real pipeline; a resolver that stays local."""

from __future__ import annotations

import socket
from collections.abc import Callable
from urllib.parse import parse_qsl

import pytest

from imgproxy.origins import guard
from imgproxy.params.decode import DecodeOptions, decode
from imgproxy.pipeline.context import Rendered, RenderOptions
from imgproxy.pipeline.run import execute

Render = Callable[..., Rendered]
Names = dict[str, tuple[str, ...]]


@pytest.fixture
def render() -> Render:
    """render(data, "width=100&crop=fit", accepts=..., ...) -> Rendered, as the server would."""

    def run(data: bytes, query: str = "", **options: object) -> Rendered:
        plan = decode(parse_qsl(query, keep_blank_values=True), DecodeOptions())
        return execute(plan, data, RenderOptions(**options))  # type: ignore[arg-type]

    return run


@pytest.fixture(autouse=True)
def dns(monkeypatch: pytest.MonkeyPatch) -> Names:
    """The guard's resolver, answered here: localhost and IP literals resolve, so does any name a
    test adds (`dns["img.test"] = ("127.0.0.1",)`), and no other name does; no query leaves."""
    names: Names = {"localhost": ("127.0.0.1",)}

    async def addresses(host: str, port: int) -> tuple[str, ...]:
        return names.get(host.lower().rstrip(".")) or numeric_addresses(host)

    monkeypatch.setattr(guard, "_addresses", addresses)
    return names


def numeric_addresses(host: str) -> tuple[str, ...]:
    """`host` read as an address literal by the system's own parser ('127.1' included); no DNS."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except (OSError, UnicodeError, ValueError):
        return ()
    return tuple(dict.fromkeys(str(info[4][0]) for info in infos))
