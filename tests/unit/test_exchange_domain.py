"""The exchange's Listing and Match objects: state machines and quantity accounting, no I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from supplyshock.domain.exchange import (
    ExchangeRuleError,
    Listing,
    Match,
    StaleVersion,
    check_version,
    match_expiry,
    start_of_day,
)

NOW = datetime(2025, 11, 3, 9, 30, 15, 123456, tzinfo=UTC)


def listing(kind: str = "offer", quantity: int = 100, **overrides: Any) -> Listing:
    fields: dict[str, Any] = {
        "id": f"{kind}-{quantity}",
        "kind": kind,
        "crisis_id": "c1",
        "member_id": "holder" if kind == "offer" else "buyer",
        "part_number": "BC847B",
        "maker": "Nexperia",
        "part_family": "discretes",
        "alternates": [],
        "quantity": quantity,
        "quantity_open": quantity,
        "date_code": None,
        "max_lots": None,
        "authorised_channel": False,
        "original_packaging": False,
        "traceability": False,
        "region": "europe",
        "window_start": date(2025, 11, 1),
        "window_end": date(2025, 12, 1),
        "expires_at": datetime(2026, 1, 1, tzinfo=UTC),
        "status": "open",
        "days_of_supply": None,
        "margin_per_unit": None,
        "price_per_unit": None,
        "currency": None,
        "created_at": NOW,
        "updated_at": NOW,
    }
    fields.update(overrides)
    return Listing(**fields)


def code_of(excinfo: pytest.ExceptionInfo[ExchangeRuleError]) -> str:
    return excinfo.value.code


# --- quantities -----------------------------------------------------------------------------


def test_a_unit_is_never_promised_twice() -> None:
    offer = listing(quantity=100)
    offer.promise(60)
    offer.promise(40)
    assert (offer.quantity_open, offer.promised) == (0, 100)
    with pytest.raises(ExchangeRuleError) as e:
        offer.promise(1)
    assert code_of(e) == "over_promise"
    assert offer.quantity_open == 0  # the refused promise changed nothing


def test_amending_below_what_is_promised_is_refused_and_above_moves_the_open_quantity() -> None:
    offer = listing(quantity=100)
    offer.promise(30)
    with pytest.raises(ExchangeRuleError) as e:
        offer.amend_quantity(29)
    assert code_of(e) == "quantity_promised"
    assert (offer.quantity, offer.quantity_open) == (100, 70)
    offer.amend_quantity(30)  # exactly what is promised: nothing open
    assert (offer.quantity, offer.quantity_open) == (30, 0)
    offer.amend_quantity(50)  # 50 - 30 promised = 20 open
    assert (offer.quantity, offer.quantity_open) == (50, 20)


def test_a_release_never_lifts_the_open_quantity_above_the_total() -> None:
    offer = listing(quantity=100)
    offer.promise(40)
    offer.release(40)
    assert offer.quantity_open == 100
    offer.release(5)
    assert offer.quantity_open == 100


# --- listing states -------------------------------------------------------------------------


@pytest.mark.parametrize("leave", ["withdraw", "expire", "close"])
def test_a_listing_leaves_the_pool_once(leave: str) -> None:
    offer = listing()
    getattr(offer, leave)(NOW)
    assert offer.status in ("withdrawn", "expired", "closed") and offer.closed_at == NOW
    assert not offer.usable(NOW)
    with pytest.raises(ExchangeRuleError) as e:
        offer.withdraw(NOW)
    assert code_of(e) == "not_open"
    with pytest.raises(ExchangeRuleError):
        offer.amend_quantity(10)


def test_a_listing_past_its_expiry_or_without_open_quantity_is_not_usable() -> None:
    offer = listing(expires_at=NOW)
    assert not offer.usable(NOW) and offer.usable(NOW - timedelta(microseconds=1))
    empty = listing()
    empty.promise(100)
    assert not empty.usable(NOW)


# --- matches --------------------------------------------------------------------------------


def test_proposing_promises_the_same_units_on_both_listings() -> None:
    offer, need = listing("offer", 100), listing("need", 40)
    match = Match.propose(offer, need, 40, {"rule": "unpromised_stock"}, NOW)
    assert (offer.quantity_open, need.quantity_open) == (60, 0)
    assert (match.state, match.quantity, match.created_at) == ("proposed", 40, NOW)
    with pytest.raises(ExchangeRuleError):  # the need is covered: no second match
        Match.propose(offer, need, 1, {}, NOW)
    assert offer.quantity_open == 60


def test_a_match_needs_an_offer_and_a_need_of_two_members() -> None:
    with pytest.raises(ExchangeRuleError):
        Match.propose(listing("need", 10), listing("offer", 10), 5, {}, NOW)
    with pytest.raises(ExchangeRuleError):
        Match.propose(listing("offer", 10), listing("need", 10, member_id="holder"), 5, {}, NOW)
    with pytest.raises(ExchangeRuleError):
        Match.propose(listing("offer", 10), listing("need", 10, crisis_id="c2"), 5, {}, NOW)


def test_the_match_expiry_is_the_platforms_and_a_function_of_the_day_alone() -> None:
    # 2025-11-03 09:30:15.123456 -> end of that day (11-04 00:00) + 7 days = 11-11 00:00.
    assert match_expiry(NOW) == datetime(2025, 11, 11, tzinfo=UTC)
    assert match_expiry(NOW.replace(hour=23, minute=59)) == match_expiry(NOW.replace(hour=0))
    assert start_of_day(NOW) == datetime(2025, 11, 3, tzinfo=UTC)
    # A listing that expires tomorrow does not show through the match's expiry...
    offer = listing(expires_at=NOW + timedelta(days=1, hours=3))
    need = listing("need", 40)
    match = Match.propose(offer, need, 40, {}, NOW)
    assert match.expires_at == datetime(2025, 11, 11, tzinfo=UTC)
    # ...but the match lapses with it, server-side.
    assert match.lapses_at(offer, need) == offer.expires_at
    assert not match.due_to_expire(offer.expires_at - timedelta(seconds=1), offer, need)
    assert match.due_to_expire(offer.expires_at, offer, need)


def _proposed() -> tuple[Match, Listing, Listing]:
    offer, need = listing("offer", 100), listing("need", 40)
    return Match.propose(offer, need, 40, {}, NOW), offer, need


def test_interest_then_acceptance_reveals_in_that_order_only() -> None:
    match, offer, need = _proposed()
    with pytest.raises(ExchangeRuleError) as e:
        match.accept("offer", NOW, offer, need)  # the holder does not approach buyers
    assert code_of(e) == "no_interest_yet"
    assert match.accept("need", NOW, offer, need) == "match.interest"
    with pytest.raises(ExchangeRuleError) as e:
        match.accept("need", NOW, offer, need)
    assert code_of(e) == "already_accepted"
    assert match.accept("offer", NOW, offer, need) == "match.revealed"
    assert match.revealed and match.state == "revealed"
    with pytest.raises(ExchangeRuleError) as e:
        match.accept("need", NOW, offer, need)
    assert code_of(e) == "not_acceptable"


def test_a_lapsed_match_or_one_whose_listing_left_cannot_be_accepted() -> None:
    match, offer, need = _proposed()
    with pytest.raises(ExchangeRuleError) as e:
        match.accept("need", match.expires_at, offer, need)
    assert code_of(e) == "match_expired"
    offer.withdraw(NOW)
    with pytest.raises(ExchangeRuleError) as e:
        match.accept("need", NOW, offer, need)
    assert code_of(e) == "listing_not_open"
    assert match.state == "proposed"


def test_declining_returns_the_quantity_and_is_final() -> None:
    match, offer, need = _proposed()
    match.decline("offer", NOW, offer, need)
    assert (match.state, match.declined_by, match.closed_at) == ("declined", "offer", NOW)
    assert (offer.quantity_open, need.quantity_open) == (100, 40)
    for step in (
        lambda: match.decline("need", NOW, offer, need),
        lambda: match.accept("need", NOW, offer, need),
        lambda: match.expire(NOW, offer, need),
        lambda: match.fulfil(NOW),
    ):
        with pytest.raises(ExchangeRuleError):
            step()
    assert (offer.quantity_open, need.quantity_open) == (100, 40)  # not released twice


def test_a_revealed_match_is_fulfilled_keeps_its_stock_and_never_expires() -> None:
    match, offer, need = _proposed()
    with pytest.raises(ExchangeRuleError) as e:
        match.fulfil(NOW)
    assert code_of(e) == "not_revealed"
    match.accept("need", NOW, offer, need)
    match.accept("offer", NOW, offer, need)
    assert not match.due_to_expire(NOW + timedelta(days=60), offer, need)
    match.fulfil(NOW)
    assert match.state == "fulfilled" and offer.quantity_open == 60
    with pytest.raises(ExchangeRuleError):
        match.decline("need", NOW, offer, need)


def test_an_expired_match_returns_its_quantity() -> None:
    match, offer, need = _proposed()
    assert not match.due_to_expire(match.expires_at - timedelta(microseconds=1), offer, need)
    assert match.due_to_expire(match.expires_at, offer, need)
    match.expire(match.expires_at, offer, need)
    assert match.state == "expired" and (offer.quantity_open, need.quantity_open) == (100, 40)


def test_a_match_only_releases_into_its_own_listings() -> None:
    match, offer, need = _proposed()
    with pytest.raises(ExchangeRuleError):
        match.decline("need", NOW, listing("offer", 7), need)
    assert match.state == "proposed"


def test_a_stale_version_is_refused_and_none_means_unconditional() -> None:
    check_version("match", "m1", 3, None)
    check_version("match", "m1", 3, 3)
    with pytest.raises(StaleVersion, match="version 3, not 2"):
        check_version("match", "m1", 3, 2)
