"""Networks already short before anything fails: the fast sweep stays exact.

The sweep picks the region method or the warm whole-network LP (``choose``); both must equal
the naive whole-network LP built afresh per disruption, by node, by site and by measure.
"""

from __future__ import annotations

import importlib

import pytest

from supplyshock.analysis.survival.choose import choose
from supplyshock.analysis.survival.measure import survival_by_measure
from supplyshock.analysis.survival.model import build_model
from supplyshock.analysis.survival.solve import (
    FullSolver,
    RegionSolver,
    WarmSolver,
    lanes_disruption,
    node_disruption,
)
from supplyshock.analysis.survival.sweep import disruptions, solve_all
from supplyshock.analysis.survival.synthetic import (
    crisis_network,
    synthetic_network,
    three_tier_network,
)
from supplyshock.domain.network import Network
from tests.unit.test_survival_hand import make_net
from tests.unit.test_survival_sweep import same

warm_module = importlib.import_module("supplyshock.analysis.survival.warm")


def short_net(seed: int) -> Network:
    if seed % 2:
        return three_tier_network(products=8, tier2=16, tier3=30, plants=2, seed=seed)
    return synthetic_network(
        suppliers=30, plants=3, tiers=4, second_source=0.4, alternates=0.2, seed=seed,
        short_share=0.15,
    )  # fmt: skip


