"""Matches after they are proposed: what each side sees, accept, decline, fulfil and expiry.

States (see docs/matching.md)::

    proposed --need accepts--> interested --offer accepts--> revealed --offer confirms--> fulfilled
        \\________________________\\_______________________________\\--> declined (either side)
        \\________________________\\--> expired (time, or a listing left the pool)

The need's holder signals interest first and the offer's holder decides, as the competition-law
safeguards require (interest is forwarded to the holder). Until both accepted, a party sees the
other only as a pseudonym, a coarse region, the part and the provenance flags; never a member
id, name, contact, listing id, date code, lots or window. Declined and expired matches give
their quantity back to both listings' open quantity.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.exc import StaleDataError

from supplyshock.exchange import audit
from supplyshock.exchange.errors import Conflict, Forbidden, NotFound, RuleViolation
from supplyshock.exchange.pseudonyms import pseudonym
from supplyshock.exchange.schemas import Principal
from supplyshock.store.models import MATCH_ACTIVE_STATES, Listing, Match, Member, utcnow

MatchState = Literal["proposed", "interested", "revealed", "fulfilled", "declined", "expired"]
Side = Literal["offer", "need"]

# How long the parties have to agree before the promised stock goes back to the pool.
MATCH_TTL = timedelta(days=7)


class CounterpartView(BaseModel):
    """The other side of a match. Identity fields stay None until the match is revealed."""

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
    """A match as one of its parties sees it."""

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
    expires_at: datetime
    created_at: datetime
    closed_at: datetime | None
    version: int


def _member_of(actor: Principal) -> str:
    if actor.role != "member" or actor.member_id is None:
        raise Forbidden("only the members party to a match may see or act on it")
    return actor.member_id


def view(session: Session, match: Match, member_id: str) -> MatchPublic:
    """The match as ``member_id`` (one of its parties) may see it right now."""
    offer = session.get_one(Listing, match.offer_id)
    need = session.get_one(Listing, match.need_id)
    side: Side = "offer" if offer.member_id == member_id else "need"
    mine, other = (offer, need) if side == "offer" else (need, offer)
    revealed = match.state in ("revealed", "fulfilled")
    extra: dict[str, Any] = {}
    if revealed:
        member = session.get_one(Member, other.member_id)
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
        pseudonym=pseudonym(member_id, other.member_id),
        region=other.region,
        part_number=other.part_number,
        maker=other.maker,
        authorised_channel=other.authorised_channel,
        original_packaging=other.original_packaging,
        traceability=other.traceability,
        **extra,
    )
    return MatchPublic(
        id=match.id,
        crisis_id=match.crisis_id,
        side=side,
        my_listing_id=mine.id,
        quantity=match.quantity,
        state=match.state,  # the check constraint keeps it a MatchState
        counterpart=counterpart,
        explanation=dict(match.basis) if side == "need" else None,
        need_accepted_at=match.need_accepted_at,
        offer_accepted_at=match.offer_accepted_at,
        expires_at=match.expires_at,
        created_at=match.created_at,
        closed_at=match.closed_at,
        version=match.version,
    )


def _load(
    session: Session, actor: Principal, match_id: str, *, lock: bool
) -> tuple[Match, Listing, Listing, Side]:
    """The match, its offer and need, and the caller's side; others' matches are not found."""
    member_id = _member_of(actor)
    query = select(Match).where(Match.id == match_id)
    if lock:
        # Row lock: two parties (or two requests) acting at once are serialised; the version
        # column would refuse the second anyway, but waiting gives it a correct answer.
        query = query.with_for_update().execution_options(populate_existing=True)
    match = session.scalars(query).one_or_none()
    if match is None:
        raise NotFound(f"no match {match_id!r}")
    offer = session.get_one(Listing, match.offer_id)
    need = session.get_one(Listing, match.need_id)
    if member_id == offer.member_id:
        return match, offer, need, "offer"
    if member_id == need.member_id:
        return match, offer, need, "need"
    raise NotFound(f"no match {match_id!r}")


def get_match(*, session: Session, actor: Principal, match_id: str) -> MatchPublic:
    match, *_ = _load(session, actor, match_id, lock=False)
    return view(session, match, _member_of(actor))


def list_matches(
    *,
    session: Session,
    actor: Principal,
    state: MatchState | None = None,
    listing_id: str | None = None,
) -> list[MatchPublic]:
    """The caller's matches (either side), newest first; ``listing_id``: one of the caller's."""
    ids = list_match_ids(session=session, actor=actor, state=state, listing_id=listing_id)
    return views(session=session, actor=actor, match_ids=ids)


def list_match_ids(
    *,
    session: Session,
    actor: Principal,
    state: MatchState | None = None,
    listing_id: str | None = None,
) -> list[str]:
    """The ids of :func:`list_matches`, in its order: a page is then viewed with :func:`views`.

    Building a view reads both listings and computes a pseudonym, so a paginated caller views
    only the page it hands out, not every match the member ever had.
    """
    member_id = _member_of(actor)
    offer, need = aliased(Listing), aliased(Listing)
    query = (
        select(Match.id)
        .join(offer, offer.id == Match.offer_id)
        .join(need, need.id == Match.need_id)
        .where(or_(offer.member_id == member_id, need.member_id == member_id))
    )
    if state is not None:
        query = query.where(Match.state == state)
    if listing_id is not None:
        # Only the caller's own listing filters: filtering by the counterpart's listing would
        # let a member confirm a guessed listing id before the reveal.
        query = query.where(
            or_(
                and_(Match.offer_id == listing_id, offer.member_id == member_id),
                and_(Match.need_id == listing_id, need.member_id == member_id),
            )
        )
    query = query.order_by(Match.created_at.desc(), Match.id)
    return list(session.scalars(query))


def views(*, session: Session, actor: Principal, match_ids: list[str]) -> list[MatchPublic]:
    """The caller's matches ``match_ids`` as the caller sees them, in the given order.

    Ids that are not the caller's are not found, as everywhere.
    """
    member_id = _member_of(actor)
    rows: dict[str, Match] = {}
    for start in range(0, len(match_ids), 500):
        chunk = match_ids[start : start + 500]
        rows.update((m.id, m) for m in session.scalars(select(Match).where(Match.id.in_(chunk))))
    # Both listings of every match in a few queries, not two per match: view() then finds them
    # in the session's identity map.
    ids = sorted({m.offer_id for m in rows.values()} | {m.need_id for m in rows.values()})
    listings: dict[str, Listing] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        listings.update(
            (x.id, x) for x in session.scalars(select(Listing).where(Listing.id.in_(chunk)))
        )
    out = []
    for match_id in match_ids:
        match = rows.get(match_id)
        if match is None or member_id not in (
            listings[match.offer_id].member_id,
            listings[match.need_id].member_id,
        ):
            raise NotFound(f"no match {match_id!r}")
        out.append(view(session, match, member_id))
    return out


def _check_version(match: Match, expected: int | None) -> None:
    if expected is not None and expected != match.version:
        raise Conflict(f"match {match.id} is at version {match.version}, not {expected}")


def _flush(session: Session, match_id: str) -> None:
    try:
        session.flush()
    except StaleDataError as e:
        raise Conflict(f"match {match_id} was changed concurrently: read it again") from e


def _lock_listings(session: Session, match: Match) -> tuple[Listing, Listing]:
    """Both listings, row-locked in id order (the order matching locks them in: no deadlock)."""
    rows = session.scalars(
        select(Listing)
        .where(Listing.id.in_([match.offer_id, match.need_id]))
        .order_by(Listing.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    by_id = {x.id: x for x in rows}
    return by_id[match.offer_id], by_id[match.need_id]


def _release(session: Session, match: Match) -> None:
    """Give the match's quantity back to both listings' open quantity."""
    offer, need = _lock_listings(session, match)
    offer.quantity_open = min(offer.quantity, offer.quantity_open + match.quantity)
    need.quantity_open = min(need.quantity, need.quantity_open + match.quantity)


def accept_match(
    *,
    session: Session,
    actor: Principal,
    match_id: str,
    version: int | None = None,
    now: datetime | None = None,
) -> MatchPublic:
    """The need's holder signals interest; then the offer's holder accepts, which reveals."""
    now = now or utcnow()
    match, offer, need, side = _load(session, actor, match_id, lock=True)
    _check_version(match, version)
    if match.state not in ("proposed", "interested"):
        raise RuleViolation(f"match is {match.state}: nothing to accept", code="not_acceptable")
    if now >= match.expires_at:
        raise RuleViolation("match has expired", code="match_expired")
    if offer.status != "open" or need.status != "open":
        raise RuleViolation("a listing of this match left the pool", code="listing_not_open")
    if side == "need":
        if match.state == "interested":
            raise RuleViolation("interest was already signalled", code="already_accepted")
        match.state = "interested"
        match.need_accepted_at = now
        action = "match.interest"
    else:
        if match.state == "proposed":
            # The holder decides on interest forwarded to it; it does not approach buyers.
            raise RuleViolation(
                "the need's holder has not signalled interest yet", code="no_interest_yet"
            )
        match.state = "revealed"
        match.offer_accepted_at = now
        action = "match.revealed"
    match.updated_at = now
    return _record(
        session, actor, match, action, {"state": match.state, "version": match.version}, now
    )


def decline_match(
    *,
    session: Session,
    actor: Principal,
    match_id: str,
    version: int | None = None,
    now: datetime | None = None,
) -> MatchPublic:
    """Either side says no (also after the reveal, if the deal fell through); stock returns."""
    now = now or utcnow()
    match, _, _, side = _load(session, actor, match_id, lock=True)
    _check_version(match, version)
    if match.state not in MATCH_ACTIVE_STATES:
        raise RuleViolation(f"match is {match.state}: nothing to decline", code="not_active")
    _release(session, match)
    match.state = "declined"
    match.declined_by = side
    match.closed_at = match.updated_at = now
    return _record(
        session,
        actor,
        match,
        "match.declined",
        {"by": side, "quantity_returned": match.quantity, "version": match.version},
        now,
    )


def fulfil_match(
    *,
    session: Session,
    actor: Principal,
    match_id: str,
    version: int | None = None,
    now: datetime | None = None,
) -> MatchPublic:
    """The offer's holder confirms the deal was done: the match closes, the stock stays gone."""
    now = now or utcnow()
    match, _, _, side = _load(session, actor, match_id, lock=True)
    _check_version(match, version)
    if side != "offer":
        raise Forbidden("only the offer's holder confirms fulfilment")
    if match.state != "revealed":
        raise RuleViolation(f"match is {match.state}, not revealed", code="not_revealed")
    match.state = "fulfilled"
    match.closed_at = match.updated_at = now
    return _record(
        session,
        actor,
        match,
        "match.fulfilled",
        {"quantity": match.quantity, "version": match.version},
        now,
    )


