"""Background Monte Carlo runs for the survival page: one worker thread, progress polled by JS."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Job:
    id: str
    title: str
    state: str = "queued"  # queued, running, done, failed
    done: int = 0
    total: int = 1
    error: str | None = None
    result: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def progress(self, done: int, total: int) -> None:
        with self.lock:
            self.done, self.total = done, max(total, 1)

    def status(self) -> dict[str, Any]:
        with self.lock:
            return {
                "id": self.id,
                "state": self.state,
                "done": self.done,
                "total": self.total,
                "fraction": min(self.done / self.total, 1.0),
                "error": self.error,
            }


class JobRunner:
    """Runs work one job at a time off the request thread and keeps the last few results."""

    def __init__(self, keep: int = 20) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="supplyshock-web-job")
        self._jobs: dict[str, Job] = {}
        self._keep = keep

    def submit(self, title: str, work: Callable[[Job], Any]) -> Job:
        job = Job(id=uuid.uuid4().hex[:12], title=title)
        self._jobs[job.id] = job
        for old in list(self._jobs)[: -self._keep]:
            del self._jobs[old]

        def run() -> None:
            job.state = "running"
            try:
                job.result = work(job)
                job.state = "done"
            except Exception as exc:  # shown on the page: the worker must outlive a bad run
                job.error = f"{type(exc).__name__}: {exc}"
                job.state = "failed"

        self._pool.submit(run)
        return job

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)
