"""Asynchronous POSTs: jobs on huey (SQLite by default, Redis when configured)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import pytest
from huey import MemoryHuey

from imgproxy.config import build_settings
from imgproxy.jobs.preprocess import Preprocess
from imgproxy.jobs.queue import Jobs, build_huey
from tests.support.images import close, pixels, png, quadrants, solid
from tests.support.redis import redis_server
from tests.support.server import running_server

TOKEN = "j0bs"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
QUAD = png(quadrants(200, 100))
MAGENTA = (255, 0, 255)


def settings_for(cache_dir, root, **jobs: object) -> dict:
    return {
        "origin": {"kind": "local", "root": str(root)},
        "uploads": {"token": TOKEN},
        "cache": {"dir": str(cache_dir)},
        "jobs": jobs,
    }


def submit(http: httpx.Client, path: str, queries: list[str], headers=None) -> httpx.Response:
    return http.post(
        path,
        files={"file": ("q.png", QUAD, "image/png")},
        data={"cache_queries": json.dumps(queries)},
        headers={**AUTH, **(headers or {})},
    )


def finished(http: httpx.Client, location: str) -> dict:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        report = http.get(location).json()
        if report["status"] in ("done", "failed"):
            return report
        time.sleep(0.1)
    raise AssertionError(f"job {location} did not finish: {report}")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    cache, root = tmp_path_factory.mktemp("cache"), tmp_path_factory.mktemp("originals")
    (root / "mark.png").write_bytes(png(solid(20, 20, MAGENTA)))
    with (
        running_server(settings_for(cache, root)) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        yield http


def test_prefer_respond_async_answers_202_and_the_job_warms_the_cache(client):
    response = submit(client, "/async/a.png", ["width=20", "width=30"], {"Prefer": "respond-async"})
    assert response.status_code == 202
    location = response.headers["location"]
    assert location.startswith("/jobs/") and response.json()["status"] == "queued"
    report = finished(client, location)
    assert report["status"] == "done" and [i["status"] for i in report["items"]] == ["done", "done"]
    assert client.get("/async/a.png?width=30").headers["x-cache"] == "HIT"


def test_async_true_works_as_a_parameter(client):
    response = client.post(
        "/async/b.png?async=true&cache_queries=width%3D12",
        files={"file": ("b.png", QUAD, "image/png")},
        headers=AUTH,
    )
    assert response.status_code == 202
    assert finished(client, response.headers["location"])["status"] == "done"


def test_a_failing_item_is_reported_and_the_others_still_run(client):
    response = submit(
        client, "/async/c.png", ["width=abc", "width=14"], {"Prefer": "respond-async"}
    )
    report = finished(client, response.headers["location"])
    first, second = report["items"]
    assert report["status"] == "failed"
    assert first["status"] == "failed" and first["error"]["param"] == "cache_queries"
    assert second["status"] == "done"


def test_a_job_draws_the_watermarks_of_its_cache_queries(client):
    marked = "width=100&mark=/mark.png&mark_pos=bottom%7Cright&format=png"
    queries = [marked, "width=101&mark=/absent.png"]
    response = submit(client, "/async/m.png", queries, {"Prefer": "respond-async"})
    report = finished(client, response.headers["location"])
    assert report["status"] == "done"
    assert report["items"][1] == {
        "query": queries[1],
        "status": "done",
        "cached": False,
        "left_out": ["mark"],
    }
    found = client.get(f"/async/m.png?{marked}")
    assert found.headers["x-cache"] == "HIT" and close(pixels(found.content)[45, 95], MAGENTA)


class Exploding:
    """A preprocessor with a bug."""

    def run(self, job: Preprocess, strict: bool = True) -> None:
        raise KeyError("oops")


def test_a_job_that_fails_unexpectedly_is_failed_with_a_message():
    jobs = Jobs(MemoryHuey("t", immediate=True), Exploding())  # type: ignore[arg-type]
    report = jobs.status(jobs.submit(Preprocess("a.png", QUAD, ())))
    assert report["status"] == "failed" and report["error"]["status"] == 500
    assert "KeyError" in report["error"]["message"]


def test_jobs_left_running_by_a_killed_process_are_marked_interrupted(tmp_path):
    root = tmp_path / "originals"
    root.mkdir()
    settings = settings_for(tmp_path / "cache", root)
    (tmp_path / "cache").mkdir()
    huey = build_huey(build_settings(settings))
    huey.put("job:lost", {"id": "lost", "status": "running", "path": "a.png", "consumer": "gone"})
    huey.put("job:alive", {"id": "alive", "status": "running", "path": "b.png", "consumer": "c2"})
    huey.put("consumer:c2", time.time())
    with running_server(settings) as url, httpx.Client(base_url=url, timeout=30) as http:
        lost, alive = http.get("/jobs/lost").json(), http.get("/jobs/alive").json()
    assert lost["status"] == "failed" and "interrupted" in lost["error"]["message"]
    assert alive["status"] == "running"


def test_an_unknown_job_is_404(client):
    response = client.get("/jobs/0123456789abcdef")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_a_queued_job_survives_a_server_restart(tmp_path):
    cache, root = tmp_path / "cache", tmp_path / "originals"
    root.mkdir()
    with (
        running_server(settings_for(cache, root, consumer=False)) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        location = submit(
            http, "/restart/d.png", ["width=16"], {"Prefer": "respond-async"}
        ).headers["location"]
        time.sleep(0.5)
        assert http.get(location).json()["status"] == "queued"
    with (
        running_server(settings_for(cache, root)) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        assert finished(http, location)["status"] == "done"
        assert http.get("/restart/d.png?width=16").headers["x-cache"] == "HIT"


def test_jobs_run_through_redis_when_configured(tmp_path):
    root = tmp_path / "originals"
    root.mkdir()
    with redis_server(tmp_path) as redis_url:
        settings = settings_for(tmp_path / "cache", root, redis_url=redis_url)
        with running_server(settings) as url, httpx.Client(base_url=url, timeout=30) as http:
            response = submit(http, "/redis/e.png", ["width=18"], {"Prefer": "respond-async"})
            assert finished(http, response.headers["location"])["status"] == "done"
            assert http.get("/redis/e.png?width=18").headers["x-cache"] == "HIT"


def test_imgproxy_worker_runs_jobs_that_the_server_only_queues(tmp_path):
    cache, root = tmp_path / "cache", tmp_path / "originals"
    root.mkdir()
    config = tmp_path / "imgproxy.toml"
    config.write_text(f'[origin]\nroot = "{root}"\n[cache]\ndir = "{cache}"\n')
    settings = settings_for(cache, root, consumer=False)
    with running_server(settings) as url, httpx.Client(base_url=url, timeout=30) as http:
        location = submit(http, "/worker/f.png", ["width=19"], {"Prefer": "respond-async"}).headers[
            "location"
        ]
        worker = subprocess.Popen(
            [sys.executable, "-m", "imgproxy", "worker", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert finished(http, location)["status"] == "done"
        finally:
            worker.terminate()
            worker.wait(timeout=30)
