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

Candidates come from :func:`supplyshock.exchange.candidates.candidate_ids` (an index seek per
part key, never a scan of the pool). The listing and its candidates are then row-locked in id
order and re-checked, so two matching runs at once can never promise the same unit twice; the
promises themselves are :meth:`supplyshock.domain.exchange.Match.propose`.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from supplyshock.domain.exchange import Listing, Match
from supplyshock.exchange import audit, notices, policy, rules
from supplyshock.exchange.allocation import DEFAULT_FLOOR_SHARE, Demand, Supply, allocate
from supplyshock.exchange.candidates import candidate_ids
from supplyshock.exchange.errors import Conflict, RuleViolation
from supplyshock.exchange.listings import amend_listing, new_listing, public
from supplyshock.exchange.matches import MatchPublic, view
from supplyshock.exchange.schemas import ListingCreate, ListingPublic, ListingUpdate, Principal
from supplyshock.store import models
from supplyshock.store.models import utcnow
from supplyshock.store.repository import ConcurrentWrite, repository


def match_listing(
    *,
    session: Session,
    actor: Principal,
    listing_id: str,
    now: datetime | None = None,
    floor_share: float = DEFAULT_FLOOR_SHARE,
    pseudonym_key: str | None = None,
) -> list[MatchPublic]:
    """Propose matches for one open listing; returns the new matches as its holder sees them."""
    now = now or utcnow()
    me = policy.listing_for_matching(actor, repository(session).get_listing(listing_id), listing_id)
    if me.status != "open":
        raise RuleViolation(f"listing is {me.status}, not open", code="not_open")
    created = _propose(session, actor, me, now, floor_share, pseudonym_key)
    return [view(session, m, me.member_id, pseudonym_key=pseudonym_key) for m in created]


def _propose(
    session: Session,
    actor: Principal,
    me: Listing,
    now: datetime,
    floor_share: float,
    pseudonym_key: str | None = None,
) -> list[Match]:
    """Pair ``me`` with its compatible counterparts; the caller checked who may ask."""
    found = candidate_ids(session, me, now)
    if not found:
        return []
    # Lock the listing and its candidates in id order: every matching run and every decline
    # locks in the same order, so they wait for each other instead of deadlocking, and what
    # we read below is what nobody else can change until we commit. The candidates are read
    # here for the first time; ``me`` is not read again if this transaction wrote it.
    repo = repository(session)
    rows = repo.lock_listings([me.id, *found])
    me = rows[me.id]
    if not me.usable(now):
        return []
    paired_col = models.Match.need_id if me.kind == "offer" else models.Match.offer_id
    own_col = models.Match.offer_id if me.kind == "offer" else models.Match.need_id
    # A pair is proposed once: read after locking, so a concurrent run's pairs are seen.
    paired = set(session.scalars(select(paired_col).where(own_col == me.id)))
    others = [rows[i] for i in found if i in rows and i not in paired and rows[i].usable(now)]
    plan = _plan_offer(me, others, floor_share) if me.kind == "offer" else _plan_need(me, others)
    created: list[Match] = []
    touched: dict[str, Listing] = {}
    for offer, need, quantity, basis in plan:
        match = Match.propose(offer, need, quantity, basis, now)
        repo.add_match(match)
        created.append(match)
        touched[offer.id], touched[need.id] = offer, need
    try:
        repo.save(*touched.values(), *created)
    except ConcurrentWrite as e:  # cannot happen under the row locks; refuse rather than guess
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
        # Both parties hear of it, in this transaction (docs/exchange.md, notifications).
        offer_holder, need_holder = rows[match.offer_id].member_id, rows[match.need_id].member_id
        notices.notify(
            session,
            "proposed",
            match,
            members=[offer_holder, need_holder],
            now=now,
            pseudonym_key=pseudonym_key,
        )
    return created


def match_written(
    *, session: Session, actor: Principal, listing: ListingPublic, now: datetime | None = None
) -> ListingPublic:
    """Match a listing just created or amended, and return it with its open quantity now.

    For the routes that write listings through other services (the Catena-X imports). The
    listing is the one this unit of work wrote, so it is not read again.
    """
    if listing.status != "open":
        return listing
    match_listing(session=session, actor=actor, listing_id=listing.id, now=now)
    me = repository(session).get_listing(listing.id)
    assert me is not None  # just matched
    return public(me)


def create_and_match(
    *,
    session: Session,
    actor: Principal,
    data: ListingCreate,
    now: datetime | None = None,
    pseudonym_key: str | None = None,
) -> ListingPublic:
    """Create a listing and match it against the open pool in the same unit of work."""
    now = now or utcnow()
    me = new_listing(session=session, actor=actor, data=data, now=now)
    _propose(session, actor, me, now, DEFAULT_FLOOR_SHARE, pseudonym_key)
    return public(me)


def update_and_match(
    *,
    session: Session,
    actor: Principal,
    listing_id: str,
    data: ListingUpdate,
    now: datetime | None = None,
    pseudonym_key: str | None = None,
) -> ListingPublic:
    """Amend a listing and match what it now offers or needs against the open pool."""
    now = now or utcnow()
    me = amend_listing(session=session, actor=actor, listing_id=listing_id, data=data, now=now)
    if me.status == "open":
        _propose(session, actor, me, now, DEFAULT_FLOOR_SHARE, pseudonym_key)
    return public(me)


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
    policy.require_operator(actor)
    now = now or utcnow()
    key = rules.part_key(part_number, maker)
    ids = session.scalars(
        select(models.ListingPart.listing_id).where(
            models.ListingPart.crisis_id == crisis_id, models.ListingPart.part_key == key
        )
    ).all()
    found = repository(session).listings(ids)
    pool = [found[i] for i in sorted(found) if found[i].usable(now)]
    offers = [x for x in pool if x.kind == "offer"]
    needs = [x for x in pool if x.kind == "need"]
    need_ids = {n.id for n in needs}
    edges = [(o.id, n) for o in offers for n in candidate_ids(session, o, now) if n in need_ids]
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
