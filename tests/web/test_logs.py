"""Request lines: one per answer, JSON or text, with the documented fields and never a secret."""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from imgproxy.app import create_app
from imgproxy.cache.changes import announce
from imgproxy.config_loader import build_settings
from imgproxy.errors import OriginFailed
from imgproxy.logs import REQUESTS_LOGGER, BatchedLines
from imgproxy.params import recent
from imgproxy.signing import signed_url
from imgproxy.web.logs import Sent, json_line, line_fields, line_template, redacted, text_line
from tests.support.images import png, quadrants
from tests.support.server import free_port, local_settings, serve_process

QUAD = png(quadrants(64, 48))
SIGNING_KEY = "log-signing-key-8d1f"
UPLOAD_TOKEN = "log-upload-token-5c2e"
FIELDS = ["time", "level", "request_id", "method", "path", "params", "status", "bytes"]


def app_settings(tmp_path: Path, **sections: dict[str, Any]) -> dict[str, Any]:
    return local_settings(tmp_path, {"quad.png": QUAD}, **sections)


def served(tmp_path: Path, **sections: dict[str, Any]) -> TestClient:
    app = create_app(build_settings(app_settings(tmp_path, **sections)))
    return TestClient(app, raise_server_exceptions=False)


def request_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == REQUESTS_LOGGER]


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger=REQUESTS_LOGGER)
    return caplog


def test_a_request_line_is_one_json_object_with_the_documented_fields(tmp_path, logged):
    with served(tmp_path) as client:
        response = client.get("/quad.png?width=20&height=10", headers={"X-Request-Id": "req-1"})
    [line] = request_lines(logged)
    fields = json.loads(line)
    assert list(fields)[: len(FIELDS)] == FIELDS
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", fields["time"])
    assert fields["level"] == "info" and fields["request_id"] == "req-1"
    assert (fields["method"], fields["path"]) == ("GET", "/quad.png")
    assert fields["params"] == "width=20&height=10"
    assert (fields["status"], fields["bytes"]) == (200, len(response.content))
    assert fields["duration_ms"] > 0 and fields["cache"] == "MISS"
    assert set(fields["timings"]) == {"fetch", "render", "encode"}
    assert fields["timings"]["render"] >= fields["timings"]["encode"] > 0


def test_hot_answers_and_cache_hits_say_where_they_came_from(tmp_path, logged):
    with served(tmp_path) as client:
        client.get("/quad.png?width=20")
        hot = client.get("/quad.png?width=20")
        announce(tmp_path / "cache")
        client.get("/quad.png?width=20")
    miss, from_memory, hit = (json.loads(line) for line in request_lines(logged))
    assert (miss["cache"], from_memory["cache"], hit["cache"]) == ("MISS", "hot", "HIT")
    assert from_memory["request_id"] == hot.headers["x-request-id"]
    assert from_memory["bytes"] == len(hot.content) and "timings" not in from_memory
    assert list(hit["timings"]) == ["cache"]


def test_an_error_is_logged_with_its_code_and_parameter(tmp_path, logged):
    with served(tmp_path) as client:
        response = client.get("/quad.png?width=abc")
    fields = json.loads(request_lines(logged)[0])
    assert (fields["status"], fields["level"]) == (400, "info")
    assert (fields["error"], fields["param"]) == ("invalid_parameter", "width")
    assert fields["message"] == response.json()["error"]["message"]
    assert fields["request_id"] == response.headers["x-request-id"]


def test_a_5xx_is_logged_at_error_level_without_the_credentials_in_its_message(
    tmp_path, logged, monkeypatch
):
    def failing(*args: object) -> None:
        raise OriginFailed("fetching https://ann:hunter2@img.example.com/a.jpg failed")

    monkeypatch.setattr(recent, "decode", failing)
    with served(tmp_path) as client:
        assert client.get("/quad.png?width=20").status_code == 502
    [record] = [r for r in logged.records if r.name == REQUESTS_LOGGER]
    fields = json.loads(record.getMessage())
    assert record.levelno == logging.ERROR and fields["level"] == "error"
    assert fields["error"] == "origin_failed"
    assert fields["message"] == "fetching https://***@img.example.com/a.jpg failed"
    assert "hunter2" not in logged.text


