"""Concurrent writers: the audit chain never forks, and a stale listing write is refused.

These tests need real commits from several connections at once, so they use the engine
directly and empty the tables afterwards instead of rolling back one outer transaction.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, delete, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from supplyshock.exchange.audit import verify_audit
from supplyshock.exchange.crises import close_crisis, open_crisis
from supplyshock.exchange.errors import Conflict, RuleViolation
from supplyshock.exchange.listings import create_listing, update_listing
from supplyshock.exchange.members import create_member
from supplyshock.exchange.schemas import (
    CrisisCreate,
    ListingCreate,
    ListingUpdate,
    MemberCreate,
    Principal,
)
from supplyshock.store.db import UnitOfWork, make_session_factory
from supplyshock.store.models import (
    ApiToken,
    AuditEntry,
    BoardEpoch,
    CatalogueEntry,
    Crisis,
    Listing,
    ListingPart,
    Member,
)
from tests.integration.conftest import TEST_CATALOGUE

OPERATOR = Principal.local_operator()
NOW = datetime(2025, 11, 3, tzinfo=UTC)


@pytest.fixture
def committing(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions that really commit; every table is emptied afterwards for the next test."""
    factory = make_session_factory(engine)
    yield factory
    with engine.begin() as conn:
        for model in (
            AuditEntry,
            ListingPart,
            Listing,
            ApiToken,
            CatalogueEntry,
            BoardEpoch,
            Crisis,
            Member,
        ):
            conn.execute(delete(model))


def test_concurrent_appends_keep_one_unbroken_chain(committing: sessionmaker[Session]) -> None:
    workers, per_worker = 6, 5

    def add_members(worker: int) -> None:
        for i in range(per_worker):
            with UnitOfWork(committing) as uow:
                create_member(
                    session=uow.session,
                    actor=OPERATOR,
                    data=MemberCreate(name=f"M{worker}-{i}", contact="c", country="DE"),
                )
                uow.commit()

    with ThreadPoolExecutor(workers) as pool:
        for f in [pool.submit(add_members, w) for w in range(workers)]:
            f.result()

    with committing() as s:
        report = verify_audit(session=s)
        assert report.ok, report
        assert report.entries == workers * per_worker
        assert s.scalar(select(func.count()).select_from(Member)) == workers * per_worker


def test_a_stale_version_is_refused_and_an_unversioned_write_rereads_under_its_lock(
    committing: sessionmaker[Session], engine: Engine
) -> None:
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite serialises whole transactions: a stale read cannot interleave there")
    # A write sends the version it read (optimistic) or none: with one, a change committed in
    # between is a conflict; without one, the write row-locks and re-reads the listing first,
    # so a matching run that committed meanwhile is no conflict the client caused.
    with UnitOfWork(committing) as uow:
        m = create_member(
            session=uow.session,
            actor=OPERATOR,
            data=MemberCreate(name="Tier2 GmbH", contact="c", country="DE"),
        )
        crisis = open_crisis(
            session=uow.session,
            actor=OPERATOR,
            data=CrisisCreate.model_validate(
                {
                    "name": "C",
                    "starts_on": date(2025, 10, 1),
                    "ends_on": date(2026, 3, 31),
                    "catalogue": TEST_CATALOGUE,
                }
            ),
        )
        uow.commit()
    member = Principal(role="member", member_id=m.id)
    now = datetime(2025, 11, 3, tzinfo=UTC)
    with UnitOfWork(committing) as uow:
        listing = create_listing(
            session=uow.session,
            actor=member,
            data=ListingCreate(
                kind="offer",
                crisis_id=crisis.id,
                part_number="BC847B",
                maker="Nexperia",
                quantity=100,
                region="europe",
                window_start=date(2025, 11, 1),
                window_end=date(2025, 12, 1),
            ),
            now=now,
        )
        uow.commit()

    with UnitOfWork(committing) as slow:
        held = slow.session.get_one(Listing, listing.id)  # request B has read version 1
        with UnitOfWork(committing) as fast:  # request A changes and commits meanwhile
            update_listing(
                session=fast.session,
                actor=member,
                listing_id=listing.id,
                data=ListingUpdate(quantity=50),
                now=now,
            )
            fast.commit()
        assert held.version == 1
        with pytest.raises(Conflict, match="version 2, not 1"):
            update_listing(
                session=slow.session,
                actor=member,
                listing_id=listing.id,
                data=ListingUpdate(quantity=70, version=held.version),
                now=now,
            )
    with committing() as s:
        assert s.get_one(Listing, listing.id).quantity == 50

    with UnitOfWork(committing) as slow:
        held = slow.session.get_one(Listing, listing.id)  # version 2
        with UnitOfWork(committing) as fast:
            update_listing(
                session=fast.session,
                actor=member,
                listing_id=listing.id,
                data=ListingUpdate(quantity=60),
                now=now,
            )
            fast.commit()
        amended = update_listing(  # no version: locks, re-reads version 3, writes
            session=slow.session,
            actor=member,
            listing_id=listing.id,
            data=ListingUpdate(quantity=70),
            now=now,
        )
        slow.commit()
    assert amended.version == 4 and amended.quantity == 70

    with committing() as s:
        assert s.get_one(Listing, listing.id).quantity == 70
        assert verify_audit(session=s).ok