@pytest.fixture(params=[False, True], ids=["whole", "local"])
def local(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    # "local": the warm solver first tries to re-route near the node even on small networks
    # (it does so only on big ones by default), so that path is checked against naive too.
    if request.param:
        monkeypatch.setattr(warm_module, "_LOCAL_ROWS", 0)
    return bool(request.param)


def test_generators_are_short_before_any_disruption() -> None:
    # A share of the capacity rows is cut to 60-90 % of what it was: some fall below today's
    # need, so deficit rows exist before any disruption.
    assert len(build_model(three_tier_network(products=8, tier2=16, tier3=30)).deficit_rows())
    assert len(build_model(short_net(0)).deficit_rows())
    small = crisis_network(suppliers=40, plants=3, tiers=4, seed=2)
    assert len(build_model(small).deficit_rows())
    # The default (healthy) network has none, and short_share 0 leaves it as it was.
    healthy = synthetic_network(suppliers=40, plants=3, tiers=4, seed=2)
    assert not len(build_model(healthy).deficit_rows())
    assert (
        healthy.model_dump()
        == synthetic_network(suppliers=40, plants=3, tiers=4, seed=2, short_share=0.0).model_dump()
    )
    # The default three-tier network has 350 supply nodes: 50 products, 100 + 200 suppliers.
    assert len(build_model(three_tier_network()).supply_nodes) == 350


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("horizon", [None, 30.0])
def test_fast_sweep_equals_naive_on_short_networks_by_node(
    seed: int, horizon: float | None, local: bool
) -> None:
    m = build_model(short_net(seed))
    items = disruptions(m, "node")
    naive = solve_all(m, items, horizon=horizon, solver="full")
    for how in ("auto", "warm", "region"):
        fast = solve_all(m, items, horizon=horizon, solver=how)
        assert len(fast) == len(items) > 20
        for a, b in zip(fast, naive, strict=True):
            same(a, b)


@pytest.mark.parametrize("seed", range(3))
def test_fast_sweep_equals_naive_on_short_networks_by_site(seed: int, local: bool) -> None:
    m = build_model(short_net(seed))
    items = disruptions(m, "site")
    naive = solve_all(m, items, solver="full")
    for how in ("auto", "warm"):
        for a, b in zip(solve_all(m, items, solver=how), naive, strict=True):
            same(a, b)


@pytest.mark.parametrize("seed", range(3))
def test_measure_on_short_network_equals_naive(seed: int) -> None:
    # Cut the lanes into one tier-2 supplier's customers at once (a measure's footprint).
    net = short_net(seed)
    m = build_model(net)
    lanes = sorted(m.lane_col)[seed::7]
    d = lanes_disruption(m, set(lanes), "measure")
    naive = FullSolver(m).solve(d, 20.0)
    for solver in (WarmSolver(m), RegionSolver(m)):
        same(solver.solve(d, 20.0), naive)
    res = survival_by_measure(m, set(lanes), horizon_days=20.0)
    assert res.network_tts == pytest.approx(naive.tts, abs=1e-6)
    assert res.lost_margin == pytest.approx(naive.lost_margin, rel=1e-6, abs=1e-6)


def test_every_outcome_names_its_method_and_healthy_networks_keep_the_region_method() -> None:
    healthy = build_model(synthetic_network(suppliers=30, plants=3, tiers=4, seed=0))
    items = disruptions(healthy, "node")
    assert choose(healthy, items, None).method == "region"  # no deficit: no trial
    assert {o.method for o in solve_all(healthy, items)} == {"region"}
    short = build_model(short_net(1))
    got = {o.method for o in solve_all(short, disruptions(short, "node"))}
    assert got <= {"region", "warm"} and got  # whichever the trial found faster
    assert {o.method for o in solve_all(short, disruptions(short, "node"), solver="warm")} == {
        "warm"
    }


def deficit_adds() -> Network:
    # Seats 60 % from S1 (can make 4/day, needs 6) and 40 % from S2 (can make 2/day, needs
    # 4): short 4 seats/day before anything fails. P holds 40 seats; 1 seat per car, 10 cars
    # a day at margin 100.
    return make_net(
        sites={"S1": 20.0, "S2": 20.0, "P": 5.0},
        parts=["car", "seat"],
        bom=[{"parent": "car", "child": "seat", "qty": 1}],
        lanes=[
            {"id": "A", "supplier": "S1", "customer": "P", "part": "seat", "share": 0.6},
            {"id": "B", "supplier": "S2", "customer": "P", "part": "seat", "share": 0.4},
        ],
        production=[
            {"site": "S1", "part": "seat", "capacity_per_day": 4},
            {"site": "S2", "part": "seat", "capacity_per_day": 2},
        ],
        inventory=[{"site": "P", "part": "seat", "on_hand": 40}],
        demand=[{"site": "P", "part": "car", "per_day": 10, "margin_per_unit": 100}],
    )


@pytest.mark.parametrize("solver", [RegionSolver, WarmSolver, FullSolver])
def test_node_whose_loss_only_adds_to_an_existing_deficit(solver: type[FullSolver]) -> None:
    m = build_model(deficit_adds())
    assert len(m.deficit_rows()) == 2  # both capacity rows are short today
    none = solver(m).solve(lanes_disruption(m, set(), "nothing"), 20.0)
    # Undisrupted: 40 + (4 + 2) t >= 10 t -> TTS 10 d. Over 20 d: 40 + 6 x 20 = 160 seats
    # for 200 cars -> 40 cars, 4,000 lost already.
    assert none.tts == pytest.approx(10.0)
    assert none.lost_units == pytest.approx(40.0)
    # S2 down: 40 + 4 t >= 10 t -> TTS 40 / 6 = 6.67 d. Over its TTR of 20 d: 40 + 4 x 20 =
    # 120 seats -> 80 cars lost: the 40 already lost plus S2's 2/day x 20 d, nothing more.
    out = solver(m).solve(node_disruption(m, m.node_index[("S2", "seat")]), 20.0)
    assert out.tts == pytest.approx(40.0 / 6.0)
    assert out.lost_units == pytest.approx(80.0)
    assert out.lost_margin == pytest.approx(8000.0)


def output_unusable() -> Network:
    # Car A needs a seat and a frame; the only frame maker F can make nothing (a ban), and P
    # holds no frames, so no car A can be built. Car B needs a wheel from W only. S's seats
    # go into car A alone, so they were unusable before S failed.
    return make_net(
        sites={"S": 10.0, "F": 30.0, "W": 30.0, "P": 5.0},
        parts=["carA", "carB", "seat", "frame", "wheel"],
        bom=[
            {"parent": "carA", "child": "seat", "qty": 1},
            {"parent": "carA", "child": "frame", "qty": 1},
            {"parent": "carB", "child": "wheel", "qty": 4},
        ],
        lanes=[
            {"id": "LS", "supplier": "S", "customer": "P", "part": "seat", "share": 1},
            {"id": "LF", "supplier": "F", "customer": "P", "part": "frame", "share": 1},
            {"id": "LW", "supplier": "W", "customer": "P", "part": "wheel", "share": 1},
        ],
        production=[{"site": "F", "part": "frame", "capacity_per_day": 0}],
        inventory=[{"site": "P", "part": "seat", "on_hand": 30}],
        demand=[
            {"site": "P", "part": "carA", "per_day": 5, "margin_per_unit": 200},
            {"site": "P", "part": "carB", "per_day": 8, "margin_per_unit": 100},
        ],
    )


@pytest.mark.parametrize("solver", [RegionSolver, WarmSolver, FullSolver])
def test_node_whose_output_was_already_unusable_changes_nothing(
    solver: type[FullSolver],
) -> None:
    m = build_model(output_unusable())
    s = solver(m)
    # Undisrupted: no frames, so car A's 5/day is lost from day 0: TTS 0. Over 10 d, 50 car
    # A lost (10,000); car B's wheels come from W at today's rate, nothing lost there.
    none = s.solve(lanes_disruption(m, set(), "nothing"), 10.0)
    assert none.tts == 0.0
    assert none.lost_units == pytest.approx(50.0)
    assert none.lost_margin == pytest.approx(10_000.0)
    # S down: its seats only ever went into car A, which could not be built anyway. TTS
    # stays 0 and over S's TTR of 10 d the same 50 car A (10,000) are lost: no change.
    out = s.solve(node_disruption(m, m.node_index[("S", "seat")]), 10.0)
    assert out.tts == 0.0
    assert out.lost_units == pytest.approx(50.0)
    assert out.lost_margin == pytest.approx(10_000.0)
    assert out.lost_by_node == {m.node_index[("P", "carA")]: pytest.approx(50.0)}


def test_the_fallback_is_said_in_the_document_and_the_table() -> None:
    from supplyshock.analysis.survival.sweep import NodeRisk
    from supplyshock.cli.survival import _caption
    from supplyshock.services.survival import SurvivalTable, rows_of

    rows = [
        NodeRisk("S", "seat", 2.0, 5.0, 3.0, 300.0, 1.0, True, method="warm"),
        NodeRisk("T", "bolt", 9.0, 5.0, 0.0, 0.0, 0.0, False, method="warm"),
    ]
    doc = SurvivalTable("n", "node", 30.0, rows).document()
    assert [n["method"] for n in doc["nodes"]] == ["warm", "warm"]
    assert [r.method for r in rows_of(doc)] == ["warm", "warm"]
    caption = _caption(rows, 30.0)
    assert caption is not None and "2 of 2 solved as the whole-network LP" in caption
    # A sweep that kept the region method only states the horizon.
    region = [NodeRisk("S", "seat", 2.0, 5.0, 3.0, 300.0, 1.0, True)]
    assert _caption(region, 30.0) == "TTS past 30 days shown as ≥30 unless unbounded"
