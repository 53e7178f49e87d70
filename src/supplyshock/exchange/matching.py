"""Matching: a new or changed listing is paired with compatible open counterparts as matches.

A new or changed listing is matched against the open pool at once: ``create_and_match`` and
``update_and_match`` (what the API's listing routes call) run ``create_listing`` /
``update_listing`` and then ``match_listing`` in the same unit of work, so a listing and its
first matches commit together. ``match_listing`` stays a use case of its own for re-matching
(stock that came back after a decline or an expiry).

How quantity is split (see docs/matching.md):

- a new **offer** is shared among the compatible needs by the allocation LP
  (:mod:`supplyshock.exchange.allocation`): with enough stock every need is served in full,
  under scarcity the stock goes where it protects the most production, with a fairness floor;
- a new **need** takes unpromised stock from the compatible offers in candidate order (earliest
  window, then largest open quantity). Such stock is unpromised because, when it was offered,
  every need waiting for it was served in full.

Candidates come from :func:`supplyshock.exchange.candidates.find_candidates` (an index seek per
part key, never a scan of the pool). The listing and its candidates are then row-locked in id
order and re-checked, so two matching runs at once can never promise the same unit twice.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from supplyshock.exchange import audit, rules
from supplyshock.exchange.allocation import DEFAULT_FLOOR_SHARE, Demand, Supply, allocate
from supplyshock.exchange.candidates import find_candidates
from supplyshock.exchange.errors import Conflict, Forbidden, NotFound
from supplyshock.exchange.listings import create_listing, update_listing
from supplyshock.exchange.matches import MATCH_TTL, MatchPublic, view
from supplyshock.exchange.members import require_operator
from supplyshock.exchange.schemas import ListingCreate, ListingPublic, ListingUpdate, Principal
from supplyshock.store.models import Listing, ListingPart, Match, utcnow


def _owner(session: Session, actor: Principal, listing_id: str) -> Listing:
    """The listing, if the actor is its holder or the operator; otherwise not found."""
    listing = session.get(Listing, listing_id)
    if actor.role == "member" and (listing is None or listing.member_id != actor.member_id):
        raise NotFound(f"no listing {listing_id!r}")
    if actor.role not in ("member", "operator"):
        raise Forbidden("only members and the operator run matching")
    if listing is None:
        raise NotFound(f"no listing {listing_id!r}")
    return listing


def _usable(listing: Listing, now: datetime) -> bool:
    return listing.status == "open" and listing.quantity_open > 0 and listing.expires_at > now


def match_listing(
    *,
    session: Session,
    actor: Principal,
    listing_id: str,
    now: datetime | None = None,
    floor_share: float = DEFAULT_FLOOR_SHARE,
) -> list[MatchPublic]:
    """Propose matches for one open listing; returns the new matches as its holder sees them."""
    now = now or utcnow()
    me = _owner(session, actor, listing_id)
    holder = Principal(role="member", member_id=me.member_id)
    found = find_candidates(session=session, actor=holder, listing_id=me.id, now=now)
    if not found:
        return []
    # Lock the listing and its candidates in one statement, in id order: every matching run
    # and every decline locks in the same order, so they wait for each other instead of
    # deadlocking, and what we read below is what nobody else can change until we commit.
    ids = sorted({me.id, *(c.listing_id for c in found)})
    rows = {
        x.id: x
        for x in session.scalars(
            select(Listing)
            .where(Listing.id.in_(ids))
            .order_by(Listing.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    me = rows[me.id]
    if not _usable(me, now):
        return []
    paired_col = Match.need_id if me.kind == "offer" else Match.offer_id
    own_col = Match.offer_id if me.kind == "offer" else Match.need_id
    # A pair is proposed once: read after locking, so a concurrent run's pairs are seen.
    paired = set(session.scalars(select(paired_col).where(own_col == me.id)))
    others = [
        rows[c.listing_id]
        for c in found
        if c.listing_id not in paired and _usable(rows[c.listing_id], now)
    ]
    plan = _plan_offer(me, others, floor_share) if me.kind == "offer" else _plan_need(me, others)
    created: list[Match] = []
    for offer, need, quantity, basis in plan:
        offer.quantity_open -= quantity
        need.quantity_open -= quantity
        match = Match(
            crisis_id=me.crisis_id,
            offer_id=offer.id,
            need_id=need.id,
            quantity=quantity,
            state="proposed",
            basis=basis,
            expires_at=min(now + MATCH_TTL, offer.expires_at, need.expires_at),
            created_at=now,
            updated_at=now,
        )
        session.add(match)
        created.append(match)
    try:
        session.flush()
    except StaleDataError as e:  # cannot happen under the row locks; refuse rather than guess
        raise Conflict("a listing was changed concurrently: match again") from e
    for match in created:
        audit.append(
            session=session,
            actor=actor,
            action="match.proposed",
            entity=f"match:{match.id}",
            payload={
                "offer_id": match.offer_id,
                "need_id": match.need_id,
                "quantity": match.quantity,
            },
            now=now,
        )
    return [view(session, m, me.member_id) for m in created]


def match_written(
    *, session: Session, actor: Principal, listing: ListingPublic, now: datetime | None = None
) -> ListingPublic:
    """Match a listing just created or amended, and return it with its open quantity now.

    For the routes that write listings through other services (the Catena-X imports).
    """
    if listing.status != "open":
        return listing
    match_listing(session=session, actor=actor, listing_id=listing.id, now=now)
    row = session.get_one(Listing, listing.id)
    return ListingPublic.model_validate(row)


def create_and_match(
    *, session: Session, actor: Principal, data: ListingCreate, now: datetime | None = None
) -> ListingPublic:
    """Create a listing and match it against the open pool in the same unit of work."""
    now = now or utcnow()
    listing = create_listing(session=session, actor=actor, data=data, now=now)
    return match_written(session=session, actor=actor, listing=listing, now=now)


def update_and_match(
    *,
    session: Session,
    actor: Principal,
    listing_id: str,
    data: ListingUpdate,
    now: datetime | None = None,
) -> ListingPublic:
    """Amend a listing and match what it now offers or needs against the open pool."""
    now = now or utcnow()
    listing = update_listing(
        session=session, actor=actor, listing_id=listing_id, data=data, now=now
    )
    return match_written(session=session, actor=actor, listing=listing, now=now)


Plan = list[tuple[Listing, Listing, int, dict[str, object]]]


def _plan_offer(offer: Listing, needs: list[Listing], floor_share: float) -> Plan:
    """Share one offer's open stock among the needs with the allocation LP."""
    if not needs:
        return []
    result = allocate(
        [Supply(offer.id, offer.quantity_open)],
        [Demand(n.id, n.quantity_open, n.days_of_supply, n.margin_per_unit) for n in needs],
        floor_share=floor_share,
    )
    plan: Plan = []
    for need in needs:
        quantity = result.flows.get((offer.id, need.id), 0)
        if quantity > 0:
            basis: dict[str, object] = {
                "rule": "allocation_lp",
                "scarce": result.scarce,
                "floor_share": result.floor_share,
                "floors_applied": result.floors_applied,
                **result.needs[need.id].for_member(),
            }
            plan.append((offer, need, quantity, basis))
    return plan


