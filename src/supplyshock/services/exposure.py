"""The exposure use case: which measures reach each plant's products, along which paths."""

from __future__ import annotations

from datetime import date

from supplyshock.analysis.exposure import ExposureReport, exposure
from supplyshock.domain.controls import Registry
from supplyshock.exchange.errors import NotFound
from supplyshock.services import scenarios
from supplyshock.services.errors import InvalidRequest


def exposure_report(
    *,
    scenario: str,
    on: date,
    as_of: date | None = None,
    plant: str | None = None,
    registry: Registry | None = None,
    allow_files: bool = False,
) -> ExposureReport:
    """The exposure of ``scenario``'s network on ``on`` (as known on ``as_of``).

    An unknown scenario or plant is :class:`NotFound` (404 over HTTP): a name, not a value,
    is wrong.
    """
    from supplyshock.data import builtin_registry

    try:
        network = scenarios.network(scenario, allow_files=allow_files)
    except InvalidRequest as e:
        raise NotFound(e.detail) from None
    plants = network.index.plants()
    if plant is not None and plant not in plants:
        raise NotFound(f"unknown plant {plant!r} (plants: {', '.join(plants)})")
    return exposure(network, registry or builtin_registry(), on, as_of=as_of, plant=plant)
