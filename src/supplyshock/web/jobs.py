"""The survival page's jobs: the same database jobs as the API's, seen through the cookie.

A job belongs to the signed-in member (or operator) who started it; the page and its progress
poll show it to that owner only. The worker pool that runs them is the server's
(:mod:`supplyshock.jobs.pool`), so a run survives a restart and any server worker serves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request

from supplyshock.exchange.errors import NotFound
from supplyshock.jobs import records
from supplyshock.jobs.records import Kind
from supplyshock.web.common import unit_of_work


@dataclass(frozen=True)
class JobView:
    """What the page shows of one job."""

    id: str
    title: str
    state: str
    done: int
    total: int
    fraction: float
    error: str | None
    result: dict[str, Any] | None

    def status(self) -> dict[str, Any]:
        """The JSON the page polls."""
        return {
            "id": self.id,
            "state": self.state,
            "done": self.done,
            "total": self.total,
            "fraction": self.fraction,
            "error": self.error,
        }


def title(params: dict[str, Any]) -> str:
    sets = [params.get("assumptions", ""), *params.get("compare", [])]
    return (
        f"{params.get('scenario')}: {', '.join(sets)}, {params.get('runs')} draws, "
        f"seed {params.get('seed')}"
    )


def submit(request: Request, owner: str, kind: Kind, params: dict[str, Any]) -> str:
    """Queue a job (``params`` already checked) and wake this server's workers; its id."""
    with unit_of_work(request) as uow:
        job = records.submit(session=uow.session, owner=owner, kind=kind, params=params)
        uow.commit()
        job_id = job.id
    pool = getattr(request.app.state, "jobs", None)
    if pool is not None:
        pool.wake()
    return job_id


def find(request: Request, owner: str | None, job_id: str) -> JobView | None:
    """The owner's job, or None for an unknown id or someone else's (nobody signed in: None)."""
    if owner is None or not job_id:
        return None
    with unit_of_work(request) as uow:
        try:
            job = records.get(session=uow.session, owner=owner, job_id=job_id)
        except NotFound:
            return None
        p = records.public(job)
        return JobView(
            id=job.id,
            title=title(job.params),
            state=job.state,
            done=p.progress.done,
            total=p.progress.total,
            fraction=p.progress.fraction,
            error=job.error,
            result=job.result if job.state == "done" else None,
        )
