"""Who may call what: bearer tokens, the operator's routes, and tokens shown once."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.e2e.conftest import API, Member, bearer


def test_health_needs_no_token(client: TestClient) -> None:
    res = client.get(f"{API}/health")
    assert res.status_code == 200
    assert res.json()["status"] == "ok"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Bearer ssx_000000000000_" + "A" * 43},
    ],
    ids=["missing", "empty", "basic", "malformed", "unknown"],
)
def test_request_without_a_valid_token_is_401_json(
    client: TestClient, headers: dict[str, str]
) -> None:
    res = client.get(f"{API}/crises", headers=headers)
    assert res.status_code == 401
    assert res.headers["www-authenticate"] == "Bearer"
    assert res.json()["error"]["code"] == "unauthenticated"


def test_operator_route_refuses_a_member_with_403(
    client: TestClient, make_member: Callable[[], Member]
) -> None:
    member = make_member()
    for method, path in [("GET", "/members"), ("GET", "/tokens"), ("POST", "/members")]:
        res = client.request(
            method,
            f"{API}{path}",
            headers=member.headers,
            json={"name": "X", "contact": "x@y.example", "country": "DE"},
        )
        assert res.status_code == 403, (method, path, res.text)
        assert res.json()["error"]["code"] == "forbidden"


def test_issued_token_plaintext_is_shown_once_and_never_listed(
    client: TestClient, operator: dict[str, str], make_member: Callable[[], Member]
) -> None:
    member = make_member()
    res = client.post(
        f"{API}/tokens", json={"member_id": member.id, "label": "laptop"}, headers=operator
    )
    assert res.status_code == 201
    plaintext = res.json()["token"]
    listed = client.get(f"{API}/tokens", params={"member_id": member.id}, headers=operator)
    assert listed.status_code == 200
    assert plaintext not in listed.text
    assert {t["label"] for t in listed.json()["items"]} == {"", "laptop"}


def test_revoked_token_stops_working(
    client: TestClient, operator: dict[str, str], make_member: Callable[[], Member]
) -> None:
    member = make_member()
    res = client.post(f"{API}/tokens", json={"member_id": member.id}, headers=operator)
    token, token_id = res.json()["token"], res.json()["info"]["id"]
    assert client.get(f"{API}/listings", headers=bearer(token)).status_code == 200
    revoked = client.post(f"{API}/tokens/{token_id}/revoke", headers=operator)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    res = client.get(f"{API}/listings", headers=bearer(token))
    assert res.status_code == 401
    assert res.json()["error"]["message"] == "token revoked"


def test_member_token_needs_an_existing_member(
    client: TestClient, operator: dict[str, str]
) -> None:
    res = client.post(f"{API}/tokens", json={"member_id": "0" * 32}, headers=operator)
    assert res.status_code == 404
    missing = client.post(f"{API}/tokens", json={"role": "member"}, headers=operator)
    assert missing.status_code == 422
