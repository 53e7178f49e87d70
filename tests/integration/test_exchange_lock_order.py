"""One lock order: the audit chain's lock is always a transaction's last, so no deadlock.

Issue 12: an amend held a listing's row lock and waited for the audit lock, while another
transaction held the audit lock (taken when it appended) and waited for that row: PostgreSQL
detected the deadlock and one request answered 500. These tests replay that interleaving with
real commits from two connections.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from supplyshock.exchange import audit
from supplyshock.exchange.audit import verify_audit
from supplyshock.exchange.members import create_member
from supplyshock.exchange.schemas import MemberCreate, Principal
from supplyshock.store.db import UnitOfWork, make_session_factory
from supplyshock.store.models import (
    ApiToken,
    AuditEntry,
    Crisis,
    Listing,
    ListingPart,
    Member,
)

pytestmark = pytest.mark.postgres
OPERATOR = Principal.local_operator()
WAIT = 30.0  # seconds: a step that takes longer has hung


@pytest.fixture
def committing(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions that really commit; every table is emptied afterwards for the next test."""
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks and the advisory lock are PostgreSQL's; SQLite serialises writers")
    factory = make_session_factory(engine)
    yield factory
    with engine.begin() as conn:
        for model in (AuditEntry, ListingPart, Listing, ApiToken, Crisis, Member):
            conn.execute(delete(model))


@pytest.fixture
def row_id(committing: sessionmaker[Session]) -> str:
    """A committed row to fight over: a member's (any row lock behaves alike)."""
    with UnitOfWork(committing) as uow:
        member = create_member(
            session=uow.session,
            actor=OPERATOR,
            data=MemberCreate(name="Seller", contact="s@x.example", country="DE"),
        )
        uow.commit()
    return member.id


def test_an_amend_and_an_appender_that_locks_the_same_row_both_commit(
    committing: sessionmaker[Session], row_id: str
) -> None:
    """The old deadlock's interleaving, step by step:

    1. B appends to the audit log (this used to take the audit lock at once);
    2. A locks a row (the issue's amend locked a listing), changes it, then appends (this
       used to wait for B's audit lock);
    3. B asks for the same row (waits for A) and commits.

    With the lock taken at commit, A's step 2 does not wait: A commits, its row lock goes, B
    gets the row and commits. Before, A waited for B and B for A: ``deadlock detected``.
    """
    b_appended = threading.Event()
    a_locked = threading.Event()
    errors: list[BaseException] = []

    def amend() -> None:  # A
        try:
            assert b_appended.wait(WAIT)
            with UnitOfWork(committing) as uow:
                row = uow.session.scalars(
                    select(Member).where(Member.id == row_id).with_for_update()
                ).one()
                a_locked.set()
                row.contact = "amended@x.example"
                audit.append(
                    session=uow.session,
                    actor="system:a",
                    action="test.amend",
                    entity=f"member:{row_id}",
                )
                uow.commit()
        except BaseException as e:
            errors.append(e)
            a_locked.set()

    def appender() -> None:  # B
        try:
            with UnitOfWork(committing) as uow:
                audit.append(session=uow.session, actor="system:b", action="test.first", entity="x")
                b_appended.set()
                assert a_locked.wait(WAIT)
                uow.session.scalars(
                    select(Member).where(Member.id == row_id).with_for_update()
                ).one()
                uow.commit()
        except BaseException as e:
            errors.append(e)
            b_appended.set()

    threads = [threading.Thread(target=amend), threading.Thread(target=appender)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert not any(t.is_alive() for t in threads), "a transaction hung"
    assert errors == []
    with committing() as s:
        report = verify_audit(session=s)
        assert report.ok, report
        actions = s.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
        # Chained in commit order: A committed first (B waited for A's row).
        assert actions[-2:] == ["test.amend", "test.first"]


def test_the_audit_lock_is_not_held_before_commit(
    committing: sessionmaker[Session], row_id: str
) -> None:
    """A transaction that has appended (and flushed its other changes) holds no audit lock
    until its commit: another takes the lock, appends and commits first."""
    with UnitOfWork(committing) as first:
        audit.append(session=first.session, actor="system:1", action="test.one", entity="x")
        first.session.flush()
        with UnitOfWork(committing) as second:
            free = second.session.scalar(
                select(func.pg_try_advisory_xact_lock(audit.AUDIT_LOCK_KEY))
            )
            assert free is True
            audit.append(session=second.session, actor="system:2", action="test.two", entity="y")
            second.commit()
        first.commit()
    with committing() as s:
        assert verify_audit(session=s).ok
        actions = s.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
        assert actions[-2:] == ["test.two", "test.one"]  # chained in commit order
