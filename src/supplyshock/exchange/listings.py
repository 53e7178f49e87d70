"""Listings: a member's offers and needs within a crisis — create, amend, withdraw, list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from supplyshock.domain.exchange import ExchangeRuleError, StaleVersion, check_version, new_id
from supplyshock.domain.exchange import Listing as ListingObj
from supplyshock.exchange import audit, policy, rules
from supplyshock.exchange.catalogue import resolve_parts
from supplyshock.exchange.errors import Conflict, NotFound, RuleViolation
from supplyshock.exchange.schemas import (
    ListingCreate,
    ListingPublic,
    ListingStatus,
    ListingUpdate,
    Principal,
)
from supplyshock.store.models import Crisis, Listing, ListingPart, utcnow
from supplyshock.store.repository import ConcurrentWrite, repository

# Fields whose values the audit log keeps; the member is named by the entry's actor.
_AUDITED = (
    "kind",
    "crisis_id",
    "part_number",
    "maker",
    "part_family",
    "alternates",
    "quantity",
    "quantity_open",
    "date_code",
    "max_lots",
    "authorised_channel",
    "original_packaging",
    "traceability",
    "region",
    "window_start",
    "window_end",
    "expires_at",
    "days_of_supply",
    "margin_per_unit",
    "price_per_unit",
    "currency",
    "version",
)


def public(listing: ListingObj) -> ListingPublic:
    """The owner's view of its listing."""
    return ListingPublic.model_validate(listing, from_attributes=True)


def _index_parts(session: Session, listing: ListingObj) -> None:
    """(Re)write the part keys the listing answers to: its own part and its alternates."""
    session.execute(delete(ListingPart).where(ListingPart.listing_id == listing.id))
    keys = {rules.part_key(listing.part_number, listing.maker)}
    keys |= {rules.part_key(a["part_number"], a["maker"]) for a in listing.alternates}
    session.add_all(
        ListingPart(
            listing_id=listing.id, part_key=k, crisis_id=listing.crisis_id, kind=listing.kind
        )
        for k in sorted(keys)
    )


def _snapshot(listing: ListingObj) -> dict[str, Any]:
    return {name: getattr(listing, name) for name in _AUDITED}


def _crisis_for_write(session: Session, crisis_id: str) -> Crisis | None:
    """The crisis, share-locked until commit (PostgreSQL; SQLite serialises anyway).

    Closing a crisis updates its row, so it waits for listing writes in flight and they wait
    for it: a listing can never be created or amended in a crisis that closed meanwhile.
    """
    return session.get(Crisis, crisis_id, with_for_update={"read": True})


def _check_rules(
    crisis: Crisis,
    *,
    kind: str,
    expires_at: datetime,
    price: object | None,
    days_of_supply: float | None,
    margin_per_unit: float | None,
    now: datetime,
) -> None:
    """The safeguards every write re-checks: the crisis runs, no prices unless allowed."""
    if crisis.status != "open" or not rules.crisis_is_running(
        crisis.starts_on, crisis.ends_on, now
    ):
        raise RuleViolation(f"crisis {crisis.name!r} is not running", code="crisis_not_running")
    if price is not None and not crisis.allow_prices:
        raise RuleViolation(
            f"crisis {crisis.name!r} does not allow prices: deals are priced outside the platform",
            code="prices_not_allowed",
        )
    if kind == "offer" and (days_of_supply is not None or margin_per_unit is not None):
        raise RuleViolation(
            "days_of_supply and margin_per_unit belong to needs", code="need_only_field"
        )
    if expires_at <= now:
        raise RuleViolation("expires_at is in the past", code="expired")
    if expires_at > rules.end_of_crisis(crisis.ends_on):
        raise RuleViolation(
            f"a listing cannot outlive its crisis (ends {crisis.ends_on})", code="outlives_crisis"
        )


def create_listing(
    *, session: Session, actor: Principal, data: ListingCreate, now: datetime | None = None
) -> ListingPublic:
    return public(new_listing(session=session, actor=actor, data=data, now=now))


