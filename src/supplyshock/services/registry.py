"""Registry use cases: the timeline of measure events, and what applies to one shipment."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from pydantic import BaseModel

from supplyshock.domain.codes import check_hs_code, normalise_hs
from supplyshock.domain.controls import Effect, Item, Registry, TimelineEntry
from supplyshock.services.errors import InvalidRequest


def item_hs(value: str) -> str:
    """A shipment's HS code; national 8- or 10-digit tariff lines are cut to their HS6 root.

    Raises ``ValueError`` for a malformed code (callers name their own field).
    """
    norm = normalise_hs(value)
    if norm.isdigit() and len(norm) in (8, 10):
        norm = norm[:6]
    return check_hs_code(norm)


class NotInForce(BaseModel):
    """A measure that would reach the shipment but does not apply that day."""

    measure_id: str
    title: str
    status: str  # announced, suspended, or lifted/expired by an unconfirmed scheduled change
    suspended_until: date | None
    event: str | None
    certainty: str = "confirmed"  # or "scheduled_unconfirmed" (see Effect.certainty)
    uncertainty: str | None = None  # plain words: which scheduled change is unconfirmed
    last_reviewed: date | None = None
    staleness: str = "current"  # "stale" when the date asked about is past last_reviewed
    staleness_warning: str | None = None


@dataclass(frozen=True)
class ShipmentAnswer:
    effects: list[Effect]
    not_in_force: list[NotInForce]


def timeline(
    registry: Registry,
    *,
    start: date | None = None,
    end: date | None = None,
    issuer: str | None = None,
    kind: str | None = None,
    element: str | None = None,
    hs_code: str | None = None,
) -> list[TimelineEntry]:
    """Registry events in date order, filtered; ``end`` before ``start`` is refused."""
    if start and end and end < start:
        raise InvalidRequest("to", f"{end} is before 'from' {start}")
    return registry.timeline(
        start=start, end=end, issuer=issuer, kind=kind, element=element, hs_code=hs_code
    )


def check_shipment(
    registry: Registry,
    *,
    on: date,
    item: Item,
    origin: str | None,
    destination: str | None,
    sector: str | None = None,
    as_of: date | None = None,
) -> ShipmentAnswer:
    """The measures in force for one shipment on ``on``, and those on record not applying."""
    found = registry.in_force(on, item, origin, destination, sector, as_of=as_of)
    return ShipmentAnswer(found, not_in_force(registry, on, as_of, item, origin, destination))


def not_in_force(
    registry: Registry,
    on: date,
    as_of: date | None,
    item: Item,
    origin: str | None,
    destination: str | None,
) -> list[NotInForce]:
    """Measures that would reach the shipment but do not apply that day (announced, suspended).

    A risk manager wants to see these: an announced start date or a suspension's end is a
    date their plan depends on.
    """
    return [
        NotInForce(**asdict(p))
        for p in registry.not_applying(on, item, origin, destination, as_of=as_of)
    ]
