"""Engines, sessions and the unit of work: the one place that owns transactions."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from supplyshock.settings import get_settings


def database_url(url: str | None = None) -> str:
    """``url`` or the configured one, normalised the way settings normalise it."""
    settings = get_settings()
    if url is None:
        return settings.resolved_database_url()
    return settings.model_copy(update={"database_url": url}).resolved_database_url()


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (default: settings); a SQLite file's directory is created."""
    url = database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        _fix_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _fix_sqlite(engine: Engine) -> None:
    # pysqlite starts transactions lazily and its own way, which breaks SAVEPOINT (nested
    # transactions, used by the tests and by services that try-and-undo); SQLAlchemy's documented
    # recipe hands transaction control back to SQLAlchemy. Foreign keys are off by default.
    # BEGIN IMMEDIATE takes the write lock up front: two deferred transactions that both read
    # and then write would deadlock and one would fail with "database is locked"; this way the
    # second simply waits (busy_timeout). SQLite is the single-host default, so serialising
    # transactions costs little; PostgreSQL is the choice for real concurrency.
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(bind: Engine | None = None) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (the CLI prints them afterwards)."""
    return sessionmaker(bind=bind or make_engine(), expire_on_commit=False)


class UnitOfWork:
    """One transaction: ``commit()`` must be called, anything else rolls back.

    >>> with UnitOfWork(factory) as uow:
    ...     create_member(session=uow.session, ...)
    ...     uow.commit()
    """

    session: Session

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory

    def __enter__(self) -> Self:
        self.session = self._factory()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Rolling back after a commit is a no-op; without one it discards everything, which is
        # exactly "a failed request changes nothing".
        try:
            self.session.rollback()
        finally:
            self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
