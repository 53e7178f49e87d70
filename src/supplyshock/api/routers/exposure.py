"""``GET /exposure`` (which measures reach each plant of a built-in scenario, along which paths)
and ``POST /survival/measure`` (what one measure's cut does to each plant).

Only built-in scenario names are accepted: a path on the server's disk is never read over HTTP.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError

from supplyshock.analysis.exposure import ExposureReport
from supplyshock.api.deps import PrincipalDep, SessionDep
from supplyshock.services.errors import InvalidRequest
from supplyshock.services.exposure import exposure_report
from supplyshock.services.registry_store import published_registry
from supplyshock.services.requests import MeasureSurvivalRequest

router = APIRouter(tags=["analytics"])


@router.get("/exposure", response_model=ExposureReport, summary="Exposure of a built-in network")
def get_exposure(
    _who: PrincipalDep,
    session: SessionDep,
    on: Annotated[date, Query(alias="date", description="Evaluate the measures on this day.")],
    scenario: Annotated[str, Query(max_length=64, description="A built-in scenario.")] = (
        "auto-2025"
    ),
    as_of: Annotated[date | None, Query(description="Only what was announced by then.")] = None,
    plant: Annotated[str | None, Query(max_length=64, description="Only this plant.")] = None,
) -> ExposureReport:
    # Built-in names only (no allow_files): "../x" must not reach the file system.
    # The registry as published in the database (and, for as_of, as recorded by then).
    registry = published_registry(session=session, as_of=as_of)
    return exposure_report(scenario=scenario, on=on, as_of=as_of, plant=plant, registry=registry)


@router.post(
    "/survival/measure",
    summary="Cut every lane one measure blocks on one day: TTS and loss per plant",
)
def survival_by_measure(body: MeasureSurvivalRequest, _who: PrincipalDep) -> dict[str, Any]:
    """The document of ``supplyshock survival --measure M --date D --json`` (one LP per plant:
    fast enough to answer inline; the sweeps over every node are jobs, see ``/jobs``)."""
    from supplyshock.services.survival import survival_by_measure as service

    try:
        return service(body)
    except InvalidRequest as e:
        raise RequestValidationError(
            [{"loc": ("body", e.field), "msg": e.detail, "type": "value_error"}]
        ) from None
