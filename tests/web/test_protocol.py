"""Hot answers written by the HTTP protocol itself: what the app would send, in order with the
other answers on a connection, which is kept or closed as HTTP/1.1 wants."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import pyvips
import uvicorn
from uvicorn.server import ServerState

from imgproxy.app import create_app
from imgproxy.config_loader import build_settings
from imgproxy.web.hot import HotAnswers
from imgproxy.web.protocol import HTTP_OPTIONS, HotProtocol
from imgproxy.web.stats import Stats
from tests.support.images import jpeg, noise, png, quadrants
from tests.support.server import local_settings, running_server

FILES = {"quad.png": png(quadrants(64, 48)), "noise.jpg": jpeg(noise(1600, 1200), 100)}
# An answer of several megabytes: the socket's buffer takes part of it, the rest waits.
LARGE = "/noise.jpg?quality=100"
DATE = (b"date", b"Sat, 05 Dec 2026 12:00:00 GMT")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def hot(self) -> bool:
        return self.headers["server-timing"].startswith("hot")

    @property
    def width(self) -> int:
        return pyvips.Image.new_from_buffer(self.body, "").width


@pytest.fixture(scope="module")
def address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    settings = local_settings(tmp_path_factory.mktemp("protocol"), FILES)
    with running_server(settings) as base:
        parts = urlsplit(base)
        yield parts.hostname or "", parts.port or 80


def request(method: str, target: str, version: str = "1.1", *headers: str) -> bytes:
    lines = [f"{method} {target} HTTP/{version}", "Host: test", *headers, "", ""]
    return "\r\n".join(lines).encode()


def exchanged(address: tuple[str, int], sent: bytes, methods: list[str]) -> list[Answer]:
    """Sends `sent` in one write; reads one answer for each of `methods`, in order."""
    with socket.create_connection(address, timeout=10) as conn:
        conn.sendall(sent)
        reader = conn.makefile("rb")
        return [read_answer(reader, method) for method in methods]


def read_answer(reader: Any, method: str) -> Answer:
    status = int(reader.readline().split()[1])
    headers = {}
    while (line := reader.readline()) != b"\r\n":
        name, value = line.decode("latin-1").rstrip("\r\n").split(": ", 1)
        headers[name.lower()] = value
    length = 0 if method == "HEAD" or status == 304 else int(headers["content-length"])
    return Answer(status, headers, reader.read(length))


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The request ids of the answers the protocol writes itself from now on."""
    ids: list[str] = []
    write = HotProtocol._write

    def noted(self: HotProtocol, cycle: Any, found: Any, request_id: str) -> Any:
        ids.append(request_id)
        return write(self, cycle, found, request_id)

    monkeypatch.setattr(HotProtocol, "_write", noted)
    return ids


def by_protocol(answers: list[Answer], written: list[str]) -> list[bool]:
    return [answer.headers["x-request-id"] in written for answer in answers]


def test_a_hot_answer_has_the_app_s_headers_and_uvicorn_s(address, written):
    first, second = exchanged(address, request("GET", "/quad.png?width=40") * 2, ["GET"] * 2)
    assert not first.hot and second.hot and second.body == first.body
    assert by_protocol([first, second], written) == [False, True]
    assert second.headers["x-cache"] == "HIT"
    assert second.headers["content-length"] == str(len(second.body))
    assert "date" in second.headers
    for name in ("etag", "content-type", "cache-control", "server"):
        assert second.headers[name] == first.headers[name]
    assert second.headers["x-request-id"] != first.headers["x-request-id"]


def test_pipelined_requests_are_answered_in_order(address, written):
    exchanged(address, request("GET", "/quad.png?width=39"), ["GET"])
    methods = ["GET", "GET", "HEAD", "GET"]
    targets = [
        "/quad.png?width=39",
        "/quad.png?width=21",
        "/quad.png?width=39",
        "/quad.png?width=39",
    ]
    sent = b"".join(
        request(method, target) for method, target in zip(methods, targets, strict=True)
    )
    answers = exchanged(address, sent, methods)
    assert [answer.status for answer in answers] == [200] * 4
    assert [answer.hot for answer in answers] == [True, False, True, True]
    assert by_protocol(answers, written) == [True, False, True, True]
    assert [answers[0].width, answers[1].width, answers[3].width] == [39, 21, 39]
    assert answers[2].body == b"" and answers[2].headers["content-length"] == str(
        len(answers[0].body)
    )


