"""The store: migrations build exactly the models' schema, timestamps and transactions behave."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, func, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from supplyshock.exchange.members import create_member
from supplyshock.exchange.schemas import MemberCreate, Principal
from supplyshock.store.db import UnitOfWork, make_engine
from supplyshock.store.migrate import alembic_config, current_revision, head_revision, upgrade
from supplyshock.store.models import AuditEntry, Base, Member

OPERATOR = Principal.local_operator()


def _count(session: Session, model: type[Base]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_migrations_reach_head_and_match_the_models(connection: Connection) -> None:
    ctx = MigrationContext.configure(connection, opts={"compare_type": True})
    assert ctx.get_current_revision() == head_revision()
    assert compare_metadata(ctx, Base.metadata) == []


def test_timestamps_come_back_aware_and_in_utc(session: Session) -> None:
    cet = timezone(timedelta(hours=1))
    member = Member(
        name="Tz GmbH",
        contact="x",
        country="DE",
        created_at=datetime(2025, 1, 1, 13, 0, 0, 123456, tzinfo=cet),
    )
    session.add(member)
    session.flush()
    session.expire_all()
    back = session.get_one(Member, member.id).created_at
    assert back == datetime(2025, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert back.utcoffset() == timedelta(0)


def test_naive_timestamps_are_refused(session: Session) -> None:
    session.add(Member(name="Naive AG", contact="x", country="DE", created_at=datetime(2025, 1, 1)))
    with pytest.raises(Exception, match="naive datetime"):
        session.flush()


def test_unit_of_work_keeps_what_was_committed(session_factory: sessionmaker[Session]) -> None:
    with UnitOfWork(session_factory) as uow:
        create_member(
            session=uow.session,
            actor=OPERATOR,
            data=MemberCreate(name="Kept GmbH", contact="k@example.com", country="DE"),
        )
        uow.commit()
    with session_factory() as s:
        assert s.scalar(select(Member.name).where(Member.name == "Kept GmbH")) == "Kept GmbH"
        assert _count(s, AuditEntry) == 1


def test_unit_of_work_without_commit_changes_nothing(
    session_factory: sessionmaker[Session],
) -> None:
    with UnitOfWork(session_factory) as uow:
        create_member(
            session=uow.session,
            actor=OPERATOR,
            data=MemberCreate(name="Forgotten GmbH", contact="f@example.com", country="DE"),
        )
    with session_factory() as s:
        assert _count(s, Member) == 0
        assert _count(s, AuditEntry) == 0


def test_unit_of_work_rolls_back_when_the_use_case_fails(
    session_factory: sessionmaker[Session],
) -> None:
    with pytest.raises(RuntimeError), UnitOfWork(session_factory) as uow:
        create_member(
            session=uow.session,
            actor=OPERATOR,
            data=MemberCreate(name="Half Done GmbH", contact="h@example.com", country="DE"),
        )
        raise RuntimeError("something after the first write failed")
    with session_factory() as s:
        assert _count(s, Member) == 0
        assert _count(s, AuditEntry) == 0


def test_migrations_downgrade_to_nothing_and_up_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            command.downgrade(alembic_config(url, connection=conn), "base")
        with engine.connect() as conn:
            assert inspect(conn).get_table_names() == ["alembic_version"]
    finally:
        engine.dispose()
    assert current_revision(url) is None
    upgrade(url)
    assert current_revision(url) == head_revision()
