"""No prices and no junk in any text, through the API on SQLite and PostgreSQL.

Every free-text field a member or the operator can write is sent a price ("0.35 EUR/pc"), a
bidi override, a zero-width space and an ESC; every integer field is sent ``true``. Each request
must answer 422 naming the field (``loc``) and what was wrong, and change nothing in the
database: the same row counts in every table and the same audit head.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from supplyshock.store.db import UnitOfWork
from supplyshock.store.models import AuditEntry, Base
from tests.e2e.conftest import API, Member, listing_json

# (what is inserted, the message it must produce). Each is put after the value's first two
# characters, so the position in the message is 3.
JUNK = {
    "price": (" 0.35 EUR/pc", 'reads as a price ("0.35 EUR")', "price_in_text"),
    "bidi": ("\u202e", "U+202E (RIGHT-TO-LEFT OVERRIDE) at position 3", "forbidden_character"),
    "zero-width": ("\u200b", "U+200B (ZERO WIDTH SPACE) at position 3", "forbidden_character"),
    # NUL is refused before validation, for the whole body (http/limits.py); ESC gets this far.
    "control": ("\x1b", "U+001B (ESCAPE) at position 3", "forbidden_character"),
}
# Tables that change on every request whatever it does (the rate limiter's counters).
VOLATILE = {"rate_limits", "jobs"}
ITEM_STOCK: dict[str, Any] = {
    "materialGlobalAssetId": "urn:uuid:48878d48-6f1d-47f5-8ded-a441d0d879df",
    "positions": [
        {
            "allocatedStocks": [
                {
                    "isBlocked": False,
                    "stockLocationBPNA": "BPNA1234567890ZZ",
                    "lastUpdatedOnDateTime": "2023-04-28T14:23:00.123456+14:00",
                    "quantityOnAllocatedStock": {"value": 20.0, "unit": "unit:piece"},
                    "stockLocationBPNS": "BPNS1234567890ZZ",
                }
            ]
        }
    ],
    "direction": "INBOUND",
}


def _junk(value: str, kind: str) -> str:
    insert = JUNK[kind][0]
    return value + insert if kind == "price" else value[:2] + insert + value[2:]


def _state(app: FastAPI) -> tuple[dict[str, int], tuple[Any, ...] | None]:
    """Row counts of every table, and the audit chain's head (seq, hash)."""
    with UnitOfWork(app.state.session_factory) as uow:
        s = uow.session
        counts = {
            t.name: s.scalar(select(func.count()).select_from(t)) or 0
            for t in Base.metadata.sorted_tables
            if t.name not in VOLATILE
        }
        head = s.execute(
            select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
        ).first()
    return counts, tuple(head) if head is not None else None


@dataclass(frozen=True)
class World:
    client: TestClient
    operator: dict[str, str]
    member: Member
    crisis_id: str
    listing_id: str


@pytest.fixture
def world(
    client: TestClient,
    operator: dict[str, str],
    make_member: Callable[[], Member],
    crisis: dict[str, Any],
) -> World:
    member = make_member()
    res = client.post(f"{API}/listings", json=listing_json(crisis["id"]), headers=member.headers)
    assert res.status_code == 201, res.text
    return World(client, operator, member, crisis["id"], res.json()["id"])


def _crisis_body(**overrides: Any) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    return {
        "name": f"Crisis x{uuid.uuid4().hex[:8]}",
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=30)).isoformat(),
        **overrides,
    }


# One request per free-text field: (field, its valid value, the request with a value in it,
# the error's loc). Together they cover every str field of exchange/schemas.py and the
# Catena-X twin and import options.
Send = Callable[[World, str], Any]


def _listing(field: str) -> Send:
    def send(w: World, v: str) -> Any:
        body = listing_json(w.crisis_id, **{field: v})
        return w.client.post(f"{API}/listings", json=body, headers=w.member.headers)

    return send


def _alternate(field: str, *, amend: bool) -> Send:
    def send(w: World, v: str) -> Any:
        alt = {"part_number": "BC847C", "maker": "Nexperia", field: v}
        if amend:
            return w.client.patch(
                f"{API}/listings/{w.listing_id}",
                json={"alternates": [alt]},
                headers=w.member.headers,
            )
        body = listing_json(w.crisis_id, alternates=[alt])
        return w.client.post(f"{API}/listings", json=body, headers=w.member.headers)

    return send


def _amend(field: str) -> Send:
    def send(w: World, v: str) -> Any:
        return w.client.patch(
            f"{API}/listings/{w.listing_id}", json={field: v}, headers=w.member.headers
        )

    return send


