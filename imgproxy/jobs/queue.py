"""Jobs on huey: SQLite next to the caches by default (no server), Redis to share machines."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from huey import RedisHuey, SqliteHuey
from huey.api import Huey
from huey.consumer import Consumer

from imgproxy.config import Settings
from imgproxy.errors import ImgproxyError
from imgproxy.jobs.preprocess import Preprocess, Preprocessor

TASK_NAME = "imgproxy.preprocess"


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
        self._task = huey.task(name=TASK_NAME)(self._execute)
        self._consumer: Consumer | None = None

    def submit(self, job: Preprocess) -> str:
        job_id = uuid.uuid4().hex
        self._report(job_id, {"status": "queued", "path": job.path})
        self._task(job_id, job)
        return job_id

    def status(self, job_id: str) -> dict[str, Any] | None:
        found = self.huey.get(_key(job_id), peek=True)
        return dict(found) if found else None

    def _execute(self, job_id: str, job: Preprocess) -> None:
        self._report(job_id, {"status": "running", "path": job.path})
        try:
            rendered, items = self.preprocessor.run(job, strict=False)
        except ImgproxyError as exc:
            self._report(job_id, {"status": "failed", "path": job.path, **exc.to_dict()})
            return
        report = {"status": "done", "path": job.path, "format": rendered.format, "items": items}
        if any(item["status"] == "failed" for item in items):
            report["status"] = "failed"
        self._report(job_id, report)

    def _report(self, job_id: str, report: dict[str, Any]) -> None:
        self.huey.put(_key(job_id), {"id": job_id, **report})

    def start(self, workers: int) -> None:
        """Consume in threads of this process (imgproxy serve)."""
        self._consumer = EmbeddedConsumer(
            self.huey, workers=workers, worker_type="thread", initial_delay=0.05, max_delay=0.5
        )
        self._consumer.start()

    def run(self, workers: int) -> None:
        """Consume in the foreground until a signal stops it (imgproxy worker)."""
        self.huey.create_consumer(workers=workers, worker_type="thread").run()

    def stop(self) -> None:
        if self._consumer is not None:
            self._consumer.stop(graceful=True)


def _key(job_id: str) -> str:
    return f"job:{job_id}"
