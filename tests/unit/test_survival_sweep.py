"""The fast sweep (sub-network LPs, warm starts, worker processes) equals the naive one."""

from __future__ import annotations

import importlib
import math

import pytest

from supplyshock.analysis.survival.measure import survival_by_measure
from supplyshock.analysis.survival.model import build_model
from supplyshock.analysis.survival.solve import Outcome
from supplyshock.analysis.survival.sweep import disruptions, solve_all, sweep
from supplyshock.analysis.survival.synthetic import synthetic_network
from supplyshock.domain.network import Network
from tests.unit.test_survival_hand import sole_source, two_tier


def same(a: Outcome, b: Outcome) -> None:
    if math.isinf(b.tts):
        assert math.isinf(a.tts), (a, b)
    else:
        # Exact TTS can run to millions of days when spare capacity almost covers the loss:
        # 1e-6 days, or 1e-9 relative for such figures.
        assert a.tts == pytest.approx(b.tts, rel=1e-9, abs=1e-6), (a.label, a.tts, b.tts)
    assert a.beyond_horizon == b.beyond_horizon
    for x, y in ((a.lost_units, b.lost_units), (a.lost_margin, b.lost_margin)):
        assert (x is None) == (y is None)
        if x is not None and y is not None:
            assert x == pytest.approx(y, rel=1e-6, abs=1e-6), a.label


def random_net(seed: int) -> Network:
    return synthetic_network(
        suppliers=30, plants=3, tiers=4, second_source=0.4, alternates=0.2, seed=seed
    )


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("horizon", [None, 20.0])
def test_fast_sweep_equals_whole_network_lp_per_node(seed: int, horizon: float | None) -> None:
    m = build_model(random_net(seed))
    items = disruptions(m, "node")
    fast = solve_all(m, items, horizon=horizon)
    naive = solve_all(m, items, horizon=horizon, solver="full")
    assert len(fast) == len(items) > 20
    for a, b in zip(fast, naive, strict=True):
        same(a, b)
    # The cut is real: on average the fast LPs are much smaller than the whole network.
    assert sum(o.region_rows for o in fast) < 0.5 * sum(o.region_rows for o in naive)


@pytest.mark.parametrize("seed", range(3))
def test_fast_site_sweep_equals_whole_network_lp(seed: int) -> None:
    m = build_model(random_net(seed))
    items = disruptions(m, "site")
    for a, b in zip(solve_all(m, items), solve_all(m, items, solver="full"), strict=True):
        same(a, b)


def test_worker_processes_give_the_same_table_as_one_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The package re-exports the function ``sweep``, which hides the module of that name.
    sweep_module = importlib.import_module("supplyshock.analysis.survival.sweep")
    monkeypatch.setattr(sweep_module, "MIN_PARALLEL", 0)  # use the pool even for a small net
    net = random_net(7)
    one = sweep(net, workers=1)
    two = sweep(net, workers=2)
    assert [(r.label, r.tts, r.lost_margin) for r in one] == [
        (r.label, r.tts, r.lost_margin) for r in two
    ]


def test_measure_cutting_a_lane_equals_disrupting_its_only_supplier() -> None:
    # Cutting lane L1 of the sole-source network is S/seat down: TTS 7 d (see the hand
    # tests); over 10 days the plant loses 30 cars, 3,000 margin.
    res = survival_by_measure(sole_source(), {"L1"}, horizon_days=10.0)
    assert res.network_tts == pytest.approx(7.0)
    assert [p.plant for p in res.plants] == ["P"]
    assert res.plants[0].tts == pytest.approx(7.0)
    assert res.plants[0].lost_units == pytest.approx(30.0)
    assert res.lost_margin == pytest.approx(3000.0)


def test_measure_with_unknown_lane_is_an_error() -> None:
    with pytest.raises(KeyError, match="nope"):
        survival_by_measure(two_tier(), {"nope"})


def test_unknown_node_in_sweep_is_an_error() -> None:
    with pytest.raises(KeyError, match="X/y"):
        sweep(two_tier(), only=["X/y"])


def test_chunks_stride_and_cover_every_item_once() -> None:
    sweep_module = importlib.import_module("supplyshock.analysis.survival.sweep")
    chunks = sweep_module._chunks(10, 3)
    # Strided: 0,3,6,9 / 1,4,7 / 2,5,8 -- every index exactly once, hard tails spread out.
    assert chunks == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
    assert sweep_module._chunks(2, 5) == [[0], [1]]  # never an empty chunk