def _member(field: str) -> Send:
    def send(w: World, v: str) -> Any:
        body = {"name": f"M x{uuid.uuid4().hex[:6]}", "contact": "a@b.example", "country": "DE"}
        return w.client.post(f"{API}/members", json={**body, field: v}, headers=w.operator)

    return send


def _crisis(field: str, *, listed: bool = False) -> Send:
    def send(w: World, v: str) -> Any:
        body = _crisis_body(**{field: [v] if listed else v})
        return w.client.post(f"{API}/crises", json=body, headers=w.operator)

    return send


def _catalogue(field: str) -> Send:
    def send(w: World, v: str) -> Any:
        entry = {"part_number": "BC847B", "maker": "Nexperia", "part_family": "discretes"}
        body = _crisis_body(catalogue=[{**entry, field: v}])
        return w.client.post(f"{API}/crises", json=body, headers=w.operator)

    return send


def _token_label(w: World, v: str) -> Any:
    body = {"role": "member", "member_id": w.member.id, "label": v}
    return w.client.post(f"{API}/tokens", json=body, headers=w.operator)


def _twin(field: str) -> Send:
    def send(w: World, v: str) -> Any:
        twin = {"global_asset_id": str(uuid.uuid4()), "part_number": "BC847B", "maker": "Nexperia"}
        body = {"twins": [{**twin, field: v}]}
        return w.client.post(f"{API}/catenax/twins", json=body, headers=w.member.headers)

    return send


def _import_option(field: str) -> Send:
    def send(w: World, v: str) -> Any:
        params = {"crisis_id": w.crisis_id, "region": "europe", field: v}
        return w.client.post(
            f"{API}/catenax/item-stock", params=params, json=ITEM_STOCK, headers=w.member.headers
        )

    return send


FIELDS: dict[str, tuple[str, Send, list[str]]] = {
    "listing.part_number": ("BC847B", _listing("part_number"), ["body", "part_number"]),
    "listing.maker": ("Nexperia", _listing("maker"), ["body", "maker"]),
    "listing.part_family": ("discretes", _listing("part_family"), ["body", "part_family"]),
    "listing.date_code": ("2341", _listing("date_code"), ["body", "date_code"]),
    "listing.region": ("europe", _listing("region"), ["body", "region"]),
    "listing.alternates.part_number": (
        "BC847C",
        _alternate("part_number", amend=False),
        ["body", "alternates", "0", "part_number"],
    ),
    "listing.alternates.maker": (
        "Nexperia",
        _alternate("maker", amend=False),
        ["body", "alternates", "0", "maker"],
    ),
    "amend.alternates.part_number": (
        "BC847C",
        _alternate("part_number", amend=True),
        ["body", "alternates", "0", "part_number"],
    ),
    "amend.date_code": ("2341", _amend("date_code"), ["body", "date_code"]),
    "amend.region": ("europe", _amend("region"), ["body", "region"]),
    "member.name": ("Acme GmbH", _member("name"), ["body", "name"]),
    "member.contact": ("a@b.example", _member("contact"), ["body", "contact"]),
    "crisis.name": ("Chip shortage", _crisis("name"), ["body", "name"]),
    "crisis.scope": ("Nexperia chips", _crisis("scope"), ["body", "scope"]),
    "crisis.makers": ("Nexperia", _crisis("makers", listed=True), ["body", "makers", "0"]),
    "crisis.part_families": (
        "discretes",
        _crisis("part_families", listed=True),
        ["body", "part_families", "0"],
    ),
    "crisis.catalogue.part_number": (
        "BC847B",
        _catalogue("part_number"),
        ["body", "catalogue", "0", "part_number"],
    ),
    "crisis.catalogue.part_family": (
        "discretes",
        _catalogue("part_family"),
        ["body", "catalogue", "0", "part_family"],
    ),
    "token.label": ("ops desk", _token_label, ["body", "label"]),
    "twin.part_number": ("BC847B", _twin("part_number"), ["body", "twins", "0", "part_number"]),
    "twin.maker": ("Nexperia", _twin("maker"), ["body", "twins", "0", "maker"]),
    # Import options come as query parameters and are checked as one model: loc is the name.
    # (date_code is not here: the query parameter takes 4 characters, so junk never fits.)
    "catenax.part_family": ("discretes", _import_option("part_family"), ["part_family"]),
    "catenax.region": ("europe", _import_option("region"), ["region"]),
}


