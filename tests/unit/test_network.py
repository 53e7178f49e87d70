"""Derived quantities of the network model: requirements and element content."""

from __future__ import annotations

import pytest

from supplyshock.domain.network import Network

SMALL = {
    "meta": {"name": "distributor"},
    "companies": [{"id": "c", "name": "C", "country": "DE"}],
    "sites": [{"id": s, "company": "c", "country": "DE"} for s in ("P", "Q", "D", "S1", "S2")],
    "parts": [
        {"id": "car", "hs_code": "870380", "finished": True},
        {"id": "ecu", "hs_code": "853710"},
        {"id": "chip", "hs_code": "854231", "elements": {"Si": 0.001}},
    ],
    "bom": [
        {"parent": "car", "child": "ecu", "qty": 1},
        {"parent": "ecu", "child": "chip", "qty": 2},
    ],
    "lanes": [
        {"id": "l1", "supplier": "D", "customer": "P", "part": "chip", "share": 1.0},
        {"id": "l2", "supplier": "D", "customer": "Q", "part": "chip", "share": 1.0},
        {"id": "l3", "supplier": "S1", "customer": "D", "part": "chip", "share": 0.5},
        {"id": "l4", "supplier": "S2", "customer": "D", "part": "chip", "share": 0.5},
    ],
    "demand": [
        {"site": "P", "part": "car", "per_day": 10},
        {"site": "Q", "part": "car", "per_day": 3},
    ],
}


def test_a_distributor_passes_on_the_whole_requirement_of_all_its_customers() -> None:
    req = Network.model_validate(SMALL).index.requirements()
    # P makes 10 cars/day -> 10 ECUs (made at P) -> 20 chips; Q: 3 -> 3 -> 6 chips.
    assert req[("P", "ecu")] == pytest.approx(10)
    assert req[("P", "chip")] == pytest.approx(20)
    assert req[("Q", "chip")] == pytest.approx(6)
    # D serves both plants: 20 + 6 = 26, split 50/50 over S1 and S2 -> 13 each.
    assert req[("D", "chip")] == pytest.approx(26)
    assert req[("S1", "chip")] == pytest.approx(13)
    assert req[("S2", "chip")] == pytest.approx(13)


def test_element_content_rolls_up_through_the_bom() -> None:
    idx = Network.model_validate(SMALL).index
    # A car holds 1 ECU with 2 chips of 0.001 kg Si each: 0.002 kg.
    assert idx.element_content("car") == pytest.approx({"Si": 0.002})
