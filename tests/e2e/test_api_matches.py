"""Matches over HTTP: pseudonyms until both sides accept, then contacts; strangers see nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.e2e.conftest import API, Member, listing_json


def _post(client: TestClient, path: str, who: Member, **kw: Any) -> Any:
    res = client.post(f"{API}{path}", headers=who.headers, **kw)
    assert res.status_code in (200, 201), res.text
    return res.json()


def _matches_of(client: TestClient, who: Member, listing_id: str) -> list[dict[str, Any]]:
    res = client.get(f"{API}/matches", params={"listing_id": listing_id}, headers=who.headers)
    assert res.status_code == 200, res.text
    items: list[dict[str, Any]] = res.json()["items"]
    return items


def test_a_new_listing_is_matched_against_the_open_pool_when_it_is_created(
    client: TestClient, make_member: Callable[[], Member], crisis: dict[str, Any]
) -> None:
    holder, buyer = make_member(), make_member()
    offer = _post(client, "/listings", holder, json=listing_json(crisis["id"], quantity=100))
    assert offer["quantity_open"] == 100  # nothing to match yet
    need = _post(
        client, "/listings", buyer, json=listing_json(crisis["id"], kind="need", quantity=40)
    )
    assert need["quantity_open"] == 0  # the answer already counts the match made
    [match] = _matches_of(client, buyer, need["id"])
    assert (match["quantity"], match["state"], match["side"]) == (40, "proposed", "need")
    [seen] = _matches_of(client, holder, offer["id"])
    assert seen["id"] == match["id"]
    # Re-matching proposes nothing new: a pair is proposed once.
    assert _post(client, f"/listings/{need['id']}/match", buyer) == []


def test_an_amended_listing_is_matched_again(
    client: TestClient, make_member: Callable[[], Member], crisis: dict[str, Any]
) -> None:
    holder, buyer = make_member(), make_member()
    _post(client, "/listings", holder, json=listing_json(crisis["id"], quantity=100))
    need = _post(
        client,
        "/listings",
        buyer,
        json=listing_json(crisis["id"], kind="need", quantity=40, part_number="PMEG3010"),
    )
    assert _matches_of(client, buyer, need["id"]) == []  # another part: no counterpart

    res = client.patch(
        f"{API}/listings/{need['id']}",
        json={"alternates": [{"part_number": "BC847B,215", "maker": "Nexperia"}]},
        headers=buyer.headers,
    )

    assert res.status_code == 200, res.text
    assert res.json()["quantity_open"] == 0
    [match] = _matches_of(client, buyer, need["id"])
    assert match["quantity"] == 40


def test_a_match_is_blind_until_both_accept_then_contacts_are_revealed(
    client: TestClient,
    make_member: Callable[[], Member],
    operator: dict[str, str],
    crisis: dict[str, Any],
) -> None:
    holder, buyer, stranger = make_member(), make_member(), make_member()
    offer = _post(client, "/listings", holder, json=listing_json(crisis["id"], quantity=100))
    need = _post(
        client, "/listings", buyer, json=listing_json(crisis["id"], kind="need", quantity=40)
    )
    [match] = _matches_of(client, buyer, need["id"])
    assert (match["quantity"], match["state"], match["side"]) == (40, "proposed", "need")

    seen = client.get(f"{API}/matches/{match['id']}", headers=holder.headers)
    assert seen.status_code == 200
    body = seen.json()
    assert body["counterpart"]["pseudonym"].startswith("M-")
    assert body["counterpart"]["contact"] is None and body["explanation"] is None
    for secret in (buyer.id, need["id"]):
        assert secret not in seen.text
    mine = client.get(f"{API}/matches", headers=holder.headers).json()
    assert [m["id"] for m in mine["items"]] == [match["id"]]

    # Strangers and the wrong order of acceptance get nothing and change nothing.
    for res in (
        client.get(f"{API}/matches/{match['id']}", headers=stranger.headers),
        client.post(f"{API}/matches/{match['id']}/accept", headers=stranger.headers),
        client.post(f"{API}/listings/{need['id']}/match", headers=stranger.headers),
    ):
        assert res.status_code == 404
        assert res.json()["error"]["code"] == "not_found"
        assert holder.id not in res.text and buyer.id not in res.text
    early = client.post(f"{API}/matches/{match['id']}/accept", headers=holder.headers)
    assert early.status_code == 422
    assert early.json()["error"]["code"] == "no_interest_yet"

    _post(client, f"/matches/{match['id']}/accept", buyer)
    revealed = _post(client, f"/matches/{match['id']}/accept", holder)
    assert revealed["state"] == "revealed"
    assert revealed["counterpart"]["contact"] == "a@b.example"
    assert revealed["counterpart"]["listing_id"] == need["id"]
    seen_by_buyer = client.get(f"{API}/matches/{match['id']}", headers=buyer.headers).json()
    assert seen_by_buyer["counterpart"]["listing_id"] == offer["id"]

    done = _post(client, f"/matches/{match['id']}/fulfil", holder)
    assert done["state"] == "fulfilled"
    left = client.get(f"{API}/listings/{offer['id']}", headers=holder.headers).json()
    assert left["quantity_open"] == 60  # 100 - 40


def test_a_decline_returns_the_stock_to_the_pool(
    client: TestClient, make_member: Callable[[], Member], crisis: dict[str, Any]
) -> None:
    holder, buyer = make_member(), make_member()
    offer = _post(client, "/listings", holder, json=listing_json(crisis["id"], quantity=100))
    need = _post(
        client, "/listings", buyer, json=listing_json(crisis["id"], kind="need", quantity=40)
    )
    [match] = _matches_of(client, buyer, need["id"])
    declined = _post(client, f"/matches/{match['id']}/decline", holder)
    assert declined["state"] == "declined"
    after = client.get(f"{API}/listings/{offer['id']}", headers=holder.headers).json()
    assert after["quantity_open"] == 100


def test_a_new_offer_is_shared_among_waiting_needs_by_the_allocation_lp(
    client: TestClient,
    make_member: Callable[[], Member],
    operator: dict[str, str],
    crisis: dict[str, Any],
) -> None:
    holder, urgent, patient = make_member(), make_member(), make_member()
    needs = {}
    for who, days, margin in ((urgent, 2, 10), (patient, 9, 5)):
        needs[who.id] = _post(
            client,
            "/listings",
            who,
            json=listing_json(
                crisis["id"], kind="need", quantity=100, days_of_supply=days, margin_per_unit=margin
            ),
        )
    offer = _post(client, "/listings", holder, json=listing_json(crisis["id"], quantity=100))
    assert offer["quantity_open"] == 0
    # The hand-derived split of test_exchange_allocation.py: 90 to the urgent need, 10 floor.
    [to_urgent] = _matches_of(client, urgent, needs[urgent.id]["id"])
    [to_patient] = _matches_of(client, patient, needs[patient.id]["id"])
    assert (to_urgent["quantity"], to_patient["quantity"]) == (90, 10)
    assert to_patient["explanation"]["floor_binding"] is True

    # Only the operator sees the allocation view; it now finds no open stock left to share.
    params = {"part_number": "BC847B,215", "maker": "Nexperia"}
    path = f"{API}/allocation/{crisis['id']}"
    assert client.get(path, params=params, headers=holder.headers).status_code == 403
    res = client.get(path, params=params, headers=operator)
    assert res.status_code == 200, res.text
    assert res.json()["offers"] == [] and res.json()["flows"] == []
