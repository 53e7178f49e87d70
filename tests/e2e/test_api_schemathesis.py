"""Property-based checks of the API against its own OpenAPI document: no input gives a 5xx.

Schemathesis generates requests for every operation from the schema (valid and invalid ones)
and sends them with an operator token and with a member token, so both roles' routes are
exercised past the auth check. SQLite only: the aim is the shape of answers; backend-specific
refusals (PostgreSQL's stricter types) are covered by the other API tests, which run on both.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import Case

from supplyshock.exchange.members import create_member, issue_token
from supplyshock.exchange.schemas import MemberCreate, Principal, TokenIssue
from supplyshock.server import create_app
from supplyshock.store.db import UnitOfWork
from tests.e2e.conftest import API, api_settings, bearer, operator_token

# Schemathesis reads the schema when this module is imported (its pytest integration collects
# one test per operation), so the app exists from then on; its database is made in a fixture.
_DB_DIR = tempfile.TemporaryDirectory(prefix="supplyshock-fuzz-")
APP = create_app(
    api_settings(
        f"sqlite:///{Path(_DB_DIR.name) / 'api.db'}",
        rate_limit_per_minute=1_000_000,
        job_workers=0,  # fuzzed jobs are queued and checked, never run (they may be 100k draws)
    )
)
schema = schemathesis.openapi.from_asgi(f"{API}/openapi.json", APP)


@pytest.fixture(scope="module")
def tokens() -> Iterator[dict[str, dict[str, str]]]:
    """Authorization headers for an operator and for a member."""
    with TestClient(APP):  # runs the lifespan: the database is migrated
        with UnitOfWork(APP.state.session_factory) as uow:
            member = create_member(
                session=uow.session,
                actor=Principal.local_operator(),
                data=MemberCreate(name="Fuzz member", contact="f@z.example", country="DE"),
            )
            issued = issue_token(
                session=uow.session,
                actor=Principal.local_operator(),
                data=TokenIssue(role="member", member_id=member.id),
            )
            uow.commit()
        yield {"operator": bearer(operator_token(APP)), "member": bearer(issued.token)}
    _DB_DIR.cleanup()


@pytest.fixture(params=["operator", "member"])
def auth_headers(
    request: pytest.FixtureRequest, tokens: dict[str, dict[str, str]]
) -> dict[str, str]:
    return tokens[request.param]


def test_openapi_document_is_valid() -> None:
    schema.validate()  # against the OpenAPI meta-schema; raises on any violation
    assert all(path.startswith(f"{API}/") for path in schema.raw_schema["paths"])


@schema.parametrize()
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_request_makes_the_api_fail_with_5xx(case: Case, auth_headers: dict[str, str]) -> None:
    response = case.call(headers=auth_headers)
    # Schemathesis also sends cases with the header removed or mangled; with the real token, a
    # 401 would mean the fuzzing never got past authentication and proved nothing.
    if response.request.headers.get("Authorization") == auth_headers["Authorization"]:
        assert response.status_code != 401, (case.method, case.path, response.text)
    assert response.status_code < 500, (case.method, case.path, response.text)
