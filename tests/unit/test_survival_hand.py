"""Time to survive and performance impact on small networks derived by hand."""

from __future__ import annotations

import math
from typing import Any

import pytest

from supplyshock.analysis.survival.model import build_model
from supplyshock.analysis.survival.solve import (
    FullSolver,
    Outcome,
    RegionSolver,
    node_disruption,
    site_disruption,
)
from supplyshock.analysis.survival.sweep import sweep
from supplyshock.domain.network import Network


def make_net(**sections: Any) -> Network:
    """A network whose sites all belong to one company in DE; parts get a dummy HS code."""
    sites = sections.pop("sites")
    parts = sections.pop("parts")
    return Network.model_validate(
        {
            "companies": [{"id": "c", "name": "C", "country": "DE"}],
            "sites": [
                {"id": s, "company": "c", "country": "DE", "ttr_days": ttr}
                for s, ttr in sites.items()
            ],
            "parts": [
                {"id": p, "hs_code": "870899", "finished": p.startswith("car")} for p in parts
            ],
            **sections,
        }
    )


def solve(net: Network, site: str, part: str, ttr: float | None = None) -> Outcome:
    """Solve one node both ways and check the two agree before returning the fast answer."""
    m = build_model(net)
    n = m.node_index[(site, part)]
    ttr = m.ttr(n) if ttr is None else ttr
    fast = RegionSolver(m).solve(node_disruption(m, n), ttr)
    full = FullSolver(m).solve(node_disruption(m, n), ttr)
    assert fast.tts == pytest.approx(full.tts, abs=1e-6)
    assert fast.lost_margin == pytest.approx(full.lost_margin, abs=1e-6)
    return fast


def sole_source() -> Network:
    # S ships seats to plant P; a car needs 2 seats; P holds 100 seats + 40 in transit.
    return make_net(
        sites={"S": 10.0, "P": 5.0},
        parts=["car", "seat"],
        bom=[{"parent": "car", "child": "seat", "qty": 2}],
        lanes=[{"id": "L1", "supplier": "S", "customer": "P", "part": "seat", "share": 1}],
        inventory=[{"site": "P", "part": "seat", "on_hand": 100, "in_transit": 40}],
        demand=[{"site": "P", "part": "car", "per_day": 10, "margin_per_unit": 100}],
    )


def test_sole_source_survives_on_plant_inventory_and_loses_the_rest() -> None:
    # Seats needed: 10 cars/day x 2 = 20/day; stock 100 + 40 = 140 -> TTS = 140 / 20 = 7 d.
    # Down for TTR = 10 d: 140 seats make 70 cars of the 100 wanted -> 30 cars, 30 x 100.
    out = solve(sole_source(), "S", "seat")
    assert out.tts == pytest.approx(7.0)
    assert out.lost_units == pytest.approx(30.0)
    assert out.lost_margin == pytest.approx(3000.0)


def test_plant_without_finished_stock_survives_zero_days() -> None:
    # The car is made only at P and P holds no cars: TTS 0; down 5 d: 50 cars, 5,000 lost.
    out = solve(sole_source(), "P", "car")
    assert out.tts == 0.0
    assert out.lost_units == pytest.approx(50.0)
    assert out.lost_margin == pytest.approx(5000.0)


def second_source(cap2: float) -> Network:
    # Seats 60 % from S1, 40 % from S2 (S2 can make cap2/day); P holds 30 seats; 1 seat/car.
    return make_net(
        sites={"S1": 20.0, "S2": 20.0, "P": 5.0},
        parts=["car", "seat"],
        bom=[{"parent": "car", "child": "seat", "qty": 1}],
        lanes=[
            {"id": "A", "supplier": "S1", "customer": "P", "part": "seat", "share": 0.6},
            {"id": "B", "supplier": "S2", "customer": "P", "part": "seat", "share": 0.4},
        ],
        production=[{"site": "S2", "part": "seat", "capacity_per_day": cap2}],
        inventory=[{"site": "P", "part": "seat", "on_hand": 30}],
        demand=[{"site": "P", "part": "car", "per_day": 10, "margin_per_unit": 50}],
    )


def test_second_source_spare_capacity_stretches_survival() -> None:
    # S1 down: need 10/day, S2 makes at most 7/day -> short 3/day; 30 seats last 10 d.
    # Down 20 d: 200 seats needed, 7 x 20 + 30 = 170 made or held -> 30 cars, 1,500 lost.
    out = solve(second_source(7.0), "S1", "seat")
    assert out.tts == pytest.approx(10.0)
    assert out.lost_units == pytest.approx(30.0)
    assert out.lost_margin == pytest.approx(1500.0)


