"""Matching: a listing is paired with compatible counterparts and the promised stock is reserved."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from supplyshock.exchange.audit import verify_audit
from supplyshock.exchange.errors import NotFound, RuleViolation
from supplyshock.exchange.listings import update_listing, withdraw_listing
from supplyshock.exchange.matching import create_and_match, match_listing, update_and_match
from supplyshock.exchange.pseudonyms import pseudonym
from supplyshock.exchange.schemas import (
    CrisisPublic,
    ListingPublic,
    ListingUpdate,
    PartRef,
    Principal,
)
from supplyshock.store.models import Listing, Match

NOW = datetime(2025, 11, 3, 9, 0, tzinfo=UTC)  # the conftest's "now"

MakeMember = Callable[..., Principal]
MakeCrisis = Callable[..., CrisisPublic]
MakeListing = Callable[..., ListingPublic]
Market = tuple[Principal, Principal, CrisisPublic]


@pytest.fixture
def market(make_member: MakeMember, make_crisis: MakeCrisis) -> Market:
    """A holder, a buyer and a crisis without scope limits."""
    return make_member(), make_member(), make_crisis(makers=[], part_families=[])


def _open(session: Session, listing_id: str) -> int:
    return session.get_one(Listing, listing_id).quantity_open


def test_a_need_is_served_by_one_offer_and_the_units_are_reserved(
    session: Session, market: Market, make_listing: MakeListing
) -> None:
    holder, buyer, crisis = market
    offer = make_listing(holder, crisis.id, kind="offer", quantity=10_000)
    need = make_listing(buyer, crisis.id, kind="need", quantity=300)
    [m] = match_listing(session=session, actor=buyer, listing_id=need.id, now=NOW)
    assert (m.quantity, m.state, m.side, m.my_listing_id) == (300, "proposed", "need", need.id)
    # 10 000 - 300 = 9 700 left to promise; the need is fully covered.
    assert _open(session, offer.id) == 9_700
    assert _open(session, need.id) == 0
    assert verify_audit(session=session).ok


def test_a_need_larger_than_any_offer_is_split_across_offers(
    session: Session, market: Market, make_member: MakeMember, make_listing: MakeListing
) -> None:
    holder, buyer, crisis = market
    small = make_listing(holder, crisis.id, quantity=100)
    big = make_listing(make_member(), crisis.id, quantity=250)
    need = make_listing(buyer, crisis.id, kind="need", quantity=300)
    found = match_listing(session=session, actor=buyer, listing_id=need.id, now=NOW)
    # Same window, so the larger offer comes first: 250 from it, the remaining 50 from the other.
    assert [m.quantity for m in found] == [250, 50]
    assert (_open(session, big.id), _open(session, small.id)) == (0, 50)
    assert _open(session, need.id) == 0


def test_an_offer_with_enough_stock_serves_every_waiting_need_in_full(
    session: Session, market: Market, make_member: MakeMember, make_listing: MakeListing
) -> None:
    holder, buyer, crisis = market
    n1 = make_listing(buyer, crisis.id, kind="need", quantity=100)
    n2 = make_listing(make_member(), crisis.id, kind="need", quantity=200)
    offer = make_listing(holder, crisis.id, quantity=1_000)
    found = match_listing(session=session, actor=holder, listing_id=offer.id, now=NOW)
    assert sorted(m.quantity for m in found) == [100, 200]
    assert all(m.side == "offer" and m.explanation is None for m in found)
    assert _open(session, offer.id) == 700  # 1 000 - 100 - 200
    assert (_open(session, n1.id), _open(session, n2.id)) == (0, 0)


def test_matching_twice_proposes_nothing_new(
    session: Session, market: Market, make_listing: MakeListing
) -> None:
    holder, buyer, crisis = market
    offer = make_listing(holder, crisis.id, quantity=1_000)
    need = make_listing(buyer, crisis.id, kind="need", quantity=2_000)
    assert len(match_listing(session=session, actor=buyer, listing_id=need.id, now=NOW)) == 1
    assert match_listing(session=session, actor=buyer, listing_id=need.id, now=NOW) == []
    assert match_listing(session=session, actor=holder, listing_id=offer.id, now=NOW) == []
    assert session.scalar(select(func.count()).select_from(Match)) == 1
    assert _open(session, need.id) == 1_000  # 2 000 asked, 1 000 promised


def test_incompatible_listings_are_not_matched(
    session: Session, market: Market, make_listing: MakeListing
) -> None:
    holder, buyer, crisis = market
    offer = make_listing(holder, crisis.id, traceability=False)
    need = make_listing(buyer, crisis.id, kind="need", traceability=True)
    assert match_listing(session=session, actor=buyer, listing_id=need.id, now=NOW) == []
    assert _open(session, offer.id) == 10_000


def test_a_members_own_listings_are_never_matched_with_each_other(
    session: Session, market: Market, make_listing: MakeListing
) -> None:
    holder, _, crisis = market
    make_listing(holder, crisis.id)
    need = make_listing(holder, crisis.id, kind="need")
    assert match_listing(session=session, actor=holder, listing_id=need.id, now=NOW) == []


def test_a_changed_listing_is_matched_again(
    session: Session, market: Market, make_listing: MakeListing
) -> None:
    holder, buyer, crisis = market
    alt = make_listing(holder, crisis.id, part_number="BC847C", alternates=[], quantity=80)
    need = make_listing(buyer, crisis.id, kind="need", alternates=[], quantity=50)
    assert match_listing(session=session, actor=buyer, listing_id=need.id, now=NOW) == []
    update_listing(
        session=session,
        actor=buyer,
        listing_id=need.id,
        data=ListingUpdate(alternates=[PartRef(part_number="BC847C", maker="Nexperia")]),
        now=NOW,
    )
    [m] = match_listing(session=session, actor=buyer, listing_id=need.id, now=NOW)
    assert m.quantity == 50 and m.counterpart.part_number == "BC847C"
    assert _open(session, alt.id) == 30  # 80 - 50


def test_promised_units_cannot_be_amended_away(
    session: Session, market: Market, make_listing: MakeListing
) -> None:
    holder, buyer, crisis = market
    offer = make_listing(holder, crisis.id, quantity=100)
    need = make_listing(buyer, crisis.id, kind="need", quantity=60)
    match_listing(session=session, actor=buyer, listing_id=need.id, now=NOW)
    with pytest.raises(RuleViolation) as e:
        update_listing(
            session=session,
            actor=holder,
            listing_id=offer.id,
            data=ListingUpdate(quantity=50),
            now=NOW,
        )
    assert e.value.code == "quantity_promised"


def test_only_the_holder_or_the_operator_can_match_a_listing(
    session: Session, market: Market, make_listing: MakeListing, operator: Principal
) -> None:
    holder, buyer, crisis = market
    make_listing(holder, crisis.id, quantity=100)
    need = make_listing(buyer, crisis.id, kind="need", quantity=60)
    with pytest.raises(NotFound):
        match_listing(session=session, actor=holder, listing_id=need.id, now=NOW)
    [m] = match_listing(session=session, actor=operator, listing_id=need.id, now=NOW)
    assert m.side == "need"  # shown as the need's holder sees it


def test_a_withdrawn_listing_is_not_matched(
    session: Session, market: Market, make_listing: MakeListing
) -> None:
    holder, buyer, crisis = market
    make_listing(holder, crisis.id, quantity=100)
    need = make_listing(buyer, crisis.id, kind="need", quantity=60)
    withdraw_listing(session=session, actor=buyer, listing_id=need.id, now=NOW)
    with pytest.raises(RuleViolation) as e:
        match_listing(session=session, actor=buyer, listing_id=need.id, now=NOW)
    assert e.value.code == "not_open"


# --- pseudonyms ------------------------------------------------------------------------------


def test_a_pseudonym_is_stable_per_pair_and_differs_per_viewer() -> None:
    a, b, c = "a" * 32, "b" * 32, "c" * 32
    assert pseudonym(a, b, key="k") == pseudonym(a, b, key="k")
    assert len({pseudonym(a, b, key="k"), pseudonym(c, b, key="k"), pseudonym(b, a, key="k")}) == 3
    assert re.fullmatch(r"M-[A-Z2-7]{10}", pseudonym(a, b, key="k"))


def test_a_pseudonym_cannot_be_computed_without_the_server_key() -> None:
    a, b = "a" * 32, "b" * 32
    assert pseudonym(a, b, key="server secret") != pseudonym(a, b, key="guessed secret")


def test_create_and_match_proposes_the_first_matches_with_the_new_listing(
    session: Session, market: Market, make_listing: MakeListing, listing_input: Callable[..., Any]
) -> None:
    holder, buyer, crisis = market
    offer = make_listing(holder, crisis.id, quantity=100)

    need = create_and_match(
        session=session,
        actor=buyer,
        data=listing_input(crisis.id, kind="need", quantity=40),
        now=NOW,
    )

    assert need.quantity_open == 0
    assert session.get_one(Listing, offer.id).quantity_open == 60
    [match] = session.scalars(select(Match).where(Match.need_id == need.id)).all()
    assert (match.offer_id, match.quantity, match.state) == (offer.id, 40, "proposed")


def test_update_and_match_matches_a_listing_that_now_answers_to_a_part_on_offer(
    session: Session, market: Market, make_listing: MakeListing
) -> None:
    holder, buyer, crisis = market
    make_listing(holder, crisis.id, quantity=100)
    need = make_listing(
        buyer, crisis.id, kind="need", quantity=40, part_number="PMEG3010", alternates=[]
    )
    assert match_listing(session=session, actor=buyer, listing_id=need.id, now=NOW) == []

    after = update_and_match(
        session=session,
        actor=buyer,
        listing_id=need.id,
        data=ListingUpdate(alternates=[PartRef(part_number="BC847B,215", maker="Nexperia")]),
        now=NOW,
    )

    assert after.quantity_open == 0
    assert session.scalar(select(func.count()).where(Match.need_id == need.id)) == 1
