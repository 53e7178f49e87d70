"""Listings over HTTP: a member sees only its own, and a refused request changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from supplyshock.store.db import UnitOfWork
from supplyshock.store.models import AuditEntry, Listing
from tests.e2e.conftest import API, Member, listing_json


def _count(app: FastAPI, model: type[Any]) -> int:
    with UnitOfWork(app.state.session_factory) as uow:
        return uow.session.scalar(select(func.count()).select_from(model)) or 0


def test_member_creates_amends_and_withdraws_its_listing(
    client: TestClient, make_member: Callable[[], Member], crisis: dict[str, Any]
) -> None:
    member = make_member()
    res = client.post(f"{API}/listings", json=listing_json(crisis["id"]), headers=member.headers)
    assert res.status_code == 201, res.text
    listing = res.json()
    assert (listing["status"], listing["quantity_open"], listing["version"]) == ("open", 10_000, 1)

    res = client.patch(
        f"{API}/listings/{listing['id']}",
        json={"quantity": 4_000, "version": 1},
        headers=member.headers,
    )
    assert res.status_code == 200, res.text
    assert (res.json()["quantity"], res.json()["version"]) == (4_000, 2)

    stale = client.patch(
        f"{API}/listings/{listing['id']}",
        json={"quantity": 5, "version": 1},
        headers=member.headers,
    )
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "conflict"

    res = client.post(
        f"{API}/listings/{listing['id']}/withdraw", params={"version": 2}, headers=member.headers
    )
    assert res.status_code == 200
    assert res.json()["status"] == "withdrawn"
    mine = client.get(f"{API}/listings", params={"status": "withdrawn"}, headers=member.headers)
    assert [x["id"] for x in mine.json()["items"]] == [listing["id"]]


def test_member_cannot_read_or_touch_another_members_listing(
    client: TestClient, make_member: Callable[[], Member], crisis: dict[str, Any]
) -> None:
    owner, other = make_member(), make_member()
    listing = client.post(
        f"{API}/listings", json=listing_json(crisis["id"]), headers=owner.headers
    ).json()
    unknown = client.get(f"{API}/listings/{'0' * 32}", headers=other.headers)
    attempts = [
        client.get(f"{API}/listings/{listing['id']}", headers=other.headers),
        client.patch(
            f"{API}/listings/{listing['id']}", json={"quantity": 1}, headers=other.headers
        ),
        client.post(f"{API}/listings/{listing['id']}/withdraw", headers=other.headers),
    ]
    for res in attempts:
        assert res.status_code == 404
        # Indistinguishable from a listing that does not exist, and no owner in sight.
        assert res.json()["error"]["code"] == unknown.json()["error"]["code"] == "not_found"
        assert owner.id not in res.text
    assert client.get(f"{API}/listings", headers=other.headers).json()["items"] == []
    still = client.get(f"{API}/listings/{listing['id']}", headers=owner.headers).json()
    assert (still["status"], still["quantity"]) == ("open", 10_000)


def test_invalid_listing_is_422_with_field_paths_and_changes_nothing(
    client: TestClient,
    api_app: FastAPI,
    make_member: Callable[[], Member],
    crisis: dict[str, Any],
) -> None:
    member = make_member()
    listings, audit = _count(api_app, Listing), _count(api_app, AuditEntry)
    res = client.post(
        f"{API}/listings",
        json=listing_json(crisis["id"], quantity=-5, region="atlantis"),
        headers=member.headers,
    )
    assert res.status_code == 422
    error = res.json()["error"]
    assert error["code"] == "invalid_request"
    assert {d["field"] for d in error["details"]} == {"body.quantity", "body.region"}
    assert (_count(api_app, Listing), _count(api_app, AuditEntry)) == (listings, audit)


def test_listing_refused_by_a_rule_leaves_no_trace(
    client: TestClient,
    api_app: FastAPI,
    make_member: Callable[[], Member],
    crisis: dict[str, Any],
) -> None:
    member = make_member()
    listings, audit = _count(api_app, Listing), _count(api_app, AuditEntry)
    res = client.post(
        f"{API}/listings",
        json=listing_json(crisis["id"], maker="Infineon"),
        headers=member.headers,
    )
    assert res.status_code == 422
    assert res.json()["error"]["code"] == "out_of_scope"
    assert (_count(api_app, Listing), _count(api_app, AuditEntry)) == (listings, audit)


def test_operator_holds_no_listings(
    client: TestClient, operator: dict[str, str], crisis: dict[str, Any]
) -> None:
    res = client.post(f"{API}/listings", json=listing_json(crisis["id"]), headers=operator)
    assert res.status_code == 403


def test_closing_a_crisis_closes_its_listings(
    client: TestClient,
    operator: dict[str, str],
    make_member: Callable[[], Member],
    crisis: dict[str, Any],
) -> None:
    member = make_member()
    listing = client.post(
        f"{API}/listings", json=listing_json(crisis["id"]), headers=member.headers
    ).json()
    assert (
        client.post(f"{API}/crises/{crisis['id']}/close", headers=member.headers).status_code == 403
    )
    res = client.post(f"{API}/crises/{crisis['id']}/close", headers=operator)
    assert res.status_code == 200
    assert res.json()["status"] == "closed"
    seen = client.get(f"{API}/crises/{crisis['id']}", headers=member.headers)
    assert seen.json()["status"] == "closed"
    after = client.get(f"{API}/listings/{listing['id']}", headers=member.headers).json()
    assert after["status"] == "closed"
    late = client.post(f"{API}/listings", json=listing_json(crisis["id"]), headers=member.headers)
    assert late.status_code == 422
    assert late.json()["error"]["code"] == "crisis_not_running"


def test_a_quantity_beyond_32_bits_is_422_on_create_and_amend_and_changes_nothing(
    client: TestClient,
    api_app: FastAPI,
    make_member: Callable[[], Member],
    crisis: dict[str, Any],
) -> None:
    member = make_member()
    listings, audit = _count(api_app, Listing), _count(api_app, AuditEntry)
    too_many = 2**31  # listings.quantity is a 32-bit integer on every backend
    res = client.post(
        f"{API}/listings",
        json=listing_json(crisis["id"], quantity=too_many),
        headers=member.headers,
    )
    assert res.status_code == 422, res.text
    error = res.json()["error"]
    assert error["code"] == "invalid_request"
    [detail] = error["details"]
    assert detail["field"] == "body.quantity"
    assert "2147483647" in detail["message"]
    assert (_count(api_app, Listing), _count(api_app, AuditEntry)) == (listings, audit)

    largest = client.post(
        f"{API}/listings",
        json=listing_json(crisis["id"], quantity=too_many - 1),
        headers=member.headers,
    )
    assert largest.status_code == 201, largest.text
    assert largest.json()["quantity"] == too_many - 1
    amend = client.patch(
        f"{API}/listings/{largest.json()['id']}",
        json={"quantity": too_many},
        headers=member.headers,
    )
    assert amend.status_code == 422
    assert [d["field"] for d in amend.json()["error"]["details"]] == ["body.quantity"]