def _problem(res: Any, loc: list[str]) -> dict[str, Any]:
    assert res.status_code == 422, res.text
    error = res.json()["error"]
    assert error["code"] == "invalid_request", error
    found = [d for d in error["details"] if d["loc"] == loc]
    assert found, f"no problem at {loc}: {error['details']}"
    problem: dict[str, Any] = found[0]
    return problem


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_junk_in_a_text_field_is_refused_naming_the_field_and_changes_nothing(
    api_app: FastAPI, world: World, name: str
) -> None:
    valid, send, loc = FIELDS[name]
    for kind, (_, message, code) in JUNK.items():
        before = _state(api_app)
        res = send(world, _junk(valid, kind))
        problem = _problem(res, loc)
        assert (problem["type"], kind) == (code, kind)
        assert message in problem["message"], (kind, problem)
        assert _state(api_app) == before, kind


def test_the_valid_values_of_the_table_are_accepted(world: World) -> None:
    # The refusals above are for the junk, not for the values around it.
    for name in ("member.name", "member.contact", "crisis.name", "crisis.scope", "token.label"):
        valid, send, _ = FIELDS[name]
        res = send(world, valid)
        assert res.status_code == 201, (name, res.text)
    for name in ("twin.part_number", "twin.maker"):
        valid, send, _ = FIELDS[name]
        assert send(world, valid).status_code == 200, name
    for name in ("amend.date_code", "amend.region", "amend.alternates.part_number"):
        valid, send, _ = FIELDS[name]
        res = send(world, valid)
        assert res.status_code == 200, (name, res.text)


@pytest.mark.parametrize(
    ("method", "field"),
    [
        ("create", "quantity"),
        ("create", "max_lots"),
        ("create", "days_of_supply"),
        ("create", "margin_per_unit"),
        ("amend", "quantity"),
        ("amend", "version"),
        ("token", "days"),
        ("crisis", "retention_days"),
    ],
)
def test_a_boolean_is_never_read_as_a_number(
    api_app: FastAPI, world: World, method: str, field: str
) -> None:
    w = world
    before = _state(api_app)
    if method == "create":
        res = w.client.post(
            f"{API}/listings",
            json=listing_json(w.crisis_id, kind="need", **{field: True}),
            headers=w.member.headers,
        )
    elif method == "amend":
        res = w.client.patch(
            f"{API}/listings/{w.listing_id}", json={field: True}, headers=w.member.headers
        )
    elif method == "token":
        body = {"role": "member", "member_id": w.member.id, field: True}
        res = w.client.post(f"{API}/tokens", json=body, headers=w.operator)
    else:
        res = w.client.post(f"{API}/crises", json=_crisis_body(**{field: True}), headers=w.operator)
    problem = _problem(res, ["body", field])
    assert problem["type"] == "bool_is_not_a_number"
    assert _state(api_app) == before


def test_quantity_true_is_not_one_unit(api_app: FastAPI, world: World) -> None:
    # The issue's own case: before, this created a listing of 1 unit.
    before = _state(api_app)
    res = world.client.post(
        f"{API}/listings",
        json=listing_json(world.crisis_id, quantity=True),
        headers=world.member.headers,
    )
    assert _problem(res, ["body", "quantity"])["message"].startswith("a boolean is not a number")
    assert _state(api_app) == before
    mine = world.client.get(f"{API}/listings", headers=world.member.headers).json()["items"]
    assert [x["quantity"] for x in mine] == [10_000]  # only the fixture's listing


def test_a_catenax_quantity_true_is_refused_with_its_path(api_app: FastAPI, world: World) -> None:
    payload = {
        **ITEM_STOCK,
        "positions": [
            {
                "allocatedStocks": [
                    {
                        **ITEM_STOCK["positions"][0]["allocatedStocks"][0],
                        "quantityOnAllocatedStock": {"value": True, "unit": "unit:piece"},
                    }
                ]
            }
        ],
    }
    before = _state(api_app)
    res = world.client.post(
        f"{API}/catenax/item-stock",
        params={"crisis_id": world.crisis_id, "region": "europe"},
        json=payload,
        headers=world.member.headers,
    )
    assert res.status_code == 422, res.text
    error = res.json()["error"]
    assert error["code"] == "invalid_payload"
    fields = {d["field"] for d in error["details"]}
    assert "positions[0].allocatedStocks[0].quantityOnAllocatedStock.value" in fields
    assert _state(api_app) == before


def test_look_alike_part_numbers_are_stored_as_the_plain_part(
    world: World, make_member: Callable[[], Member]
) -> None:
    # Full-width "ＢＣ８４７Ｂ,２１５" folds to the catalogue's "BC847B,215": the same part, so
    # it is matched against the fixture's offer instead of sitting beside it unmatched.
    need = make_member()
    res = world.client.post(
        f"{API}/listings",
        json=listing_json(
            world.crisis_id, kind="need", part_number="ＢＣ８４７Ｂ,２１５", quantity=5
        ),
        headers=need.headers,
    )
    assert res.status_code == 201, res.text
    assert res.json()["part_number"] == "BC847B,215"