def expire_matches(*, session: Session, now: datetime | None = None) -> list[str]:
    """Time passing: unrevealed matches past their expiry, or whose listing left the pool.

    Returns the expired matches' ids; their quantities go back to the pool. Revealed matches
    do not expire: the parties negotiate outside the platform and decline if it falls through.
    """
    now = now or utcnow()
    offer, need = aliased(Listing), aliased(Listing)
    due = session.scalars(
        select(Match.id)
        .join(offer, offer.id == Match.offer_id)
        .join(need, need.id == Match.need_id)
        .where(
            Match.state.in_(("proposed", "interested")),
            or_(Match.expires_at <= now, offer.status != "open", need.status != "open"),
        )
        .order_by(Match.id)
    ).all()
    expired: list[str] = []
    for match_id in due:
        match = session.scalars(
            select(Match)
            .where(Match.id == match_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        if match.state not in ("proposed", "interested"):  # settled meanwhile
            continue
        _release(session, match)
        match.state = "expired"
        match.closed_at = match.updated_at = now
        session.flush()
        audit.append(
            session=session,
            actor="system:sweep",
            action="match.expired",
            entity=f"match:{match.id}",
            payload={"quantity_returned": match.quantity, "version": match.version},
            now=now,
        )
        expired.append(match.id)
    return expired


def _record(
    session: Session,
    actor: Principal,
    match: Match,
    action: str,
    payload: dict[str, Any],
    now: datetime,
) -> MatchPublic:
    """Write a match's new state, append it to the audit chain, and answer the actor's view."""
    _flush(session, match.id)
    audit.append(
        session=session,
        actor=actor,
        action=action,
        entity=f"match:{match.id}",
        payload=payload,
        now=now,
    )
    return view(session, match, _member_of(actor))
