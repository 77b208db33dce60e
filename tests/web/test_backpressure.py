"""Backpressure over real HTTP: a full server answers 503 with Retry-After, a render past its
deadline is a 504, and a client that leaves the queue gives its place to the next one."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.images import astronaut, jpeg
from tests.support.server import running_server

# About 4 s of one core: long enough to hold the only render slot while the test looks.
SLOW = "/big.jpg?width=4000&format=avif&quality=90"


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("originals")
    (root / "big.jpg").write_bytes(jpeg(astronaut().resize(6.0)))
    return root


@contextmanager
def server(tmp_path_factory, root, **limits: object) -> Iterator[str]:
    settings = {
        "origin": {"kind": "local", "root": str(root)},
        "cache": {"dir": str(tmp_path_factory.mktemp("cache"))},
        "server": {"render_slots": 1, **limits},
    }
    with running_server(settings) as url:
        yield url


@contextmanager
def holding_the_slot(url: str) -> Iterator[list[httpx.Response]]:
    """SLOW in a thread, given a moment to take the render slot; its answer once it is done."""
    answers: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: answers.append(httpx.get(url + SLOW, timeout=60)))
    thread.start()
    time.sleep(0.5)
    try:
        yield answers
    finally:
        thread.join(60)


def waiting_socket(url: str, path: str) -> socket.socket:
    """A client that sends its request and waits, as a browser would, until it is closed."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode())
    time.sleep(0.3)
    return sock


def test_a_full_server_answers_503_with_retry_after(tmp_path_factory, root):
    with server(tmp_path_factory, root, queue_size=0) as url, holding_the_slot(url) as slow:
        response = httpx.get(url + "/big.jpg?width=10", timeout=10)
        assert response.status_code == 503 and response.headers["retry-after"] == "1"
        assert response.headers["cache-control"] == "no-store"
        assert response.json()["error"]["code"] == "overloaded"
    assert slow[0].status_code == 200 and slow[0].headers["content-type"] == "image/avif"


def test_a_render_past_its_deadline_is_504(tmp_path_factory, root):
    with server(tmp_path_factory, root, request_timeout_s=0.5) as url:
        started = time.monotonic()
        response = httpx.get(url + SLOW, timeout=30)
        elapsed = time.monotonic() - started
    assert response.status_code == 504 and response.json()["error"]["code"] == "timeout"
    assert elapsed < 2


def test_a_client_that_leaves_the_queue_gives_its_place_to_the_next(tmp_path_factory, root):
    with server(tmp_path_factory, root, queue_size=1) as url, holding_the_slot(url):
        queued = waiting_socket(url, "/big.jpg?width=11")
        assert httpx.get(url + "/big.jpg?width=12", timeout=10).status_code == 503
        queued.close()
        time.sleep(0.3)
        assert httpx.get(url + "/big.jpg?width=13", timeout=60).status_code == 200