def test_node_without_stated_capacity_has_no_spare() -> None:
    # S2 down: S1 states no capacity, so it makes its 6/day requirement and no more:
    # short 4/day, 30 seats -> 7.5 d.
    assert solve(second_source(7.0), "S2", "seat").tts == pytest.approx(7.5)


def test_second_source_covering_all_demand_is_unbounded() -> None:
    # S2 can make 10/day = the whole demand: S1's loss is covered indefinitely, no loss.
    out = solve(second_source(10.0), "S1", "seat")
    assert math.isinf(out.tts)
    assert out.lost_units == 0.0


def shared_chip() -> Network:
    # Cars A (1 chip, margin 100) and B (2 chips, margin 150) share chips from S;
    # P holds 100 chips; demand A 10/day, B 5/day.
    return make_net(
        sites={"S": 10.0, "P": 5.0},
        parts=["carA", "carB", "chip"],
        bom=[
            {"parent": "carA", "child": "chip", "qty": 1},
            {"parent": "carB", "child": "chip", "qty": 2},
        ],
        lanes=[{"id": "L", "supplier": "S", "customer": "P", "part": "chip", "share": 1}],
        inventory=[{"site": "P", "part": "chip", "on_hand": 100}],
        demand=[
            {"site": "P", "part": "carA", "per_day": 10, "margin_per_unit": 100},
            {"site": "P", "part": "carB", "per_day": 5, "margin_per_unit": 150},
        ],
    )


def test_shared_part_goes_to_the_higher_margin_per_scarce_part() -> None:
    # Chips needed 10 x 1 + 5 x 2 = 20/day: TTS = 100 / 20 = 5 d.
    # Down 10 d: A wants 100 chips, B 100; there are 100. Margin per chip: A 100, B 75, so
    # all 100 chips make A (every A met) and all 50 B are lost: 50 x 150 = 7,500 (giving
    # them to B instead would lose 100 A = 10,000 although B earns more per car).
    out = solve(shared_chip(), "S", "chip")
    assert out.tts == pytest.approx(5.0)
    assert out.lost_units == pytest.approx(50.0)
    assert out.lost_margin == pytest.approx(7500.0)


def two_tier(raw_at_t2: float = 0.0) -> Network:
    # T2 makes raw -> T1 makes a module (1 raw each) -> P makes a car (1 module each).
    inventory = [
        {"site": "T1", "part": "raw", "on_hand": 20},
        {"site": "T1", "part": "module", "on_hand": 30},
        {"site": "P", "part": "module", "on_hand": 40, "in_transit": 10},
    ]
    if raw_at_t2:
        inventory.append({"site": "T2", "part": "raw", "on_hand": raw_at_t2})
    return make_net(
        sites={"T2": 15.0, "T1": 30.0, "P": 5.0},
        parts=["car", "module", "raw"],
        bom=[
            {"parent": "car", "child": "module", "qty": 1},
            {"parent": "module", "child": "raw", "qty": 1},
        ],
        lanes=[
            {"id": "R", "supplier": "T2", "customer": "T1", "part": "raw", "share": 1},
            {"id": "M", "supplier": "T1", "customer": "P", "part": "module", "share": 1},
        ],
        inventory=inventory,
        demand=[{"site": "P", "part": "car", "per_day": 10, "margin_per_unit": 20}],
    )


def test_two_tier_chain_uses_inventory_held_downstream_of_the_disruption() -> None:
    # Raw stops at T2. Downstream: 20 raw at T1 (-> 20 modules), 30 modules at T1, 50 at P
    # (40 + 10 in transit): 100 cars' worth at 10/day -> TTS 10 d. Down 15 d: 150 - 100 = 50
    # cars lost, 1,000 margin.
    out = solve(two_tier(), "T2", "raw")
    assert out.tts == pytest.approx(10.0)
    assert out.lost_units == pytest.approx(50.0)
    assert out.lost_margin == pytest.approx(1000.0)


def test_stock_at_the_disrupted_node_still_ships() -> None:
    # 10 more raw held at T2 itself (production stops, stock does not): 110 / 10 = 11 d.
    assert solve(two_tier(raw_at_t2=10.0), "T2", "raw").tts == pytest.approx(11.0)


def with_alternate(q: float) -> Network:
    # Seat from S only; seat2 (made by S2, at most 8/day) qualifies as a stand-in at P after
    # q days over an empty lane. P holds 60 seats; 10 cars/day, 1 seat each.
    return make_net(
        sites={"S": 40.0, "S2": 40.0, "P": 5.0},
        parts=["car", "seat", "seat2"],
        bom=[{"parent": "car", "child": "seat", "qty": 1}],
        lanes=[
            {"id": "L", "supplier": "S", "customer": "P", "part": "seat", "share": 1},
            {"id": "L2", "supplier": "S2", "customer": "P", "part": "seat2", "share": 0},
        ],
        production=[{"site": "S2", "part": "seat2", "capacity_per_day": 8}],
        alternates=[{"part": "seat", "alternate": "seat2", "qualification_days": q, "site": "P"}],
        inventory=[{"site": "P", "part": "seat", "on_hand": 60}],
        demand=[{"site": "P", "part": "car", "per_day": 10, "margin_per_unit": 10}],
    )


