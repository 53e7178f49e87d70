"""``POST /registry/check`` reports scheduled-but-unconfirmed states and staleness."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.e2e.conftest import API


def test_check_response_marks_the_holmium_licence_unconfirmed(
    client: TestClient, operator: dict[str, str]
) -> None:
    body = {
        "date": "2026-12-01",
        "origin": "CN",
        "destination": "DE",
        "hs_code": "850511",
        "elements": {"Ho": 0.01},
    }
    res = client.post(f"{API}/registry/check", json=body, headers=operator)
    assert res.status_code == 200, res.text
    (e,) = [e for e in res.json()["effects"] if e["measure_id"] == "cn-rare-earths-2025-10"]
    assert e["certainty"] == "scheduled_unconfirmed"
    assert "whether the suspension was extended" in e["uncertainty"]
    assert (e["last_reviewed"], e["staleness"]) == ("2026-12-01", "current")
