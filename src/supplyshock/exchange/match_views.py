"""What a party sees of a match, and reading matches: one, a list, a page.

Until both sides accepted, a party sees the other only as a pseudonym, a coarse region, the
part and the provenance flags; never a member id, name, contact, listing id, date code, lots
or window.

**Nothing a party sees can be compared with another member's view to link pseudonyms**
(issue 12): every time shown is the day it falls on (midnight UTC), and the expiry is the
platform's (:func:`supplyshock.domain.exchange.match_expiry`, a function of the day the match
was proposed), never a listing's. A match whose listing expires earlier still lapses with it,
server-side (:meth:`~supplyshock.domain.exchange.Match.lapses_at`). docs/anonymity.md lists
what two members' views of one counterpart do share.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, aliased

from supplyshock.domain.exchange import Listing, Match, MatchState, Side, start_of_day
from supplyshock.exchange import policy
from supplyshock.exchange.pseudonyms import pseudonym, resolve_key
from supplyshock.exchange.schemas import Principal
from supplyshock.store import models
from supplyshock.store.models import Member
from supplyshock.store.repository import ExchangeRepository, repository


class CounterpartView(BaseModel):
    """The other side of a match. Identity fields stay None until the match is revealed.

    Before the reveal every field is coarse and shared by design: the counterpart's part, the
    region (one of ten) and three provenance flags. The pseudonym differs per viewer.
    """

    model_config = ConfigDict(frozen=True)

    pseudonym: str
    region: str
    part_number: str
    maker: str
    authorised_channel: bool
    original_packaging: bool
    traceability: bool
    # Revealed only once both sides accepted:
    name: str | None = None
    contact: str | None = None
    listing_id: str | None = None
    date_code: str | None = None
    max_lots: int | None = None
    window_start: date | None = None
    window_end: date | None = None


class MatchPublic(BaseModel):
    """A match as one of its parties sees it. Every time is rounded down to the day (UTC)."""

    model_config = ConfigDict(frozen=True)

    id: str
    crisis_id: str
    side: Side  # the caller's side
    my_listing_id: str
    quantity: int
    state: MatchState
    counterpart: CounterpartView
    # Why this quantity (the allocation's explanation); the need's holder only.
    explanation: dict[str, Any] | None
    need_accepted_at: datetime | None
    offer_accepted_at: datetime | None
    # Set by the platform from the day the match was proposed; not a listing's expiry.
    expires_at: datetime
    created_at: datetime
    closed_at: datetime | None
    version: int


def _day(at: datetime | None) -> datetime | None:
    return None if at is None else start_of_day(at)


def party_view(
    repo: ExchangeRepository,
    match: Match,
    offer: Listing,
    need: Listing,
    member_id: str,
    key: str,
) -> MatchPublic:
    side = match.side_of(member_id, offer, need)
    assert side is not None  # the caller checked the party
    mine, other = (offer, need) if side == "offer" else (need, offer)
    extra: dict[str, Any] = {}
    if match.revealed:
        member = repo.session.get_one(Member, other.member_id)
        extra = {
            "name": member.name,
            "contact": member.contact,
            "listing_id": other.id,
            "date_code": other.date_code,
            "max_lots": other.max_lots,
            "window_start": other.window_start,
            "window_end": other.window_end,
        }
    counterpart = CounterpartView(
        pseudonym=pseudonym(member_id, other.member_id, key=key),
        region=other.region,
        part_number=other.part_number,
        maker=other.maker,
        authorised_channel=other.authorised_channel,
        original_packaging=other.original_packaging,
        traceability=other.traceability,
        **extra,
    )
    assert match.version is not None  # stored
    return MatchPublic(
        id=match.id,
        crisis_id=match.crisis_id,
        side=side,
        my_listing_id=mine.id,
        quantity=match.quantity,
        state=match.state,
        counterpart=counterpart,
        explanation=dict(match.basis) if side == "need" else None,
        need_accepted_at=_day(match.need_accepted_at),
        offer_accepted_at=_day(match.offer_accepted_at),
        expires_at=start_of_day(match.expires_at),
        created_at=start_of_day(match.created_at),
        closed_at=_day(match.closed_at),
        version=match.version,
    )


def view(
    session: Session, match: Match, member_id: str, *, pseudonym_key: str | None = None
) -> MatchPublic:
    """The match as ``member_id`` (one of its parties) may see it right now."""
    repo = repository(session)
    both = repo.listings([match.offer_id, match.need_id])
    return party_view(
        repo,
        match,
        both[match.offer_id],
        both[match.need_id],
        member_id,
        resolve_key(pseudonym_key),
    )


def load_as_party(
    session: Session, actor: Principal, match_id: str, *, lock: bool
) -> tuple[Match, Listing, Listing, Side]:
    """The match, its offer and need, and the caller's side; others' matches are not found."""
    policy.member_of(actor, to="party to a match may see or act on it")
    repo = repository(session)
    # Row lock: two parties (or two requests) acting at once are serialised; the version
    # column would refuse the second anyway, but waiting gives it a correct answer.
    match = repo.get_match(match_id, lock=lock)
    offer = need = None
    if match is not None:
        both = repo.listings([match.offer_id, match.need_id])
        offer, need = both.get(match.offer_id), both.get(match.need_id)
    side = policy.party_side(actor, match, offer, need, match_id)
    assert match is not None and offer is not None and need is not None
    return match, offer, need, side


def get_match(
    *, session: Session, actor: Principal, match_id: str, pseudonym_key: str | None = None
) -> MatchPublic:
    match, offer, need, _ = load_as_party(session, actor, match_id, lock=False)
    member_id = policy.member_of(actor)
    key = resolve_key(pseudonym_key)
    return party_view(repository(session), match, offer, need, member_id, key)


def list_matches(
    *,
    session: Session,
    actor: Principal,
    state: MatchState | None = None,
    listing_id: str | None = None,
    pseudonym_key: str | None = None,
) -> list[MatchPublic]:
    """The caller's matches (either side), newest first; ``listing_id``: one of the caller's."""
    ids = list_match_ids(session=session, actor=actor, state=state, listing_id=listing_id)
    return views(session=session, actor=actor, match_ids=ids, pseudonym_key=pseudonym_key)


def list_match_ids(
    *,
    session: Session,
    actor: Principal,
    state: MatchState | None = None,
    listing_id: str | None = None,
) -> list[str]:
    """The ids of :func:`list_matches`, in its order: a page is then viewed with :func:`views`.

    Building a view reads both listings and computes a pseudonym, so a paginated caller views
    only the page it hands out, not every match the member ever had. The order uses the exact
    creation time, but only among the caller's own matches, which nobody else sees.
    """
    member_id = policy.member_of(actor, to="party to a match may see or act on it")
    offer, need = aliased(models.Listing), aliased(models.Listing)
    query = (
        select(models.Match.id)
        .join(offer, offer.id == models.Match.offer_id)
        .join(need, need.id == models.Match.need_id)
        .where(or_(offer.member_id == member_id, need.member_id == member_id))
    )
    if state is not None:
        query = query.where(models.Match.state == state)
    if listing_id is not None:
        # Only the caller's own listing filters: filtering by the counterpart's listing would
        # let a member confirm a guessed listing id before the reveal.
        query = query.where(
            or_(
                and_(models.Match.offer_id == listing_id, offer.member_id == member_id),
                and_(models.Match.need_id == listing_id, need.member_id == member_id),
            )
        )
    query = query.order_by(models.Match.created_at.desc(), models.Match.id)
    return list(session.scalars(query))


def views(
    *,
    session: Session,
    actor: Principal,
    match_ids: list[str],
    pseudonym_key: str | None = None,
) -> list[MatchPublic]:
    """The caller's matches ``match_ids`` as the caller sees them, in the given order.

    Ids that are not the caller's are not found, as everywhere. The matches and both listings
    of each are read in a few queries, not two per match.
    """
    member_id = policy.member_of(actor, to="party to a match may see or act on it")
    key = resolve_key(pseudonym_key)
    repo = repository(session)
    rows = repo.matches(match_ids)
    listings = repo.listings(
        {m.offer_id for m in rows.values()} | {m.need_id for m in rows.values()}
    )
    out = []
    for match_id in match_ids:
        match = rows.get(match_id)
        offer = need = None
        if match is not None:
            offer, need = listings.get(match.offer_id), listings.get(match.need_id)
        policy.party_side(actor, match, offer, need, match_id)
        assert match is not None and offer is not None and need is not None
        out.append(party_view(repo, match, offer, need, member_id, key))
    return out
