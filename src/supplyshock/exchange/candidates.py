"""Which open listings could serve one listing: the index lookup matching will build on.

This is candidate search only. Proposing matches, splitting quantities, allocating under
scarcity and the double-blind reveal are later steps of issue 6; they take these candidates as
input. Candidates deliberately carry no member identity.

Compatibility of an offer O with a need N (both open, same crisis, different members, open
quantity left, not expired):

- **part**: the part keys overlap. A need's keys are its part and the alternates it accepts;
  an offer's keys are its part and the other numbers the same stock is sold under;
- **window**: ``O.window_start <= N.window_end`` and ``N.window_start <= O.window_end``;
- **provenance**: every flag the need requires (authorised channel, original packaging,
  traceability papers) is true on the offer;
- **date code**: if the need names its oldest acceptable date code, the offer's is known and
  not older (YYWW compared as text);
- **lots**: if the need limits the number of lots, the offer's count is known and within it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from supplyshock.domain.exchange import Listing as ListingObj
from supplyshock.exchange.errors import RuleViolation
from supplyshock.exchange.listings import own
from supplyshock.exchange.schemas import Principal
from supplyshock.store.models import Listing, ListingPart, utcnow
from supplyshock.store.repository import repository


@dataclass(frozen=True)
class Candidate:
    """A counterpart listing that could serve the given one; no member identity."""

    listing_id: str
    kind: str
    part_number: str
    maker: str
    quantity_open: int
    region: str
    window_start: date
    window_end: date
    days_of_supply: float | None
    margin_per_unit: float | None


def find_candidates(
    *, session: Session, actor: Principal, listing_id: str, now: datetime | None = None
) -> list[Candidate]:
    """Compatible open counterparts of the caller's own open listing, earliest window first."""
    now = now or utcnow()
    me = own(session, actor, listing_id)
    if me.status != "open":
        raise RuleViolation(f"listing is {me.status}, not open", code="not_open")
    ids = candidate_ids(session, me, now)
    found = repository(session).listings(ids)
    return [
        Candidate(
            listing_id=x.id,
            kind=x.kind,
            part_number=x.part_number,
            maker=x.maker,
            quantity_open=x.quantity_open,
            region=x.region,
            window_start=x.window_start,
            window_end=x.window_end,
            days_of_supply=x.days_of_supply,
            margin_per_unit=x.margin_per_unit,
        )
        for x in (found[i] for i in ids)
    ]


def candidate_ids(session: Session, me: ListingObj, now: datetime) -> list[str]:
    """The ids of ``me``'s compatible open counterparts, in candidate order.

    Only ids: matching then reads the rows once, with the lock that protects its promises.
    No permission check here: the caller decided who may ask (``exchange/policy.py``).
    """
    other_kind = "need" if me.kind == "offer" else "offer"
    # At most 21 keys, fetched first and bound as values: with a subquery instead, PostgreSQL
    # may scan every key of the crisis and probe ours, which grows with the pool. With values,
    # the index on (crisis_id, kind, part_key) gives one seek per key.
    my_keys = session.scalars(
        select(ListingPart.part_key).where(ListingPart.listing_id == me.id)
    ).all()
    hits = (
        select(ListingPart.listing_id)
        .where(
            ListingPart.crisis_id == me.crisis_id,
            ListingPart.kind == other_kind,
            ListingPart.part_key.in_(my_keys),
        )
        .distinct()
    )
    query = select(Listing.id).where(
        Listing.id.in_(hits),
        Listing.status == "open",
        Listing.member_id != me.member_id,
        Listing.quantity_open > 0,
        Listing.expires_at > now,
        # The windows overlap (the same test whichever side is the offer).
        Listing.window_start <= me.window_end,
        Listing.window_end >= me.window_start,
        *_constraints(me),
    )
    # Earliest window first, then the largest open quantity; the id makes the order total.
    query = query.order_by(Listing.window_start, Listing.quantity_open.desc(), Listing.id)
    return list(session.scalars(query))


def _constraints(me: ListingObj) -> list[ColumnElement[bool]]:
    """SQL conditions on the counterparts for provenance, date code and lots."""
    if me.kind == "need":
        # My requirements, checked against each offer.
        conds: list[ColumnElement[bool]] = [
            getattr(Listing, flag).is_(True)
            for flag in ("authorised_channel", "original_packaging", "traceability")
            if getattr(me, flag)
        ]
        if me.date_code is not None:
            conds.append(and_(Listing.date_code.is_not(None), Listing.date_code >= me.date_code))
        if me.max_lots is not None:
            conds.append(and_(Listing.max_lots.is_not(None), Listing.max_lots <= me.max_lots))
        return conds
    # I offer: each need's requirements, checked against my stock.
    conds = [
        getattr(Listing, flag).is_(False)
        for flag in ("authorised_channel", "original_packaging", "traceability")
        if not getattr(me, flag)
    ]
    conds.append(
        Listing.date_code.is_(None)
        if me.date_code is None
        else or_(Listing.date_code.is_(None), Listing.date_code <= me.date_code)
    )
    conds.append(
        Listing.max_lots.is_(None)
        if me.max_lots is None
        else or_(Listing.max_lots.is_(None), Listing.max_lots >= me.max_lots)
    )
    return conds
