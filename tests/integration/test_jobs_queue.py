"""The job queue on SQLite and PostgreSQL: atomic claims, progress, cancel, dead workers.

Each backend gets a database of its own (no server pool runs on it), so the queue holds only
this module's jobs and every claim is predictable.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from supplyshock.exchange.errors import Conflict, NotFound
from supplyshock.jobs import records
from supplyshock.jobs.pool import WorkerPool
from supplyshock.services.limits import MAX_ACTIVE_JOBS
from supplyshock.store.db import UnitOfWork, make_engine, make_session_factory
from supplyshock.store.migrate import upgrade
from supplyshock.store.models import JobRecord
from tests.integration.conftest import PG_ADMIN_URL, _postgres_database

MC = {"scenario": "auto-2025", "assumptions": "baseline", "runs": 40, "seed": 1, "horizon": 30}


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def factory(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[sessionmaker[Session]]:
    def on(url: str) -> Iterator[sessionmaker[Session]]:
        upgrade(url)
        engine = make_engine(url)
        try:
            yield make_session_factory(engine)
        finally:
            engine.dispose()

    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("jobs") / "jobs.db"
        yield from on(f"sqlite:///{path}")
        return
    for url in _postgres_database(PG_ADMIN_URL):
        yield from on(url)


def submit(factory: sessionmaker[Session], owner: str, params: dict[str, object] = MC) -> str:
    with UnitOfWork(factory) as uow:
        job = records.submit(session=uow.session, owner=owner, kind="montecarlo", params=params)
        uow.commit()
    return job.id


def state(factory: sessionmaker[Session], job_id: str) -> JobRecord:
    with UnitOfWork(factory) as uow:
        job = records.get(session=uow.session, owner=None, job_id=job_id)
        uow.session.expunge(job)  # readable after the unit of work ends
        return job


def test_concurrent_workers_claim_every_job_exactly_once(
    factory: sessionmaker[Session],
) -> None:
    ids = {submit(factory, f"owner-{k}") for k in range(12)}
    taken: list[str] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while True:
            with UnitOfWork(factory) as uow:
                job = records.claim(session=uow.session, worker=name)
                uow.commit()
            if job is None:
                return
            with lock:
                taken.append(job.id)
            with UnitOfWork(factory) as uow:
                records.finish(session=uow.session, job_id=job.id, state="done", result={})
                uow.commit()

    threads = [threading.Thread(target=worker, args=(f"w{k}",)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(taken) == len(ids) and set(taken) == ids  # 12 claims, 12 distinct jobs


def test_a_worker_runs_a_job_to_done_with_progress_and_result(
    factory: sessionmaker[Session],
) -> None:
    job_id = submit(factory, "local")
    assert WorkerPool(factory, threads=0).run_one() is True
    job = state(factory, job_id)
    assert job.state == "done" and job.done == job.total and job.error is None
    assert job.result is not None
    assert [s["scenario"] for s in job.result["scenarios"]] == ["baseline"]
    assert WorkerPool(factory, threads=0).run_one() is False  # the queue is empty


def test_a_running_job_whose_worker_died_is_failed_when_a_pool_starts(
    factory: sessionmaker[Session],
) -> None:
    dead, alive = submit(factory, "local"), submit(factory, "local")
    with UnitOfWork(factory) as uow:
        for job_id, age in ((dead, timedelta(hours=1)), (alive, timedelta(seconds=1))):
            job = uow.session.get(JobRecord, job_id)
            assert job is not None
            job.state, job.worker = "running", "gone/0"
            job.heartbeat_at = records.now() - age
        uow.commit()
    pool = WorkerPool(factory, threads=0, stale_after=timedelta(minutes=2))
    pool.start()  # threads=0: recovery only
    assert state(factory, dead).state == "failed"
    assert "worker" in (state(factory, dead).error or "")
    assert state(factory, alive).state == "running"  # its worker still reports
    with UnitOfWork(factory) as uow:
        records.finish(session=uow.session, job_id=alive, state="failed", error="test")
        uow.commit()


def test_cancel_stops_a_queued_job_at_once_and_a_running_one_at_its_next_report(
    factory: sessionmaker[Session],
) -> None:
    queued = submit(factory, "local")
    with UnitOfWork(factory) as uow:
        records.cancel(session=uow.session, owner="local", job_id=queued)
        uow.commit()
    assert state(factory, queued).state == "cancelled"

    running = submit(factory, "local")
    pool = WorkerPool(factory, threads=0)
    with UnitOfWork(factory) as uow:
        job = records.claim(session=uow.session, worker="test")
        uow.commit()
    assert job is not None and job.id == running
    with UnitOfWork(factory) as uow:
        records.cancel(session=uow.session, owner="local", job_id=running)
        uow.commit()
    assert state(factory, running).state == "running"  # asked, not yet stopped
    pool._run(running, "montecarlo", dict(MC))  # its first progress report sees the request
    job = state(factory, running)
    assert job.state == "cancelled" and job.result is None
    with UnitOfWork(factory) as uow, pytest.raises(Conflict):
        records.result(session=uow.session, owner="local", job_id=running)


def test_another_owner_cannot_see_or_cancel_a_job(factory: sessionmaker[Session]) -> None:
    owner = f"member:{uuid.uuid4().hex}"
    mine = submit(factory, owner)
    with UnitOfWork(factory) as uow:
        for call in (records.get, records.cancel, records.result):
            with pytest.raises(NotFound):
                call(session=uow.session, owner="member:someone-else", job_id=mine)
        uow.commit()
    assert state(factory, mine).state == "queued"  # the stranger's cancel changed nothing
    with UnitOfWork(factory) as uow:
        records.cancel(session=uow.session, owner=owner, job_id=mine)
        uow.commit()


def test_one_owner_cannot_fill_the_queue(factory: sessionmaker[Session]) -> None:
    owner = f"member:{uuid.uuid4().hex}"
    mine = [submit(factory, owner) for _ in range(MAX_ACTIVE_JOBS)]
    with pytest.raises(Conflict) as refused:
        submit(factory, owner)
    assert refused.value.code == "too_many_jobs"
    submit(factory, "member:someone-else")  # others are not held up by it
    with UnitOfWork(factory) as uow:
        records.cancel(session=uow.session, owner=owner, job_id=mine[0])
        uow.commit()
    mine.append(submit(factory, owner))  # one ended: room for one more
    with UnitOfWork(factory) as uow:
        for job_id in mine[1:]:
            records.cancel(session=uow.session, owner=owner, job_id=job_id)
        for job in uow.session.query(JobRecord).filter_by(owner="member:someone-else"):
            records.cancel(session=uow.session, owner=job.owner, job_id=job.id)
        uow.commit()


@pytest.mark.parametrize(
    ("kind", "params"),
    [("survival", {"scenario": "auto-2025", "level": "site"}), ("montecarlo", MC)],
)
def test_a_worker_with_a_dask_scheduler_gives_the_local_numbers(
    factory: sessionmaker[Session], kind: records.Kind, params: dict[str, object]
) -> None:
    from distributed import LocalCluster

    from supplyshock.jobs.kinds import execute

    local = execute(kind, dict(params))
    with UnitOfWork(factory) as uow:
        job = records.submit(session=uow.session, owner="local", kind=kind, params=params)
        uow.commit()
        job_id = job.id
    with LocalCluster(  # type: ignore[no-untyped-call]
        processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
    ) as cluster:
        pool = WorkerPool(factory, threads=0, scheduler=cluster.scheduler_address)
        assert pool.run_one() is True
    job = state(factory, job_id)
    assert job.state == "done", job.error
    assert job.result == local


def test_a_worker_reads_the_registry_published_in_the_database(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    from supplyshock.exchange.schemas import Principal
    from supplyshock.jobs import pool as pool_module
    from supplyshock.services import registry_drafts as drafts
    from supplyshock.services import registry_store as store

    alice = Principal(role="editor", token_id="alice")
    bob = Principal(role="editor", token_id="bob")
    with UnitOfWork(factory) as uow:
        store.sync_registry(session=uow.session, actor=Principal.local_operator())
        body = {"id": "jobs-src", "publisher": "Gazette", "title": "T", "published": "2026-11-30"}
        seq = drafts.create_draft(session=uow.session, actor=alice, entity="source", body=body).seq
        drafts.approve_draft(session=uow.session, actor=bob, draft_seq=seq)
        uow.commit()
    seen: list[object] = []

    def fake_execute(kind: str, params: dict[str, object], **kw: object) -> dict[str, object]:
        seen.append(kw["registry"])
        return {"scenarios": []}

    monkeypatch.setattr(pool_module, "execute", fake_execute)
    job_id = submit(factory, "local")
    assert WorkerPool(factory, threads=0).run_one() is True
    assert state(factory, job_id).state == "done"
    [registry] = seen
    # The source an editor published is in what the job ran on; the built-in files lack it.
    assert "jobs-src" in [s.id for s in registry.sources]  # type: ignore[attr-defined]
