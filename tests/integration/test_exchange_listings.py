"""Listings: create, amend, withdraw, list — owner-only, versioned, and all-or-nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from supplyshock.exchange.crises import open_crisis
from supplyshock.exchange.errors import Conflict, Forbidden, NotFound, RuleViolation
from supplyshock.exchange.listings import (
    create_listing,
    get_my_listing,
    list_my_listings,
    update_listing,
    withdraw_listing,
)
from supplyshock.exchange.members import create_member
from supplyshock.exchange.schemas import (
    CrisisCreate,
    CrisisPublic,
    ListingCreate,
    ListingPublic,
    ListingUpdate,
    MemberCreate,
    Principal,
)
from supplyshock.store.db import UnitOfWork
from supplyshock.store.models import AuditEntry, Listing
from tests.integration.conftest import TEST_CATALOGUE

NOW = datetime(2025, 11, 3, 9, 0, tzinfo=UTC)  # the conftest's "now"

MakeMember = Callable[..., Principal]
MakeCrisis = Callable[..., CrisisPublic]
MakeListing = Callable[..., ListingPublic]
ListingInput = Callable[..., ListingCreate]


def _audit_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def test_new_listing_is_open_with_all_its_quantity_unpromised(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    member, crisis = make_member(), make_crisis()
    listing = make_listing(member, crisis.id, quantity=5_000)
    assert (listing.status, listing.quantity, listing.quantity_open) == ("open", 5_000, 5_000)
    assert listing.version == 1
    assert listing.member_id == member.member_id
    assert [a.part_number for a in listing.alternates] == ["BC847BW"]


def test_listing_expires_with_its_crisis_by_default(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    crisis = make_crisis(ends_on=date(2026, 1, 31))
    listing = make_listing(make_member(), crisis.id, expires_at=None)
    assert listing.expires_at == datetime(2026, 2, 1, tzinfo=UTC)


def test_need_may_state_days_of_supply_and_margin(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    need = make_listing(
        make_member(), make_crisis().id, kind="need", days_of_supply=4.5, margin_per_unit=0.8
    )
    assert (need.kind, need.days_of_supply, need.margin_per_unit) == ("need", 4.5, 0.8)


def test_offer_cannot_state_days_of_supply(listing_input: ListingInput) -> None:
    with pytest.raises(ValidationError, match="belong to needs"):
        listing_input("c", kind="offer", days_of_supply=3)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("quantity", 0, "greater than 0"),
        ("region", "Stuttgart", "unknown region"),
        ("date_code", "2399", "malformed date code"),
        ("part_number", "X" * 65, "at most 64"),
        ("window_end", date(2025, 10, 1), "window_end is before window_start"),
        ("expires_at", datetime(2025, 12, 1), "time zone"),
        ("alternates", [{"part_number": "A", "maker": "B"}] * 21, "at most 20"),
        ("colour", "red", "Extra inputs"),
    ],
)
def test_bad_listing_input_is_refused_with_a_message(
    listing_input: ListingInput, field: str, value: object, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        listing_input("c", **{field: value})


def test_only_members_hold_listings(
    session: Session, make_crisis: MakeCrisis, listing_input: ListingInput, operator: Principal
) -> None:
    with pytest.raises(Forbidden):
        create_listing(
            session=session, actor=operator, data=listing_input(make_crisis().id), now=NOW
        )


def test_listing_in_an_unknown_crisis_is_refused(
    session: Session, make_member: MakeMember, listing_input: ListingInput
) -> None:
    with pytest.raises(NotFound):
        create_listing(
            session=session, actor=make_member(), data=listing_input("no-such-crisis"), now=NOW
        )


def test_maker_outside_the_crisis_scope_is_refused(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    crisis = make_crisis(makers=["Nexperia"])
    with pytest.raises(RuleViolation) as e:
        make_listing(make_member(), crisis.id, maker="Infineon")
    assert e.value.code == "out_of_scope"


def test_listing_cannot_outlive_its_crisis(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    crisis = make_crisis(ends_on=date(2025, 12, 31))
    with pytest.raises(RuleViolation) as e:
        make_listing(make_member(), crisis.id, expires_at=datetime(2026, 1, 5, tzinfo=UTC))
    assert e.value.code == "outlives_crisis"


def test_amending_quantity_moves_the_open_quantity_and_the_version(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    member = make_member()
    listing = make_listing(member, make_crisis().id, quantity=1_000)
    # Pretend 300 units are already promised to a match (matching is a later slice).
    session.get_one(Listing, listing.id).quantity_open = 700
    session.flush()
    amended = update_listing(
        session=session,
        actor=member,
        listing_id=listing.id,
        data=ListingUpdate(version=2, quantity=1_500, region="china"),
        now=NOW,
    )
    assert (amended.quantity, amended.quantity_open, amended.region) == (1_500, 1_200, "china")
    assert amended.version == 3


def test_quantity_cannot_drop_below_what_is_promised(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    member = make_member()
    listing = make_listing(member, make_crisis().id, quantity=1_000)
    session.get_one(Listing, listing.id).quantity_open = 100  # 900 promised
    session.flush()
    with pytest.raises(RuleViolation) as e:
        update_listing(
            session=session,
            actor=member,
            listing_id=listing.id,
            data=ListingUpdate(quantity=800),
            now=NOW,
        )
    assert e.value.code == "quantity_promised"


def test_amending_with_a_stale_version_is_a_conflict(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    member = make_member()
    listing = make_listing(member, make_crisis().id)
    update_listing(
        session=session,
        actor=member,
        listing_id=listing.id,
        data=ListingUpdate(version=1, quantity=5),
        now=NOW,
    )
    with pytest.raises(Conflict, match="version 2, not 1"):
        update_listing(
            session=session,
            actor=member,
            listing_id=listing.id,
            data=ListingUpdate(version=1, quantity=7),
            now=NOW,
        )
    assert get_my_listing(session=session, actor=member, listing_id=listing.id).quantity == 5


def test_a_concurrent_write_between_read_and_update_is_a_conflict(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    member = make_member()
    listing = make_listing(member, make_crisis().id)
    # This request has read the listing at version 1 (the session holds it, as a request would).
    held = session.get_one(Listing, listing.id)
    assert held.version == 1
    # Another transaction bumps the row behind this session's back.
    session.execute(
        text("UPDATE listings SET version = version + 1 WHERE id = :id"), {"id": listing.id}
    )
    with pytest.raises(Conflict, match="changed concurrently"):
        update_listing(
            session=session,
            actor=member,
            listing_id=listing.id,
            data=ListingUpdate(quantity=5),
            now=NOW,
        )


def test_withdrawn_listing_leaves_the_pool_and_cannot_be_amended(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    member = make_member()
    listing = make_listing(member, make_crisis().id)
    gone = withdraw_listing(session=session, actor=member, listing_id=listing.id, now=NOW)
    assert (gone.status, gone.closed_at) == ("withdrawn", NOW)
    assert list_my_listings(session=session, actor=member, status="open") == []
    with pytest.raises(RuleViolation):
        update_listing(
            session=session,
            actor=member,
            listing_id=listing.id,
            data=ListingUpdate(quantity=1),
            now=NOW,
        )
    with pytest.raises(RuleViolation):
        withdraw_listing(session=session, actor=member, listing_id=listing.id, now=NOW)


def test_a_member_cannot_see_or_touch_another_members_listing(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    owner, other = make_member(), make_member()
    listing = make_listing(owner, make_crisis().id)
    with pytest.raises(NotFound):
        get_my_listing(session=session, actor=other, listing_id=listing.id)
    with pytest.raises(NotFound):
        update_listing(
            session=session,
            actor=other,
            listing_id=listing.id,
            data=ListingUpdate(quantity=1),
            now=NOW,
        )
    with pytest.raises(NotFound):
        withdraw_listing(session=session, actor=other, listing_id=listing.id, now=NOW)
    assert list_my_listings(session=session, actor=other) == []
    assert [x.id for x in list_my_listings(session=session, actor=owner)] == [listing.id]


def test_list_my_listings_filters_by_crisis_and_status(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    member = make_member()
    a, b = make_crisis(), make_crisis()
    in_a = make_listing(member, a.id)
    in_b = make_listing(member, b.id)
    withdraw_listing(session=session, actor=member, listing_id=in_b.id, now=NOW)
    assert [x.id for x in list_my_listings(session=session, actor=member, crisis_id=a.id)] == [
        in_a.id
    ]
    assert [x.id for x in list_my_listings(session=session, actor=member, status="withdrawn")] == [
        in_b.id
    ]


def test_every_listing_change_is_audited(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    member = make_member()
    listing = make_listing(member, make_crisis().id)
    update_listing(
        session=session,
        actor=member,
        listing_id=listing.id,
        data=ListingUpdate(quantity=9),
        now=NOW,
    )
    withdraw_listing(session=session, actor=member, listing_id=listing.id, now=NOW)
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity == f"listing:{listing.id}")
        .order_by(AuditEntry.seq)
    ).all()
    assert [e.action for e in entries] == [
        "listing.created",
        "listing.updated",
        "listing.withdrawn",
    ]
    assert {e.actor for e in entries} == {member.actor}
    assert entries[1].payload["changes"] == {"quantity": 9}


def test_a_failed_write_leaves_the_database_unchanged(
    session_factory: sessionmaker[Session], listing_input: ListingInput, operator: Principal
) -> None:
    with UnitOfWork(session_factory) as uow:
        m = create_member(
            session=uow.session,
            actor=operator,
            data=MemberCreate(name="Tier1 AG", contact="t@example.com", country="DE"),
        )
        crisis = open_crisis(
            session=uow.session,
            actor=operator,
            data=CrisisCreate.model_validate(
                {
                    "name": "Chips 2025",
                    "starts_on": date(2025, 10, 1),
                    "ends_on": date(2026, 3, 31),
                    "catalogue": TEST_CATALOGUE,
                }
            ),
            now=NOW,
        )
        uow.commit()
    member = Principal(role="member", member_id=m.id)
    with UnitOfWork(session_factory) as uow:
        listing = create_listing(
            session=uow.session, actor=member, data=listing_input(crisis.id), now=NOW
        )
        uow.commit()
    with session_factory() as s:
        before_audit = _audit_count(s)
        before_rows = s.execute(text("SELECT * FROM listings ORDER BY id")).all()

    # One request: amend the listing, then create a second one with a price the crisis forbids.
    with pytest.raises(RuleViolation), UnitOfWork(session_factory) as uow:
        update_listing(
            session=uow.session,
            actor=member,
            listing_id=listing.id,
            data=ListingUpdate(quantity=1),
            now=NOW,
        )
        create_listing(
            session=uow.session,
            actor=member,
            data=listing_input(crisis.id, price_per_unit="0.05", currency="EUR"),
            now=NOW,
        )
        uow.commit()

    with session_factory() as s:
        assert s.execute(text("SELECT * FROM listings ORDER BY id")).all() == before_rows
        assert _audit_count(s) == before_audit


def test_expiry_in_the_past_is_refused(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    with pytest.raises(RuleViolation):
        make_listing(make_member(), make_crisis().id, expires_at=NOW - timedelta(seconds=1))