def new_listing(
    *, session: Session, actor: Principal, data: ListingCreate, now: datetime | None = None
) -> ListingObj:
    """:func:`create_listing`, answering the domain object (matching goes on with it)."""
    member_id = policy.member_of(actor)
    now = now or utcnow()
    crisis = _crisis_for_write(session, data.crisis_id)
    if crisis is None:
        raise NotFound(f"no crisis {data.crisis_id!r}")
    expires_at = data.expires_at or rules.end_of_crisis(crisis.ends_on)
    _check_rules(
        crisis,
        kind=data.kind,
        expires_at=expires_at,
        price=data.price_per_unit,
        days_of_supply=data.days_of_supply,
        margin_per_unit=data.margin_per_unit,
        now=now,
    )
    if not rules.in_scope(data.maker, crisis.makers):
        raise RuleViolation(
            f"maker {data.maker!r} is outside the scope of crisis {crisis.name!r}",
            code="out_of_scope",
        )
    if not rules.in_scope(data.part_family, crisis.part_families):
        raise RuleViolation(
            f"part family {data.part_family!r} is outside the scope of crisis {crisis.name!r}",
            code="out_of_scope",
        )
    # Parts come from the crisis's catalogue, which sets the family: invented parts cannot
    # pad a family on the board (docs/anonymity.md).
    family = resolve_parts(
        session=session,
        crisis_id=crisis.id,
        part_number=data.part_number,
        maker=data.maker,
        alternates=[(a.part_number, a.maker) for a in data.alternates],
        part_family=data.part_family,
    )
    fields = data.model_dump(mode="python", exclude={"alternates", "expires_at", "part_family"})
    listing = ListingObj(
        **fields,
        part_family=family,
        id=new_id(),
        member_id=member_id,
        alternates=[a.model_dump() for a in data.alternates],
        quantity_open=data.quantity,
        expires_at=expires_at,
        status="open",
        created_at=now,
        updated_at=now,
    )
    repository(session).add_listing(listing)
    _index_parts(session, listing)
    audit.append(
        session=session,
        actor=actor,
        action="listing.created",
        entity=f"listing:{listing.id}",
        payload=_snapshot(listing),
        now=now,
    )
    return listing


def own(session: Session, actor: Principal, listing_id: str) -> ListingObj:
    """The caller's own listing; another member's is reported as not found."""
    policy.member_of(actor)
    return policy.own_listing(actor, repository(session).get_listing(listing_id), listing_id)


def own_locked(session: Session, actor: Principal, listing_id: str) -> ListingObj:
    """The caller's own listing, row-locked until commit, for a write.

    Read without the lock, a matching run committing in between would bump the row's version
    and the write would fail as a conflict the client never caused (it sent no version).
    Another member's listing is reported as not found, and is locked only for that instant.
    """
    policy.member_of(actor)
    found = repository(session).lock_listings([listing_id]).get(listing_id)
    return policy.own_listing(actor, found, listing_id)


def load_own(session: Session, actor: Principal, listing_id: str) -> Listing:
    """The caller's own listing row; another member's is reported as not found."""
    return repository(session).listing_row(own(session, actor, listing_id))


def _save(session: Session, listing: ListingObj) -> None:
    try:
        repository(session).save(listing)
    except ConcurrentWrite as e:
        # Another transaction updated the row between our read and our write. The session
        # must now be rolled back; the unit of work does that when this error leaves it.
        raise Conflict(f"listing {listing.id} was changed concurrently: read it again") from e


def _rule(e: ExchangeRuleError) -> RuleViolation:
    return RuleViolation(e.message, code=e.code)


def update_listing(
    *,
    session: Session,
    actor: Principal,
    listing_id: str,
    data: ListingUpdate,
    now: datetime | None = None,
) -> ListingPublic:
    return public(
        amend_listing(session=session, actor=actor, listing_id=listing_id, data=data, now=now)
    )


