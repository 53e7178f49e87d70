"""Lists come in pages: a walk along ``next`` yields every item exactly once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.e2e.conftest import API, Member, listing_json


def _walk(
    client: TestClient, path: str, headers: dict[str, str], limit: int, key: str = "id"
) -> list[str]:
    seen: list[str] = []
    params: dict[str, Any] = {"limit": limit}
    while True:
        res = client.get(f"{API}{path}", params=params, headers=headers)
        assert res.status_code == 200, res.text
        page = res.json()
        assert len(page["items"]) <= limit
        seen += [x[key] for x in page["items"]]
        if page["next"] is None:
            return seen
        params["cursor"] = page["next"]


def test_walking_pages_yields_every_listing_once(
    client: TestClient, make_member: Callable[[], Member], crisis: dict[str, Any]
) -> None:
    member = make_member()
    made = [
        client.post(
            f"{API}/listings", json=listing_json(crisis["id"], quantity=q), headers=member.headers
        ).json()["id"]
        for q in range(1, 8)
    ]
    walked = _walk(client, "/listings", member.headers, limit=3)
    assert sorted(walked) == sorted(made)
    assert len(walked) == len(set(walked))


def test_walk_survives_new_items_arriving_mid_walk(
    client: TestClient, make_member: Callable[[], Member], crisis: dict[str, Any]
) -> None:
    member = make_member()

    def create() -> str:
        res = client.post(
            f"{API}/listings", json=listing_json(crisis["id"]), headers=member.headers
        )
        return str(res.json()["id"])

    made = [create() for _ in range(4)]
    first = client.get(f"{API}/listings", params={"limit": 2}, headers=member.headers).json()
    create()  # newest first: it lands before the cursor and must not shift the walk
    rest = client.get(
        f"{API}/listings", params={"limit": 10, "cursor": first["next"]}, headers=member.headers
    ).json()
    walked = [x["id"] for x in first["items"] + rest["items"]]
    assert sorted(walked) == sorted(made)


def test_operator_walks_all_members_once(
    client: TestClient, operator: dict[str, str], make_member: Callable[[], Member]
) -> None:
    made = {make_member().id for _ in range(5)}
    walked = _walk(client, "/members", operator, limit=2)
    assert made <= set(walked)
    assert len(walked) == len(set(walked))


def test_walking_the_registry_timeline_yields_every_event_once_in_date_order(
    client: TestClient, operator: dict[str, str]
) -> None:
    everything = client.get(
        f"{API}/registry/timeline", params={"limit": 200}, headers=operator
    ).json()
    assert everything["next"] is None
    walked = _walk(client, "/registry/timeline", operator, limit=7, key="event_id")
    assert walked == [e["event_id"] for e in everything["items"]]


def test_offset_skips_items(
    client: TestClient, make_member: Callable[[], Member], crisis: dict[str, Any]
) -> None:
    member = make_member()
    for _ in range(3):
        client.post(f"{API}/listings", json=listing_json(crisis["id"]), headers=member.headers)
    everything = client.get(f"{API}/listings", headers=member.headers).json()["items"]
    page = client.get(
        f"{API}/listings", params={"offset": 1, "limit": 1}, headers=member.headers
    ).json()
    assert [x["id"] for x in page["items"]] == [everything[1]["id"]]
    assert page["next"] is not None


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"limit": 0}, 422, "invalid_request"),
        ({"limit": 201}, 422, "invalid_request"),
        ({"cursor": "!!not-a-cursor"}, 400, "invalid_cursor"),
        ({"cursor": "eyJhIjoxfQ", "offset": 0}, 400, "invalid_cursor"),
    ],
    ids=["limit-0", "limit-201", "garbage-cursor", "cursor-and-offset"],
)
def test_bad_page_parameters_are_refused(
    client: TestClient, operator: dict[str, str], params: dict[str, Any], status: int, code: str
) -> None:
    res = client.get(f"{API}/crises", params=params, headers=operator)
    assert res.status_code == status
    assert res.json()["error"]["code"] == code
