"""A unit of stock is never promised twice, however many requests race for it (PostgreSQL).

These tests need real commits from several connections at once, so, like the other concurrency
tests, they use the engine directly and empty the tables afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from threading import Barrier

import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from supplyshock.exchange.audit import verify_audit
from supplyshock.exchange.crises import open_crisis
from supplyshock.exchange.listings import create_listing
from supplyshock.exchange.matches import accept_match, decline_match
from supplyshock.exchange.matching import match_listing
from supplyshock.exchange.members import create_member
from supplyshock.exchange.schemas import CrisisCreate, ListingCreate, MemberCreate, Principal
from supplyshock.store.db import UnitOfWork, make_session_factory
from supplyshock.store.models import (
    MATCH_ACTIVE_STATES,
    ApiToken,
    AuditEntry,
    BoardEpoch,
    CatalogueEntry,
    Crisis,
    Listing,
    ListingPart,
    Match,
    MaterialTwin,
    Member,
)
from tests.integration.conftest import TEST_CATALOGUE

OPERATOR = Principal.local_operator()
NOW = datetime(2025, 11, 3, tzinfo=UTC)
OFFER_UNITS = 50
NEEDS = 20
NEED_UNITS = 10  # 20 needs x 10 = 200 units asked for 50 on offer


@pytest.fixture
def committing(engine: Engine) -> Iterator[sessionmaker[Session]]:
    if engine.dialect.name == "sqlite":
        pytest.skip(
            "SQLite serialises whole transactions (BEGIN IMMEDIATE): the race cannot happen there"
        )
    factory = make_session_factory(engine)
    yield factory
    with engine.begin() as conn:
        for model in (
            AuditEntry,
            Match,
            MaterialTwin,
            ListingPart,
            Listing,
            ApiToken,
            CatalogueEntry,
            BoardEpoch,
            Crisis,
            Member,
        ):
            conn.execute(delete(model))


def _listing(crisis_id: str, kind: str, quantity: int) -> ListingCreate:
    return ListingCreate(
        kind=kind,  # type: ignore[arg-type]
        crisis_id=crisis_id,
        part_number="BC847B",
        maker="Nexperia",
        quantity=quantity,
        region="europe",
        window_start=date(2025, 11, 1),
        window_end=date(2025, 12, 1),
    )


def _setup(factory: sessionmaker[Session]) -> tuple[Principal, str, list[tuple[Principal, str]]]:
    """One holder with an offer of 50; 20 needs of 10 from 5 buyers, none matched yet."""
    with UnitOfWork(factory) as uow:
        s = uow.session

        def member(name: str) -> Principal:
            m = create_member(
                session=s, actor=OPERATOR, data=MemberCreate(name=name, contact="c", country="DE")
            )
            return Principal(role="member", member_id=m.id)

        crisis = open_crisis(
            session=s,
            actor=OPERATOR,
            data=CrisisCreate.model_validate(
                {
                    "name": "Race",
                    "starts_on": date(2025, 10, 1),
                    "ends_on": date(2026, 3, 31),
                    "catalogue": TEST_CATALOGUE,
                }
            ),
        )
        holder = member("Holder")
        offer = create_listing(
            session=s, actor=holder, data=_listing(crisis.id, "offer", OFFER_UNITS), now=NOW
        )
        buyers = [member(f"Buyer {i}") for i in range(5)]
        needs = []
        for i in range(NEEDS):
            buyer = buyers[i % len(buyers)]
            need = create_listing(
                session=s, actor=buyer, data=_listing(crisis.id, "need", NEED_UNITS), now=NOW
            )
            needs.append((buyer, need.id))
        uow.commit()
    return holder, offer.id, needs


def _totals(factory: sessionmaker[Session], offer_id: str) -> tuple[int, int, int]:
    """(offer's open quantity, units in active matches, units in all matches ever)."""
    with factory() as s:
        open_now = s.get_one(Listing, offer_id).quantity_open
        active = s.scalar(
            select(func.coalesce(func.sum(Match.quantity), 0)).where(
                Match.offer_id == offer_id, Match.state.in_(MATCH_ACTIVE_STATES)
            )
        )
        ever = s.scalar(
            select(func.coalesce(func.sum(Match.quantity), 0)).where(Match.offer_id == offer_id)
        )
        assert verify_audit(session=s).ok
    return open_now, int(active or 0), int(ever or 0)


def _race(calls: list[Callable[[], object]]) -> list[object]:
    """Run every call in its own thread, all released at once; return results or exceptions."""
    start = Barrier(len(calls))

    def run(call: Callable[[], object]) -> object:
        start.wait()
        try:
            return call()
        except Exception as e:  # noqa: BLE001 — the test inspects what each racer got
            return e

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_racing_needs_never_get_more_than_the_offer_holds(
    committing: sessionmaker[Session],
) -> None:
    _, offer_id, needs = _setup(committing)

    def claim(buyer: Principal, need_id: str) -> Callable[[], object]:
        def call() -> object:
            with UnitOfWork(committing) as uow:
                found = match_listing(session=uow.session, actor=buyer, listing_id=need_id, now=NOW)
                for m in found:
                    accept_match(session=uow.session, actor=buyer, match_id=m.id, now=NOW)
                uow.commit()
            return sum(m.quantity for m in found)

        return call

    results = _race([claim(b, n) for b, n in needs])
    assert [r for r in results if isinstance(r, Exception)] == []
    # 50 units, 10 per need: exactly five needs were served, the other fifteen got nothing.
    assert sum(r for r in results if isinstance(r, int)) == OFFER_UNITS
    open_now, active, _ = _totals(committing, offer_id)
    assert (open_now, active) == (0, OFFER_UNITS)
    assert open_now + active == OFFER_UNITS


def test_declines_and_new_claims_racing_keep_the_books_balanced(
    committing: sessionmaker[Session],
) -> None:
    holder, offer_id, needs = _setup(committing)
    # Five needs are served first (5 x 10 = 50 units, the whole offer).
    served = []
    for buyer, need_id in needs[:5]:
        with UnitOfWork(committing) as uow:
            [m] = match_listing(session=uow.session, actor=buyer, listing_id=need_id, now=NOW)
            uow.commit()
        served.append(m.id)
    assert _totals(committing, offer_id)[:2] == (0, OFFER_UNITS)

    def decline(match_id: str) -> Callable[[], object]:
        def call() -> object:
            with UnitOfWork(committing) as uow:
                decline_match(session=uow.session, actor=holder, match_id=match_id, now=NOW)
                uow.commit()
            return 0

        return call

    def claim(buyer: Principal, need_id: str) -> Callable[[], object]:
        def call() -> object:
            with UnitOfWork(committing) as uow:
                found = match_listing(session=uow.session, actor=buyer, listing_id=need_id, now=NOW)
                uow.commit()
            return sum(m.quantity for m in found)

        return call

    # The holder declines three matches (30 units back) while the 15 waiting needs claim.
    results = _race([decline(x) for x in served[:3]] + [claim(b, n) for b, n in needs[5:]])
    assert [r for r in results if isinstance(r, Exception)] == []
    claimed = sum(r for r in results if isinstance(r, int))
    open_now, active, ever = _totals(committing, offer_id)
    # Whatever the interleaving: never more promised than held, and nothing lost or made up.
    assert active <= OFFER_UNITS
    assert open_now + active == OFFER_UNITS
    assert ever == OFFER_UNITS + claimed  # the first 50, plus what the racers got
    assert claimed <= 30  # only the declined 30 units could be promised again
