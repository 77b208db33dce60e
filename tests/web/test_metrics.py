"""GET /metrics: requests, render steps, origin fetches, caches, render slots and jobs, counted
as they happen, and summed over the worker processes of `imgproxy serve --workers N`."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from imgproxy.app import create_app
from imgproxy.cache.changes import announce
from imgproxy.cache.stores import BlobStore
from imgproxy.config_loader import build_settings
from imgproxy.metrics import exposition
from imgproxy.pipeline.run import STAGES, execute
from imgproxy.web import routes
from tests.support.images import png, quadrants
from tests.support.server import free_port, local_settings, running_server, serve_process

QUAD = png(quadrants(64, 48))
TOKEN = "metrics-token"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(get: Callable[[str], Any]) -> Samples:
    response = get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return samples_of(response.text)


def samples_of(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def grew(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def settings_for(tmp_path: Path, **sections: dict[str, Any]) -> dict[str, Any]:
    return local_settings(tmp_path, {"quad.png": QUAD}, **sections)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(build_settings(settings_for(tmp_path)))) as http:
        yield http


def test_a_miss_a_hot_answer_a_hit_and_a_400_are_counted_with_their_labels(client, tmp_path):
    before = scrape(client.get)
    miss = client.get("/quad.png?width=20")
    hot = client.get("/quad.png?width=20")
    # Every process drops its hot answers: the next request reads the result cache.
    announce(tmp_path / "cache")
    hit = client.get("/quad.png?width=20")
    bad = client.get("/quad.png?width=abc")
    after = scrape(client.get)

    assert [miss.headers["x-cache"], hit.headers["x-cache"], bad.status_code] == [
        "MISS",
        "HIT",
        400,
    ]
    assert hot.headers["server-timing"].startswith("hot")
    assert grew(before, after, "imgproxy_requests_total", route="image", status="200") == 3
    assert grew(before, after, "imgproxy_requests_total", route="image", status="400") == 1
    assert grew(before, after, "imgproxy_requests_total", route="metrics", status="200") == 1
    assert grew(before, after, "imgproxy_request_seconds_count", route="image") == 4
    assert grew(before, after, "imgproxy_cache_hits_total", cache="hot") == 1
    # Every GET looks in memory first: the miss, the one after the announcement, the 400 and
    # the second scrape.
    assert grew(before, after, "imgproxy_cache_misses_total", cache="hot") == 4
    assert grew(before, after, "imgproxy_cache_misses_total", cache="results") == 1
    assert grew(before, after, "imgproxy_cache_hits_total", cache="results") == 1
    assert grew(before, after, "imgproxy_origin_fetch_seconds_count", origin="local") == 1
    assert grew(before, after, "imgproxy_origin_fetch_bytes_total", origin="local") == len(QUAD)
    assert grew(before, after, "imgproxy_render_seconds_count") == 1


def test_every_render_step_is_timed_once_per_render(client):
    before = scrape(client.get)
    client.get("/quad.png?width=30&flip=true")
    client.get("/quad.png?width=31&blur=2")
    after = scrape(client.get)
    assert "load" in STAGES and "geometry.resize" in STAGES and STAGES[-1] == "encode"
    for step in STAGES:
        assert grew(before, after, "imgproxy_render_step_seconds_count", step=step) == 2, step
    spent = grew(before, after, "imgproxy_render_step_seconds_sum", step="encode")
    assert 0 < spent < grew(before, after, "imgproxy_render_seconds_sum")


def test_render_slot_and_queue_gauges_follow_a_slow_render(tmp_path, monkeypatch):
    opened = threading.Event()

    def held(*args: Any) -> Any:
        opened.wait(20)
        return execute(*args)

    monkeypatch.setattr(routes, "execute", held)
    settings = settings_for(tmp_path, server={"render_slots": 1, "queue_size": 4})
    with running_server(settings) as url, httpx.Client(base_url=url, timeout=30) as http:
        before = scrape(http.get)
        assert value(before, "imgproxy_render_slots") >= 1
        answers: list[httpx.Response] = []
        paths = ["/quad.png?width=21", "/quad.png?width=22", "/quad.png?width=21"]
        asking = [threading.Thread(target=lambda p=p: answers.append(http.get(p))) for p in paths]
        for thread in asking:
            thread.start()
        deadline = time.monotonic() + 20
        while True:
            during = scrape(http.get)
            moved = [
                grew(before, during, name)
                for name in (
                    "imgproxy_render_slots_busy",
                    "imgproxy_render_queue_depth",
                    "imgproxy_coalesced_requests_total",
                )
            ]
            if moved == [1, 1, 1] or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        opened.set()
        for thread in asking:
            thread.join(30)
        after = scrape(http.get)
    assert moved == [1, 1, 1]
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert grew(before, after, "imgproxy_render_slots_busy") == 0
    assert grew(before, after, "imgproxy_render_queue_depth") == 0
    assert grew(before, after, "imgproxy_render_seconds_count") == 2


def test_a_disk_store_counts_what_it_drops_for_room(tmp_path):
    store = BlobStore(tmp_path / "tiny-results", 1)
    before = samples_of(exposition()[0].decode())
    for index in range(12):
        store.put(f"key-{index}", {}, bytes(200_000))
    after = samples_of(exposition()[0].decode())
    left = store.usage()["entries"]
    assert left < 12 and store.usage()["bytes"] <= 2**20
    assert grew(before, after, "imgproxy_cache_evictions_total", cache="tiny-results") == 12 - left


def test_an_expired_hot_answer_counts_as_an_eviction(tmp_path):
    settings = settings_for(tmp_path, cache={"memory_ttl_s": 0.05})
    with TestClient(create_app(build_settings(settings))) as client:
        client.get("/quad.png?width=24")
        before = scrape(client.get)
        time.sleep(0.1)
        again = client.get("/quad.png?width=24")
        after = scrape(client.get)
    assert again.headers["x-cache"] == "HIT" and not again.headers["server-timing"].startswith(
        "hot"
    )
    assert grew(before, after, "imgproxy_cache_evictions_total", cache="hot") == 1
    assert grew(before, after, "imgproxy_cache_hits_total", cache="results") == 1


def test_jobs_are_counted_by_status(tmp_path):
    settings = settings_for(tmp_path, uploads={"token": TOKEN})
    with running_server(settings) as url, httpx.Client(base_url=url, timeout=30) as http:
        before = scrape(http.get)
        queued = http.post(
            "/jobs/a.png",
            files={"file": ("a.png", QUAD, "image/png")},
            data={"cache_queries": json.dumps(["width=10"])},
            headers={"Authorization": f"Bearer {TOKEN}", "Prefer": "respond-async"},
        )
        assert queued.status_code == 202
        deadline = time.monotonic() + 20
        while http.get(queued.headers["location"]).json()["status"] != "done":
            assert time.monotonic() < deadline, "the job did not finish"
            time.sleep(0.05)
        after = scrape(http.get)
    for status in ("queued", "running", "done"):
        assert grew(before, after, "imgproxy_jobs_total", status=status) == 1, status
    assert grew(before, after, "imgproxy_jobs_total", status="failed") == 0
    assert grew(before, after, "imgproxy_requests_total", route="upload", status="202") == 1


def test_serve_with_two_workers_sums_every_process_from_a_clean_folder(tmp_path):
    settings = settings_for(tmp_path)
    left_over = tmp_path / "cache" / "metrics" / "counter_1.db"
    left_over.parent.mkdir(parents=True)
    left_over.write_bytes(b"left by an earlier run")
    config = tmp_path / "imgproxy.toml"
    config.write_text(
        f'[origin]\nkind = "local"\nroot = "{settings["origin"]["root"]}"\n'
        f'[cache]\ndir = "{settings["cache"]["dir"]}"\n'
        "[server]\nrender_slots = 3\n"
    )
    port = free_port()
    with serve_process(config, port, "--workers", "2"):
        base = f"http://127.0.0.1:{port}"
        assert not left_over.exists()
        deadline = time.monotonic() + 30
        # /health answered from one worker: the other may still be starting.
        while (
            value(scrape(lambda path: httpx.get(base + path, timeout=10)), "imgproxy_render_slots")
            < 6
        ):
            assert time.monotonic() < deadline, "the second worker did not start"
            time.sleep(0.1)
        widths = range(40, 52)
        for width in widths:
            # A connection of its own each, so that both workers take some.
            assert httpx.get(f"{base}/quad.png?width={width}", timeout=30).status_code == 200
        scrapes = [scrape(lambda path: httpx.get(base + path, timeout=10)) for _ in range(6)]
        pids = {path.stem.rpartition("_")[2] for path in left_over.parent.glob("*.db")}
    for samples in scrapes:
        # Both workers' slots: a scrape answered by either one adds up the two processes.
        assert value(samples, "imgproxy_render_slots") == 6
        assert value(samples, "imgproxy_requests_total", route="image", status="200") == len(widths)
        assert value(samples, "imgproxy_render_seconds_count") == len(widths)
    assert len(pids) >= 2