def test_a_thousand_hot_answers_queued_behind_a_render_are_all_sent(address, written):
    exchanged(address, request("GET", "/quad.png?width=31"), ["GET"])
    hot = 1000
    sent = request("GET", "/quad.png?width=30") + request("GET", "/quad.png?width=31") * hot
    answers = exchanged(address, sent, ["GET"] * (hot + 1))
    assert [answer.width for answer in answers[:2]] == [30, 31]
    assert all(answer.status == 200 and answer.hot for answer in answers[1:])
    assert all(by_protocol(answers[1:], written))


@pytest.mark.parametrize(
    "version, headers", [("1.0", ()), ("1.1", ("Connection: close",))], ids=["http-1.0", "close"]
)
def test_a_hot_answer_closes_the_connection_the_client_does_not_keep(
    address, written, version, headers
):
    exchanged(address, request("GET", "/quad.png?width=38"), ["GET"])
    with socket.create_connection(address, timeout=10) as conn:
        conn.sendall(request("GET", "/quad.png?width=38", version, *headers))
        reader = conn.makefile("rb")
        answer = read_answer(reader, "GET")
        assert answer.hot and answer.width == 38 and by_protocol([answer], written) == [True]
        assert answer.headers["connection"] == "close"
        # Closed by the answer, well before uvicorn's idle connections are (5 s).
        conn.settimeout(2)
        assert reader.read() == b""


@pytest.mark.parametrize(
    "target, headers",
    [("/quad.png?width=34", ()), (LARGE, ("Connection: keep-alive",))],
    ids=["1.0", "keep-alive"],
)
def test_what_follows_a_hot_answer_that_closes_the_connection_is_not_answered(
    address, target, headers
):
    # HTTP/1.0 asking to keep the connection: uvicorn closes it all the same, while the parser
    # goes on to the requests that follow, answered hot or not. A large answer keeps the
    # closing connection open until the client has read it.
    exchanged(address, request("GET", target) + request("GET", "/quad.png?width=34"), ["GET"] * 2)
    hot = request("GET", "/quad.png?width=34")
    sent = request("GET", target, "1.0", *headers) + hot * 2
    sent += request("GET", "/quad.png?width=33")
    with socket.create_connection(address, timeout=10) as conn:
        conn.sendall(sent)
        reader = conn.makefile("rb")
        assert read_answer(reader, "GET").hot
        conn.settimeout(2)
        assert reader.read() == b""


def test_if_none_match_goes_to_the_app_for_its_304(address):
    (first,) = exchanged(address, request("GET", "/quad.png?width=37"), ["GET"])
    match = f"If-None-Match: {first.headers['etag']}"
    (again,) = exchanged(address, request("GET", "/quad.png?width=37", "1.1", match), ["GET"])
    assert again.status == 304 and again.body == b""


