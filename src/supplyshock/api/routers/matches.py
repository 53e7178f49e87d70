"""``/matches``: matching a listing, the double-blind reveal, and the operator's allocation view.

A party sees a match through a pseudonym until both sides accepted; another member's match is
"not found". The allocation view shows needs side by side and is the operator's alone.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import APIRouter, Depends, Path, Query, Request

from supplyshock.api.deps import PrincipalDep, SessionDep
from supplyshock.api.pagination import Page, PageDep, paginate
from supplyshock.exchange import matches, matching
from supplyshock.exchange.allocation import DEFAULT_FLOOR_SHARE
from supplyshock.exchange.matches import MatchPublic, MatchState
from supplyshock.exchange.matching import AllocationPreview
from supplyshock.settings import Settings

router = APIRouter(tags=["matches (member)"])


def pseudonym_key(request: Request) -> str:
    """The key this application names members with: its own settings', not the environment's."""
    return cast(Settings, request.app.state.settings).secret_key


KeyDep = Annotated[str, Depends(pseudonym_key)]

Id = Annotated[str, Path(min_length=1, max_length=32)]
Version = Annotated[int | None, Query(ge=1, description="The version last read.")]


@router.post(
    "/listings/{listing_id}/match",
    response_model=list[MatchPublic],
    summary="Match my open listing against the pool (call after creating or amending it)",
)
def match_listing(
    session: SessionDep, who: PrincipalDep, key: KeyDep, listing_id: Id
) -> list[MatchPublic]:
    return matching.match_listing(
        session=session, actor=who, listing_id=listing_id, pseudonym_key=key
    )


@router.get("/matches", response_model=Page[MatchPublic], summary="My matches, newest first")
def list_matches(
    session: SessionDep,
    who: PrincipalDep,
    key: KeyDep,
    page: PageDep,
    state: MatchState | None = None,
    listing_id: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
) -> Page[MatchPublic]:
    ids = matches.list_match_ids(session=session, actor=who, state=state, listing_id=listing_id)
    chunk = paginate(ids, page, lambda x: x)
    items = matches.views(session=session, actor=who, match_ids=chunk.items, pseudonym_key=key)
    return Page[MatchPublic](items=items, next=chunk.next)


@router.get("/matches/{match_id}", response_model=MatchPublic, summary="One of my matches")
def get_match(session: SessionDep, who: PrincipalDep, key: KeyDep, match_id: Id) -> MatchPublic:
    return matches.get_match(session=session, actor=who, match_id=match_id, pseudonym_key=key)


@router.post(
    "/matches/{match_id}/accept",
    response_model=MatchPublic,
    summary="Need's holder: signal interest; offer's holder: accept it (reveals both contacts)",
)
def accept_match(
    session: SessionDep, who: PrincipalDep, key: KeyDep, match_id: Id, version: Version = None
) -> MatchPublic:
    return matches.accept_match(
        session=session, actor=who, match_id=match_id, version=version, pseudonym_key=key
    )


@router.post(
    "/matches/{match_id}/decline",
    response_model=MatchPublic,
    summary="Decline a match; its quantity returns to the pool",
)
def decline_match(
    session: SessionDep, who: PrincipalDep, key: KeyDep, match_id: Id, version: Version = None
) -> MatchPublic:
    return matches.decline_match(
        session=session, actor=who, match_id=match_id, version=version, pseudonym_key=key
    )


@router.post(
    "/matches/{match_id}/fulfil",
    response_model=MatchPublic,
    summary="Offer's holder: confirm the deal was done; the match closes",
)
def fulfil_match(
    session: SessionDep, who: PrincipalDep, key: KeyDep, match_id: Id, version: Version = None
) -> MatchPublic:
    return matches.fulfil_match(
        session=session, actor=who, match_id=match_id, version=version, pseudonym_key=key
    )


@router.get(
    "/allocation/{crisis_id}",
    response_model=AllocationPreview,
    tags=["matches (operator)"],
    summary="Operator: how one part's open stock would be allocated now, with explanations",
)
def preview_allocation(
    session: SessionDep,
    who: PrincipalDep,
    crisis_id: Id,
    part_number: Annotated[str, Query(min_length=1, max_length=64)],
    maker: Annotated[str, Query(min_length=1, max_length=100)],
    floor_share: Annotated[float, Query(ge=0, le=1)] = DEFAULT_FLOOR_SHARE,
) -> AllocationPreview:
    return matching.preview_allocation(
        session=session,
        actor=who,
        crisis_id=crisis_id,
        part_number=part_number,
        maker=maker,
        floor_share=floor_share,
    )
