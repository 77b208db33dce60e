"""Asynchronous POSTs: jobs on huey (SQLite by default, Redis when configured)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import httpx
import pytest
from huey import MemoryHuey

from imgproxy.config_loader import build_settings
from imgproxy.jobs.preprocess import Preprocess
from imgproxy.jobs.queue import DAY_S, LOST_AFTER_S, Jobs, Reports, build_huey, day_of
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
    jobs = Jobs(MemoryHuey("t", immediate=True), Exploding(), 7)  # type: ignore[arg-type]
    report = jobs.status(jobs.submit(Preprocess("a.png", QUAD, ())))
    assert report["status"] == "failed" and report["error"]["status"] == 500
    assert "KeyError" in report["error"]["message"]


def running_job(jobs: Jobs, consumer: str, seen: float) -> str:
    """A job report left `running` by `consumer`, which last noted that it lives at `seen`."""
    job_id = jobs.reports.new_id(time.time())
    report = {"id": job_id, "status": "running", "path": "a.png", "consumer": consumer}
    jobs.reports.put(job_id, report)
    jobs.consumers.note(consumer, [job_id], seen)
    return job_id


def test_jobs_left_running_by_a_killed_process_are_marked_interrupted(tmp_path):
    root = tmp_path / "originals"
    root.mkdir()
    settings = settings_for(tmp_path / "cache", root)
    (tmp_path / "cache").mkdir()
    jobs = Jobs(build_huey(build_settings(settings)), None, 7)  # type: ignore[arg-type]
    lost = running_job(jobs, "gone", time.time() - LOST_AFTER_S - 1)
    alive = running_job(jobs, "c2", time.time())
    with running_server(settings) as url, httpx.Client(base_url=url, timeout=30) as http:
        deadline = time.monotonic() + 10
        while http.get(f"/jobs/{lost}").json()["status"] == "running":
            assert time.monotonic() < deadline, "the lost job was never marked"
            time.sleep(0.05)
        lost_report, alive_report = (
            http.get(f"/jobs/{lost}").json(),
            http.get(f"/jobs/{alive}").json(),
        )
    assert lost_report["status"] == "failed" and "interrupted" in lost_report["error"]["message"]
    assert alive_report["status"] == "running"
    assert set(jobs.consumers.lost(time.time() + LOST_AFTER_S + 1)) == {"c2"}


def test_recovery_marks_only_what_a_lost_consumer_was_running():
    jobs = Jobs(MemoryHuey("t"), None, 7)  # type: ignore[arg-type]
    lost = running_job(jobs, "gone", time.time() - LOST_AFTER_S - 1)
    finished = jobs.reports.new_id(time.time())
    jobs.reports.put(finished, {"id": finished, "status": "done", "consumer": "gone"})
    jobs.recover()
    assert jobs.status(lost)["status"] == "failed" and jobs.status(finished)["status"] == "done"
    assert jobs.consumers.lost(time.time() + LOST_AFTER_S + 1) == {}


def test_reports_past_the_retention_period_are_dropped_whole():
    reports = Reports(MemoryHuey("t"), retention_days=7)
    now = time.time()
    old, recent = reports.new_id(now - 8 * DAY_S), reports.new_id(now - 6 * DAY_S)
    for job_id in (old, recent):
        reports.put(job_id, {"id": job_id, "status": "done"})
    reports.sweep(now)
    assert reports.get(recent, now) == {"id": recent, "status": "done"}
    assert reports.get(old, now - 8 * DAY_S) is None


def test_a_job_id_from_a_url_outside_the_retention_period_is_unknown():
    reports = Reports(MemoryHuey("t"), retention_days=7)
    now = time.time()
    assert reports.get(f"{day_of(now) + 400}-0123", now) is None
    assert reports.get(f"{day_of(now) - 400}-0123", now) is None
    assert reports.get("not-a-job", now) is None


def test_a_consumer_starts_without_waiting_for_its_first_recovery(monkeypatch):
    jobs = Jobs(MemoryHuey("t"), None, 7)  # type: ignore[arg-type]
    recovered = threading.Event()

    def slow_recovery() -> None:
        time.sleep(1)
        recovered.set()

    monkeypatch.setattr(jobs, "recover", slow_recovery)
    started = time.monotonic()
    jobs.start(workers=1)
    try:
        assert time.monotonic() - started < 0.5
        assert recovered.wait(5)
    finally:
        jobs.stop()


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


def run_worker_job(tmp_path, **jobs: object) -> None:
    """A server that only queues, and `imgproxy worker` in its own process running the job."""
    cache, root = tmp_path / "cache", tmp_path / "originals"
    root.mkdir()
    config = tmp_path / "imgproxy.toml"
    redis_line = f'redis_url = "{jobs["redis_url"]}"\n' if "redis_url" in jobs else ""
    config.write_text(f'[origin]\nroot = "{root}"\n[cache]\ndir = "{cache}"\n[jobs]\n{redis_line}')
    settings = settings_for(cache, root, consumer=False, **jobs)
    with running_server(settings) as url, httpx.Client(base_url=url, timeout=30) as http:
        location = submit(http, "/worker/f.png", ["width=19"], {"Prefer": "respond-async"}).headers[
            "location"
        ]
        time.sleep(0.3)
        assert http.get(location).json()["status"] == "queued"
        worker = subprocess.Popen(
            [sys.executable, "-m", "imgproxy", "worker", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert finished(http, location)["status"] == "done"
            assert http.get("/worker/f.png?width=19").headers["x-cache"] == "HIT"
        finally:
            worker.terminate()
            worker.wait(timeout=30)


def test_imgproxy_worker_runs_jobs_that_the_server_only_queues(tmp_path):
    run_worker_job(tmp_path)


def test_imgproxy_worker_takes_jobs_from_redis(tmp_path):
    with redis_server(tmp_path) as redis_url:
        run_worker_job(tmp_path, redis_url=redis_url)
