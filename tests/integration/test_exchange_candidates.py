"""Candidate search: which open counterparts could serve a listing, found through the part index."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from supplyshock.exchange.candidates import find_candidates
from supplyshock.exchange.crises import close_crisis, purge_expired
from supplyshock.exchange.errors import NotFound, RuleViolation
from supplyshock.exchange.listings import update_listing, withdraw_listing
from supplyshock.exchange.schemas import CrisisPublic, ListingPublic, ListingUpdate, Principal
from supplyshock.store.models import Listing, ListingPart

NOW = datetime(2025, 11, 3, 9, 0, tzinfo=UTC)  # the conftest's "now"

MakeMember = Callable[..., Principal]
MakeCrisis = Callable[..., CrisisPublic]
MakeListing = Callable[..., ListingPublic]


@pytest.fixture
def market(
    make_member: MakeMember, make_crisis: MakeCrisis
) -> tuple[Principal, Principal, CrisisPublic]:
    """A holder, a buyer and a crisis without scope limits."""
    return make_member(), make_member(), make_crisis(makers=[], part_families=[])


def _ids(session: Session, actor: Principal, listing: ListingPublic) -> list[str]:
    found = find_candidates(session=session, actor=actor, listing_id=listing.id, now=NOW)
    return [c.listing_id for c in found]


def test_an_offer_and_a_need_for_the_same_part_find_each_other(
    session: Session, market: tuple[Principal, Principal, CrisisPublic], make_listing: MakeListing
) -> None:
    holder, buyer, crisis = market
    offer = make_listing(holder, crisis.id, kind="offer", alternates=[])
    need = make_listing(buyer, crisis.id, kind="need", alternates=[], quantity=300)
    assert _ids(session, holder, offer) == [need.id]
    assert _ids(session, buyer, need) == [offer.id]
    [c] = find_candidates(session=session, actor=holder, listing_id=offer.id, now=NOW)
    assert (c.kind, c.quantity_open, c.region) == ("need", 300, "europe")


def test_parts_compare_without_regard_to_case_or_spaces(
    session: Session, market: tuple[Principal, Principal, CrisisPublic], make_listing: MakeListing
) -> None:
    holder, buyer, crisis = market
    offer = make_listing(holder, crisis.id, part_number="bc847b,215", maker=" NEXPERIA ")
    need = make_listing(buyer, crisis.id, kind="need", part_number="BC847B,215")
    assert _ids(session, buyer, need) == [offer.id]


def test_a_need_finds_offers_of_the_alternates_it_accepts(
    session: Session, market: tuple[Principal, Principal, CrisisPublic], make_listing: MakeListing
) -> None:
    holder, buyer, crisis = market
    alt = make_listing(holder, crisis.id, part_number="BC847C", alternates=[])
    make_listing(holder, crisis.id, part_number="BC857B", alternates=[])  # not accepted
    need = make_listing(
        buyer,
        crisis.id,
        kind="need",
        alternates=[{"part_number": "BC847C", "maker": "Nexperia"}],
    )
    assert _ids(session, buyer, need) == [alt.id]


def test_an_offer_is_found_under_the_other_numbers_its_stock_is_sold_as(
    session: Session, market: tuple[Principal, Principal, CrisisPublic], make_listing: MakeListing
) -> None:
    holder, buyer, crisis = market
    offer = make_listing(
        holder,
        crisis.id,
        part_number="BC847B,215",
        alternates=[{"part_number": "BC847B", "maker": "Nexperia"}],
    )
    need = make_listing(buyer, crisis.id, kind="need", part_number="BC847B", alternates=[])
    assert _ids(session, buyer, need) == [offer.id]


def test_changing_alternates_changes_what_is_found(
    session: Session, market: tuple[Principal, Principal, CrisisPublic], make_listing: MakeListing
) -> None:
    holder, buyer, crisis = market
    offer = make_listing(holder, crisis.id, part_number="PMV16XN", alternates=[])
    need = make_listing(buyer, crisis.id, kind="need", part_number="PMV20XN", alternates=[])
    assert _ids(session, buyer, need) == []
    update_listing(
        session=session,
        actor=buyer,
        listing_id=need.id,
        data=ListingUpdate(alternates=[{"part_number": "PMV16XN", "maker": "Nexperia"}]),
        now=NOW,
    )
    assert _ids(session, buyer, need) == [offer.id]
    update_listing(
        session=session,
        actor=buyer,
        listing_id=need.id,
        data=ListingUpdate(alternates=[]),
        now=NOW,
    )
    assert _ids(session, buyer, need) == []


def test_own_listings_other_crises_and_same_kind_are_never_candidates(
    session: Session,
    market: tuple[Principal, Principal, CrisisPublic],
    make_crisis: MakeCrisis,
    make_listing: MakeListing,
) -> None:
    holder, buyer, crisis = market
    other_crisis = make_crisis(makers=[], part_families=[])
    need = make_listing(buyer, crisis.id, kind="need")
    make_listing(buyer, crisis.id, kind="offer")  # the buyer's own offer
    make_listing(holder, other_crisis.id, kind="offer")  # another crisis
    make_listing(holder, crisis.id, kind="need")  # another need
    assert _ids(session, buyer, need) == []


def test_closed_expired_and_fully_promised_listings_leave_the_candidates(
    session: Session, market: tuple[Principal, Principal, CrisisPublic], make_listing: MakeListing
) -> None:
    holder, buyer, crisis = market
    need = make_listing(buyer, crisis.id, kind="need")
    withdrawn = make_listing(holder, crisis.id)
    withdraw_listing(session=session, actor=holder, listing_id=withdrawn.id, now=NOW)
    make_listing(holder, crisis.id, expires_at=NOW + timedelta(hours=1))
    promised = make_listing(holder, crisis.id)
    session.get_one(Listing, promised.id).quantity_open = 0
    session.flush()
    live = make_listing(holder, crisis.id)
    found = find_candidates(
        session=session, actor=buyer, listing_id=need.id, now=NOW + timedelta(hours=2)
    )
    assert [c.listing_id for c in found] == [live.id]


def test_windows_must_overlap(
    session: Session, market: tuple[Principal, Principal, CrisisPublic], make_listing: MakeListing
) -> None:
    holder, buyer, crisis = market
    need = make_listing(
        buyer, crisis.id, kind="need", window_start=date(2025, 12, 1), window_end=date(2025, 12, 15)
    )
    make_listing(holder, crisis.id, window_start=date(2025, 11, 1), window_end=date(2025, 11, 30))
    touching = make_listing(
        holder, crisis.id, window_start=date(2025, 11, 1), window_end=date(2025, 12, 1)
    )
    later = make_listing(
        holder, crisis.id, window_start=date(2025, 12, 10), window_end=date(2026, 1, 31)
    )
    assert _ids(session, buyer, need) == [touching.id, later.id]  # earliest window first


@pytest.mark.parametrize("flag", ["authorised_channel", "original_packaging", "traceability"])
def test_provenance_a_need_requires_must_be_on_the_offer(
    session: Session,
    market: tuple[Principal, Principal, CrisisPublic],
    make_listing: MakeListing,
    flag: str,
) -> None:
    holder, buyer, crisis = market
    need = make_listing(buyer, crisis.id, kind="need", **{flag: True})
    lacking = make_listing(holder, crisis.id, **{flag: False})
    having = make_listing(holder, crisis.id, **{flag: True})
    assert _ids(session, buyer, need) == [having.id]
    assert _ids(session, holder, lacking) == []
    assert _ids(session, holder, having) == [need.id]


def test_date_code_must_not_be_older_than_the_need_accepts(
    session: Session, market: tuple[Principal, Principal, CrisisPublic], make_listing: MakeListing
) -> None:
    holder, buyer, crisis = market
    need = make_listing(buyer, crisis.id, kind="need", date_code="2401")
    old = make_listing(holder, crisis.id, date_code="2352")
    make_listing(holder, crisis.id, date_code=None)  # unknown: cannot satisfy a requirement
    fresh = make_listing(holder, crisis.id, date_code="2401")
    assert _ids(session, buyer, need) == [fresh.id]
    assert _ids(session, holder, old) == []
    assert _ids(session, holder, fresh) == [need.id]


def test_lots_must_fit_the_need_limit(
    session: Session, market: tuple[Principal, Principal, CrisisPublic], make_listing: MakeListing
) -> None:
    holder, buyer, crisis = market
    need = make_listing(buyer, crisis.id, kind="need", max_lots=2)
    many = make_listing(holder, crisis.id, max_lots=5)
    few = make_listing(holder, crisis.id, max_lots=2)
    make_listing(holder, crisis.id, max_lots=None)
    assert _ids(session, buyer, need) == [few.id]
    assert _ids(session, holder, many) == []


def test_candidates_carry_no_member_identity() -> None:
    from supplyshock.exchange.candidates import Candidate

    names = {f.name for f in fields(Candidate)}
    assert not names & {"member_id", "member", "contact", "name", "price_per_unit"}


def test_only_the_owner_may_search_from_a_listing(
    session: Session, market: tuple[Principal, Principal, CrisisPublic], make_listing: MakeListing
) -> None:
    holder, buyer, crisis = market
    offer = make_listing(holder, crisis.id)
    with pytest.raises(NotFound):
        find_candidates(session=session, actor=buyer, listing_id=offer.id, now=NOW)
    withdraw_listing(session=session, actor=holder, listing_id=offer.id, now=NOW)
    with pytest.raises(RuleViolation):
        find_candidates(session=session, actor=holder, listing_id=offer.id, now=NOW)


def test_purging_a_crisis_removes_its_part_index(
    session: Session,
    market: tuple[Principal, Principal, CrisisPublic],
    make_listing: MakeListing,
    operator: Principal,
) -> None:
    holder, _, crisis = market
    make_listing(holder, crisis.id)
    close_crisis(session=session, actor=operator, crisis_id=crisis.id, now=NOW)
    purge_expired(session=session, now=NOW + timedelta(days=365))
    count = select(func.count()).select_from(ListingPart).where(ListingPart.crisis_id == crisis.id)
    assert session.scalar(count) == 0