class Transport(asyncio.Transport):
    """What the protocol writes, kept."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 80), "peername": ("127.0.0.1", 5000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


@contextlib.asynccontextmanager
async def connected(tmp_path: Path) -> AsyncIterator[tuple[HotProtocol, Transport, ServerState]]:
    """A HotProtocol on a stand-in transport, in front of a started app."""
    app = create_app(build_settings(local_settings(tmp_path, FILES)))
    options = {"log_config": None, "log_level": "warning", "timeout_keep_alive": 60}
    config = uvicorn.Config(app, **options, **HTTP_OPTIONS)
    config.load()
    state = ServerState()
    state.default_headers = [DATE]
    async with app.router.lifespan_context(app):
        protocol = HotProtocol(config, state, {})
        transport = Transport()
        protocol.connection_made(transport)
        try:
            yield protocol, transport, state
        finally:
            protocol.connection_lost(None)


async def rendered(protocol: HotProtocol, transport: Transport, state: ServerState) -> bytes:
    """What a request for a 36 px wide image writes, its answer rendered by the app."""
    protocol.data_received(request("GET", "/quad.png?width=36"))
    await asyncio.gather(*state.tasks)
    written = bytes(transport.written)
    transport.written.clear()
    return written


def test_a_hot_answer_starts_no_app_task_and_a_render_after_it_stays_busy(tmp_path: Path):
    async def scenario() -> None:
        async with connected(tmp_path) as (protocol, transport, state):
            cold = await rendered(protocol, transport, state)
            # A hot answer and a render in one read: the first is written at once, without a
            # task; the connection is not idle while the second renders.
            sent = request("GET", "/quad.png?width=36") + request("GET", "/quad.png?width=35")
            protocol.data_received(sent)
            hot = bytes(transport.written)
            assert hot.startswith(b"HTTP/1.1 200 OK\r\ndate: Sat, 05 Dec 2026 12:00:00 GMT\r\n")
            assert b"server-timing: hot" in hot and hot.endswith(cold.split(b"\r\n\r\n", 1)[1])
            assert len(state.tasks) == 1 and protocol.timeout_keep_alive_task is None
            await asyncio.gather(*state.tasks)
            assert protocol.timeout_keep_alive_task is not None
            assert state.total_requests == 3
            # A client that does not read: its next answer waits for the connection to drain.
            transport.written.clear()
            protocol.pause_writing()
            protocol.data_received(request("GET", "/quad.png?width=36"))
            await asyncio.sleep(0.05)
            assert len(state.tasks) == 1 and not transport.written
            protocol.resume_writing()
            await asyncio.gather(*state.tasks)
            assert b"server-timing: hot" in transport.written
            # A hot answer that keeps no connection closes it: nothing after it is answered
            # or started, even where HTTP/1.0 asked to keep it and the parser reads on.
            transport.written.clear()
            hot = request("GET", "/quad.png?width=36")
            sent = request("GET", "/quad.png?width=36", "1.0", "Connection: keep-alive")
            protocol.data_received(sent + hot * 2 + request("GET", "/quad.png?width=32"))
            assert transport.closing and not state.tasks
            assert transport.written.count(b"HTTP/1.1 ") == 1

    asyncio.run(scenario())


def test_a_request_with_a_body_goes_to_the_app_and_a_malformed_body_gets_its_400_alone(
    tmp_path: Path,
):
    async def scenario() -> None:
        async with connected(tmp_path) as (protocol, transport, state):
            await rendered(protocol, transport, state)
            sent = request("GET", "/quad.png?width=36", "1.1", "Content-Length: 5") + b"hello"
            protocol.data_received(sent)
            assert len(state.tasks) == 1 and not transport.written
            await asyncio.gather(*state.tasks)
            assert transport.written.startswith(b"HTTP/1.1 200 OK\r\n")
            assert b"server-timing: hot" in transport.written
            transport.written.clear()
            chunked = request("GET", "/quad.png?width=36", "1.1", "Transfer-Encoding: chunked")
            protocol.data_received(chunked + b"zz\r\nhello\r\n0\r\n\r\n")
            assert transport.written.startswith(b"HTTP/1.1 400 Bad Request\r\n")
            assert transport.written.count(b"HTTP/1.1 ") == 1 and transport.closing
            await asyncio.gather(*state.tasks)

    asyncio.run(scenario())


def test_a_lookup_that_fails_is_left_to_the_app_which_answers_500(tmp_path, monkeypatch):
    async def scenario() -> None:
        async with connected(tmp_path) as (protocol, transport, state):
            await rendered(protocol, transport, state)
            monkeypatch.setattr(HotAnswers, "get", broken)
            assert (await rendered(protocol, transport, state)).startswith(b"HTTP/1.1 500 ")

    asyncio.run(scenario())


def test_an_answer_sent_before_its_count_failed_is_complete_and_the_failure_logged(
    tmp_path, monkeypatch, caplog
):
    async def scenario() -> None:
        async with connected(tmp_path) as (protocol, transport, state):
            await rendered(protocol, transport, state)
            monkeypatch.setattr(Stats, "count_all", broken)
            protocol.data_received(request("GET", "/quad.png?width=36"))
            assert not state.tasks and b"server-timing: hot" in transport.written
            assert state.total_requests == 2 and not transport.closing

    # uvicorn's loggers do not pass records on to the root logger.
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(caplog.handler)
    try:
        asyncio.run(scenario())
    finally:
        logger.removeHandler(caplog.handler)
    assert "a hot answer was sent, but not counted or logged" in caplog.text


def broken(*args: object) -> None:
    raise RuntimeError("broken")
