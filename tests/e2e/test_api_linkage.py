"""Two colluding members cannot link their views of one counterpart's matches (issue 12).

A and B both hold needs that one offer of C serves in the same matching run, the case where,
before, both matches carried the same ``created_at`` to the microsecond and an ``expires_at``
equal to C's private listing expiry. Each view is flattened to its leaf fields; every field
equal in A's and B's views must be one the design shares (docs/anonymity.md), and every time
shown must be a whole day, so that equality tells a day and nothing finer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from supplyshock.exchange.pseudonyms import pseudonym
from supplyshock.server import create_app
from tests.e2e.conftest import API, Member, api_settings, listing_json

# Equal in two members' views of one counterpart by design, before the reveal: the crisis, the
# state and its version counter, the counterpart's part, coarse region and provenance flags,
# days (never finer), and the allocation's rule and policy constants.
SHARED = {
    "crisis_id",
    "state",
    "version",
    "side",
    "counterpart.region",
    "counterpart.part_number",
    "counterpart.maker",
    "counterpart.authorised_channel",
    "counterpart.original_packaging",
    "counterpart.traceability",
    "created_at",
    "expires_at",
    "need_accepted_at",
    "offer_accepted_at",
    "closed_at",
    "explanation.rule",
    "explanation.scarce",
    "explanation.floor_share",
    "explanation.floors_applied",
    "explanation.floor_binding",
    "explanation.assumed",
    "explanation.reason",
}
TIMES = ("created_at", "expires_at", "need_accepted_at", "offer_accepted_at", "closed_at")


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): value}


def _post(client: TestClient, path: str, who: Member, **kw: Any) -> Any:
    res = client.post(f"{API}{path}", headers=who.headers, **kw)
    assert res.status_code in (200, 201), res.text
    return res.json()


def _only_match(client: TestClient, who: Member, listing_id: str) -> dict[str, Any]:
    res = client.get(f"{API}/matches", params={"listing_id": listing_id}, headers=who.headers)
    assert res.status_code == 200, res.text
    [match] = res.json()["items"]
    single = client.get(f"{API}/matches/{match['id']}", headers=who.headers)
    assert single.json() == match  # the list and the single read show the same
    return dict(match)


def _day_only(view: dict[str, Any]) -> None:
    for name in TIMES:
        if view[name] is not None:
            assert datetime.fromisoformat(view[name]).time() == time(0), (name, view[name])


def test_two_members_find_no_fine_grained_field_in_common_about_one_counterpart(
    client: TestClient, make_member: Callable[[], Member], crisis: dict[str, Any]
) -> None:
    a, b, c = make_member(), make_member(), make_member()
    # Different own figures, so that equal values could only come from the counterpart.
    need_a = _post(
        client,
        "/listings",
        a,
        json=listing_json(
            crisis["id"], kind="need", quantity=30, days_of_supply=3, margin_per_unit=7
        ),
    )
    need_b = _post(
        client,
        "/listings",
        b,
        json=listing_json(
            crisis["id"], kind="need", quantity=45, days_of_supply=5, margin_per_unit=11
        ),
    )
    # C's offer has a private expiry with a time of day: it must not show through.
    private_expiry = (datetime.now(UTC) + timedelta(days=3)).replace(
        hour=13, minute=37, second=42, microsecond=123456
    )
    offer = _post(
        client,
        "/listings",
        c,
        json=listing_json(crisis["id"], quantity=100, expires_at=private_expiry.isoformat()),
    )
    assert offer["quantity_open"] == 100 - 30 - 45  # one matching run served both needs

    seen_by_a = _only_match(client, a, need_a["id"])
    seen_by_b = _only_match(client, b, need_b["id"])
    # Both sides signal interest, then C declines both at once: more timestamps to compare.
    for who, seen in ((a, seen_by_a), (b, seen_by_b)):
        _post(client, f"/matches/{seen['id']}/accept", who)
    for seen in (seen_by_a, seen_by_b):
        _post(client, f"/matches/{seen['id']}/decline", c)
    before_decline = (seen_by_a, seen_by_b)
    after_decline = (_only_match(client, a, need_a["id"]), _only_match(client, b, need_b["id"]))

    for view_a, view_b in (before_decline, after_decline):
        _day_only(view_a)
        _day_only(view_b)
        flat_a, flat_b = _flat(view_a), _flat(view_b)
        equal = {k for k in flat_a.keys() & flat_b.keys() if flat_a[k] == flat_b[k]}
        # None fields (unrevealed identity, own unstated figures) are equal and say nothing.
        leaks = {k for k in equal - SHARED if flat_a[k] is not None}
        assert leaks == set(), {k: flat_a[k] for k in leaks}
        assert view_a["counterpart"]["pseudonym"] != view_b["counterpart"]["pseudonym"]
        # The expiry is the platform's: the end of the day proposed + 7 days, never C's.
        created = datetime.fromisoformat(view_a["created_at"])
        assert datetime.fromisoformat(view_a["expires_at"]) == created + timedelta(days=8)
        assert datetime.fromisoformat(view_a["expires_at"]) != private_expiry
        text = str(view_a) + str(view_b)
        for private in (offer["id"], c.id, offer["created_at"], offer["expires_at"]):
            assert private not in text
    assert after_decline[0]["state"] == after_decline[1]["state"] == "declined"


def test_a_secret_passed_to_create_app_names_the_members(
    api_app: FastAPI,
    client: TestClient,
    make_member: Callable[[], Member],
    crisis: dict[str, Any],
    db_url: str,
) -> None:
    holder, buyer = make_member(), make_member()
    _post(client, "/listings", holder, json=listing_json(crisis["id"], quantity=100))
    need = _post(client, "/listings", buyer, json=listing_json(crisis["id"], kind="need"))
    first = _only_match(client, buyer, need["id"])
    key = api_app.state.settings.secret_key
    assert first["counterpart"]["pseudonym"] == pseudonym(buyer.id, holder.id, key=key)

    other_key = "another server's secret, for this test only"
    with TestClient(create_app(api_settings(db_url, secret_key=other_key))) as other:
        second = _only_match(other, buyer, need["id"])
    # Same pair, same match, two servers: each names the holder with its own key.
    assert second["id"] == first["id"]
    assert second["counterpart"]["pseudonym"] == pseudonym(buyer.id, holder.id, key=other_key)
    assert second["counterpart"]["pseudonym"] != first["counterpart"]["pseudonym"]
