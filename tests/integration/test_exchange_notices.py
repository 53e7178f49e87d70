"""Exchange events reach the parties as notifications and signed webhooks: a match proposed,
accepted, revealed or about to expire; before the reveal they name nobody."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from supplyshock.exchange.matches import MatchPublic, accept_match, expire_matches
from supplyshock.exchange.matching import match_listing
from supplyshock.exchange.schemas import CrisisPublic, ListingPublic, Principal
from supplyshock.services import registry_watch as watch
from supplyshock.services.registry_watch import (
    SIGNATURE_HEADER,
    NotificationPublic,
    WatchCreate,
    signature,
)
from supplyshock.store.models import Match, Member, Notification

NOW = datetime(2025, 11, 3, 9, 0, tzinfo=UTC)  # the factories' time (tests/integration/conftest)
HOLDER_HOOK = "https://holder.example/hook"
BUYER_HOOKS = ("https://buyer.example/a", "https://buyer.example/b")


@dataclass(frozen=True)
class Deal:
    holder: Principal
    buyer: Principal
    offer: ListingPublic
    need: ListingPublic
    match: MatchPublic  # as the buyer sees it
    secrets: dict[str, str]  # watch id -> webhook secret


@pytest.fixture
def deal(
    session: Session,
    make_member: Callable[..., Principal],
    make_crisis: Callable[..., CrisisPublic],
    make_listing: Callable[..., ListingPublic],
) -> Deal:
    """The holder (one webhook) offers 100 units; the buyer (two webhooks) needs 40."""
    holder = make_member("Holder Semiconductors GmbH")
    buyer = make_member("Buyer Automotive AG")
    for who, contact in ((holder, "sales@holder.example"), (buyer, "buy@buyer.example")):
        session.get_one(Member, who.member_id).contact = contact
    secrets = {}
    for who, url in ((holder, HOLDER_HOOK), (buyer, BUYER_HOOKS[0]), (buyer, BUYER_HOOKS[1])):
        w = watch.create_watch(session=session, actor=who, data=WatchCreate(webhook_url=url))
        secrets[w.id] = w.secret
    crisis = make_crisis(makers=[], part_families=[])
    offer = make_listing(holder, crisis.id, quantity=100)
    need = make_listing(buyer, crisis.id, kind="need", quantity=40)
    [m] = match_listing(session=session, actor=buyer, listing_id=need.id, now=NOW)
    return Deal(holder, buyer, offer, need, m, secrets)


def _notes(session: Session, who: Principal, event: str) -> list[NotificationPublic]:
    return [
        n
        for n in watch.list_notifications(session=session, actor=who)
        if n.payload.get("event") == event
    ]


def _identity(session: Session, member: Principal, listing: ListingPublic) -> list[str]:
    row = session.get_one(Member, member.member_id)
    return [row.id, row.name, row.contact, listing.id]


def test_a_proposed_match_notifies_both_parties_by_pseudonym_only(
    session: Session, deal: Deal
) -> None:
    # The holder has one webhook, the buyer two: one row per webhook, so 1 and 2 rows.
    holder_notes = _notes(session, deal.holder, "proposed")
    buyer_notes = _notes(session, deal.buyer, "proposed")
    assert len(holder_notes) == 1 and len(buyer_notes) == 2
    p = buyer_notes[0].payload
    assert p["match_id"] == deal.match.id and p["crisis_id"] == deal.match.crisis_id
    assert p["state"] == "proposed" and p["quantity"] == 40 and p["side"] == "need"
    # The pseudonym is the one the buyer's match view shows.
    assert p["counterpart"] == {
        "pseudonym": deal.match.counterpart.pseudonym,
        "part_number": deal.match.counterpart.part_number,
        "maker": "Nexperia",
    }
    assert holder_notes[0].payload["side"] == "offer"
    # No identity of the counterpart anywhere in the notification (the row, not only payload).
    for note, other, listing in (
        (holder_notes[0], deal.buyer, deal.need),
        (buyer_notes[0], deal.holder, deal.offer),
    ):
        text = note.model_dump_json()
        for secret in _identity(session, other, listing):
            assert secret not in text
    # Shown times are days: 09:00 on 3 Nov is shown as midnight.
    assert holder_notes[0].created_at.replace(tzinfo=UTC) == datetime(2025, 11, 3, tzinfo=UTC)


def test_webhooks_are_signed_once_per_registered_webhook_and_name_nobody(
    session: Session, deal: Deal
) -> None:
    got: list[tuple[str, bytes, dict[str, str]]] = []

    def post(url: str, body: bytes, headers: dict[str, str]) -> None:
        got.append((url, body, headers))

    assert watch.deliver_due(session=session, now=NOW, post=post) == 3  # 1 holder + 2 buyer
    assert sorted(url for url, _, _ in got) == sorted([HOLDER_HOOK, *BUYER_HOOKS])
    by_watch = {
        n.id: n.watch_id for n in session.scalars(select(Notification)) if n.change_seq == 0
    }
    for url, body, headers in got:
        note_id = json.loads(body)["id"]
        assert headers[SIGNATURE_HEADER] == signature(deal.secrets[by_watch[note_id]], body)
        other, listing = (
            (deal.buyer, deal.need) if url == HOLDER_HOOK else (deal.holder, deal.offer)
        )
        for secret in _identity(session, other, listing):
            assert secret.encode() not in body
    # Delivered once: nothing is due any more.
    assert watch.deliver_due(session=session, now=NOW + timedelta(hours=1), post=post) == 0


def test_acceptance_notifies_the_other_party_and_the_reveal_both(
    session: Session, deal: Deal
) -> None:
    accept_match(session=session, actor=deal.buyer, match_id=deal.match.id, now=NOW)
    # The buyer accepted: only the holder hears of it.
    [accepted] = _notes(session, deal.holder, "accepted")
    assert accepted.payload["state"] == "interested"
    assert _notes(session, deal.buyer, "accepted") == []
    for secret in _identity(session, deal.buyer, deal.need):
        assert secret not in accepted.model_dump_json()
    accept_match(session=session, actor=deal.holder, match_id=deal.match.id, now=NOW)
    # Revealed: each party's notice names the other, as its own match view does.
    [to_holder] = _notes(session, deal.holder, "revealed")
    assert to_holder.payload["counterpart"]["name"] == "Buyer Automotive AG"
    assert to_holder.payload["counterpart"]["contact"] == "buy@buyer.example"
    assert to_holder.payload["counterpart"]["listing_id"] == deal.need.id
    to_buyer = _notes(session, deal.buyer, "revealed")
    assert len(to_buyer) == 2  # one per webhook
    assert to_buyer[0].payload["counterpart"]["contact"] == "sales@holder.example"


def test_a_rolled_back_acceptance_leaves_no_notification(session: Session, deal: Deal) -> None:
    before = session.scalar(select(func.count()).select_from(Notification))
    savepoint = session.begin_nested()
    accept_match(session=session, actor=deal.buyer, match_id=deal.match.id, now=NOW)
    assert len(_notes(session, deal.holder, "accepted")) == 1  # written in the transaction
    savepoint.rollback()
    assert session.scalar(select(func.count()).select_from(Notification)) == before
    assert _notes(session, deal.holder, "accepted") == []


def test_expiring_is_notified_once_within_a_day_of_the_shown_expiry(
    session: Session, deal: Deal
) -> None:
    # Proposed on 3 Nov: expires at midnight ending 3 Nov + 7 days = 11 Nov 00:00 UTC.
    expires = session.get_one(Match, deal.match.id).expires_at.replace(tzinfo=UTC)
    assert expires == datetime(2025, 11, 11, tzinfo=UTC)
    expire_matches(session=session, now=expires - timedelta(hours=25))  # 9 Nov 23:00: not yet
    assert _notes(session, deal.holder, "expiring") == []
    for hours in (23, 12, 1):  # three sweeps on the last day: one notice per webhook
        expire_matches(session=session, now=expires - timedelta(hours=hours))
    assert len(_notes(session, deal.holder, "expiring")) == 1
    assert len(_notes(session, deal.buyer, "expiring")) == 2
    [note] = _notes(session, deal.holder, "expiring")
    assert note.payload["expires_on"] == "2025-11-11"
    assert note.payload["counterpart"]["pseudonym"] != deal.match.counterpart.pseudonym
    for secret in _identity(session, deal.buyer, deal.need):
        assert secret not in note.model_dump_json()


def test_a_member_without_a_watch_gets_no_exchange_notification(
    session: Session,
    make_member: Callable[..., Principal],
    make_crisis: Callable[..., CrisisPublic],
    make_listing: Callable[..., ListingPublic],
) -> None:
    holder, buyer = make_member(), make_member()
    crisis = make_crisis(makers=[], part_families=[])
    make_listing(holder, crisis.id, quantity=100)
    need = make_listing(buyer, crisis.id, kind="need", quantity=40)
    assert len(match_listing(session=session, actor=buyer, listing_id=need.id, now=NOW)) == 1
    noted: list[Any] = list(session.scalars(select(Notification)))
    assert noted == []


def test_the_exchange_page_lists_exchange_notices_by_pseudonym(
    session: Session, deal: Deal
) -> None:
    from types import SimpleNamespace

    from supplyshock.web.common import templates

    notes = watch.list_notifications(session=session, actor=deal.holder)
    html = templates.get_template("exchange.html").render(
        request=SimpleNamespace(url=SimpleNamespace(path="/exchange")),
        notifications=notes,
        errors={},
        form={},
    )
    assert f"Match {deal.match.id} proposed (proposed): 40 × BC847B" in html
    for secret in _identity(session, deal.buyer, deal.need):
        assert secret not in html


def test_purging_a_crisis_deletes_its_exchange_notices(session: Session, deal: Deal) -> None:
    from supplyshock.exchange.crises import close_crisis, purge_expired

    accept_match(session=session, actor=deal.buyer, match_id=deal.match.id, now=NOW)
    accept_match(session=session, actor=deal.holder, match_id=deal.match.id, now=NOW)
    assert _notes(session, deal.holder, "revealed")  # holds the buyer's contact
    operator = Principal.local_operator()
    close_crisis(session=session, actor=operator, crisis_id=deal.match.crisis_id, now=NOW)
    purge_expired(session=session, now=NOW + timedelta(days=400))
    left = [
        n.payload
        for n in session.scalars(select(Notification))
        if n.payload.get("crisis_id") == deal.match.crisis_id
    ]
    assert left == []
    for secret in ("buy@buyer.example", "sales@holder.example"):
        assert all(
            secret not in json.dumps(n.payload) for n in session.scalars(select(Notification))
        )
