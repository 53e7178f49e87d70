"""The cheap proofs of a finite time to survive never claim a shortfall the network can cover."""

from __future__ import annotations

import math

import pytest

from supplyshock.analysis.survival import bounds
from supplyshock.analysis.survival.bounds import PartBalance, part_needs
from supplyshock.analysis.survival.model import SurvivalModel, build_model
from supplyshock.analysis.survival.solve import FullSolver, RegionSolver, node_disruption
from supplyshock.analysis.survival.sweep import disruptions
from supplyshock.domain.network import Network
from tests.unit.test_survival_hand import make_net, second_source, shared_group
from tests.unit.test_survival_sweep import random_net


def summed(m: SurvivalModel) -> PartBalance:
    return PartBalance(m, part_needs(m)[1])


def down(net: Network, site: str, part: str) -> tuple[SurvivalModel, tuple[int, ...]]:
    m = build_model(net)
    return m, node_disruption(m, m.node_index[(site, part)]).cols


def test_part_sums_see_a_shared_capacity_that_counting_misses() -> None:
    # S1/seat down. Counting: seats need 10/day and S2 could make 16 if it made nothing
    # else, so no proof. Summed by part: 10 seats + 10 belts a day from one capacity of
    # 16/day cannot last: the long run is infeasible (TTS 10 d, see the hand tests).
    m, cols = down(shared_group(), "S1", "seat")
    d = node_disruption(m, m.node_index[("S1", "seat")])
    assert not RegionSolver(m).counted_short(d)
    assert summed(m).cannot_last(cols)
    assert RegionSolver(m).summed_short(d)


def belts_and_alternate(group_cap: float) -> Network:
    # S makes the plant's seats; seat2 (from S2, empty lane) stands in at P from day 0; S2
    # also makes the plant's 10 belts/day, seat2 and belts from one capacity of group_cap/day.
    return make_net(
        sites={"S": 20.0, "S2": 20.0, "P": 5.0},
        parts=["car", "seat", "seat2", "belt"],
        bom=[
            {"parent": "car", "child": "seat", "qty": 1},
            {"parent": "car", "child": "belt", "qty": 1},
        ],
        lanes=[
            {"id": "A", "supplier": "S", "customer": "P", "part": "seat", "share": 1},
            {"id": "B", "supplier": "S2", "customer": "P", "part": "seat2", "share": 0},
            {"id": "C", "supplier": "S2", "customer": "P", "part": "belt", "share": 1},
        ],
        capacity_groups=[{"id": "G", "capacity_per_day": group_cap}],
        production=[
            {"site": "S2", "part": "seat2", "capacity_group": "G"},
            {"site": "S2", "part": "belt", "capacity_group": "G"},
        ],
        alternates=[{"part": "seat", "alternate": "seat2", "qualification_days": 0, "site": "P"}],
        inventory=[{"site": "P", "part": "seat", "on_hand": 60}],
        demand=[{"site": "P", "part": "car", "per_day": 10, "margin_per_unit": 10}],
    )


def test_part_sums_see_an_alternate_whose_maker_cannot_keep_up() -> None:
    # S/seat down; seat2 may stand in at P at up to 10/day (today's seat rate), so counting
    # sees no seats left to make, and S2 could make 18 seat2/day if it made nothing else.
    # But S2 makes the plant's 10 belts/day from the same 18/day: 10 + 10 > 18.
    m, cols = down(belts_and_alternate(18.0), "S", "seat")
    d = node_disruption(m, m.node_index[("S", "seat")])
    assert not RegionSolver(m).counted_short(d)
    assert summed(m).cannot_last(cols)
    # The whole network agrees: 10 t <= 60 + 8 t (seat2 gets what belts leave) -> 30 days.
    assert FullSolver(m).solve(d).tts == pytest.approx(30.0)
    # With 20/day to share, seat2 and belts both fit: the loss is covered for ever.
    m, cols = down(belts_and_alternate(20.0), "S", "seat")
    assert not summed(m).cannot_last(cols)
    assert math.isinf(FullSolver(m).solve(node_disruption(m, m.node_index[("S", "seat")])).tts)


@pytest.mark.parametrize(("cap2", "short"), [(10.0, False), (9.9, True), (9.999, True)])
def test_part_sums_accept_a_second_source_that_covers_the_loss(cap2: float, short: bool) -> None:
    # S1/seat down: S2 can make cap2/day of the 10 seats/day needed. Exactly 10 is no
    # shortfall; 9.999 is 1e-4 short, far beyond the 1e-6 the part sums are loosened by, so
    # it is still proved.
    m, cols = down(second_source(cap2), "S1", "seat")
    assert summed(m).cannot_last(cols) is short


@pytest.mark.parametrize("seed", range(4))
def test_part_sums_prove_only_what_the_whole_network_lp_confirms(seed: int) -> None:
    # A relaxation: every network plan sums to a plan of the part LP, so "cannot last" must
    # mean a finite exact TTS; and it must not be idle (it proves some nodes, not all).
    m = build_model(random_net(seed))
    part_lp, full = summed(m), FullSolver(m)
    verdicts = []
    for d, _ttr in disruptions(m, "node"):
        short = part_lp.cannot_last(d.cols)
        if short:
            assert not math.isinf(full.solve(d).tts), d.label
        verdicts.append(short)
    assert any(verdicts) and not all(verdicts)


def test_a_stalled_part_sum_question_proves_nothing_and_starts_afresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # With no pivots allowed, S1/seat's question (S1 makes half the seats in the optimum, so
    # stopping it needs pivots) cannot finish: no proof, and the model is solved again from
    # scratch, after which the same question gets its proof.
    monkeypatch.setattr(bounds, "_ITERATION_LIMIT", 0)
    m, cols = down(shared_group(), "S1", "seat")
    part_lp = summed(m)
    assert not part_lp.cannot_last(cols)
    assert part_lp.stalls == 1
    monkeypatch.setattr(bounds, "_ITERATION_LIMIT", 2000)
    part_lp._afresh()
    assert part_lp.cannot_last(cols)
    assert part_lp.stalls == 1