def _plan_need(need: Listing, offers: list[Listing]) -> Plan:
    """Take unpromised stock from the offers in candidate order until the need is covered."""
    plan: Plan = []
    remaining = need.quantity_open
    for offer in offers:
        if remaining == 0:
            break
        quantity = min(remaining, offer.quantity_open)
        remaining -= quantity
        basis: dict[str, object] = {
            "rule": "unpromised_stock",
            "requested": need.quantity_open,
            "allocated": quantity,
            "reason": "taken from stock no waiting need had claimed, earliest window first",
        }
        plan.append((offer, need, quantity, basis))
    return plan


# --- the operator's allocation view ----------------------------------------------------------


class NeedShare(BaseModel):
    model_config = ConfigDict(frozen=True)

    listing_id: str
    explanation: dict[str, object]


class OfferShare(BaseModel):
    model_config = ConfigDict(frozen=True)

    listing_id: str
    quantity_open: int
    shadow_price: float


class Flow(BaseModel):
    model_config = ConfigDict(frozen=True)

    offer_id: str
    need_id: str
    quantity: int


class AllocationPreview(BaseModel):
    """How the open stock of one part would be shared now: the LP over the whole pool."""

    model_config = ConfigDict(frozen=True)

    crisis_id: str
    part_number: str
    maker: str
    scarce: bool
    floor_share: float
    floors_applied: bool
    offers: list[OfferShare]
    needs: list[NeedShare]
    flows: list[Flow]


def preview_allocation(
    *,
    session: Session,
    actor: Principal,
    crisis_id: str,
    part_number: str,
    maker: str,
    now: datetime | None = None,
    floor_share: float = DEFAULT_FLOOR_SHARE,
) -> AllocationPreview:
    """The operator's view of the LP for every open offer and need answering to one part.

    It names listings, not members, but shows needs' figures side by side, so it is the
    neutral operator's tool only. Nothing is proposed or changed.
    """
    require_operator(actor)
    now = now or utcnow()
    key = rules.part_key(part_number, maker)
    listing_ids = select(ListingPart.listing_id).where(
        ListingPart.crisis_id == crisis_id, ListingPart.part_key == key
    )
    pool = [
        x
        for x in session.scalars(
            select(Listing).where(Listing.id.in_(listing_ids)).order_by(Listing.id)
        )
        if _usable(x, now)
    ]
    offers = [x for x in pool if x.kind == "offer"]
    needs = [x for x in pool if x.kind == "need"]
    need_ids = {n.id for n in needs}
    edges = [
        (o.id, c.listing_id)
        for o in offers
        for c in find_candidates(
            session=session,
            actor=Principal(role="member", member_id=o.member_id),
            listing_id=o.id,
            now=now,
        )
        if c.listing_id in need_ids
    ]
    if not offers or not needs:
        result = None
    else:
        result = allocate(
            [Supply(o.id, o.quantity_open) for o in offers],
            [Demand(n.id, n.quantity_open, n.days_of_supply, n.margin_per_unit) for n in needs],
            edges,
            floor_share=floor_share,
        )
    return AllocationPreview(
        crisis_id=crisis_id,
        part_number=part_number,
        maker=maker,
        scarce=result.scarce if result else False,
        floor_share=floor_share,
        floors_applied=result.floors_applied if result else True,
        offers=[
            OfferShare(
                listing_id=o.id,
                quantity_open=o.quantity_open,
                shadow_price=result.shadow_prices.get(o.id, 0.0) if result else 0.0,
            )
            for o in offers
        ],
        needs=[
            NeedShare(listing_id=n.id, explanation=result.needs[n.id].as_dict() if result else {})
            for n in needs
        ],
        flows=[
            Flow(offer_id=o, need_id=n, quantity=q) for (o, n), q in sorted(result.flows.items())
        ]
        if result
        else [],
    )
