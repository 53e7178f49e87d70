"""Scenario sweeps on a Dask LocalCluster give the same answers as running them locally."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from supplyshock.analysis.montecarlo.engine import simulate
from supplyshock.analysis.montecarlo.model import compile_model
from supplyshock.analysis.montecarlo.sweep import grid, sweep
from tests.unit.test_montecarlo_engine import assume, chain, registry


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


def test_grid_sweep_on_dask_matches_local_runs_in_order(client: Any) -> None:
    net, reg = chain(on_hand=20, in_transit=10), registry("licence", review=0)
    base = assume(measures={"M": {"approval": 0.5}})
    variants = grid(base, {"measures.M.approval": [0.2, 0.9], "demand_cv": [0.0, 0.1]})
    assert [v.name for v in variants] == [
        "t[approval=0.2,demand_cv=0.0]",
        "t[approval=0.2,demand_cv=0.1]",
        "t[approval=0.9,demand_cv=0.0]",
        "t[approval=0.9,demand_cv=0.1]",
    ]
    out = sweep(net, reg, variants, runs=300, seed=5, client=client)
    assert [s.scenario for s in out] == [v.name for v in variants]
    for v, s in zip(variants, out, strict=True):
        local = simulate(compile_model(net, reg, v), 300, seed=5, trace=0).summary()
        assert s == local
    # Fewer approvals, more standstills: with p = 0.2 four refusals in a row come fast.
    low, high = out[0].products[0], out[2].products[0]
    assert low.p_standstill["2w"] > high.p_standstill["2w"]
    assert low.units_lost["mean"] > high.units_lost["mean"]


def test_sweep_refuses_assumptions_with_unknown_measures(client: Any) -> None:
    from supplyshock.domain.problems import ProblemReport

    bad = assume(measures={"NOPE": {"lifted": "never"}})
    with pytest.raises(ProblemReport, match="unknown measure 'NOPE'"):
        sweep(chain(), registry("ban"), [bad], runs=10, client=client)
