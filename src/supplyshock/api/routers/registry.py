"""``/registry``: the measure registry's timeline and the in-force check for one shipment.

Reads are for any authenticated caller and use the registry published in the database
(services/registry_store.py; no file paths over HTTP). They call the same services as
``supplyshock timeline`` and ``supplyshock check``. Editors record drafts, which a second
editor approves (routers/registry_edit.py); the change feed is public to every caller.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from supplyshock.api.deps import PrincipalDep, SessionDep
from supplyshock.api.pagination import Page, PageDep, paginate
from supplyshock.domain.codes import check_country, check_element, check_hs_prefix
from supplyshock.domain.controls import (
    Certainty,
    Effect,
    EffectKind,
    Item,
    MeasureKind,
    Registry,
    Source,
    Staleness,
    TimelineEntry,
)
from supplyshock.services import registry as service
from supplyshock.services.registry import NotInForce, item_hs
from supplyshock.services.registry_store import published_registry

router = APIRouter(prefix="/registry", tags=["registry"])

Country = Annotated[str, Field(min_length=2, max_length=2), AfterValidator(check_country)]


@router.get("/timeline", response_model=Page[TimelineEntry], summary="Registry events by date")
def timeline(
    _who: PrincipalDep,
    session: SessionDep,
    page: PageDep,
    issuer: Annotated[
        str | None, Query(max_length=100, description="Jurisdiction or authority, e.g. CN.")
    ] = None,
    kind: MeasureKind | None = None,
    element: Annotated[
        str | None, Query(max_length=3), AfterValidator(lambda v: v and check_element(v))
    ] = None,
    hs: Annotated[
        str | None,
        Query(max_length=12, description="HS chapter, heading or subheading."),
        AfterValidator(lambda v: v and check_hs_prefix(v)),
    ] = None,
    start: Annotated[dt.date | None, Query(alias="from")] = None,
    end: Annotated[dt.date | None, Query(alias="to")] = None,
) -> Page[TimelineEntry]:
    entries = service.timeline(
        published_registry(session=session),
        start=start,
        end=end,
        issuer=issuer,
        kind=kind,
        element=element,
        hs_code=hs,
    )
    return paginate(entries, page, lambda t: f"{t.measure_id}/{t.carve_out or ''}/{t.event_id}")


class ShipmentCheck(BaseModel):
    """One shipment on one date: what it is, where from and to, for which sector."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    date: dt.date
    as_of: dt.date | None = Field(None, description="Only use what was known on this date.")
    origin: Country
    destination: Country
    hs_code: Annotated[str | None, Field(max_length=13)] = None
    elements: Annotated[
        dict[Annotated[str, Field(max_length=3)], Annotated[float, Field(ge=0, le=1)] | None],
        Field(max_length=20, description="Contained element -> mass share (null: unknown)."),
    ] = {}
    element_origins: Annotated[list[Country], Field(max_length=20)] = []
    maker: Annotated[str | None, Field(max_length=100)] = None
    made_in: Country | None = None
    part_number: Annotated[str | None, Field(max_length=64)] = None
    sector: Annotated[str | None, Field(max_length=50)] = None

    _hs = field_validator("hs_code")(lambda v: None if v is None else item_hs(v))

    @field_validator("elements")
    @classmethod
    def _elements(cls, v: dict[str, float | None]) -> dict[str, float | None]:
        return {check_element(k): share for k, share in v.items()}

    def item(self) -> Item:
        return Item(
            hs_code=self.hs_code,
            part_number=self.part_number,
            maker=self.maker,
            made_in=self.made_in,
            elements=dict(self.elements),
            element_origins=frozenset(self.element_origins),
        )


class EffectOut(BaseModel):
    """What one measure does to the shipment, with its sources spelled out."""

    measure_id: str
    title: str
    jurisdiction: str
    measure_kind: MeasureKind
    effect: EffectKind
    description: str
    gta_type: str
    reached_by: list[str]
    approval_share: float | None
    review_days: float | None
    tariff_rate_pct: float | None
    quota_t: float | None
    carve_out: str | None
    event: str | None
    sources: list[Source]
    certainty: Certainty = Field(
        description="'scheduled_unconfirmed' when the effect rests on a scheduled change (a "
        "phase-in, a suspension's end) that no source on record confirms"
    )
    uncertainty: str | None = Field(description="Which change is unconfirmed, in plain words")
    last_reviewed: dt.date | None = Field(description="When the measure was last checked")
    staleness: Staleness = Field(description="'stale' when the date asked about is past it")
    staleness_warning: str | None


class CheckResult(BaseModel):
    query: ShipmentCheck
    effects: list[EffectOut]
    not_in_force: list[NotInForce] = Field(
        description="Measures that would reach the shipment but do not apply that day "
        "(announced, suspended): dates a plan depends on."
    )


def _effect_out(reg: Registry, e: Effect) -> EffectOut:
    known = {s.id: s for s in reg.sources}
    fields = asdict(e)
    fields["sources"] = [known[s] for s in e.sources if s in known]
    return EffectOut(
        **fields, description=e.describe(), gta_type=reg.measure(e.measure_id).gta_type
    )


@router.post("/check", response_model=CheckResult, summary="Measures in force for a shipment")
def check(data: ShipmentCheck, _who: PrincipalDep, session: SessionDep) -> CheckResult:
    # as_of also hides editors' changes recorded after that day (bitemporal).
    reg = published_registry(session=session, as_of=data.as_of)
    answer = service.check_shipment(
        reg,
        on=data.date,
        item=data.item(),
        origin=data.origin,
        destination=data.destination,
        sector=data.sector,
        as_of=data.as_of,
    )
    return CheckResult(
        query=data,
        effects=[_effect_out(reg, e) for e in answer.effects],
        not_in_force=answer.not_in_force,
    )
