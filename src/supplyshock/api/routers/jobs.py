"""``/jobs``: survival sweeps and Monte Carlo runs as jobs: submit, follow, cancel, fetch.

A job belongs to whoever submitted it (the member, or the operator): anyone else gets 404.
The request bodies are the services' own request models, so the limits and their 422s are the
ones the CLI and the web pages apply (docs/jobs.md).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError

from supplyshock.api.deps import PrincipalDep, SessionDep
from supplyshock.jobs import records
from supplyshock.jobs.kinds import check
from supplyshock.jobs.records import JobPublic, Kind
from supplyshock.services.errors import InvalidRequest
from supplyshock.services.requests import MonteCarloRequest, SurvivalRequest

router = APIRouter(prefix="/jobs", tags=["jobs"])


def _submit(
    request: Request, session: SessionDep, who: PrincipalDep, kind: Kind, body: Any
) -> JobPublic:
    try:
        params = check(kind, body.model_dump(mode="json"))
    except InvalidRequest as e:
        # The same 422 shape as a bound violated in the body: the field is named.
        raise RequestValidationError(
            [{"loc": ("body", e.field), "msg": e.detail, "type": "value_error"}]
        ) from None
    job = records.submit(session=session, owner=records.owner_of(who), kind=kind, params=params)
    out = records.public(job)
    pool = getattr(request.app.state, "jobs", None)
    if pool is not None:
        session.commit()  # visible to the workers before they are woken
        pool.wake()
    return out


@router.post("/survival", status_code=202, response_model=JobPublic, summary="Queue a sweep")
def submit_survival(
    body: SurvivalRequest, request: Request, session: SessionDep, who: PrincipalDep
) -> JobPublic:
    """Disrupt every node (or site) of a built-in scenario: TTS, TTR, impact and REI."""
    return _submit(request, session, who, "survival", body)


@router.post("/montecarlo", status_code=202, response_model=JobPublic, summary="Queue a run")
def submit_montecarlo(
    body: MonteCarloRequest, request: Request, session: SessionDep, who: PrincipalDep
) -> JobPublic:
    """Draw futures of one or more assumption sets of a built-in scenario, same seed for all."""
    return _submit(request, session, who, "montecarlo", body)


@router.get("/{job_id}", response_model=JobPublic, summary="A job's state and progress")
def get_job(job_id: str, session: SessionDep, who: PrincipalDep) -> JobPublic:
    return records.public(records.get(session=session, owner=records.owner_of(who), job_id=job_id))


@router.post("/{job_id}/cancel", response_model=JobPublic, summary="Cancel a job")
def cancel_job(job_id: str, session: SessionDep, who: PrincipalDep) -> JobPublic:
    """A queued job is cancelled at once; a running one stops at its next progress report."""
    job = records.cancel(session=session, owner=records.owner_of(who), job_id=job_id)
    return records.public(job)


@router.get("/{job_id}/result", summary="A finished job's result (409 until it is done)")
def job_result(job_id: str, session: SessionDep, who: PrincipalDep) -> dict[str, Any]:
    return records.result(session=session, owner=records.owner_of(who), job_id=job_id)
