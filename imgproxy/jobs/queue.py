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
from huey.consumer import Consumer

from imgproxy.config import Settings
from imgproxy.errors import ImgproxyError
from imgproxy.jobs.preprocess import Preprocess, Preprocessor

log = logging.getLogger(__name__)
TASK_NAME = "imgproxy.preprocess"
JOB_PREFIX = "job:"
BEAT_PREFIX = "consumer:"
# Consumers note that they live this often; one silent for LOST_AFTER_S has died.
BEAT_EVERY_S = 30.0
LOST_AFTER_S = 90.0


class EmbeddedConsumer(Consumer):
    """A consumer inside the server's process: the server keeps its signals to shut down."""

    def _set_signal_handlers(self) -> None:
        return None


def build_huey(settings: Settings) -> Huey:
    if settings.jobs.redis_url:
        return RedisHuey("imgproxy", url=settings.jobs.redis_url)
    return SqliteHuey("imgproxy", filename=str(Path(settings.cache.dir) / "jobs.db"))


class Jobs:
    """Submitting preprocess jobs, running them, and telling their status."""

    def __init__(self, huey: Huey, preprocessor: Preprocessor) -> None:
        self.huey = huey
        self.preprocessor = preprocessor
        self.consumer_id = uuid.uuid4().hex
        self._task = huey.task(name=TASK_NAME)(self._execute)
        self._consumer: Consumer | None = None
        self._stopping = threading.Event()

    def submit(self, job: Preprocess) -> str:
        job_id = uuid.uuid4().hex
        self._report(job_id, {"status": "queued", "path": job.path})
        self._task(job_id, job)
        return job_id

    def status(self, job_id: str) -> dict[str, Any] | None:
        found = self.huey.get(JOB_PREFIX + job_id, peek=True)
        return dict(found) if found else None

    def _execute(self, job_id: str, job: Preprocess) -> None:
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

    def _report(self, job_id: str, report: dict[str, Any]) -> None:
        self.huey.put(JOB_PREFIX + job_id, {"id": job_id, **report})

    def recover(self) -> None:
        """Mark failed the jobs left running by consumers that stopped noting that they live (a
        killed process). They are not run again: a job that killed one process may kill the next."""
        now = time.time()
        stored = {
            key: self.huey.serializer.deserialize(raw)
            for key, raw in self.huey.all_results().items()
            if key.startswith((JOB_PREFIX, BEAT_PREFIX))
        }
        alive = {
            key
            for key, beat in stored.items()
            if key.startswith(BEAT_PREFIX) and now - beat <= LOST_AFTER_S
        }
        for key, report in stored.items():
            running = key.startswith(JOB_PREFIX) and report.get("status") == "running"
            if running and BEAT_PREFIX + str(report.get("consumer")) not in alive:
                lost = ImgproxyError("interrupted: the process running the job stopped")
                self._report(report["id"], {**report, "status": "failed", **lost.to_dict()})
            elif key.startswith(BEAT_PREFIX) and key not in alive:
                self.huey.delete(key)

    def _beat(self) -> None:
        self.huey.put(BEAT_PREFIX + self.consumer_id, time.time())
        self.recover()

    def _keep_beating(self) -> None:
        # The first beat comes before any job of ours runs, so no other consumer takes it as lost.
        self._beat()
        threading.Thread(target=self._beat_until_stopped, name="jobs-beat", daemon=True).start()

    def _beat_until_stopped(self) -> None:
        while not self._stopping.wait(BEAT_EVERY_S):
            try:
                self._beat()
            except Exception:
                log.exception("jobs: the heartbeat failed")

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
        self.huey.delete(BEAT_PREFIX + self.consumer_id)


def _failure(exc: Exception) -> ImgproxyError:
    """The error a failed job reports; one we did not foresee is logged with its traceback."""
    if isinstance(exc, ImgproxyError):
        return exc
    log.error("a job failed unexpectedly", exc_info=exc)
    return ImgproxyError(f"the job failed unexpectedly ({type(exc).__name__}); it has been logged")
