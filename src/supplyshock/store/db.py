"""Engines, sessions and the unit of work: the one place that owns transactions."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from supplyshock.settings import Settings, get_settings

# SQLSTATEs after which the whole transaction may simply be run again: serialization_failure
# and deadlock_detected. PostgreSQL has already rolled the transaction back.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
# SQLSTATEs meaning "busy, try later": query_canceled (statement_timeout), lock_not_available
# (lock_timeout), too_many_connections, admin/crash shutdown, cannot_connect_now; and class 08,
# connection exceptions.
BUSY_SQLSTATES = frozenset({"57014", "55P03", "53300", "57P01", "57P02", "57P03"})


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


def make_server_engine(settings: Settings) -> Engine:
    """The API server's engine: a fixed pool and, on PostgreSQL, statement and lock timeouts.

    ``max_overflow=0``: the server admits at most ``db_pool_size`` requests to the database at
    once (:mod:`supplyshock.http.transactions`), so a connection is always free for them; an
    overflow would only hide a leak. The pool timeout is a backstop for anything else that takes
    a connection (the web pages): it raises, and the request is answered 503.
    """
    url = settings.resolved_database_url()
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.database not in (None, "", ":memory:"):
        kwargs.update(
            pool_size=settings.db_pool_size,
            max_overflow=0,
            pool_timeout=settings.db_pool_timeout,
        )
    if parsed.get_backend_name() == "postgresql":
        # Set at connection start, so every transaction on the server is bounded without an
        # extra round trip; the migrations use their own engine and are not bounded.
        options = (
            f"-c statement_timeout={settings.db_statement_timeout_ms} "
            f"-c lock_timeout={settings.db_lock_timeout_ms}"
        )
        kwargs["connect_args"] = {"options": options}
    return make_engine(url, **kwargs)


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE behind a SQLAlchemy database error, if the driver reports one."""
    if isinstance(exc, DBAPIError):
        code = getattr(exc.orig, "sqlstate", None)
        return code if isinstance(code, str) else None
    return None


def is_retryable(exc: BaseException) -> bool:
    """Serialization failure or deadlock: running the whole transaction again is safe."""
    return sqlstate(exc) in RETRYABLE_SQLSTATES


def is_busy(exc: BaseException) -> bool:
    """The database is busy (timeouts, locks, connections): the client should come back later."""
    if isinstance(exc, PoolTimeout):
        return True
    code = sqlstate(exc)
    if code is not None:
        return code in BUSY_SQLSTATES or code.startswith("08")
    # SQLite has no SQLSTATE: a write lock still held after busy_timeout says this.
    return isinstance(exc, DBAPIError) and "database is locked" in str(exc.orig)


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
