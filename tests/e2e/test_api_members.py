"""The operator's administration over HTTP: members and crises."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from tests.e2e.conftest import API


def test_operator_adds_reads_and_lists_a_member(
    client: TestClient, operator: dict[str, str]
) -> None:
    name = f"Tier-1 x{uuid.uuid4().hex[:8]}"
    body = {"name": name, "contact": "buyer@tier1.example", "country": "de"}
    res = client.post(f"{API}/members", json=body, headers=operator)
    assert res.status_code == 201, res.text
    member = res.json()
    assert (member["name"], member["country"]) == (name, "DE")
    assert client.get(f"{API}/members/{member['id']}", headers=operator).json() == member
    again = client.post(f"{API}/members", json=body, headers=operator)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"


def test_unknown_member_is_404(client: TestClient, operator: dict[str, str]) -> None:
    res = client.get(f"{API}/members/{'f' * 32}", headers=operator)
    assert res.status_code == 404
    assert res.json()["error"]["code"] == "not_found"


def test_crisis_longer_than_allowed_is_422_naming_the_rule(
    client: TestClient, operator: dict[str, str]
) -> None:
    res = client.post(
        f"{API}/crises",
        json={
            "name": f"C x{uuid.uuid4().hex[:8]}",
            "starts_on": "2025-01-01",
            "ends_on": "2027-01-01",
        },
        headers=operator,
    )
    assert res.status_code == 422
    assert "at most" in res.json()["error"]["details"][0]["message"]


def test_members_read_crises_but_only_the_operator_opens_them(
    client: TestClient, operator: dict[str, str], crisis: dict[str, Any], make_member: Any
) -> None:
    member = make_member()
    seen = client.get(f"{API}/crises/{crisis['id']}", headers=member.headers)
    assert seen.status_code == 200
    assert seen.json()["name"] == crisis["name"]
    opened = client.post(
        f"{API}/crises",
        json={"name": "Mine", "starts_on": "2025-01-01", "ends_on": "2025-02-01"},
        headers=member.headers,
    )
    assert opened.status_code == 403


def test_docs_page_is_served(client: TestClient) -> None:
    res = client.get(f"{API}/docs")
    assert res.status_code == 200
    assert "swagger" in res.text.lower()
