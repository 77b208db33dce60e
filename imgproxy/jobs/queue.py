"""Jobs on huey: SQLite next to the caches by default (no server), Redis to share machines."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from huey import RedisHuey, SqliteHuey
from huey.api import Huey
from huey.constants import EmptyData
from huey.consumer import Consumer
from huey.storage import BaseStorage

from imgproxy import metrics
from imgproxy.config import Settings
from imgproxy.errors import ImgproxyError
from imgproxy.jobs.preprocess import Preprocess, Preprocessor

log = logging.getLogger(__name__)
TASK_NAME = "imgproxy.preprocess"
# Consumers note that they live this often; one silent for LOST_AFTER_S has died.
BEAT_EVERY_S = 30.0
LOST_AFTER_S = 90.0
DAY_S = 86_400
# The first day whose reports may still be stored.
KEPT_SINCE = "kept-since"


class EmbeddedConsumer(Consumer):
    """A consumer inside the server's process: the server keeps its signals to shut down."""

    def _set_signal_handlers(self) -> None:
        return None


def build_huey(settings: Settings) -> Huey:
    if settings.jobs.redis_url:
        return RedisHuey("imgproxy", url=settings.jobs.redis_url)
    return SqliteHuey("imgproxy", filename=str(Path(settings.cache.dir) / "jobs.db"))


def key_space(huey: Huey, name: str) -> BaseStorage:
    """Another key space in `huey`'s database (SQLite file or Redis server)."""
    return huey.storage_class(f"{huey.name}_{name}", **huey.storage_kwargs)


