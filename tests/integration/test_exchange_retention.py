"""Time passing: the sweep expires matches, and the retention purge erases what it promises."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from supplyshock.exchange.audit import verify_audit
from supplyshock.exchange.crises import ERASED_CONTACT, close_crisis, purge_expired, sweep
from supplyshock.exchange.matches import MatchPublic, accept_match, get_match
from supplyshock.exchange.matching import match_listing
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
    crisis: CrisisPublic
    offer: ListingPublic
    need: ListingPublic
    match: MatchPublic


@pytest.fixture
def deal(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> Deal:
    holder, buyer = make_member(), make_member()
    crisis = make_crisis()
    offer = make_listing(holder, crisis.id, quantity=100)
    need = make_listing(buyer, crisis.id, kind="need", quantity=40)
    [m] = match_listing(session=session, actor=buyer, listing_id=need.id, now=NOW)
    return Deal(holder, buyer, crisis, offer, need, m)


def _open(session: Session, listing_id: str) -> int:
    return session.get_one(Listing, listing_id).quantity_open


def test_the_sweep_expires_an_unanswered_match_and_returns_its_quantity(
    session: Session, deal: Deal
) -> None:
    assert (_open(session, deal.offer.id), _open(session, deal.need.id)) == (60, 0)
    early = sweep(session=session, now=deal.match.expires_at - timedelta(seconds=1))
    assert deal.match.id not in early.matches_expired

    report = sweep(session=session, now=deal.match.expires_at)

    assert deal.match.id in report.matches_expired
    assert get_match(session=session, actor=deal.buyer, match_id=deal.match.id).state == "expired"
    assert (_open(session, deal.offer.id), _open(session, deal.need.id)) == (100, 40)


def test_the_sweep_does_not_expire_a_revealed_match(session: Session, deal: Deal) -> None:
    accept_match(session=session, actor=deal.buyer, match_id=deal.match.id, now=NOW)
    accept_match(session=session, actor=deal.holder, match_id=deal.match.id, now=NOW)

    report = sweep(session=session, now=deal.match.expires_at + timedelta(days=1))

    assert deal.match.id not in report.matches_expired
    assert _open(session, deal.offer.id) == 60


def test_a_crisis_closed_by_the_sweep_expires_its_matches_in_the_same_sweep(
    session: Session, deal: Deal
) -> None:
    after_end = datetime(2026, 4, 1, tzinfo=UTC)  # the crisis ran until 2026-03-31

    report = sweep(session=session, now=after_end)

    assert deal.crisis.id in report.crises_closed
    assert deal.match.id in report.matches_expired
    assert (_open(session, deal.offer.id), _open(session, deal.need.id)) == (100, 40)


def test_purging_a_crisis_erases_the_audit_payloads_of_its_matches(
    session: Session, deal: Deal, operator: Principal
) -> None:
    accept_match(session=session, actor=deal.buyer, match_id=deal.match.id, now=NOW)
    close_crisis(session=session, actor=operator, crisis_id=deal.crisis.id, now=NOW)

    report = purge_expired(session=session, now=NOW + timedelta(days=90))

    assert deal.crisis.id in report.crises_purged
    entity = f"match:{deal.match.id}"
    payloads = session.scalars(select(AuditEntry.payload).where(AuditEntry.entity == entity))
    assert list(payloads) == [None, None]  # match.proposed and match.interest, both erased
    assert session.get(Match, deal.match.id) is None
    assert verify_audit(session=session).ok


def test_after_retention_a_members_contact_is_erased_when_it_has_no_listing_left(
    session: Session,
    deal: Deal,
    operator: Principal,
    make_crisis: MakeCrisis,
    make_listing: MakeListing,
) -> None:
    # Rows committed by other test modules share the database, hence "in", not "==" above.
    # The holder is also active in a second crisis that is still running.
    other = make_crisis()
    make_listing(deal.holder, other.id, quantity=5)
    close_crisis(session=session, actor=operator, crisis_id=deal.crisis.id, now=NOW)
    purge_expired(session=session, now=NOW + timedelta(days=89))
    assert session.get_one(Member, deal.buyer.member_id).contact == "buyer@example.com"

    report = purge_expired(session=session, now=NOW + timedelta(days=90))

    assert report.contacts_erased >= 1
    buyer = session.get_one(Member, deal.buyer.member_id)
    holder = session.get_one(Member, deal.holder.member_id)
    assert buyer.contact == ERASED_CONTACT
    assert holder.contact == "buyer@example.com"  # still needed for the running crisis
    assert buyer.name  # the organisation stays known to the operator
    erased = session.scalars(
        select(AuditEntry.action).where(AuditEntry.entity == f"member:{buyer.id}")
    ).all()
    assert "member.contact_erased" in erased
    assert verify_audit(session=session).ok
