"""The REST API on real databases: every API test runs against SQLite and PostgreSQL.

The databases come from the integration tests' ``db_url`` fixture (migrated once per backend,
PostgreSQL in a database of its own per run). API tests go through the whole stack, commits
included, so they isolate themselves by naming: every member, crisis and token is new per test.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from supplyshock.exchange.members import issue_token
from supplyshock.exchange.schemas import Principal, TokenIssue
from supplyshock.server import create_app
from supplyshock.settings import Settings
from supplyshock.store.db import UnitOfWork
from tests.integration.conftest import (
    TEST_CATALOGUE,
    db_url,  # noqa: F401  (the fixture, re-exported)
)

API = "/api/v1"


def api_settings(url: str, **overrides: Any) -> Settings:
    # board_epoch_seconds=0: a reading right after a change publishes it (the tests read twice).
    fields: dict[str, Any] = {
        "database_url": url,
        "rate_limit_per_minute": 100_000,
        "board_epoch_seconds": 0,
    }
    fields.update(overrides)
    return Settings(**fields)


def operator_token(app: FastAPI) -> str:
    """Bootstrap: the operator's first token comes from the service, as `tokens issue` does."""
    with UnitOfWork(app.state.session_factory) as uow:
        issued = issue_token(
            session=uow.session,
            actor=Principal.local_operator(),
            data=TokenIssue(role="operator", label="e2e"),
        )
        uow.commit()
    return issued.token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def api_app(db_url: str) -> FastAPI:  # noqa: F811
    return create_app(api_settings(db_url))


@pytest.fixture(scope="session")
def client(api_app: FastAPI) -> Iterator[TestClient]:
    # Entering the client runs the lifespan: the app migrates its database as in production.
    with TestClient(api_app) as c:
        yield c


@pytest.fixture(scope="session")
def operator(api_app: FastAPI, client: TestClient) -> dict[str, str]:
    return bearer(operator_token(api_app))


@dataclass(frozen=True)
class Member:
    id: str
    headers: dict[str, str]


@pytest.fixture
def make_member(client: TestClient, operator: dict[str, str]) -> Callable[[], Member]:
    """A new member with a member token, both made through the API."""

    def make() -> Member:
        res = client.post(
            f"{API}/members",
            json={
                "name": f"Member x{uuid.uuid4().hex[:8]}",
                "contact": "a@b.example",
                "country": "DE",
            },
            headers=operator,
        )
        assert res.status_code == 201, res.text
        member_id = res.json()["id"]
        res = client.post(
            f"{API}/tokens", json={"role": "member", "member_id": member_id}, headers=operator
        )
        assert res.status_code == 201, res.text
        return Member(id=member_id, headers=bearer(res.json()["token"]))

    return make


@pytest.fixture
def crisis(client: TestClient, operator: dict[str, str]) -> dict[str, Any]:
    """A crisis running today (the API works on the real clock)."""
    today = datetime.now(UTC).date()
    res = client.post(
        f"{API}/crises",
        json={
            "name": f"Crisis x{uuid.uuid4().hex[:8]}",
            "makers": ["Nexperia"],
            "catalogue": TEST_CATALOGUE,
            "starts_on": (today - timedelta(days=1)).isoformat(),
            "ends_on": (today + timedelta(days=60)).isoformat(),
        },
        headers=operator,
    )
    assert res.status_code == 201, res.text
    body: dict[str, Any] = res.json()
    return body


def listing_json(crisis_id: str, **overrides: Any) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    fields: dict[str, Any] = {
        "kind": "offer",
        "crisis_id": crisis_id,
        "part_number": "BC847B,215",
        "maker": "Nexperia",
        "quantity": 10_000,
        "region": "europe",
        "window_start": today.isoformat(),
        "window_end": (today + timedelta(days=30)).isoformat(),
    }
    fields.update(overrides)
    return fields