def test_an_unversioned_amend_waits_for_a_concurrent_writer_instead_of_failing(
    committing: sessionmaker[Session], engine: Engine
) -> None:
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite serialises whole transactions: the race cannot happen there")
    with UnitOfWork(committing) as uow:
        m = create_member(
            session=uow.session,
            actor=OPERATOR,
            data=MemberCreate(name="Tier2 GmbH", contact="c", country="DE"),
        )
        crisis = open_crisis(
            session=uow.session,
            actor=OPERATOR,
            data=CrisisCreate.model_validate(
                {
                    "name": "C",
                    "starts_on": date(2025, 10, 1),
                    "ends_on": date(2026, 3, 31),
                    "catalogue": TEST_CATALOGUE,
                }
            ),
        )
        uow.commit()
    member = Principal(role="member", member_id=m.id)
    with UnitOfWork(committing) as uow:
        listing = create_listing(
            session=uow.session,
            actor=member,
            data=ListingCreate(
                kind="offer",
                crisis_id=crisis.id,
                part_number="BC847B",
                maker="Nexperia",
                quantity=100,
                region="europe",
                window_start=date(2025, 11, 1),
                window_end=date(2025, 12, 1),
            ),
            now=NOW,
        )
        uow.commit()

    def second_amend() -> int:
        with UnitOfWork(committing) as uow:
            out = update_listing(
                session=uow.session,
                actor=member,
                listing_id=listing.id,
                data=ListingUpdate(quantity=200),
                now=NOW,
            )
            uow.commit()
            return out.version

    # The first writer (as a matching run would) holds the row, changed, while the second
    # amend arrives: before the fix the second read the old version without waiting, and
    # its write then failed with "changed concurrently" (409) once the first committed.
    with ThreadPoolExecutor(1) as pool, UnitOfWork(committing) as first:
        update_listing(
            session=first.session,
            actor=member,
            listing_id=listing.id,
            data=ListingUpdate(quantity=150),
            now=NOW,
        )
        pending = pool.submit(second_amend)
        _wait_until_blocked_on_a_lock(engine, 1)
        first.commit()
        # created at version 1, the first amend makes 2, the second 3
        assert pending.result(timeout=30) == 3

    with committing() as s:
        assert s.get_one(Listing, listing.id).quantity == 200
        assert verify_audit(session=s).ok


def _wait_until_blocked_on_a_lock(engine: Engine, threads: int) -> None:
    """Poll PostgreSQL until ``threads`` other sessions wait on a row lock (no sleep-and-hope)."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'"
    )
    with engine.connect() as conn:
        for _ in range(10_000):
            if conn.execute(query).scalar_one() >= threads:
                return
            time.sleep(0.005)
    raise AssertionError("the listing write never waited for the closing crisis")


def test_no_listing_slips_into_a_crisis_while_it_closes(
    committing: sessionmaker[Session], engine: Engine
) -> None:
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite serialises whole transactions: the race cannot happen there")
    with UnitOfWork(committing) as uow:
        m = create_member(
            session=uow.session,
            actor=OPERATOR,
            data=MemberCreate(name="Racer AG", contact="c", country="DE"),
        )
        crisis = open_crisis(
            session=uow.session,
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
        uow.commit()
    member = Principal(role="member", member_id=m.id)
    data = ListingCreate(
        kind="need",
        crisis_id=crisis.id,
        part_number="BC847B",
        maker="Nexperia",
        quantity=10,
        region="europe",
        window_start=date(2025, 11, 1),
        window_end=date(2025, 12, 1),
    )

    def create() -> Exception | None:
        try:
            with UnitOfWork(committing) as uow:
                create_listing(session=uow.session, actor=member, data=data, now=NOW)
                uow.commit()
        except RuleViolation as e:
            return e
        return None

    with UnitOfWork(committing) as closing, ThreadPoolExecutor(1) as pool:
        close_crisis(session=closing.session, actor=OPERATOR, crisis_id=crisis.id, now=NOW)
        pending = pool.submit(create)  # reads the crisis while the close is not yet committed
        _wait_until_blocked_on_a_lock(engine, 1)
        closing.commit()
        refused = pending.result()

    assert isinstance(refused, RuleViolation) and refused.code == "crisis_not_running"
    with committing() as s:
        assert s.scalar(select(func.count()).select_from(Listing)) == 0
