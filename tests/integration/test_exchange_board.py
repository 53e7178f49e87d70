"""The anonymous board through the service, and the adversary claims of docs/anonymity.md.

"Not derivable" is shown the strong way: two crises ("worlds") that differ in the victim's
quantity, built with the same attacker listings, give the attacker exactly the same board, so
nothing the attacker sees (the board and their own listings) can tell the two apart.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from supplyshock.api.app import create_app
from supplyshock.api.deps import db_session
from supplyshock.exchange.board import BoardRow, get_board
from supplyshock.exchange.errors import NotFound
from supplyshock.exchange.listings import create_listing, withdraw_listing
from supplyshock.exchange.members import issue_token
from supplyshock.exchange.schemas import (
    CrisisPublic,
    ListingCreate,
    ListingPublic,
    Principal,
    TokenIssue,
)
from supplyshock.settings import Settings

NOW = datetime(2025, 11, 3, 9, 0, tzinfo=UTC)  # the conftest's "now"

MakeMember = Callable[..., Principal]
MakeCrisis = Callable[..., CrisisPublic]
MakeListing = Callable[..., ListingPublic]
ListingInput = Callable[..., ListingCreate]

A, B, C = "BC847B,215", "PMEG3020", "BZX84-C5V1"  # three parts of family "discretes"


def _rows(session: Session, actor: Principal, crisis_id: str, by: str = "part") -> list[BoardRow]:
    return get_board(session=session, actor=actor, crisis_id=crisis_id, by=by, now=NOW).rows  # type: ignore[arg-type]


def _offers(rows: list[BoardRow]) -> dict[str | None, tuple[str, int | None, str | None]]:
    """Per part number: (status, total, rule) of the offer cell."""
    return {r.part_number: (r.offer.status, r.offer.total, r.offer.rule) for r in rows}


def test_part_with_three_members_50_30_20_is_published(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    crisis = make_crisis()
    for qty in (500, 300, 200):
        make_listing(make_member(), crisis.id, quantity=qty)
    (row,) = _rows(session, make_member(), crisis.id)
    # 3 members, the largest holds 500 / 1000 = 50 %: published with its member count.
    assert (row.family, row.part_number, row.maker) == ("discretes", "BC847B,215", "nexperia")
    assert (row.offer.status, row.offer.total, row.offer.members) == ("published", 1000, 3)
    # Nobody needs the part: an empty cell is published as 0.
    assert (row.need.status, row.need.total, row.need.members) == ("published", 0, 0)


def test_dominated_part_is_suppressed_and_says_why(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    crisis = make_crisis()
    for qty in (850, 100, 50):
        make_listing(make_member(), crisis.id, quantity=qty)
    (row,) = _rows(session, make_member(), crisis.id)
    # 850 / 1000 = 85 % > 80 %.
    assert (row.offer.status, row.offer.total, row.offer.members) == ("suppressed", None, None)
    assert row.offer.rule == "dominance"
    assert row.offer.reason and "80%" in row.offer.reason


def test_need_held_by_two_members_is_suppressed_by_the_minimum_count(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    crisis = make_crisis()
    for qty in (400, 600):
        make_listing(make_member(), crisis.id, kind="need", quantity=qty)
    (row,) = _rows(session, make_member(), crisis.id)
    assert (row.need.status, row.need.rule) == ("suppressed", "min_members")


def test_family_with_one_suppressed_part_gets_a_complementary_suppression(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    crisis = make_crisis()
    make_listing(make_member(), crisis.id, part_number=A, quantity=1000)  # alone
    for _ in range(3):
        make_listing(make_member(), crisis.id, part_number=B, quantity=100)  # 300
    for _ in range(3):
        make_listing(make_member(), crisis.id, part_number=C, quantity=400)  # 1200
    reader = make_member()
    # A hidden (1 member); B (300) is the smallest other part: A + B = 1300 with 4 members,
    # the largest 1000 / 1300 = 76.9 % <= 80 %, so B alone is enough as complement.
    assert _offers(_rows(session, reader, crisis.id)) == {
        A: ("suppressed", None, "min_members"),
        B: ("suppressed", None, "complementary"),
        C: ("published", 1200, None),
    }
    (family,) = _rows(session, reader, crisis.id, by="family")
    # 7 members, largest 1000 / 2500 = 40 %: the family total is published. Total minus the
    # published part gives A + B = 1300, never A.
    assert (family.part_number, family.offer.total, family.offer.members) == (None, 2500, 7)


def test_board_names_no_member(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    crisis = make_crisis()
    holders = [make_member() for _ in range(3)]
    for holder in holders:
        make_listing(holder, crisis.id, quantity=100)
    text = get_board(session=session, actor=holders[0], crisis_id=crisis.id, now=NOW)
    dumped = text.model_dump_json()
    assert all(h.member_id and h.member_id not in dumped for h in holders)


def test_board_of_an_unknown_crisis_is_not_found(session: Session, make_member: MakeMember) -> None:
    with pytest.raises(NotFound):
        get_board(session=session, actor=make_member(), crisis_id="nope", now=NOW)


def test_trend_is_the_change_against_seven_days_earlier(
    session: Session,
    make_member: MakeMember,
    make_crisis: MakeCrisis,
    listing_input: ListingInput,
) -> None:
    crisis = make_crisis()
    ten_days_ago, two_days_ago = NOW - timedelta(days=10), NOW - timedelta(days=2)
    early = [make_member() for _ in range(4)]
    for member in early:
        create_listing(
            session=session,
            actor=member,
            data=listing_input(crisis.id, quantity=100),
            now=ten_days_ago,
        )
    late = create_listing(
        session=session,
        actor=make_member(),
        data=listing_input(crisis.id, quantity=250),
        now=two_days_ago,
    )
    withdrawn = create_listing(
        session=session,
        actor=early[0],
        data=listing_input(crisis.id, quantity=50),
        now=ten_days_ago,
    )
    withdraw_listing(
        session=session, actor=early[0], listing_id=withdrawn.id, now=NOW - timedelta(days=1)
    )
    assert late.quantity == 250
    (row,) = _rows(session, make_member(), crisis.id)
    # Now: 4 x 100 + 250 = 650 (the 50 was withdrawn yesterday).
    # Seven days ago: 4 x 100 + 50 = 450 with 4 members (largest 150 / 450 = 33 %): published.
    assert (row.offer.total, row.offer.change) == (650, 650 - 450)


def test_trend_is_withheld_where_the_earlier_cell_was_suppressed(
    session: Session,
    make_member: MakeMember,
    make_crisis: MakeCrisis,
    listing_input: ListingInput,
) -> None:
    crisis = make_crisis()
    first = make_member()
    create_listing(
        session=session,
        actor=first,
        data=listing_input(crisis.id, quantity=300),
        now=NOW - timedelta(days=10),
    )
    for _ in range(2):
        create_listing(
            session=session,
            actor=make_member(),
            data=listing_input(crisis.id, quantity=300),
            now=NOW - timedelta(days=1),
        )
    (row,) = _rows(session, make_member(), crisis.id)
    # Seven days ago only `first` held the part: total 900 and change 600 would give away its
    # 300, so the change is withheld.
    assert (row.offer.status, row.offer.total, row.offer.change) == ("published", 900, None)


# --- adversaries ----------------------------------------------------------------------------


def _world(
    make_member: MakeMember,
    make_crisis: MakeCrisis,
    make_listing: MakeListing,
    attackers: list[Principal],
    victim_qty: int,
    others: dict[str, list[int]],
    attacks: dict[str, list[int]],
) -> str:
    """A crisis where a victim offers part A, bystanders and the attacker's members offer
    other quantities; returns the crisis id."""
    crisis = make_crisis()
    make_listing(make_member(), crisis.id, part_number=A, quantity=victim_qty)
    for part, quantities in others.items():
        for qty in quantities:
            make_listing(make_member(), crisis.id, part_number=part, quantity=qty)
    for part, quantities in attacks.items():
        for attacker, qty in zip(attackers, quantities, strict=False):
            make_listing(attacker, crisis.id, part_number=part, quantity=qty)
    return crisis.id


def _seen(session: Session, attacker: Principal, crisis_id: str) -> list[tuple[object, ...]]:
    """Everything the board tells the attacker, both views."""
    rows = _rows(session, attacker, crisis_id) + _rows(session, attacker, crisis_id, "family")
    return [(r.family, r.part_number, r.need, r.offer) for r in rows]


def test_sock_puppets_reaching_k_leave_a_dominant_victim_suppressed(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    # The victim alone offers 10,000 of A (suppressed: 1 member). The attacker adds two
    # members offering 500 each to reach k = 3; the victim still holds 10,000 / 11,000 =
    # 90.9 % > 80 %, so the cell stays suppressed, now by dominance.
    puppets = [make_member(), make_member()]
    world1 = _world(make_member, make_crisis, make_listing, puppets, 10_000, {}, {A: [500, 500]})
    (row,) = _rows(session, puppets[0], world1)
    assert (row.offer.status, row.offer.rule) == ("suppressed", "dominance")
    # A victim with 12,000 instead looks exactly the same to the attacker.
    world2 = _world(make_member, make_crisis, make_listing, puppets, 12_000, {}, {A: [500, 500]})
    assert _seen(session, puppets[0], world1) == _seen(session, puppets[0], world2)


def test_one_attacker_subtracting_its_own_listing_learns_only_the_sum_of_the_others(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    # Victim 600, bystander 400, attacker 300: total 1300, 3 members, largest 46 %: published.
    # The attacker computes 1300 - 300 = 1000 = victim + bystander, not the victim's 600.
    attacker = make_member()
    world1 = _world(make_member, make_crisis, make_listing, [attacker], 600, {A: [400]}, {A: [300]})
    world2 = _world(make_member, make_crisis, make_listing, [attacker], 700, {A: [300]}, {A: [300]})
    (row,) = _rows(session, attacker, world1)
    assert (row.offer.status, row.offer.total) == ("published", 1300)
    assert _seen(session, attacker, world1) == _seen(session, attacker, world2)


def test_complement_owned_by_sock_puppets_does_not_expose_the_victim(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    # Victim alone in A (1000). Three attacker members post 1 each in B, hoping B is chosen as
    # the complement (they would know B = 3 and compute A = total - C - 3). Bystanders: 3 x 400
    # in C. A + B = 1003 with the victim at 99.7 % fails dominance, so C is hidden too; the
    # family total 2203 leaves A + C = 2200 unknown in its split.
    puppets = [make_member() for _ in range(3)]
    bystanders = {C: [400, 400, 400]}
    world1 = _world(make_member, make_crisis, make_listing, puppets, 1000, bystanders, {B: [1] * 3})
    assert _offers(_rows(session, puppets[0], world1)) == {
        A: ("suppressed", None, "min_members"),
        B: ("suppressed", None, "complementary"),
        C: ("suppressed", None, "complementary"),
    }
    # Victim 1300 with bystanders at 3 x 300 (C = 900): same family total 2203, same board.
    world2 = _world(
        make_member, make_crisis, make_listing, puppets, 1300, {C: [300, 300, 300]}, {B: [1] * 3}
    )
    assert _seen(session, puppets[0], world1) == _seen(session, puppets[0], world2)


def test_limit_two_colluding_members_learn_a_non_dominant_victims_quantity(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    # The documented limit (docs/anonymity.md): k - 1 = 2 colluding members that add enough to
    # take the victim below 80 % make the cell public, and subtract themselves. Victim 1000,
    # colluders 150 + 150: 1000 / 1300 = 76.9 % <= 80 %, published; 1300 - 300 = 1000.
    colluders = [make_member(), make_member()]
    world = _world(make_member, make_crisis, make_listing, colluders, 1000, {}, {A: [150, 150]})
    (row,) = _rows(session, colluders[0], world)
    assert row.offer.total is not None
    assert row.offer.total - 300 == 1000


def test_limit_reading_the_board_twice_reveals_a_lone_change(
    session: Session, make_member: MakeMember, make_crisis: MakeCrisis, make_listing: MakeListing
) -> None:
    # The documented limit: the board is live. Three members offer 100 each (300, published);
    # a victim then offers 700 (700 / 1000 = 70 %, still published). Anyone reading before and
    # after sees 1000 - 300 = 700, the victim's listing, because nothing else changed.
    crisis = make_crisis()
    for _ in range(3):
        make_listing(make_member(), crisis.id, quantity=100)
    reader = make_member()
    (before,) = _rows(session, reader, crisis.id)
    make_listing(make_member(), crisis.id, quantity=700)
    (after,) = _rows(session, reader, crisis.id)
    assert before.offer.total is not None and after.offer.total is not None
    assert after.offer.total - before.offer.total == 700


# --- through the HTTP API (on the test's session, so it rolls back like the rest) ------------


def test_api_serves_the_board_by_part_and_by_family(
    session: Session,
    db_url: str,
    operator: Principal,
    make_member: MakeMember,
    make_crisis: MakeCrisis,
    listing_input: ListingInput,
) -> None:
    app = create_app(Settings(database_url=db_url, rate_limit_per_minute=100_000), migrate=False)
    app.dependency_overrides[db_session] = lambda: session
    api = TestClient(app)
    # The API reads the board at the real "now", so the crisis and listings live today.
    today = datetime.now(UTC).date()
    crisis = make_crisis(starts_on=today - timedelta(days=1), ends_on=today + timedelta(days=90))
    for qty in (500, 300, 200):
        data = listing_input(crisis.id, quantity=qty, expires_at=None)
        create_listing(session=session, actor=make_member(), data=data)
    reader = make_member()
    token = issue_token(
        session=session, actor=operator, data=TokenIssue(member_id=reader.member_id)
    )
    auth = {"Authorization": f"Bearer {token.token}"}
    url = f"/api/v1/board/{crisis.id}"
    by_part = api.get(url, headers=auth)
    assert by_part.status_code == 200, by_part.text
    assert [r["offer"]["total"] for r in by_part.json()["rows"]] == [1000]
    by_family = api.get(url, params={"by": "family"}, headers=auth).json()
    assert [(r["family"], r["part_number"]) for r in by_family["rows"]] == [("discretes", None)]
    assert api.get(url, params={"by": "member"}, headers=auth).status_code == 422
    assert api.get("/api/v1/board/nope", headers=auth).status_code == 404
    assert api.get(url).status_code == 401