def test_a_crash_is_logged_as_a_500_internal_error(tmp_path, logged, monkeypatch):
    def crashing(*args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(recent, "decode", crashing)
    with served(tmp_path) as client:
        response = client.get("/quad.png?width=20")
    assert response.status_code == 500
    fields = json.loads(request_lines(logged)[0])
    assert (fields["status"], fields["level"], fields["error"]) == (500, "error", "internal_error")
    assert fields["request_id"] == response.headers["x-request-id"]


def test_signatures_and_tokens_never_reach_the_logs(tmp_path, logged):
    security = {"signing_keys": [SIGNING_KEY]}
    uploads = {"token": UPLOAD_TOKEN}
    url = signed_url("", "quad.png", [("width", "20")], SIGNING_KEY)
    signature = url.rpartition("s=")[2]
    with served(tmp_path, security=security, uploads=uploads) as client:
        assert client.get(url).status_code == 200
        assert client.get(url.replace(signature, "forged")).status_code == 403
        posted = client.post(
            f"{url}&token=query-token-77",
            files={"file": ("q.png", QUAD, "image/png")},
            headers={"Authorization": f"Bearer {UPLOAD_TOKEN}"},
        )
        assert posted.status_code == 200
    good, forged, upload = (json.loads(line) for line in request_lines(logged))
    assert good["params"] == "width=20&s=***" and forged["params"] == "width=20&s=***"
    assert forged["error"] == "bad_signature"
    assert upload["params"] == "width=20&s=***&token=***" and upload["method"] == "POST"
    for secret in (signature, SIGNING_KEY, UPLOAD_TOKEN, "query-token-77", "forged"):
        assert secret not in logged.text


@pytest.mark.parametrize(
    ("query", "logged_as"),
    [
        ("", ""),
        ("width=20&crop=fit", "width=20&crop=fit"),
        ("S=abc&%73=def&width=1&s", "S=***&%73=***&width=1&s"),
        (
            "source_url=https://ann:pw@h.example/a.jpg?token=t1&w=1",
            "source_url=https://***@h.example/a.jpg?token=***&w=1",
        ),
        (
            "source_url=https%3A%2F%2Fann%3Apw%40h.example%2Fa.jpg%3FX-Amz-Signature%3Dsig%26x%3D1",
            "source_url=https%3A%2F%2F***%40h.example%2Fa.jpg%3FX-Amz-Signature%3D***%26x%3D1",
        ),
        ("mark=https://h.example/m.png%3Fkey%3Dk1", "mark=https://h.example/m.png%3Fkey%3D***"),
    ],
)
def test_queries_are_logged_without_secrets(query, logged_as):
    assert redacted(query) == logged_as


def test_text_lines_are_a_time_a_level_and_key_value_pairs(tmp_path, logged):
    with served(tmp_path, log={"format": "text"}) as client:
        client.get("/quad.png?width=20", headers={"X-Request-Id": "req-2"})
        client.get("/quad.png?width=abc")
    ok, bad = request_lines(logged)
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO request_id=req-2 method=GET ", ok)
    assert ' path=/quad.png params="width=20" status=200 ' in ok and " cache=MISS " in ok
    assert re.search(r" timings=fetch:[\d.]+,render:[\d.]+,encode:[\d.]+$", ok)
    assert " status=400 " in bad and " error=invalid_parameter param=width message=" in bad


@pytest.mark.parametrize("line", [json_line, text_line])
@pytest.mark.parametrize(
    ("method", "path", "query", "size"),
    [
        ("GET", '/a b/"x".jpg', b"width=400&s=secret&q=%22y%22", 123),
        ("HEAD", "/k=v\\.png", b"", 0),
        ("GET", "/caf\u00e9.jpg", b"url=http://ann:pw@h.example/x", 9),
    ],
)
def test_a_hot_answers_line_from_its_template_is_the_line_built_field_by_field(
    line, method, path, query, size, monkeypatch
):
    now, seconds = 1764844800.1234, 0.0123456
    monkeypatch.setattr(time, "time", lambda: now)
    scope = {"method": method, "path": path, "query_string": query}
    built = line(line_fields(scope, Sent(200, size, "req-1.a_B", "hot"), seconds, logging.INFO))
    template = line_template(line, method, path, query, (200, size, "hot"), logging.INFO)
    assert template is not None
    assert template.filled(now, "req-1.a_B", seconds) == built
    assert "***" in built or not query


def test_requests_false_logs_no_request_lines(tmp_path, logged):
    with served(tmp_path, log={"requests": False}) as client:
        assert client.get("/quad.png?width=20").status_code == 200
        assert client.get("/quad.png?width=abc").status_code == 400
    assert request_lines(logged) == []


def test_serve_writes_json_lines_only_and_no_uvicorn_access_lines(tmp_path):
    settings = app_settings(tmp_path)
    config = tmp_path / "imgproxy.toml"
    config.write_text(
        f'[origin]\nkind = "local"\nroot = "{settings["origin"]["root"]}"\n'
        f'[cache]\ndir = "{settings["cache"]["dir"]}"\n'
    )
    port = free_port()
    stderr = tmp_path / "stderr.log"
    with stderr.open("wb") as sink, serve_process(config, port, stderr=sink):
        answer = httpx.get(f"http://127.0.0.1:{port}/quad.png?width=20&s=abc", timeout=30)
        assert answer.status_code == 200
    written = [json.loads(line) for line in stderr.read_text().splitlines()]
    requests = [line for line in written if line.get("path") == "/quad.png"]
    assert len(requests) == 1 and requests[0]["params"] == "width=20&s=***"
    assert any(line.get("logger") == "uvicorn.error" for line in written)
    assert all("HTTP/1.1" not in str(line.get("message", "")) for line in written)


class CountedWrites(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.writers: set[threading.Thread] = set()

    def write(self, text: str) -> int:
        self.writes += 1
        self.writers.add(threading.current_thread())
        return super().write(text)


def batching(
    name: str, flush_ms: int, max_bytes: int = 64 * 1024
) -> tuple[logging.Logger, CountedWrites]:
    stream = CountedWrites()
    handler = BatchedLines(flush_ms=flush_ms, max_bytes=max_bytes)
    handler.setStream(stream)
    logger = logging.getLogger(f"tests.batched.{name}")
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_lines_go_out_together_once_the_flush_delay_has_passed():
    logger, stream = batching("delay", flush_ms=100)
    for n in range(3):
        logger.info("line %d", n)
    assert stream.getvalue() == ""
    deadline = time.monotonic() + 5
    while not stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stream.getvalue().splitlines() == ["line 0", "line 1", "line 2"]
    assert stream.writes == 1


def test_one_thread_writes_every_delayed_batch():
    logger, stream = batching("one-thread", flush_ms=20)
    for n in range(3):
        logger.info("line %d", n)
        deadline = time.monotonic() + 5
        while stream.writes <= n and time.monotonic() < deadline:
            time.sleep(0.005)
    assert stream.getvalue().splitlines() == ["line 0", "line 1", "line 2"]
    assert stream.writes == 3 and len(stream.writers) == 1
    assert threading.current_thread() not in stream.writers


def test_an_error_line_goes_out_at_once_behind_the_lines_before_it():
    logger, stream = batching("error", flush_ms=10_000)
    logger.info("served")
    logger.error("failed")
    assert stream.getvalue().splitlines() == ["served", "failed"] and stream.writes == 1


def test_a_full_batch_goes_out_at_once():
    logger, stream = batching("full", flush_ms=10_000, max_bytes=20)
    logger.info("0123456789")
    assert stream.getvalue() == ""
    logger.info("abcdefghij")
    assert stream.getvalue().splitlines() == ["0123456789", "abcdefghij"]


def test_flush_ms_0_writes_every_line_as_it_comes():
    logger, stream = batching("unbatched", flush_ms=0)
    logger.info("one")
    assert stream.getvalue() == "one\n"
    logger.info("two")
    assert stream.writes == 2


def test_a_flush_writes_what_is_waiting():
    """logging.shutdown flushes every handler: no line is left behind when the server stops."""
    logger, stream = batching("shutdown", flush_ms=10_000)
    logger.info("last words")
    logger.handlers[0].flush()
    assert stream.getvalue() == "last words\n"


@pytest.fixture
def batched_requests() -> Iterator[tuple[logging.Logger, CountedWrites]]:
    """The requests logger as the server sets it up: one batch handler, nothing else."""
    stream = CountedWrites()
    handler = BatchedLines(flush_ms=10_000)
    handler.setStream(stream)
    requests = logging.getLogger(REQUESTS_LOGGER)
    requests.addHandler(handler)
    requests.setLevel(logging.INFO)
    try:
        yield requests, stream
    finally:
        requests.removeHandler(handler)


def test_the_server_writes_its_waiting_lines_when_it_stops(tmp_path, batched_requests):
    _, stream = batched_requests
    with served(tmp_path) as client:
        assert client.get("/quad.png?width=20").status_code == 200
        assert stream.getvalue() == ""
    [line] = stream.getvalue().splitlines()
    assert json.loads(line)["path"] == "/quad.png"


def test_a_hot_answer_has_its_line_in_the_batch(tmp_path, batched_requests):
    requests, stream = batched_requests
    with served(tmp_path) as client:
        client.get("/quad.png?width=21")
        assert client.get("/quad.png?width=21").headers["server-timing"].startswith("hot")
        requests.handlers[0].flush()
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["cache"] == "MISS" and second["cache"] == "hot"
    assert second["status"] == 200 and second["bytes"] == first["bytes"] > 0


def test_a_filter_on_the_requests_logger_sees_every_line(tmp_path, batched_requests):
    requests, stream = batched_requests
    seen: list[str] = []

    def keep_errors(record: logging.LogRecord) -> bool:
        seen.append(record.getMessage())
        return record.levelno >= logging.ERROR

    requests.addFilter(keep_errors)
    try:
        with served(tmp_path) as client:
            client.get("/quad.png?width=22")
            client.get("/quad.png?width=22")
            requests.handlers[0].flush()
    finally:
        requests.removeFilter(keep_errors)
    assert len(seen) == 2 and json.loads(seen[1])["cache"] == "hot"
    assert stream.getvalue() == ""