def test_alternate_qualified_in_time_extends_survival() -> None:
    # Without it: 60 / 10 = 6 d >= q = 5, so the alternate counts. Over t days S2 makes 8t
    # seat2 (it may build ahead while qualifying) and at most 10 (t - 5) stand in:
    # 10 t <= 60 + min(8 t, 10 (t - 5)). For t < 25 the second term binds and the inequality
    # reads 10 t <= 10 + 10 t (always true); for t >= 25: 10 t <= 60 + 8 t -> t <= 30.
    assert solve(with_alternate(5.0), "S", "seat").tts == pytest.approx(30.0)


def test_alternate_qualified_too_late_does_not_count() -> None:
    # Stock lasts 6 d but qualification takes 7: the plant stops before the alternate exists.
    assert solve(with_alternate(7.0), "S", "seat").tts == pytest.approx(6.0)


def test_site_disruption_stops_every_part_at_the_site() -> None:
    # Two-tier chain, T1 down: its module production and its raw intake stop, its stock
    # (20 raw, 30 modules) still ships but the raw cannot become modules any more:
    # 30 + 50 modules = 80 cars -> 8 d (T2/raw alone: 10 d).
    m = build_model(two_tier())
    fast = RegionSolver(m).solve(site_disruption(m, "T1"))
    full = FullSolver(m).solve(site_disruption(m, "T1"))
    assert fast.tts == pytest.approx(8.0)
    assert full.tts == pytest.approx(8.0)


def test_sweep_ranks_by_impact_and_flags_tts_below_ttr() -> None:
    # Sole-source network: S/seat loses 3,000 (TTS 7 < TTR 10), P/car 5,000 (TTS 0 < 5).
    # REI = impact / worst: P/car 1.0, S/seat 0.6.
    rows = sweep(sole_source(), horizon=None)
    assert [r.label for r in rows] == ["P/car", "S/seat"]
    assert [r.rei for r in rows] == pytest.approx([1.0, 0.6])
    assert all(r.at_risk for r in rows)


def test_horizon_reports_long_survival_as_at_least_the_horizon() -> None:
    # S1 down with S2 at 9.9/day: short 0.1/day, 30 seats last 300 d; with a 100-day
    # horizon the answer is "at least 100 d" (finite), never a huge number.
    m = build_model(second_source(9.9))
    n = m.node_index[("S1", "seat")]
    out = RegionSolver(m, horizon=100.0).solve(node_disruption(m, n))
    assert out.tts == 100.0 and out.beyond_horizon
    exact = RegionSolver(m).solve(node_disruption(m, n))
    assert exact.tts == pytest.approx(300.0)


def shared_group() -> Network:
    # S2 makes seats (half of them today) and all belts from one capacity of 16/day; S1 makes
    # the other half of the seats. A car needs a seat and a belt, 10 cars/day; P holds 40 seats.
    return make_net(
        sites={"S1": 20.0, "S2": 20.0, "P": 5.0},
        parts=["car", "seat", "belt"],
        bom=[
            {"parent": "car", "child": "seat", "qty": 1},
            {"parent": "car", "child": "belt", "qty": 1},
        ],
        lanes=[
            {"id": "A", "supplier": "S1", "customer": "P", "part": "seat", "share": 0.5},
            {"id": "B", "supplier": "S2", "customer": "P", "part": "seat", "share": 0.5},
            {"id": "C", "supplier": "S2", "customer": "P", "part": "belt", "share": 1},
        ],
        capacity_groups=[{"id": "G", "capacity_per_day": 16}],
        production=[
            {"site": "S2", "part": "seat", "capacity_group": "G"},
            {"site": "S2", "part": "belt", "capacity_group": "G"},
        ],
        inventory=[{"site": "P", "part": "seat", "on_hand": 40}],
        demand=[{"site": "P", "part": "car", "per_day": 10, "margin_per_unit": 1}],
    )


def test_capacity_group_shared_by_two_parts_limits_both() -> None:
    # S1 down: S2 must make 10 belts + 10 seats = 20/day > 16: seats short 4/day, 40 held:
    # 10 t <= 40 + (16 t - 10 t) ... i.e. 20 t <= 40 + 16 t -> t <= 10 d.
    assert solve(shared_group(), "S1", "seat").tts == pytest.approx(10.0)
