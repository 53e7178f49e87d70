"""Property: any network that validates runs through exposure, survival and Monte Carlo.

Networks are drawn small (a few companies, sites and parts) but with numbers anywhere inside
the bounds of docs/formats.md, extremes included, since those are what used to crash HiGHS and
the Monte Carlo engine once past validation.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supplyshock.analysis.exposure import exposure
from supplyshock.analysis.montecarlo.assumptions import Assumptions
from supplyshock.analysis.montecarlo.engine import simulate
from supplyshock.analysis.montecarlo.model import compile_model
from supplyshock.data import builtin_registry
from supplyshock.domain.network_records import (
    MAX_DAYS,
    MAX_MARGIN,
    MAX_PER_DAY,
    MAX_QTY,
    MAX_STOCK,
)
from supplyshock.domain.problems import ProblemReport
from supplyshock.formats.network import network_from_data
from supplyshock.services.requests import SurvivalRequest
from supplyshock.services.survival import rank_survival

COUNTRIES = ["DE", "CN", "JP", "US", "MY"]
# HS codes the built-in registry's measures name (magnets, rare earths, chips), and a car.
HS = ["850511", "284690", "854231", "280530", "870380"]


def amount(hi: float, lo: float = 0.0) -> st.SearchStrategy[float]:
    # Mostly everyday numbers (so most networks validate), sometimes anything up to the bound.
    return st.one_of(
        st.floats(lo, min(hi, 1000.0), allow_nan=False),
        st.floats(lo, hi, allow_nan=False, allow_infinity=False),
    )


@st.composite
def networks(draw: st.DrawFn) -> dict[str, Any]:
    nc, ns, np_ = draw(st.integers(1, 3)), draw(st.integers(2, 4)), draw(st.integers(2, 5))
    idx = st.integers(0, 10**6)
    companies = [
        {"id": f"c{i}", "name": f"C{i}", "country": draw(st.sampled_from(COUNTRIES))}
        for i in range(nc)
    ]
    sites = [
        {
            "id": f"s{i}",
            "company": f"c{draw(idx) % nc}",
            "country": draw(st.sampled_from(COUNTRIES)),
            **({"ttr_days": draw(amount(MAX_DAYS))} if draw(st.booleans()) else {}),
        }
        for i in range(ns)
    ]
    parts = [
        {"id": f"p{i}", "hs_code": draw(st.sampled_from(HS)), "finished": i == 0}
        for i in range(np_)
    ]
    # Parent before child: no cycles. Repeated pairs are refused (tested in test_loading_hostile).
    pairs = draw(st.sets(st.tuples(st.integers(0, np_ - 2), st.integers(1, np_ - 1)), max_size=5))
    bom = [
        {"parent": f"p{a}", "child": f"p{b}", "qty": draw(amount(MAX_QTY, 1e-6))}
        for a, b in sorted(pairs)
        if a < b
    ]
    lanes = []
    for i in range(draw(st.integers(0, 6))):
        a, b = draw(st.lists(st.integers(0, ns - 1), min_size=2, max_size=2, unique=True))
        lane: dict[str, Any] = {
            "id": f"l{i}",
            "supplier": f"s{a}",
            "customer": f"s{b}",
            "part": f"p{draw(idx) % np_}",
            "lead_time_days": draw(amount(MAX_DAYS)),
        }
        if draw(st.booleans()):
            lane["capacity_per_day"] = draw(amount(MAX_PER_DAY))
        if draw(st.booleans()):
            lane["share"] = draw(amount(1.0))
        lanes.append(lane)
    inventory = [
        {
            "site": f"s{draw(idx) % ns}",
            "part": f"p{draw(idx) % np_}",
            "on_hand": draw(amount(MAX_STOCK)),
        }
        for _ in range(draw(st.integers(0, 4)))
    ]
    demand = [
        {
            "site": f"s{draw(idx) % ns}",
            "part": "p0",
            "per_day": draw(amount(MAX_PER_DAY)),
            "margin_per_unit": draw(amount(MAX_MARGIN)),
        }
        for _ in range(draw(st.integers(1, 2)))
    ]
    return {
        "meta": {"name": "prop"},
        "companies": companies,
        "sites": sites,
        "parts": parts,
        "bom": bom,
        "lanes": lanes,
        "inventory": inventory,
        "demand": demand,
    }


VALIDATED: list[int] = []


# derandomize: the same 30 networks every run, so a failure here is reproducible; random draws
# once found the badly scaled network below (HiGHS "Unknown", now rescued).
@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(data=networks())
def test_a_network_that_validates_runs_through_every_analysis(data: dict[str, Any]) -> None:
    try:
        net = network_from_data(data)
    except ProblemReport as rep:
        # Refused: the other half of the contract, every problem located.
        assert all(p.path for p in rep.problems)
        return
    VALIDATED.append(1)
    reg = builtin_registry()
    report = exposure(net, reg, date(2025, 10, 15))
    assert len(report.products) >= 0
    table = rank_survival(SurvivalRequest(), network=net)
    for row in table.rows:
        assert not math.isnan(row.tts)
    a = Assumptions(name="prop", start=date(2025, 10, 1), horizon_days=30)
    result = simulate(compile_model(net, reg, a), 10, seed=1, chunk=10, trace=2)
    assert result is not None


def test_the_property_saw_networks_that_validate() -> None:
    # Runs after the property (file order): most drawn networks must have validated, or the
    # property would hold vacuously.
    assert len(VALIDATED) >= 10


# Found by the property above with random draws (400 examples, 2 failures): a valid network on
# which HiGHS's scaled simplex ended at "Unknown" (demand 3e5/day x BOM qty 500 over TTRs of
# ~850 days); the region solver now retries with presolve and then unscaled (region._rescue).
LP_FAILURE: dict[str, Any] = {
    "meta": {"name": "prop"},
    "companies": [{"id": "c0", "name": "C0", "country": "JP"}],
    "sites": [
        {"id": "s0", "company": "c0", "country": "JP", "ttr_days": 858.1262529443508},
        {"id": "s1", "company": "c0", "country": "MY", "ttr_days": 842.0976418610111},
    ],
    "parts": [
        {"id": "p0", "hs_code": "870380", "finished": True},
        {"id": "p1", "hs_code": "280530"},
        {"id": "p2", "hs_code": "850511"},
        {"id": "p3", "hs_code": "850511"},
        {"id": "p4", "hs_code": "870380"},
    ],
    "bom": [
        {"parent": "p0", "child": "p1", "qty": 499.7704942091503},
        {"parent": "p0", "child": "p2", "qty": 18.977493728791345},
        {"parent": "p0", "child": "p3", "qty": 69.30546963179998},
        {"parent": "p1", "child": "p3", "qty": 0.5},
    ],
    "inventory": [{"site": "s0", "part": "p1", "on_hand": 1.0}],
    "demand": [{"site": "s1", "part": "p0", "per_day": 300_000.0, "margin_per_unit": 1.0}],
}


def test_a_badly_scaled_network_is_solved_not_given_up() -> None:
    # By hand: no lane brings p1, p2 or p3 to s1, so s1 cannot build a single p0 whatever is
    # down: each s1 node has TTS 0 and loses the whole demand over s1's TTR,
    # 300,000/day x 842.0976418610111 days = 252,629,292.558 units (margin 1 per unit). s0
    # supplies nobody with demand: its nodes last for ever and lose nothing.
    table = rank_survival(SurvivalRequest(), network=network_from_data(LP_FAILURE))
    by_node = {(r.site, r.part): r for r in table.rows}
    assert sorted(by_node) == [("s0", "p1"), ("s0", "p3"), ("s1", "p0"), ("s1", "p1"),
                               ("s1", "p2"), ("s1", "p3")]  # fmt: skip
    for part in ("p0", "p1", "p2", "p3"):
        row = by_node[("s1", part)]
        assert row.tts == 0.0
        assert row.lost_units == pytest.approx(300_000 * 842.0976418610111, rel=1e-9)
    for part in ("p1", "p3"):
        assert by_node[("s0", part)].tts == math.inf
        assert by_node[("s0", part)].lost_units == 0.0