def day_of(moment: float) -> int:
    return int(moment // DAY_S)


class Reports:
    """Job reports, in one key space per day of submission (job ids start with the day): the
    days past the retention period are dropped whole, without reading a report."""

    def __init__(self, huey: Huey, retention_days: int) -> None:
        self.huey = huey
        self.retention_days = retention_days
        self.index = key_space(huey, "reports")
        self._days: dict[int, BaseStorage] = {}
        self._lock = threading.Lock()

    def new_id(self, now: float) -> str:
        """A new job id, starting with its day; the first day ever used is noted for sweeps."""
        self.index.put_if_empty(KEPT_SINCE, str(day_of(now)).encode())
        return f"{day_of(now)}-{uuid.uuid4().hex}"

    def put(self, job_id: str, report: dict[str, Any]) -> None:
        day = _day_in(job_id)
        if day is None:
            raise ValueError(f"not a job id: {job_id!r}")
        self._day(day).put_data(job_id, self.huey.serializer.serialize(report))

    def get(self, job_id: str, now: float) -> dict[str, Any] | None:
        day = _day_in(job_id)
        # Days outside the period are never opened: job ids come from URLs.
        if day is None or not self._first_kept(now) <= day <= day_of(now) + 1:
            return None
        found = self._day(day).peek_data(job_id)
        return None if found is EmptyData else dict(self.huey.serializer.deserialize(found))

    def sweep(self, now: float) -> None:
        """Drop the days of reports past the retention period that are still stored."""
        first = self._first_kept(now)
        stored = self.index.peek_data(KEPT_SINCE)
        since = first if stored is EmptyData else int(stored)
        for day in range(since, first):
            self._day(day).flush_results()
            with self._lock:
                self._days.pop(day).close()
        if since < first:
            self.index.put_data(KEPT_SINCE, str(first).encode())

    def _first_kept(self, now: float) -> int:
        return day_of(now) - self.retention_days

    def _day(self, day: int) -> BaseStorage:
        with self._lock:
            if day not in self._days:
                self._days[day] = key_space(self.huey, f"reports_{day}")
            return self._days[day]


def _day_in(job_id: str) -> int | None:
    day, _, rest = job_id.partition("-")
    return int(day) if day.isdigit() and rest else None


class Consumers:
    """One small entry per consumer: when it last noted that it lives, and the jobs it runs."""

    def __init__(self, huey: Huey) -> None:
        self.huey = huey
        self.space = key_space(huey, "consumers")

    def note(self, consumer_id: str, running: list[str], now: float) -> None:
        entry = {"beat": now, "running": running}
        self.space.put_data(consumer_id, self.huey.serializer.serialize(entry))

    def lost(self, now: float) -> dict[str, list[str]]:
        """The consumers silent for LOST_AFTER_S, with the jobs each was running."""
        entries = {
            consumer_id: self.huey.serializer.deserialize(raw)
            for consumer_id, raw in self.space.result_items().items()
        }
        return {
            consumer_id: list(entry["running"])
            for consumer_id, entry in entries.items()
            if now - entry["beat"] > LOST_AFTER_S
        }

    def forget(self, consumer_id: str) -> None:
        self.space.delete_data(consumer_id)


class Jobs:
    """Submitting preprocess jobs, running them, and telling their status."""

    def __init__(self, huey: Huey, preprocessor: Preprocessor, retention_days: int) -> None:
        self.huey = huey
        self.preprocessor = preprocessor
        self.consumer_id = uuid.uuid4().hex
        self.reports = Reports(huey, retention_days)
        self.consumers = Consumers(huey)
        self._task = huey.task(name=TASK_NAME)(self._execute)
        self._consumer: Consumer | None = None
        self._stopping = threading.Event()
        self._running: set[str] = set()
        self._running_lock = threading.Lock()

    def submit(self, job: Preprocess) -> str:
        job_id = self.reports.new_id(time.time())
        self._report(job_id, {"status": "queued", "path": job.path})
        self._task(job_id, job)
        return job_id

    def status(self, job_id: str) -> dict[str, Any] | None:
        return self.reports.get(job_id, time.time())

    def _execute(self, job_id: str, job: Preprocess) -> None:
        self._track(job_id, running=True)
        metrics.jobs_running(1)
        try:
            self._run(job_id, job)
        finally:
            metrics.jobs_running(-1)
            self._track(job_id, running=False)

    def _run(self, job_id: str, job: Preprocess) -> None:
        self._report(job_id, {"status": "running", "path": job.path, "consumer": self.consumer_id})
        try:
            rendered, items = self.preprocessor.run(job, strict=False)
        except Exception as exc:
            self._report(job_id, {"status": "failed", "path": job.path, **_failure(exc).to_dict()})
            return
        report = {"status": "done", "path": job.path, "format": rendered.format, "items": items}
        if any(item["status"] == "failed" for item in items):
            report["status"] = "failed"
        self._report(job_id, report)

    def _track(self, job_id: str, running: bool) -> None:
        # Noted before the job's report says running, so another consumer can tell if we die.
        with self._running_lock:
            if running:
                self._running.add(job_id)
            else:
                self._running.discard(job_id)
            self._note()

    def _note(self) -> None:
        self.consumers.note(self.consumer_id, sorted(self._running), time.time())

    def _report(self, job_id: str, report: dict[str, Any]) -> None:
        self.reports.put(job_id, {"id": job_id, **report})
        metrics.job_reported(report["status"])

    def recover(self) -> None:
        """Mark failed the jobs left running by consumers that stopped noting that they live (a
        killed process). They are not run again: a job that killed one process may kill the next."""
        for consumer_id, running in self.consumers.lost(time.time()).items():
            for job_id in running:
                report = self.reports.get(job_id, time.time())
                if report and report["status"] == "running" and report["consumer"] == consumer_id:
                    lost = ImgproxyError("interrupted: the process running the job stopped")
                    self._report(job_id, {**report, "status": "failed", **lost.to_dict()})
            self.consumers.forget(consumer_id)

    def _beat(self) -> None:
        with self._running_lock:
            self._note()
        self.recover()
        self.reports.sweep(time.time())

    def _keep_beating(self) -> None:
        threading.Thread(target=self._beat_until_stopped, name="jobs-beat", daemon=True).start()

    def _beat_until_stopped(self) -> None:
        while True:
            try:
                self._beat()
            except Exception:
                log.exception("jobs: the heartbeat failed")
            if self._stopping.wait(BEAT_EVERY_S):
                return

    def start(self, workers: int) -> None:
        """Consume in threads of this process (imgproxy serve)."""
        self._keep_beating()
        self._consumer = EmbeddedConsumer(
            self.huey, workers=workers, worker_type="thread", initial_delay=0.05, max_delay=0.5
        )
        self._consumer.start()

    def run(self, workers: int) -> None:
        """Consume in the foreground until a signal stops it (imgproxy worker)."""
        self._keep_beating()
        try:
            self.huey.create_consumer(workers=workers, worker_type="thread").run()
        finally:
            self._stop_beating()

    def stop(self) -> None:
        if self._consumer is not None:
            self._consumer.stop(graceful=True)
            self._stop_beating()

    def _stop_beating(self) -> None:
        self._stopping.set()
        self.consumers.forget(self.consumer_id)


def _failure(exc: Exception) -> ImgproxyError:
    """The error a failed job reports; one we did not foresee is logged with its traceback."""
    if isinstance(exc, ImgproxyError):
        return exc
    log.error("a job failed unexpectedly", exc_info=exc)
    return ImgproxyError(f"the job failed unexpectedly ({type(exc).__name__}); it has been logged")
