"""Registry and exposure over HTTP: the same answers as the CLI, built-in data only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.e2e.conftest import API, Member

NEXPERIA = {"origin": "CN", "destination": "DE", "maker": "Nexperia", "made_in": "CN"}


def _check(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    res = client.post(f"{API}/registry/check", json=body, headers=headers)
    assert res.status_code == 200, res.text
    return {e["measure_id"]: e for e in res.json()["effects"]}


def test_any_member_may_use_the_analytics(
    client: TestClient, make_member: Callable[[], Member]
) -> None:
    member = make_member()
    e = _check(client, member.headers, date="2025-10-15", **NEXPERIA)["cn-nexperia-ban-2025"]
    assert (e["effect"], e["gta_type"]) == ("ban", "Export ban")
    assert e["reached_by"] == ["maker Nexperia made in CN"]
    assert {s["id"] for s in e["sources"]} == {"icpcb-2025-10-14", "ioplus-2025-11-01"}


def test_check_applies_the_automotive_carve_out(
    client: TestClient, operator: dict[str, str]
) -> None:
    found = _check(client, operator, date="2025-11-10", sector="automotive", **NEXPERIA)
    e = found["cn-nexperia-ban-2025"]
    assert (e["effect"], e["carve_out"]) == ("exempt", "cn-nexperia-civilian-exemptions")


def test_check_reports_licence_odds_for_a_dy_magnet(
    client: TestClient, operator: dict[str, str]
) -> None:
    found = _check(
        client,
        operator,
        date="2025-05-01",
        origin="CN",
        destination="DE",
        hs_code="8505.11",
        elements={"Nd": 0.29, "dy": 0.05},
    )
    e = found["cn-rare-earths-2025-04"]
    assert (e["effect"], e["approval_share"], e["review_days"]) == ("licence", 0.25, 63)


def test_check_as_of_ignores_later_announcements(
    client: TestClient, operator: dict[str, str]
) -> None:
    body = {"date": "2025-11-10", "origin": "CN", "destination": "DE", "elements": {"Ho": None}}
    assert "cn-rare-earths-2025-10" in _check(client, operator, **body, as_of="2025-11-05")
    assert _check(client, operator, **body, as_of="2025-11-08") == {}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"origin": "XX"}, "body.origin"),
        ({"hs_code": "85"}, "body.hs_code"),
        ({"elements": {"Qq": 0.1}}, "body.elements"),
        ({"elements": {"Dy": 2}}, "body.elements.Dy"),
    ],
    ids=["country", "hs", "element", "share"],
)
def test_check_refuses_bad_shipments_naming_the_field(
    client: TestClient, operator: dict[str, str], body: dict[str, Any], field: str
) -> None:
    shipment = {"date": "2025-10-15", **NEXPERIA, **body}
    res = client.post(f"{API}/registry/check", json=shipment, headers=operator)
    assert res.status_code == 422
    fields = [d["field"] for d in res.json()["error"]["details"]]
    assert any(f.startswith(field) for f in fields), fields


def test_timeline_filters_by_kind_issuer_and_dates(
    client: TestClient, operator: dict[str, str]
) -> None:
    res = client.get(
        f"{API}/registry/timeline",
        params={"issuer": "US", "kind": "tariff", "from": "2025-04-01", "to": "2025-04-30"},
        headers=operator,
    )
    assert res.status_code == 200, res.text
    assert [r["event_id"] for r in res.json()["items"]] == [
        "us-reciprocal-2025-04-announced",
        "us-s232-autos-2025-04-in-force",
        "us-reciprocal-2025-04-in-force",
        "us-reciprocal-2025-04-125",
    ]


def test_timeline_refuses_a_bad_element_and_reversed_dates(
    client: TestClient, operator: dict[str, str]
) -> None:
    bad = client.get(f"{API}/registry/timeline", params={"element": "Qq"}, headers=operator)
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "query.element"
    rev = client.get(
        f"{API}/registry/timeline",
        params={"from": "2025-05-01", "to": "2025-04-01"},
        headers=operator,
    )
    assert rev.status_code == 400


def test_exposure_of_the_builtin_network_during_the_nexperia_ban(
    client: TestClient, operator: dict[str, str]
) -> None:
    res = client.get(f"{API}/exposure", params={"date": "2025-10-15"}, headers=operator)
    assert res.status_code == 200, res.text
    report = res.json()
    assert report["synthetic"] is True
    assert report["products"]
    reached = {m["measure_id"] for p in report["products"] for m in p["measures"]}
    assert "cn-nexperia-ban-2025" in reached


@pytest.mark.parametrize("scenario", ["../../etc", "/etc/passwd", "nope"])
def test_exposure_accepts_only_builtin_scenario_names(
    client: TestClient, operator: dict[str, str], scenario: str
) -> None:
    res = client.get(
        f"{API}/exposure", params={"date": "2025-10-15", "scenario": scenario}, headers=operator
    )
    assert res.status_code == 404
    assert res.json()["error"]["code"] == "not_found"


def test_exposure_needs_a_token(client: TestClient) -> None:
    assert client.get(f"{API}/exposure", params={"date": "2025-10-15"}).status_code == 401
