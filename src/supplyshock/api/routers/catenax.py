"""``/catenax``: members post the Catena-X payloads their systems already produce.

The request body is the payload itself, unchanged; what a listing needs beyond it (crisis,
region, provenance) comes as query parameters. A payload that fails its schema or cannot be
mapped gets 422 ``invalid_payload`` with every problem and its JSON path in ``details`` (the
generic error handler passes an error's ``details`` on). A listing created or changed here is
matched against the open pool at once, as on ``/listings``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, status

from supplyshock.api.deps import PrincipalDep, SessionDep
from supplyshock.exchange import catenax, matching
from supplyshock.exchange.catenax import ImportOptions, TwinPublic, TwinsCreate
from supplyshock.exchange.schemas import MAX_QUANTITY, ListingPublic

router = APIRouter(prefix="/catenax", tags=["catena-x (member)"])

Payload = Annotated[dict[str, Any], Body(description="the Catena-X aspect payload, as sent")]
CrisisId = Annotated[str, Query(min_length=1, max_length=32)]
_INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "invalid payload or options; each problem with its path"}
}


def import_options(
    crisis_id: CrisisId,
    region: Annotated[str, Query(max_length=32, description="coarse region, e.g. europe")],
    part_family: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    quantity: Annotated[
        int | None, Query(gt=0, le=MAX_QUANTITY, description="at most this many")
    ] = None,
    window_start: date | None = None,
    window_end: date | None = None,
    expires_at: datetime | None = None,
    date_code: Annotated[str | None, Query(max_length=4)] = None,
    max_lots: Annotated[int | None, Query(ge=1, le=10_000)] = None,
    authorised_channel: bool = False,
    original_packaging: bool = False,
    traceability: bool = False,
    margin_per_unit: Annotated[float | None, Query(ge=0, le=10**9)] = None,
) -> ImportOptions:
    return ImportOptions(
        crisis_id=crisis_id,
        region=region,
        part_family=part_family,
        quantity=quantity,
        window_start=window_start,
        window_end=window_end,
        expires_at=expires_at,
        date_code=date_code,
        max_lots=max_lots,
        authorised_channel=authorised_channel,
        original_packaging=original_packaging,
        traceability=traceability,
        margin_per_unit=margin_per_unit,
    )


OptionsDep = Annotated[ImportOptions, Depends(import_options)]


@router.post(
    "/twins",
    response_model=list[TwinPublic],
    summary="Map my material twin ids (materialGlobalAssetId) to part numbers",
)
def register_twins(data: TwinsCreate, session: SessionDep, who: PrincipalDep) -> list[TwinPublic]:
    return catenax.register_twins(session=session, actor=who, data=data)


@router.get("/twins", response_model=list[TwinPublic], summary="My material twin mappings")
def list_twins(session: SessionDep, who: PrincipalDep) -> list[TwinPublic]:
    return catenax.list_twins(session=session, actor=who)


@router.post(
    "/item-stock",
    response_model=ListingPublic,
    status_code=status.HTTP_201_CREATED,
    responses=_INVALID,
    summary="Offer my unblocked stock from an Item Stock (CX-0122) payload",
)
def offer_from_item_stock(
    payload: Payload, session: SessionDep, who: PrincipalDep, options: OptionsDep
) -> ListingPublic:
    listing = catenax.offer_from_item_stock(
        session=session, actor=who, payload=payload, options=options
    )
    return matching.match_written(session=session, actor=who, listing=listing)


@router.post(
    "/short-term-material-demand",
    response_model=ListingPublic,
    status_code=status.HTTP_201_CREATED,
    responses=_INVALID,
    summary="Post a need from a Short-Term Material Demand (CX-0120) payload",
)
def need_from_short_term_demand(
    payload: Payload, session: SessionDep, who: PrincipalDep, options: OptionsDep
) -> ListingPublic:
    listing = catenax.need_from_short_term_demand(
        session=session, actor=who, payload=payload, options=options
    )
    return matching.match_written(session=session, actor=who, listing=listing)


@router.post(
    "/days-of-supply",
    response_model=ListingPublic,
    responses=_INVALID,
    summary="Set my need's days of supply from a Days of Supply (CX-0145) payload",
)
def attach_days_of_supply(
    payload: Payload,
    session: SessionDep,
    who: PrincipalDep,
    listing_id: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    crisis_id: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
) -> ListingPublic:
    listing = catenax.attach_days_of_supply(
        session=session, actor=who, payload=payload, listing_id=listing_id, crisis_id=crisis_id
    )
    return matching.match_written(session=session, actor=who, listing=listing)