def amend_listing(
    *,
    session: Session,
    actor: Principal,
    listing_id: str,
    data: ListingUpdate,
    now: datetime | None = None,
) -> ListingObj:
    """Amend an open listing; quantity changes move the open quantity by the same amount."""
    now = now or utcnow()
    listing = own_locked(session, actor, listing_id)
    try:
        check_version("listing", listing.id, listing.version or 0, data.version)
        listing.require_open()
    except StaleVersion as e:
        raise Conflict(str(e)) from e
    except ExchangeRuleError as e:
        raise _rule(e) from e
    changes = data.changes()
    for required in (
        "alternates",
        "quantity",
        "region",
        "window_start",
        "window_end",
        "expires_at",
    ):
        if required in changes and changes[required] is None:
            raise RuleViolation(f"{required} cannot be removed", code="required")

    def after(name: str) -> Any:
        return changes[name] if name in changes else getattr(listing, name)

    crisis = _crisis_for_write(session, listing.crisis_id)
    assert crisis is not None  # the foreign key guarantees it
    _check_rules(
        crisis,
        kind=listing.kind,
        expires_at=after("expires_at"),
        price=after("price_per_unit"),
        days_of_supply=after("days_of_supply"),
        margin_per_unit=after("margin_per_unit"),
        now=now,
    )
    if after("window_end") < after("window_start"):
        raise RuleViolation("window_end is before window_start", code="invalid")
    if (after("price_per_unit") is None) != (after("currency") is None):
        raise RuleViolation("price_per_unit and currency go together", code="invalid")
    if "alternates" in changes:
        listing.part_family = resolve_parts(
            session=session,
            crisis_id=listing.crisis_id,
            part_number=listing.part_number,
            maker=listing.maker,
            alternates=[(a["part_number"], a["maker"]) for a in changes["alternates"]],
        )
    if "quantity" in changes:
        try:
            listing.amend_quantity(changes["quantity"])
        except ExchangeRuleError as e:
            raise _rule(e) from e
    for name, value in changes.items():
        if name != "quantity":
            setattr(listing, name, value)
    listing.updated_at = now
    _save(session, listing)
    if "alternates" in changes:
        _index_parts(session, listing)
    audit.append(
        session=session,
        actor=actor,
        action="listing.updated",
        entity=f"listing:{listing.id}",
        payload={"changes": changes, "version": listing.version},
        now=now,
    )
    return listing


def withdraw_listing(
    *,
    session: Session,
    actor: Principal,
    listing_id: str,
    version: int | None = None,
    now: datetime | None = None,
) -> ListingPublic:
    """Take an open listing out of the pool; it stays visible to its owner as withdrawn."""
    now = now or utcnow()
    listing = own_locked(session, actor, listing_id)
    try:
        check_version("listing", listing.id, listing.version or 0, version)
        listing.withdraw(now)
    except StaleVersion as e:
        raise Conflict(str(e)) from e
    except ExchangeRuleError as e:
        raise _rule(e) from e
    _save(session, listing)
    audit.append(
        session=session,
        actor=actor,
        action="listing.withdrawn",
        entity=f"listing:{listing.id}",
        payload={"version": listing.version},
        now=now,
    )
    return public(listing)


def get_my_listing(*, session: Session, actor: Principal, listing_id: str) -> ListingPublic:
    return public(own(session, actor, listing_id))


def list_my_listings(
    *,
    session: Session,
    actor: Principal,
    crisis_id: str | None = None,
    status: ListingStatus | None = None,
) -> list[ListingPublic]:
    """The caller's own listings, newest first."""
    member_id = policy.member_of(actor)
    query = select(Listing).where(Listing.member_id == member_id)
    if crisis_id is not None:
        query = query.where(Listing.crisis_id == crisis_id)
    if status is not None:
        query = query.where(Listing.status == status)
    query = query.order_by(Listing.created_at.desc(), Listing.id)
    return [ListingPublic.model_validate(x) for x in session.scalars(query)]
