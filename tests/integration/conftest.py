"""Real databases for the integration tests: every test runs on SQLite and on PostgreSQL.

The schema is built once per backend by running the Alembic migrations; each test then runs in
an outer transaction that is rolled back, with the services' own commits turned into savepoints,
so tests never see each other's rows. PostgreSQL gets a database of its own per run (created and
dropped here), so parallel runs can share one server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from supplyshock.exchange.crises import open_crisis
from supplyshock.exchange.listings import create_listing
from supplyshock.exchange.members import create_member
from supplyshock.exchange.schemas import (
    CrisisCreate,
    CrisisPublic,
    ListingCreate,
    ListingPublic,
    MemberCreate,
    Principal,
)
from supplyshock.store.db import make_engine
from supplyshock.store.migrate import upgrade
from tests.required import missing

PG_ADMIN_URL = os.environ.get(
    "SUPPLYSHOCK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)

# Test data lives in this "now": a crisis running from 2025-10-01 to 2026-03-31.
NOW = datetime(2025, 11, 3, 9, 0, tzinfo=UTC)
OPERATOR = Principal.local_operator()


def _postgres_database(admin_url: str) -> Iterator[str]:
    name = f"supplyshock_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as e:
        reason = (
            f"PostgreSQL not reachable at {admin_url} ({e.__class__.__name__}): the PostgreSQL "
            "half of the exchange integration tests DID NOT RUN. Start a server or set "
            "SUPPLYSHOCK_TEST_POSTGRES_URL."
        )
        missing(reason)
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            base, _, _ = admin_url.rpartition("/")
            yield f"{base}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(
    scope="session",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("sqlite") / "exchange.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield url
        return
    for url in _postgres_database(PG_ADMIN_URL):
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """One connection in a transaction that the test never commits."""
    with engine.connect() as conn:
        outer = conn.begin()
        try:
            yield conn
        finally:
            outer.rollback()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    """Sessions on the test's connection; their commit() only releases a savepoint."""
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as s:
        yield s


# --- factories ------------------------------------------------------------------------------
# Test modules cannot import this conftest (tests/integration is not a package), so the
# constants and builders below are handed out as fixtures too.


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def operator() -> Principal:
    return OPERATOR


@pytest.fixture
def listing_input() -> Callable[..., ListingCreate]:
    """Valid ListingCreate data for a crisis, with any field overridden."""
    return listing_data


@pytest.fixture
def make_member(session: Session) -> Callable[..., Principal]:
    """A new member, returned as the principal that acts for it."""

    def make(name: str | None = None, country: str = "DE") -> Principal:
        m = create_member(
            session=session,
            actor=OPERATOR,
            data=MemberCreate(
                name=name or f"Member x{uuid.uuid4().hex[:6]}",
                contact="buyer@example.com",
                country=country,
            ),
        )
        return Principal(role="member", member_id=m.id, token_id="test")

    return make


# The parts the tests list, all Nexperia discretes: every crisis the factories open holds them in
# its catalogue, since listings may only name catalogue parts (exchange/catalogue.py).
TEST_PARTS = (
    "BC847B,215",
    "BC847BW",
    "BC847B",
    "BC847C",
    "BC857B",
    "PMEG3010",
    "PMEG3020",
    "PMV16XN",
    "PMV20XN",
    "BAS16,215",
    "BUK7Y4R8-60E",
    "PESD5V0S1BL",
    "BZX84-C5V1",
)
TEST_CATALOGUE = [
    {"part_number": p, "maker": "Nexperia", "part_family": "discretes"} for p in TEST_PARTS
]


@pytest.fixture
def make_crisis(session: Session) -> Callable[..., CrisisPublic]:
    def make(**overrides: object) -> CrisisPublic:
        fields: dict[str, object] = {
            "name": f"Crisis x{uuid.uuid4().hex[:6]}",
            "scope": "Nexperia discretes",
            "makers": ["Nexperia"],
            "part_families": ["discretes"],
            "starts_on": date(2025, 10, 1),
            "ends_on": date(2026, 3, 31),
            "catalogue": TEST_CATALOGUE,
        }
        fields.update(overrides)
        return open_crisis(
            session=session, actor=OPERATOR, data=CrisisCreate.model_validate(fields), now=NOW
        )

    return make


def listing_data(crisis_id: str, **overrides: object) -> ListingCreate:
    fields: dict[str, object] = {
        "kind": "offer",
        "crisis_id": crisis_id,
        "part_number": "BC847B,215",
        "maker": "Nexperia",
        "part_family": "discretes",
        "alternates": [{"part_number": "BC847BW", "maker": "Nexperia"}],
        "quantity": 10_000,
        "date_code": "2431",
        "region": "europe",
        "window_start": date(2025, 11, 1),
        "window_end": date(2025, 12, 31),
        "expires_at": NOW + timedelta(days=30),
    }
    fields.update(overrides)
    return ListingCreate.model_validate(fields)


@pytest.fixture
def make_listing(session: Session) -> Callable[..., ListingPublic]:
    def make(actor: Principal, crisis_id: str, **overrides: object) -> ListingPublic:
        return create_listing(
            session=session, actor=actor, data=listing_data(crisis_id, **overrides), now=NOW
        )

    return make
