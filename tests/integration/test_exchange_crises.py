"""Crisis rules: a limited lifetime, no prices unless allowed, and its end closes its listings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from supplyshock.exchange.audit import verify_audit
from supplyshock.exchange.crises import (
    close_crisis,
    get_crisis,
    list_crises,
    open_crisis,
    purge_expired,
    sweep,
)
from supplyshock.exchange.errors import Conflict, Forbidden, RuleViolation
from supplyshock.exchange.listings import (
    get_my_listing,
    list_my_listings,
    update_listing,
    withdraw_listing,
)
from supplyshock.exchange.rules import MAX_CRISIS_DAYS
from supplyshock.exchange.schemas import (
    CrisisCreate,
    CrisisPublic,
    ListingPublic,
    ListingUpdate,
    Principal,
)
from supplyshock.store.models import AuditEntry

NOW = datetime(2025, 11, 3, 9, 0, tzinfo=UTC)  # the conftest's "now"

MakeMember = Callable[..., Principal]
MakeCrisis = Callable[..., CrisisPublic]
MakeListing = Callable[..., ListingPublic]


def test_crisis_may_last_at_most_the_maximum_lifetime() -> None:
    start = date(2025, 10, 1)
    CrisisCreate(name="ok", starts_on=start, ends_on=start + timedelta(days=MAX_CRISIS_DAYS))
    with pytest.raises(ValidationError, match=f"at most {MAX_CRISIS_DAYS} days"):
        CrisisCreate(
            name="too long", starts_on=start, ends_on=start + timedelta(days=MAX_CRISIS_DAYS + 1)
        )


def test_crisis_cannot_end_before_it_starts() -> None:
    with pytest.raises(ValidationError, match="before starts_on"):
        CrisisCreate(name="x", starts_on=date(2025, 10, 1), ends_on=date(2025, 9, 30))


def test_only_the_operator_opens_and_closes_crises(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis
) -> None:
    member = make_member()
    with pytest.raises(Forbidden):
        open_crisis(
            session=session,
            actor=member,
            data=CrisisCreate(name="mine", starts_on=date(2025, 10, 1), ends_on=date(2025, 11, 1)),
        )
    with pytest.raises(Forbidden):
        close_crisis(session=session, actor=member, crisis_id=make_crisis().id)


def test_crisis_names_are_unique(session: Session, make_crisis: MakeCrisis) -> None:
    make_crisis(name="Nexperia 2025")
    with pytest.raises(Conflict):
        make_crisis(name="Nexperia 2025")
    assert [c.name for c in list_crises(session=session)] == ["Nexperia 2025"]


def test_prices_are_refused_unless_the_crisis_allows_them(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    member, crisis = make_member(), make_crisis(allow_prices=False)
    with pytest.raises(RuleViolation) as e:
        make_listing(member, crisis.id, price_per_unit="0.04", currency="EUR")
    assert e.value.code == "prices_not_allowed"
    assert list_my_listings(session=session, actor=member) == []


def test_a_price_cannot_be_added_later_either(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    member = make_member()
    listing = make_listing(member, make_crisis(allow_prices=False).id)
    with pytest.raises(RuleViolation) as e:
        update_listing(
            session=session,
            actor=member,
            listing_id=listing.id,
            data=ListingUpdate(price_per_unit="0.04", currency="EUR"),
            now=NOW,
        )
    assert e.value.code == "prices_not_allowed"


def test_prices_are_accepted_where_the_crisis_allows_them(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    member = make_member()
    listing = make_listing(
        member, make_crisis(allow_prices=True).id, price_per_unit="0.04", currency="EUR"
    )
    session.expire_all()
    stored = get_my_listing(session=session, actor=member, listing_id=listing.id)
    assert stored.price_per_unit == Decimal("0.04") and stored.currency == "EUR"


def test_price_needs_a_currency(listing_input: Callable[..., object]) -> None:
    with pytest.raises(ValidationError, match="go together"):
        listing_input("c", price_per_unit="1")


def test_listing_before_the_crisis_starts_is_refused(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    crisis = make_crisis(starts_on=date(2025, 12, 1), ends_on=date(2026, 1, 31))
    with pytest.raises(RuleViolation) as e:
        make_listing(make_member(), crisis.id)
    assert e.value.code == "crisis_not_running"


def test_closing_a_crisis_closes_its_open_listings(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    member = make_member()
    crisis, other = make_crisis(), make_crisis()
    open_one = make_listing(member, crisis.id)
    withdrawn = make_listing(member, crisis.id)
    withdraw_listing(session=session, actor=member, listing_id=withdrawn.id, now=NOW)
    elsewhere = make_listing(member, other.id)

    closed = close_crisis(session=session, actor=Principal.local_operator(), crisis_id=crisis.id)

    assert closed.status == "closed"
    status = {x.id: x.status for x in list_my_listings(session=session, actor=member)}
    assert status == {open_one.id: "closed", withdrawn.id: "withdrawn", elsewhere.id: "open"}


def test_no_listing_is_created_or_amended_in_a_closed_crisis(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    member, crisis = make_member(), make_crisis()
    listing = make_listing(member, crisis.id)
    close_crisis(session=session, actor=Principal.local_operator(), crisis_id=crisis.id, now=NOW)
    with pytest.raises(RuleViolation) as e:
        make_listing(member, crisis.id)
    assert e.value.code == "crisis_not_running"
    with pytest.raises(RuleViolation):
        update_listing(
            session=session,
            actor=member,
            listing_id=listing.id,
            data=ListingUpdate(quantity=1),
            now=NOW,
        )


def test_a_crisis_past_its_end_date_is_closed_by_the_sweep(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    member = make_member()
    crisis = make_crisis(ends_on=date(2025, 11, 30))
    listing = make_listing(member, crisis.id, expires_at=None)  # i.e. with the crisis

    before_end = sweep(session=session, now=datetime(2025, 11, 30, 23, 59, tzinfo=UTC))
    assert before_end.crises_closed == []
    after_end = sweep(session=session, now=datetime(2025, 12, 1, 0, 0, tzinfo=UTC))
    assert after_end.crises_closed == [crisis.id]
    assert get_my_listing(session=session, actor=member, listing_id=listing.id).status == "closed"
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
    assert actions[-1] == "crisis.closed"


def test_expired_listings_leave_the_pool(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    member, crisis = make_member(), make_crisis()
    short = make_listing(member, crisis.id, expires_at=NOW + timedelta(days=1))
    long = make_listing(member, crisis.id, expires_at=NOW + timedelta(days=10))
    report = sweep(session=session, now=NOW + timedelta(days=2))
    assert report.listings_expired == [short.id]
    assert [x.id for x in list_my_listings(session=session, actor=member, status="open")] == [
        long.id
    ]
    assert get_my_listing(session=session, actor=member, listing_id=short.id).status == "expired"


def test_stock_data_is_deleted_when_the_retention_period_ends(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    member = make_member()
    crisis = make_crisis(retention_days=30)
    listing = make_listing(member, crisis.id)
    update_listing(
        session=session,
        actor=member,
        listing_id=listing.id,
        data=ListingUpdate(quantity=7),
        now=NOW,
    )
    close_crisis(session=session, actor=Principal.local_operator(), crisis_id=crisis.id, now=NOW)

    early = purge_expired(session=session, now=NOW + timedelta(days=30, seconds=-1))
    assert early.crises_purged == []
    assert get_my_listing(session=session, actor=member, listing_id=listing.id).quantity == 7

    due = NOW + timedelta(days=30)
    report = purge_expired(session=session, now=due)
    assert (report.crises_purged, report.listings_deleted) == ([crisis.id], 1)
    assert list_my_listings(session=session, actor=member) == []
    assert get_crisis(session=session, crisis_id=crisis.id).purged_at == due
    # Who did what and when stays on record; what the stock was does not.
    rows = session.execute(
        select(AuditEntry.action, AuditEntry.payload).where(
            AuditEntry.entity == f"listing:{listing.id}"
        )
    ).all()
    assert [r.action for r in rows] == ["listing.created", "listing.updated"]
    assert all(r.payload is None for r in rows)
    assert verify_audit(session=session).ok
    assert purge_expired(session=session, now=due + timedelta(days=1)).crises_purged == []


def test_open_crises_are_never_purged(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    member, crisis = make_member(), make_crisis(retention_days=0)
    make_listing(member, crisis.id)
    assert purge_expired(session=session, now=NOW + timedelta(days=90)).crises_purged == []
    assert len(list_my_listings(session=session, actor=member)) == 1
