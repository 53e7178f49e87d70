"""The SimPy reference and the vectorised engine implement the same semantics.

Deterministic cases must agree exactly; random ones in distribution: for every plant product
the means of min(days to standstill, horizon) and of units lost must lie within 4 combined
standard errors (se = sqrt(s_v^2 / n_v + s_r^2 / n_r)), plus 1e-9 for exact ties. The network
(below) has two plants, a dual-sourced chip, a magnet under a licence, a BOM level in between
and shared inputs, so rationing, lanes, gates and levels are all exercised.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from supplyshock.analysis.montecarlo.assumptions import Assumptions
from supplyshock.analysis.montecarlo.engine import simulate
from supplyshock.analysis.montecarlo.model import compile_model
from supplyshock.analysis.montecarlo.reference import simulate_reference
from supplyshock.domain.controls import Registry
from supplyshock.domain.network import Network
from supplyshock.formats.network import network_from_data
from supplyshock.formats.registry import registry_from_data
from tests.unit.test_montecarlo_engine import chain, registry


def two_plants() -> Network:
    """P1 (DE) makes car1 = 1 ecu + 2 motor; P2 (JP) makes car2 = 1 ecu.

    ecu is made at E (DE) from 4 chips; chips come from C1 (CN, 60 %) and C2 (MY, 40 %) to E,
    and P2 buys ecu from E. motor is made at MO (DE) from 1 magnet bought from MG (CN).
    """
    sites = [
        ("P1", "DE"),
        ("P2", "JP"),
        ("E", "DE"),
        ("C1", "CN"),
        ("C2", "MY"),
        ("MO", "DE"),
        ("MG", "CN"),
    ]
    lanes = [
        ("L1", "E", "P1", "ecu", 1.0, 2),
        ("L2", "E", "P2", "ecu", 1.0, 5),
        ("L3", "C1", "E", "chip", 0.6, 4),
        ("L4", "C2", "E", "chip", 0.4, 3),
        ("L5", "MO", "P1", "motor", 1.0, 2),
        ("L6", "MG", "MO", "magnet", 1.0, 6),
    ]
    return network_from_data(
        {
            "meta": {"name": "two-plants", "sector": "automotive"},
            "companies": [{"id": s.lower(), "name": f"Co {s}", "country": c} for s, c in sites],
            "sites": [{"id": s, "company": s.lower(), "country": c} for s, c in sites],
            "parts": [
                {"id": "car1", "hs_code": "870380", "finished": True},
                {"id": "car2", "hs_code": "870323", "finished": True},
                {"id": "ecu", "hs_code": "853710"},
                {"id": "chip", "hs_code": "854129"},
                {"id": "motor", "hs_code": "850153"},
                {"id": "magnet", "hs_code": "850511"},
            ],
            "bom": [
                {"parent": "car1", "child": "ecu", "qty": 1},
                {"parent": "car1", "child": "motor", "qty": 2},
                {"parent": "car2", "child": "ecu", "qty": 1},
                {"parent": "ecu", "child": "chip", "qty": 4},
                {"parent": "motor", "child": "magnet", "qty": 1},
            ],
            "lanes": [
                {
                    "id": i,
                    "supplier": s,
                    "customer": c,
                    "part": p,
                    "share": sh,
                    "lead_time_days": ld,
                }
                for i, s, c, p, sh, ld in lanes
            ],
            "inventory": [
                {"site": "P1", "part": "ecu", "on_hand": 30, "in_transit": 20},
                {"site": "P1", "part": "motor", "on_hand": 80, "in_transit": 40},
                {"site": "P2", "part": "ecu", "on_hand": 40, "in_transit": 25},
                {"site": "E", "part": "chip", "on_hand": 400, "in_transit": 224},
                {"site": "E", "part": "ecu", "on_hand": 20},
                {"site": "MO", "part": "magnet", "on_hand": 200, "in_transit": 120},
            ],
            "demand": [
                {"site": "P1", "part": "car1", "per_day": 10, "margin_per_unit": 1000},
                {"site": "P2", "part": "car2", "per_day": 5, "margin_per_unit": 800},
            ],
        }
    )


def two_measures() -> Registry:
    """A CN ban on chips (carve-out AUTO for automotive, from 2030) and a CN magnet licence."""
    src = [{"id": "s", "publisher": "t", "title": "t", "published": "2025-01-01"}]
    act = {
        "id": "a",
        "authority": "MOFCOM",
        "jurisdiction": "CN",
        "title": "a",
        "announced": "2025-01-01",
        "sources": ["s"],
    }
    ev = {"kind": "in_force", "effective": "2025-01-01", "summary": "x", "sources": ["s"]}
    base = {
        "act": "a",
        "jurisdiction": "CN",
        "direction": "export",
        "origins": {"mode": "only", "countries": ["CN"]},
    }
    return registry_from_data(
        {
            "sources": src,
            "acts": [act],
            "measures": [
                {
                    **base,
                    "id": "BAN",
                    "title": "chips",
                    "kind": "ban",
                    "scope": {"hs_codes": ["854129"]},
                    "events": [{**ev, "id": "b"}],
                    "carve_outs": [
                        {
                            "id": "AUTO",
                            "title": "automotive",
                            "effect": "exempt",
                            "sectors": ["automotive"],
                            "events": [{**ev, "id": "c", "effective": "2030-01-01"}],
                        }
                    ],
                },
                {
                    **base,
                    "id": "LIC",
                    "title": "magnets",
                    "kind": "licence",
                    "scope": {"hs_codes": ["850511"]},
                    "params": {"approval_share": 0.5, "review_days": 7},
                    "events": [{**ev, "id": "l"}],
                },
            ],
        }
    )


SCENARIOS: dict[str, dict[str, Any]] = {
    "per-shipment licence, lift date drawn": {
        "measures": {
            "LIC": {
                "approval": {"dist": "uniform", "low": 0.3, "high": 0.9},
                "review_days": {"dist": "triangular", "low": 2, "mode": 5, "high": 12},
            },
            "BAN": {"lifted": {"dist": "uniform", "low": "2025-06-10", "high": "2025-07-20"}},
        }
    },
    "per-applicant licence, exemption drawn, demand noise": {
        "demand_cv": 0.15,
        "measures": {
            "LIC": {
                "approval": 0.6,
                "per": "applicant",
                "review_days": {"dist": "uniform", "low": 5, "high": 25},
            }
        },
        "carve_outs": {
            "AUTO": {
                "start": {
                    "dist": "choice",
                    "values": ["2025-06-15", "2025-07-01", "never"],
                    "weights": [1, 2, 1],
                }
            }
        },
    },
    "registry figures only": {},
}


def _agree(v: np.ndarray, r: np.ndarray) -> float:
    se = math.sqrt(v.var(ddof=1) / len(v) + r.var(ddof=1) / len(r))
    return (
        abs(float(v.mean() - r.mean())) / se
        if se > 0
        else (0.0 if abs(v.mean() - r.mean()) < 1e-9 else math.inf)
    )


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_engines_agree_within_monte_carlo_error(name: str) -> None:
    a = Assumptions.model_validate(
        {"name": name, "start": "2025-06-01", "horizon_days": 90, **SCENARIOS[name]}
    )
    m = compile_model(two_plants(), two_measures(), a)
    vec = simulate(m, 3000, seed=11)
    ref = simulate_reference(m, 200, seed=12)
    H = m.horizon
    for i in range(len(m.dem_node)):
        assert _agree(np.minimum(vec.stop[i], H), np.minimum(ref.stop[i], H)) < 4, (name, i, "days")
        assert _agree(vec.lost[i], ref.lost[i]) < 4, (name, i, "units")
    # The scenario is not trivial: some draws stop and some lose production.
    assert vec.lost.sum() > 0


def test_engines_agree_exactly_when_nothing_is_random() -> None:
    a = Assumptions.model_validate(
        {
            "name": "fixed",
            "start": "2025-06-01",
            "horizon_days": 60,
            "measures": {"LIC": {"approval": 0.0}, "BAN": {"lifted": "2025-06-20"}},
        }
    )
    m = compile_model(two_plants(), two_measures(), a)
    vec, ref = simulate(m, 3), simulate_reference(m, 1)
    assert np.array_equal(vec.stop[:, :1], ref.stop)
    assert np.allclose(vec.lost[:, :1], ref.lost, rtol=1e-12, atol=1e-9)
    # P1 runs out of motors: no magnet is approved, so MO turns its 200 + 120 in-transit
    # magnets into motors on days 0-15 (20 a day), which reach P1 on days 2-17. P1 holds
    # 80 + 40 in transit + 16 x 20 = 440 motors = 22 days of car1 (2 motors x 10): day 22.
    # P2 needs only ECUs, whose chips still come 40 % from MY and fully after the lift.
    assert ref.stop[0, 0] == 22 and math.isinf(ref.stop[1, 0])


def test_reference_reproduces_the_hand_derived_ban_standstill() -> None:
    # Same chain as test_a_ban_stops_the_plant_when_its_stock_runs_out: day 5, 250 units lost.
    a = Assumptions.model_validate({"name": "t", "start": "2025-06-01", "horizon_days": 30})
    ref = simulate_reference(compile_model(chain(), registry("ban"), a), 1)
    assert ref.stop[0, 0] == 5 and ref.lost[0, 0] == pytest.approx(250)
