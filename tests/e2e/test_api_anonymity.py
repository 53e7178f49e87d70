"""Before mutual acceptance no GET endpoint tells member B anything that identifies member A.

The walk takes every GET operation from the OpenAPI document, so an endpoint added later is
walked too. A holds an offer, a need and a twin mapping; B's need is matched with A's offer and
B has signalled interest (not yet revealed). Nothing B can read may contain A's member id,
name, contact or listing ids, nor the quantities of A's listings.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from tests.e2e.conftest import API, Member, bearer, listing_json

# Distinctive quantities for A's listings: no response to B may carry them as a number.
A_OFFER, A_NEED = 7919, 6271


def _values(node: Any) -> Iterator[Any]:
    """Every scalar in a JSON document (keys included)."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield k
            yield from _values(v)
    elif isinstance(node, list):
        for v in node:
            yield from _values(v)
    else:
        yield node


def _member(client: TestClient, operator: dict[str, str], name: str, contact: str) -> Member:
    """A member with its own name and contact (the shared fixture gives everyone one contact)."""
    res = client.post(
        f"{API}/members", json={"name": name, "contact": contact, "country": "FR"}, headers=operator
    )
    assert res.status_code == 201, res.text
    member_id = res.json()["id"]
    res = client.post(
        f"{API}/tokens", json={"role": "member", "member_id": member_id}, headers=operator
    )
    assert res.status_code == 201, res.text
    return Member(id=member_id, headers=bearer(res.json()["token"]))


def _checked(res: Any, secrets: list[str], where: str) -> None:
    assert res.status_code < 500, f"{where}: {res.status_code} {res.text}"
    for secret in secrets:
        assert secret not in res.text, f"{where} reveals {secret!r}"
    if res.headers.get("content-type", "").startswith("application/json"):
        numbers = {v for v in _values(res.json()) if isinstance(v, int | float)}
        assert not numbers & {A_OFFER, A_NEED}, f"{where} reveals a quantity of A's listings"


def test_member_b_learns_nothing_identifying_member_a_from_any_get_endpoint(
    client: TestClient,
    operator: dict[str, str],
    make_member: Callable[[], Member],
    crisis: dict[str, Any],
) -> None:
    # A's name and contact are unique, so finding them anywhere is a leak, not a coincidence.
    tag = "x" + uuid.uuid4().hex[:8]  # a letter first: "004bbd" alone reads as a price
    a_name, a_contact = f"Holder {tag} Semiconductors", f"sales-{tag}@holder.example"
    a, b = _member(client, operator, a_name, a_contact), make_member()
    offer = client.post(
        f"{API}/listings",
        json=listing_json(crisis["id"], quantity=A_OFFER, date_code="2437"),
        headers=a.headers,
    )
    need = client.post(
        f"{API}/listings",
        json=listing_json(crisis["id"], kind="need", part_number="PMEG3010", quantity=A_NEED),
        headers=a.headers,
    )
    twin = client.post(
        f"{API}/catenax/twins",
        json={"twins": [{"global_asset_id": str(uuid.uuid4()), "part_number": "X1", "maker": "Y"}]},
        headers=a.headers,
    )
    assert (offer.status_code, need.status_code, twin.status_code) == (201, 201, 200)
    # B's need is matched with A's offer when it is created; B signals interest.
    b_need = client.post(
        f"{API}/listings",
        json=listing_json(crisis["id"], kind="need", quantity=40),
        headers=b.headers,
    )
    assert b_need.status_code == 201
    [match] = client.get(
        f"{API}/matches", params={"listing_id": b_need.json()["id"]}, headers=b.headers
    ).json()["items"]
    accepted = client.post(f"{API}/matches/{match['id']}/accept", headers=b.headers)
    assert accepted.json()["state"] == "interested"
    secrets = [a.id, a_name, a_contact, offer.json()["id"], need.json()["id"]]

    # B's own ids, for the path parameters of the walk.
    own = {
        "crisis_id": crisis["id"],
        "listing_id": b_need.json()["id"],
        "match_id": match["id"],
        "member_id": b.id,
    }
    required_query = {
        "date": datetime.now(UTC).date().isoformat(),
        "part_number": "BC847B,215",
        "maker": "Nexperia",
    }
    spec = client.get(f"{API}/openapi.json").json()
    walked = []
    for path, operations in spec["paths"].items():
        if "get" not in operations:
            continue
        params = operations["get"].get("parameters", [])
        url = path.removeprefix(API)
        for p in params:
            if p["in"] == "path":
                url = url.replace("{" + p["name"] + "}", own.get(p["name"], uuid.uuid4().hex))
        query = {
            p["name"]: required_query[p["name"]]
            for p in params
            if p["in"] == "query" and p.get("required")
        }
        res = client.get(f"{API}{url}", params=query, headers=b.headers)
        _checked(res, secrets, f"GET {url}")
        walked.append((path, res.status_code))
    # The walk reached the member endpoints that hold data, not only refusals.
    ok = {p for p, status in walked if status == 200}
    for path in ("/listings", "/listings/{listing_id}", "/matches", "/matches/{match_id}"):
        assert f"{API}{path}" in ok
    assert f"{API}/board/{{crisis_id}}" in ok and f"{API}/catenax/twins" in ok

    # Every filter and id B could try with A's ids: answered as for an id that does not exist.
    nobody = uuid.uuid4().hex
    for a_id in (offer.json()["id"], need.json()["id"], a.id):
        for template in (
            "/listings/{}",
            "/matches/{}",
            "/members/{}",
            "/matches?listing_id={}",
            "/listings?crisis_id={}",
            "/board/{}",
        ):
            probe = client.get(f"{API}{template.format(a_id)}", headers=b.headers)
            blank = client.get(f"{API}{template.format(nobody)}", headers=b.headers)
            assert probe.status_code == blank.status_code, template
            assert probe.text.replace(a_id, nobody) == blank.text, template
            _checked(probe, [s for s in secrets if s != a_id], template)
