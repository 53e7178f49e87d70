"""``GET /exposure``: which measures reach each plant of a built-in scenario, and along which paths.

Only built-in scenario names are accepted: a path on the server's disk is never read over HTTP.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from supplyshock.analysis.exposure import ExposureReport, exposure
from supplyshock.api.deps import PrincipalDep
from supplyshock.data import builtin_network, builtin_registry, scenario_names
from supplyshock.exchange.errors import NotFound

router = APIRouter(tags=["analytics"])


@router.get("/exposure", response_model=ExposureReport, summary="Exposure of a built-in network")
def get_exposure(
    _who: PrincipalDep,
    on: Annotated[date, Query(alias="date", description="Evaluate the measures on this day.")],
    scenario: Annotated[str, Query(max_length=64, description="A built-in scenario.")] = (
        "auto-2025"
    ),
    as_of: Annotated[date | None, Query(description="Only what was announced by then.")] = None,
    plant: Annotated[str | None, Query(max_length=64, description="Only this plant.")] = None,
) -> ExposureReport:
    # Checked against the list, not resolved as a path: "../x" must not reach the file system.
    if scenario not in scenario_names():
        raise NotFound(f"unknown scenario {scenario!r} (built-in: {', '.join(scenario_names())})")
    network = builtin_network(scenario)
    if plant is not None and plant not in network.index.plants():
        raise NotFound(f"unknown plant {plant!r} (plants: {', '.join(network.index.plants())})")
    return exposure(network, builtin_registry(), on, as_of=as_of, plant=plant)
