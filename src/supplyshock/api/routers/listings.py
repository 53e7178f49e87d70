"""``/listings``: a member's own offers and needs. Another member's listing is "not found".

Creating or amending a listing matches it against the open pool in the same request; the new
matches are read with ``GET /matches?listing_id=``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from supplyshock.api.deps import PrincipalDep, SessionDep
from supplyshock.api.pagination import Page, PageDep, paginate
from supplyshock.api.routers.matches import KeyDep
from supplyshock.exchange import listings, matching
from supplyshock.exchange.schemas import (
    ListingCreate,
    ListingPublic,
    ListingStatus,
    ListingUpdate,
)

router = APIRouter(prefix="/listings", tags=["listings (member)"])

ListingId = Annotated[str, Path(min_length=1, max_length=32)]


@router.post(
    "",
    response_model=ListingPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Create an offer or a need; it is matched against the open pool at once",
)
def create_listing(
    data: ListingCreate, session: SessionDep, who: PrincipalDep, key: KeyDep
) -> ListingPublic:
    # The key names the counterpart in the new matches' notifications, as GET /matches does.
    return matching.create_and_match(session=session, actor=who, data=data, pseudonym_key=key)


@router.get("", response_model=Page[ListingPublic], summary="My listings, newest first")
def list_my_listings(
    session: SessionDep,
    who: PrincipalDep,
    page: PageDep,
    crisis_id: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    status: ListingStatus | None = None,
) -> Page[ListingPublic]:
    rows = listings.list_my_listings(session=session, actor=who, crisis_id=crisis_id, status=status)
    return paginate(rows, page, lambda x: x.id)


@router.get("/{listing_id}", response_model=ListingPublic, summary="One of my listings")
def get_my_listing(session: SessionDep, who: PrincipalDep, listing_id: ListingId) -> ListingPublic:
    return listings.get_my_listing(session=session, actor=who, listing_id=listing_id)


@router.patch(
    "/{listing_id}",
    response_model=ListingPublic,
    summary="Amend an open listing and match it again (send `version` to refuse a stale write)",
)
def update_listing(
    data: ListingUpdate, session: SessionDep, who: PrincipalDep, key: KeyDep, listing_id: ListingId
) -> ListingPublic:
    return matching.update_and_match(
        session=session, actor=who, listing_id=listing_id, data=data, pseudonym_key=key
    )


@router.post("/{listing_id}/withdraw", response_model=ListingPublic, summary="Withdraw a listing")
def withdraw_listing(
    session: SessionDep,
    who: PrincipalDep,
    listing_id: ListingId,
    version: Annotated[int | None, Query(ge=1, description="The version last read.")] = None,
) -> ListingPublic:
    return listings.withdraw_listing(
        session=session, actor=who, listing_id=listing_id, version=version
    )
