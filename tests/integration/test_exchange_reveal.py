"""The double-blind reveal: pseudonyms until both sides accept, then each sees the other."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from supplyshock.exchange.audit import verify_audit
from supplyshock.exchange.crises import close_crisis, purge_expired
from supplyshock.exchange.errors import Conflict, Forbidden, NotFound, RuleViolation
from supplyshock.exchange.listings import withdraw_listing
from supplyshock.exchange.matches import (
    MatchPublic,
    accept_match,
    decline_match,
    expire_matches,
    fulfil_match,
    get_match,
    list_matches,
)
from supplyshock.exchange.matching import match_listing
from supplyshock.exchange.pseudonyms import pseudonym
from supplyshock.exchange.schemas import CrisisPublic, ListingPublic, Principal
from supplyshock.store.models import AuditEntry, Listing, Match, Member

NOW = datetime(2025, 11, 3, 9, 0, tzinfo=UTC)

MakeMember = Callable[..., Principal]
MakeCrisis = Callable[..., CrisisPublic]
MakeListing = Callable[..., ListingPublic]


@dataclass(frozen=True)
class Deal:
    """A holder's offer of 100 units matched with a buyer's need of 40."""

    holder: Principal
    buyer: Principal
    offer: ListingPublic
    need: ListingPublic
    match: MatchPublic


@pytest.fixture
def deal(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> Deal:
    holder = make_member("Holder Semiconductors GmbH")
    buyer = make_member("Buyer Automotive AG")
    crisis = make_crisis(makers=[], part_families=[])
    offer = make_listing(holder, crisis.id, quantity=100, traceability=True, date_code="2440")
    need = make_listing(buyer, crisis.id, kind="need", quantity=40, region="east-asia")
    [m] = match_listing(session=session, actor=buyer, listing_id=need.id, now=NOW)
    return Deal(holder, buyer, offer, need, m)


def _open(session: Session, listing_id: str) -> int:
    return session.get_one(Listing, listing_id).quantity_open


def _secrets(session: Session, member: Principal) -> list[str]:
    row = session.get_one(Member, member.member_id)
    return [row.id, row.name, row.contact]


def test_before_mutual_acceptance_a_match_shows_no_identity_or_contact(
    session: Session, deal: Deal
) -> None:
    for viewer, other, other_listing in (
        (deal.buyer, deal.holder, deal.offer),
        (deal.holder, deal.buyer, deal.need),
    ):
        seen = get_match(session=session, actor=viewer, match_id=deal.match.id)
        text = seen.model_dump_json()
        for secret in [*_secrets(session, other), other_listing.id]:
            assert secret not in text
        cp = seen.counterpart
        assert (cp.name, cp.contact, cp.listing_id, cp.date_code, cp.window_start) == (
            None,
            None,
            None,
            None,
            None,
        )
        assert cp.pseudonym == pseudonym(viewer.member_id or "", other.member_id or "")
        assert cp.region == other_listing.region
    # Provenance flags may be shown: the buyer sees that the offer has traceability papers.
    seen = get_match(session=session, actor=deal.buyer, match_id=deal.match.id)
    assert seen.counterpart.traceability is True


def test_interest_alone_reveals_nothing(session: Session, deal: Deal) -> None:
    interested = accept_match(session=session, actor=deal.buyer, match_id=deal.match.id, now=NOW)
    assert interested.state == "interested"
    assert interested.counterpart.contact is None
    seen = get_match(session=session, actor=deal.holder, match_id=deal.match.id)
    assert seen.state == "interested" and seen.counterpart.name is None


def test_when_both_accept_each_side_sees_the_others_contact(session: Session, deal: Deal) -> None:
    accept_match(session=session, actor=deal.buyer, match_id=deal.match.id, now=NOW)
    revealed = accept_match(session=session, actor=deal.holder, match_id=deal.match.id, now=NOW)
    assert revealed.state == "revealed"
    assert (revealed.counterpart.name, revealed.counterpart.contact) == (
        "Buyer Automotive AG",
        "buyer@example.com",
    )
    assert revealed.counterpart.listing_id == deal.need.id
    seen = get_match(session=session, actor=deal.buyer, match_id=deal.match.id)
    assert seen.counterpart.name == "Holder Semiconductors GmbH"
    assert seen.counterpart.date_code == "2440"


def test_the_holder_decides_only_on_interest_forwarded_to_it(session: Session, deal: Deal) -> None:
    with pytest.raises(RuleViolation) as e:
        accept_match(session=session, actor=deal.holder, match_id=deal.match.id, now=NOW)
    assert e.value.code == "no_interest_yet"


def test_each_counterpart_sees_a_different_pseudonym_for_the_same_member(
    session: Session, deal: Deal, make_member: MakeMember, make_listing: MakeListing
) -> None:
    other_buyer = make_member()
    crisis_id = deal.match.crisis_id
    need2 = make_listing(other_buyer, crisis_id, kind="need", quantity=10)
    [m2] = match_listing(session=session, actor=other_buyer, listing_id=need2.id, now=NOW)
    first = get_match(session=session, actor=deal.buyer, match_id=deal.match.id)
    assert m2.counterpart.pseudonym != first.counterpart.pseudonym  # same holder behind both
    # ...and the holder sees two different buyers under two different names.
    mine = list_matches(session=session, actor=deal.holder)
    assert len({m.counterpart.pseudonym for m in mine}) == 2


def test_a_decline_returns_the_quantity_and_the_pair_is_not_proposed_again(
    session: Session, deal: Deal
) -> None:
    assert (_open(session, deal.offer.id), _open(session, deal.need.id)) == (60, 0)
    declined = decline_match(session=session, actor=deal.holder, match_id=deal.match.id, now=NOW)
    assert declined.state == "declined"
    assert (_open(session, deal.offer.id), _open(session, deal.need.id)) == (100, 40)
    assert match_listing(session=session, actor=deal.buyer, listing_id=deal.need.id, now=NOW) == []
    with pytest.raises(RuleViolation):
        accept_match(session=session, actor=deal.buyer, match_id=deal.match.id, now=NOW)


def test_an_expired_match_returns_its_quantity(session: Session, deal: Deal) -> None:
    # Proposed 2025-11-03 09:00: the platform's expiry is the end of that day + 7 days,
    # 2025-11-11 00:00 UTC (never a listing's own expiry, which would link views).
    expiry = datetime(2025, 11, 11, tzinfo=UTC)
    assert deal.match.expires_at == expiry
    assert expire_matches(session=session, now=expiry - timedelta(microseconds=1)) == []
    with pytest.raises(RuleViolation) as e:
        accept_match(session=session, actor=deal.buyer, match_id=deal.match.id, now=expiry)
    assert e.value.code == "match_expired"
    assert expire_matches(session=session, now=expiry) == [deal.match.id]
    assert get_match(session=session, actor=deal.buyer, match_id=deal.match.id).state == "expired"
    assert (_open(session, deal.offer.id), _open(session, deal.need.id)) == (100, 40)


def test_a_listing_expiring_first_takes_its_match_along_without_showing_its_expiry(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    holder, buyer = make_member(), make_member()
    crisis = make_crisis(makers=[], part_families=[])
    # The holder's private expiry: tomorrow 13:37, before the platform's 2025-11-11 00:00.
    private = datetime(2025, 11, 4, 13, 37, tzinfo=UTC)
    offer = make_listing(holder, crisis.id, quantity=100, expires_at=private)
    need = make_listing(buyer, crisis.id, kind="need", quantity=40)
    [m] = match_listing(session=session, actor=buyer, listing_id=need.id, now=NOW)
    assert m.expires_at == datetime(2025, 11, 11, tzinfo=UTC)  # the platform's, not `private`
    assert expire_matches(session=session, now=private - timedelta(microseconds=1)) == []
    with pytest.raises(RuleViolation) as e:
        accept_match(session=session, actor=buyer, match_id=m.id, now=private)
    assert e.value.code == "match_expired"
    assert expire_matches(session=session, now=private) == [m.id]
    assert (_open(session, offer.id), _open(session, need.id)) == (100, 40)


def test_a_match_whose_listing_is_withdrawn_expires(session: Session, deal: Deal) -> None:
    withdraw_listing(session=session, actor=deal.buyer, listing_id=deal.need.id, now=NOW)
    assert expire_matches(session=session, now=NOW) == [deal.match.id]
    assert _open(session, deal.offer.id) == 100


def test_the_holder_confirms_fulfilment_and_the_stock_stays_gone(
    session: Session, deal: Deal
) -> None:
    accept_match(session=session, actor=deal.buyer, match_id=deal.match.id, now=NOW)
    accept_match(session=session, actor=deal.holder, match_id=deal.match.id, now=NOW)
    with pytest.raises(Forbidden):
        fulfil_match(session=session, actor=deal.buyer, match_id=deal.match.id, now=NOW)
    done = fulfil_match(session=session, actor=deal.holder, match_id=deal.match.id, now=NOW)
    # Shown to the day: 2025-11-03 09:00 reads as 2025-11-03 00:00 UTC.
    assert done.state == "fulfilled" and done.closed_at == datetime(2025, 11, 3, tzinfo=UTC)
    assert _open(session, deal.offer.id) == 60  # 100 - 40 delivered
    # A revealed match never expires by time; a fulfilled one cannot be declined.
    assert expire_matches(session=session, now=NOW + timedelta(days=60)) == []
    with pytest.raises(RuleViolation):
        decline_match(session=session, actor=deal.buyer, match_id=deal.match.id, now=NOW)


def test_nobody_else_can_read_or_act_on_a_match(
    session: Session, deal: Deal, make_member: MakeMember, operator: Principal
) -> None:
    stranger = make_member()
    for call in (get_match, accept_match, decline_match):
        with pytest.raises(NotFound):
            call(session=session, actor=stranger, match_id=deal.match.id)
    assert list_matches(session=session, actor=stranger) == []
    with pytest.raises(Forbidden):
        get_match(session=session, actor=operator, match_id=deal.match.id)


def test_every_step_is_in_the_audit_chain(session: Session, deal: Deal) -> None:
    accept_match(session=session, actor=deal.buyer, match_id=deal.match.id, now=NOW)
    accept_match(session=session, actor=deal.holder, match_id=deal.match.id, now=NOW)
    fulfil_match(session=session, actor=deal.holder, match_id=deal.match.id, now=NOW)
    actions = session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.entity == f"match:{deal.match.id}")
        .order_by(AuditEntry.seq)
    ).all()
    assert list(actions) == [
        "match.proposed",
        "match.interest",
        "match.revealed",
        "match.fulfilled",
    ]
    assert verify_audit(session=session).ok


def test_a_stale_version_is_refused(session: Session, deal: Deal) -> None:
    accept_match(session=session, actor=deal.buyer, match_id=deal.match.id, now=NOW)
    with pytest.raises(Conflict):
        decline_match(
            session=session,
            actor=deal.holder,
            match_id=deal.match.id,
            version=deal.match.version,
            now=NOW,
        )


def test_a_closed_crisis_expires_its_matches_and_purging_deletes_them(
    session: Session, deal: Deal, operator: Principal
) -> None:
    close_crisis(session=session, actor=operator, crisis_id=deal.match.crisis_id, now=NOW)
    assert expire_matches(session=session, now=NOW) == [deal.match.id]
    purge_expired(session=session, now=NOW + timedelta(days=90))  # default retention: 90 days
    assert session.scalar(select(func.count()).select_from(Match)) == 0
    assert verify_audit(session=session).ok
