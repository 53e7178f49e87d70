"""Job records: submit, read (owner only), claim, report progress, finish, cancel, recover.

Every function takes a session and leaves the commit to its caller's unit of work, except the
worker-side ones (:func:`claim`, :func:`report`, :func:`finish`), which the pool calls inside
short transactions of their own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from supplyshock.exchange.errors import Conflict, NotFound
from supplyshock.exchange.schemas import Principal
from supplyshock.services import limits
from supplyshock.store.models import JobRecord

Kind = Literal["survival", "montecarlo"]
State = Literal["queued", "running", "done", "failed", "cancelled"]
FINAL = ("done", "failed", "cancelled")
#: Owner of jobs started from the command line or the local demo, with no token behind them.
LOCAL = "local"


def now() -> datetime:
    return datetime.now(UTC)


def owner_of(principal: Principal | None) -> str:
    """The owner a principal's jobs get: the member (any of its tokens), or the operator."""
    if principal is None:
        return LOCAL
    if principal.role == "member":
        return f"member:{principal.member_id}"
    if principal.role == "editor":  # an editor is not the operator: its jobs are its own
        return f"editor:{principal.token_id}"
    return "operator"


class Progress(BaseModel):
    done: int
    total: int
    fraction: float


class JobPublic(BaseModel):
    """What the owner sees of a job; the result is fetched on its own (it may be large)."""

    id: str
    kind: Kind
    state: State
    progress: Progress
    params: dict[str, Any]
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def public(job: JobRecord) -> JobPublic:
    total = max(job.total, 1)
    done = total if job.state == "done" else min(job.done, total)
    return JobPublic(
        id=job.id,
        kind=job.kind,
        state=job.state,
        progress=Progress(done=done, total=total, fraction=done / total),
        params=job.params,
        error=job.error,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


def submit(*, session: Session, owner: str, kind: Kind, params: dict[str, Any]) -> JobRecord:
    """A queued job; ``params`` is the request as JSON (checked by the caller).

    Refused (:class:`Conflict`, ``too_many_jobs``) while the owner already has
    :data:`~supplyshock.services.limits.MAX_ACTIVE_JOBS` queued or running: one member cannot
    fill the queue. (Two submissions at the same instant may both pass: a soft bound.)
    """
    active = session.scalar(
        select(func.count())
        .select_from(JobRecord)
        .where(JobRecord.owner == owner, JobRecord.state.in_(("queued", "running")))
    )
    if (active or 0) >= limits.MAX_ACTIVE_JOBS:
        raise Conflict(
            f"{active} jobs already queued or running (at most {limits.MAX_ACTIVE_JOBS}): "
            "wait for one to end or cancel one",
            code="too_many_jobs",
        )
    job = JobRecord(kind=kind, owner=owner, state="queued", params=params, done=0, total=1)
    job.cancel_requested = False
    session.add(job)
    session.flush()
    return job


def get(*, session: Session, owner: str | None, job_id: str) -> JobRecord:
    """The owner's job; anyone else's (or none) is :class:`NotFound`, so ids leak nothing.

    ``owner=None`` is the command line's reading: whoever reaches the database sees every job.
    """
    job = session.get(JobRecord, job_id) if len(job_id) <= 32 else None
    if job is None or (owner is not None and job.owner != owner):
        raise NotFound(f"unknown job {job_id!r}")
    return job


def result(*, session: Session, owner: str | None, job_id: str) -> dict[str, Any]:
    job = get(session=session, owner=owner, job_id=job_id)
    if job.state != "done" or job.result is None:
        raise Conflict(f"job {job_id} is {job.state}: no result", code="job_not_done")
    return job.result


def cancel(*, session: Session, owner: str | None, job_id: str) -> JobRecord:
    """Cancel a queued job at once; ask a running one to stop (at its next progress report).

    Cancelling a finished job changes nothing.
    """
    job = get(session=session, owner=owner, job_id=job_id)
    session.execute(
        update(JobRecord)
        .where(JobRecord.id == job_id, JobRecord.state == "queued")
        .values(state="cancelled", finished_at=now())
    )
    session.execute(
        update(JobRecord)
        .where(JobRecord.id == job_id, JobRecord.state == "running")
        .values(cancel_requested=True)
    )
    session.refresh(job)
    return job


# -- the worker's side ------------------------------------------------------------------------


def claim(*, session: Session, worker: str) -> JobRecord | None:
    """Take the oldest queued job for ``worker``, or None.

    On PostgreSQL the candidate row is locked with ``FOR UPDATE SKIP LOCKED``, so concurrent
    workers take different jobs without waiting on each other; on SQLite the transaction holds
    the write lock (``BEGIN IMMEDIATE``). The ``state = 'queued'`` guard on the UPDATE makes the
    claim atomic on both: a row someone else took in between is not taken again.
    """
    job_id = session.scalars(
        select(JobRecord.id)
        .where(JobRecord.state == "queued")
        .order_by(JobRecord.created_at, JobRecord.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if job_id is None:
        return None
    t = now()
    took = session.execute(
        update(JobRecord)
        .where(JobRecord.id == job_id, JobRecord.state == "queued")
        .values(state="running", worker=worker, started_at=t, heartbeat_at=t)
    )
    if took.rowcount != 1:  # type: ignore[attr-defined]
        return None
    job = session.get(JobRecord, job_id, populate_existing=True)
    assert job is not None
    return job


def report(*, session: Session, job_id: str, done: int, total: int) -> bool:
    """Record progress (and that the worker lives); True when the owner asked to cancel."""
    session.execute(
        update(JobRecord)
        .where(JobRecord.id == job_id, JobRecord.state == "running")
        .values(done=max(done, 0), total=max(total, 1), heartbeat_at=now())
    )
    flag = session.scalar(select(JobRecord.cancel_requested).where(JobRecord.id == job_id))
    return bool(flag)


def heartbeat(*, session: Session, job_ids: list[str]) -> None:
    if job_ids:
        session.execute(
            update(JobRecord)
            .where(JobRecord.id.in_(job_ids), JobRecord.state == "running")
            .values(heartbeat_at=now())
        )


def finish(
    *,
    session: Session,
    job_id: str,
    state: State,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    """Close a running job as done (with its result), failed or cancelled."""
    values: dict[str, Any] = {"state": state, "finished_at": now(), "error": error}
    if result is not None:
        values["result"] = result
    session.execute(
        update(JobRecord).where(JobRecord.id == job_id, JobRecord.state == "running").values(values)
    )


def recover(*, session: Session, stale_after: timedelta) -> int:
    """Fail running jobs whose worker has not reported for ``stale_after``: it died.

    They are failed, not re-queued: a job that kills its worker (memory, a native crash) would
    otherwise kill every worker in turn. The owner can submit it again.
    """
    res = session.execute(
        update(JobRecord)
        .where(JobRecord.state == "running", JobRecord.heartbeat_at < now() - stale_after)
        .values(
            state="failed",
            finished_at=now(),
            error="the worker running this job stopped (server restart or crash); submit again",
        )
    )
    return int(res.rowcount)  # type: ignore[attr-defined]
