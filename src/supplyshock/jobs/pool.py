"""The worker pool: threads inside a server process that claim queued jobs and run them.

Several server processes (or hosts) may each run a pool on the same database: claims are
atomic (:func:`~supplyshock.jobs.records.claim`), so every job runs once. Progress is written
at most every :data:`REPORT_EVERY` seconds; a heartbeat thread keeps ``heartbeat_at`` fresh
for long steps that report nothing, and any pool fails running jobs whose heartbeat is older
than ``stale_after`` (their worker died). Computation runs on Dask when a scheduler is given.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from supplyshock.jobs import records
from supplyshock.jobs.kinds import execute
from supplyshock.settings import Settings
from supplyshock.store.db import UnitOfWork

log = logging.getLogger(__name__)

#: Seconds between progress writes of one job (each is a small UPDATE).
REPORT_EVERY = 0.5
#: Seconds between heartbeats of running jobs, and the default age that declares one dead.
HEARTBEAT_EVERY = 10.0
STALE_AFTER = timedelta(seconds=120)


class JobCancelled(Exception):
    """Raised from a progress callback when the owner asked to cancel: unwinds the work."""


class WorkerPool:
    """``threads`` workers on ``session_factory``'s database; :meth:`start` / :meth:`stop`."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        threads: int = 1,
        scheduler: str | None = None,
        poll: float = 1.0,
        stale_after: timedelta = STALE_AFTER,
    ) -> None:
        self._factory = session_factory
        self._threads = threads
        self._scheduler = scheduler
        self._poll = poll
        self._stale_after = stale_after
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._running: dict[str, str] = {}  # job id -> worker name
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    def start(self) -> None:
        """Fail jobs orphaned by dead workers, then start the workers and the heartbeat."""
        self.recover()
        if self._threads < 1:
            return
        for k in range(self._threads):
            t = threading.Thread(
                target=self._work, args=(f"{self.name}/{k}",), name=f"job-worker-{k}", daemon=True
            )
            t.start()
            self._workers.append(t)
        beat = threading.Thread(target=self._beat, name="job-heartbeat", daemon=True)
        beat.start()
        self._workers.append(beat)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop taking jobs. A job still running keeps its thread (daemon) until it ends or the
        process exits; then its heartbeat stops and the next pool to start fails it."""
        self._stop.set()
        self._wake.set()
        for t in self._workers:
            t.join(timeout)
        self._workers.clear()

    def wake(self) -> None:
        """A job was just queued: look now rather than at the next poll."""
        self._wake.set()

    def recover(self) -> int:
        with UnitOfWork(self._factory) as uow:
            n = records.recover(session=uow.session, stale_after=self._stale_after)
            uow.commit()
        if n:
            log.warning("failed %d job(s) whose worker stopped", n)
        return n

    # -- threads ----------------------------------------------------------------------------

    def _work(self, worker: str) -> None:
        while not self._stop.is_set():
            try:
                ran = self.run_one(worker)
            except Exception:  # the database was unreachable: log, wait, try again
                log.exception("job worker %s could not claim a job", worker)
                ran = False
            if not ran:
                self._wake.wait(self._poll)
                self._wake.clear()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_EVERY):
            try:
                with self._lock:
                    ids = list(self._running)
                with UnitOfWork(self._factory) as uow:
                    records.heartbeat(session=uow.session, job_ids=ids)
                    records.recover(session=uow.session, stale_after=self._stale_after)
                    uow.commit()
            except Exception:
                log.exception("job heartbeat failed")

    def run_one(self, worker: str | None = None) -> bool:
        """Claim and run one queued job here; False when none is queued."""
        worker = worker or f"{self.name}/inline"
        with UnitOfWork(self._factory) as uow:
            job = records.claim(session=uow.session, worker=worker)
            uow.commit()
            if job is None:
                return False
            job_id, kind, params = job.id, job.kind, dict(job.params)
        with self._lock:
            self._running[job_id] = worker
        try:
            self._run(job_id, kind, params)
        finally:
            with self._lock:
                self._running.pop(job_id, None)
        return True

    def _run(self, job_id: str, kind: str, params: dict[str, object]) -> None:
        last = [0.0]

        def progress(done: int, total: int) -> None:
            if time.monotonic() - last[0] < REPORT_EVERY and done < total:
                return
            last[0] = time.monotonic()
            try:
                with UnitOfWork(self._factory) as uow:
                    stop = records.report(
                        session=uow.session, job_id=job_id, done=done, total=total
                    )
                    uow.commit()
            except Exception:  # progress is best effort: a busy database must not fail the job
                log.warning("job %s: progress not recorded", job_id, exc_info=True)
                return
            if stop:
                raise JobCancelled

        state: records.State = "done"
        result, error = None, None
        try:
            # The registry as published in the database when the job starts, as the API's
            # check and exposure read it (the built-in files while nothing is published).
            from supplyshock.services.registry_store import published_registry

            with UnitOfWork(self._factory) as uow:
                registry = published_registry(session=uow.session)
            result = execute(
                kind,
                dict(params),
                scheduler=self._scheduler,
                progress=progress,
                registry=registry,
            )
        except JobCancelled:
            state = "cancelled"
        except Exception as exc:  # recorded on the job: the worker must outlive a bad run
            log.exception("job %s failed", job_id)
            state, error = "failed", f"{type(exc).__name__}: {exc}"
        with UnitOfWork(self._factory) as uow:
            records.finish(
                session=uow.session, job_id=job_id, state=state, result=result, error=error
            )
            uow.commit()


class ServerPool(WorkerPool):
    """A server process's pool, on an engine of its own: the jobs never take a connection
    from the requests' pool (whose size bounds the requests admitted, http/transactions.py)."""

    def __init__(self, settings: Settings) -> None:
        from supplyshock.store.db import make_server_engine, make_session_factory

        size = settings.job_workers + 2  # the workers, the heartbeat, one spare
        self._engine = make_server_engine(settings.model_copy(update={"db_pool_size": size}))
        super().__init__(
            make_session_factory(self._engine),
            threads=settings.job_workers,
            scheduler=settings.dask_scheduler,
        )

    def stop(self, timeout: float = 5.0) -> None:
        super().stop(timeout)
        self._engine.dispose()


def start_pool(settings: Settings) -> ServerPool:
    """The pool of a server process, started (called from the app's lifespan)."""
    pool = ServerPool(settings)
    pool.start()
    return pool
