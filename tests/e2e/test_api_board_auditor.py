"""The board against coalitions, through the API, on SQLite and PostgreSQL (docs/anonymity.md).

Every scenario has a victim V and two colluders X and Y (k = 3, so coalitions of k - 1 = 2
members must learn nothing). The default policy rounds totals to 100 units, coarsens to 1,000,
then suppresses, and wants p = 10 % protection on both sides of every member's quantity.
Each test derives, next to its assertions, what the coalition can compute from what it sees.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.e2e.conftest import API, Member, listing_json

A, B = "BC847B,215", "PMEG3020"  # two catalogue parts of family "discretes"


def _offer(client: TestClient, who: Member, crisis_id: str, part: str, qty: int) -> str:
    res = client.post(
        f"{API}/listings",
        json=listing_json(crisis_id, part_number=part, quantity=qty, alternates=[]),
        headers=who.headers,
    )
    assert res.status_code == 201, res.text
    return str(res.json()["id"])


def _amend(client: TestClient, who: Member, listing_id: str, qty: int) -> None:
    res = client.patch(f"{API}/listings/{listing_id}", json={"quantity": qty}, headers=who.headers)
    assert res.status_code == 200, res.text


def _board(client: TestClient, who: Member, crisis_id: str, by: str = "part") -> dict[str, Any]:
    res = client.get(f"{API}/board/{crisis_id}", params={"by": by}, headers=who.headers)
    assert res.status_code == 200, res.text
    body: dict[str, Any] = res.json()
    return body


def _offer_cell(board: dict[str, Any], part: str | None) -> dict[str, Any]:
    [row] = [r for r in board["rows"] if r["part_number"] == part]
    cell: dict[str, Any] = row["offer"]
    return cell


def _interval(cell: dict[str, Any], known: int) -> tuple[float, float]:
    """What a coalition holding ``known`` units of the cell bounds the rest to."""
    half = cell["precision"] / 2
    return cell["total"] - half - known, cell["total"] + half - 1 - known


def test_padding_a_family_with_another_catalogue_part_cannot_solve_a_dominant_member(
    client: TestClient, make_member: Callable[[], Member], crisis: dict[str, Any]
) -> None:
    v, x, y = make_member(), make_member(), make_member()
    _offer(client, v, crisis["id"], A, 1000)  # V alone on A: A is hidden (min_members)
    _offer(client, x, crisis["id"], B, 2000)  # X and Y pad the family through B, a real
    _offer(client, y, crisis["id"], B, 2000)  # catalogue part (invented ones are refused)
    board = _board(client, x, crisis["id"], by="family")
    total = _offer_cell(board, None)
    # Per reading, the family passes: 3 members, V holds 1000 / 5000 = 20 %. Published exactly,
    # X and Y would subtract their 4000 and get V = 1000. Rounded to 100 (5000, true total in
    # [4950, 5049]) V would still lie in [950, 1049], within 5 %: the auditor refuses that and
    # coarsens to 1000: 5000 means [4500, 5499], so V in [500, 1499], +-50 %.
    assert (total["status"], total["total"], total["precision"]) == ("published", 5000, 1000)
    low, high = _interval(total, known=4000)
    assert (low, high) == (500, 1499)
    assert high >= 1.1 * 1000 and low <= 0.9 * 1000
    by_part = _board(client, x, crisis["id"])
    assert _offer_cell(by_part, A)["status"] == "suppressed"
    assert _offer_cell(by_part, B)["status"] == "suppressed"


def test_changing_your_own_listing_between_two_readings_reveals_nothing(
    client: TestClient, make_member: Callable[[], Member], crisis: dict[str, Any]
) -> None:
    v, x, y = make_member(), make_member(), make_member()
    _offer(client, v, crisis["id"], A, 1000)
    x_id = _offer(client, x, crisis["id"], A, 50)
    y_id = _offer(client, y, crisis["id"], A, 50)
    first = _offer_cell(_board(client, x, crisis["id"]), A)
    # Reading 1: V holds 1000 / 1100 = 91 %: hidden by dominance.
    assert (first["status"], first["rule"]) == ("suppressed", "dominance")
    _amend(client, x, x_id, 400)
    _amend(client, y, y_id, 400)
    second = _offer_cell(_board(client, x, crisis["id"]), A)
    # Reading 2: 1000 / 1800 = 56 %, so the per-reading rules would publish 1800 and X + Y
    # (800) would read V = 1000. To 100 units V is in [950, 1049]: refused; to 1000 units
    # (2000: [1500, 2499]) V is in [700, 1699]: published coarse.
    assert (second["status"], second["total"], second["precision"]) == ("published", 2000, 1000)
    assert _interval(second, known=800) == (700, 1699)
    # Reading 3: X moves by 50 more. The coarse figure does not move (2050 -> 2000), and with
    # both readings V + 800 and V + 850 in [1500, 2499] give V in [700, 1649]: still +-10 %.
    _amend(client, x, x_id, 450)
    third = _offer_cell(_board(client, x, crisis["id"]), A)
    assert (third["status"], third["total"], third["precision"]) == ("published", 2000, 1000)


def test_auditor_refuses_a_rounding_boundary_probe_across_readings(
    client: TestClient, make_member: Callable[[], Member], crisis: dict[str, Any]
) -> None:
    """The hand-built scenario of docs/anonymity.md ("What the auditor refused").

    Reading 1: V 1000, X 50, Y 50 on part A. Hidden (dominance, 91 %).
    Reading 2: X and Y amend to 400 each; true total 1800.
      exact 1800 -> V = 1800 - 800 = 1000: refused;
      1800 to 100 -> [1750, 1849] -> V in [950, 1049]: refused (within 5 %);
      1800 to 1000 -> 2000 -> [1500, 2499] -> V in [700, 1699]: published.
    Reading 3: X amends to 1100, to see where the coarse figure flips; true total 2500.
      to 100 -> 2500 -> [2450, 2549] -> V in [950, 1049]: refused;
      to 1000 -> 3000 -> [2500, 3499] -> V + 1500 >= 2500 gives V >= 1000, and reading 2's
      V + 800 <= 2499 gives V <= 1699: V in [1000, 1699], so the coalition learns V is at
      least its true value (no lower protection): refused;
      so the cell is hidden (rule "auditor"), and its family total with it (the same sum).
    """
    v, x, y = make_member(), make_member(), make_member()
    _offer(client, v, crisis["id"], A, 1000)
    x_id = _offer(client, x, crisis["id"], A, 50)
    y_id = _offer(client, y, crisis["id"], A, 50)
    readings = [_board(client, x, crisis["id"])]
    _amend(client, x, x_id, 400)
    _amend(client, y, y_id, 400)
    readings.append(_board(client, x, crisis["id"]))
    _amend(client, x, x_id, 1100)
    readings.append(_board(client, x, crisis["id"]))
    family = _board(client, x, crisis["id"], by="family")
    cells = [_offer_cell(r, A) for r in readings]
    seen = [(c["status"], c.get("total"), c.get("precision"), c.get("rule")) for c in cells]
    assert seen == [
        ("suppressed", None, None, "dominance"),
        ("published", 2000, 1000, None),
        ("suppressed", None, None, "auditor"),
    ]
    total = _offer_cell(family, None)
    assert (total["status"], total["rule"]) == ("suppressed", "auditor")
    # The epochs advanced: each reading after a change is a new publication.
    assert [r["epoch"] for r in readings] == [1, 2, 3]


def test_invented_part_is_refused_naming_the_field(
    client: TestClient, make_member: Callable[[], Member], crisis: dict[str, Any]
) -> None:
    x = make_member()
    before = client.get(f"{API}/listings", headers=x.headers).json()["items"]
    res = client.post(
        f"{API}/listings",
        json=listing_json(crisis["id"], part_number="PAD-0001", alternates=[]),
        headers=x.headers,
    )
    assert res.status_code == 422
    assert res.json()["error"]["code"] == "not_in_catalogue"
    assert res.json()["error"]["message"].startswith("part_number:")
    alt = client.post(
        f"{API}/listings",
        json=listing_json(
            crisis["id"],
            alternates=[
                {"part_number": "BC847BW", "maker": "Nexperia"},
                {"part_number": "PAD-0002", "maker": "Nexperia"},
            ],
        ),
        headers=x.headers,
    )
    assert alt.status_code == 422 and alt.json()["error"]["code"] == "not_in_catalogue"
    assert alt.json()["error"]["message"].startswith("alternates[1]:")
    # A member cannot move a catalogue part into another family either.
    moved = client.post(
        f"{API}/listings",
        json=listing_json(crisis["id"], part_family="mosfets", alternates=[]),
        headers=x.headers,
    )
    assert moved.status_code == 422 and moved.json()["error"]["code"] == "family_mismatch"
    assert client.get(f"{API}/listings", headers=x.headers).json()["items"] == before


def test_only_the_operator_extends_the_catalogue(
    client: TestClient,
    operator: dict[str, str],
    make_member: Callable[[], Member],
    crisis: dict[str, Any],
) -> None:
    x = make_member()
    entry = {"part_number": "PAD-0001", "maker": "Nexperia", "part_family": "discretes"}
    url = f"{API}/crises/{crisis['id']}/catalogue"
    refused = client.post(url, json={"entries": [entry]}, headers=x.headers)
    assert refused.status_code == 403
    parts = {e["part_number"] for e in client.get(url, headers=x.headers).json()["items"]}
    assert "PAD-0001" not in parts and A in parts
    added = client.post(url, json={"entries": [entry]}, headers=operator)
    assert added.status_code == 200 and added.json() == [entry]
    again = client.post(url, json={"entries": [entry]}, headers=operator)
    assert again.json() == []  # already there: nothing new
    moved = client.post(
        url, json={"entries": [{**entry, "part_family": "mosfets"}]}, headers=operator
    )
    assert moved.status_code == 409
    ok = client.post(
        f"{API}/listings",
        json=listing_json(crisis["id"], part_number="PAD-0001", alternates=[]),
        headers=x.headers,
    )
    assert ok.status_code == 201 and ok.json()["part_family"] == "discretes"


def test_a_catalogue_outside_the_crisis_scope_is_refused_and_opens_nothing(
    client: TestClient, operator: dict[str, str]
) -> None:
    name = f"Scoped x{uuid.uuid4().hex[:8]}"
    today = datetime.now(UTC).date()
    body = {
        "name": name,
        "makers": ["Nexperia"],
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=30)).isoformat(),
        "catalogue": [
            {"part_number": "BC847B", "maker": "Nexperia", "part_family": "discretes"},
            {"part_number": "IPD50N04", "maker": "Infineon", "part_family": "mosfets"},
        ],
    }
    res = client.post(f"{API}/crises", json=body, headers=operator)
    assert res.status_code == 422 and res.json()["error"]["code"] == "out_of_scope"
    assert res.json()["error"]["message"].startswith("catalogue[1].maker:")
    # Nothing was created: the name is still free (names are unique).
    body["catalogue"] = body["catalogue"][:1]
    assert client.post(f"{API}/crises", json=body, headers=operator).status_code == 201
