"""Properties of time to survive on random networks (hypothesis)."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supplyshock.analysis.survival.model import build_model
from supplyshock.analysis.survival.solve import RegionSolver, node_disruption
from supplyshock.analysis.survival.synthetic import synthetic_network
from supplyshock.domain.network import Network

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def small(seed: int) -> Network:
    return synthetic_network(suppliers=9, plants=2, tiers=3, alternates=0.3, seed=seed)


def tts(net: Network, node: tuple[str, str]) -> float:
    m = build_model(net)
    return RegionSolver(m).solve(node_disruption(m, m.node_index[node])).tts


def rebuilt(net: Network, **changes: object) -> Network:
    # A fresh model (not model_copy): the cached index must be rebuilt from the new data.
    return Network.model_validate({**net.model_dump(), **changes})


@SETTINGS
@given(
    seed=st.integers(0, 10_000),
    pick=st.integers(0, 10_000),
    where=st.integers(0, 10_000),
    extra=st.floats(1.0, 5_000.0),
)
def test_more_inventory_never_lowers_tts(seed: int, pick: int, where: int, extra: float) -> None:
    net = small(seed)
    m = build_model(net)
    node = m.nodes[m.supply_nodes[pick % len(m.supply_nodes)]]
    site, part = m.nodes[where % len(m.nodes)]
    more = rebuilt(
        net,
        inventory=[i.model_dump() for i in net.inventory]
        + [{"site": site, "part": part, "on_hand": extra}],
    )
    assert tts(more, node) >= tts(net, node) - 1e-7


@SETTINGS
@given(
    seed=st.integers(0, 10_000),
    pick=st.integers(0, 10_000),
    which=st.integers(0, 10_000),
    factor=st.floats(1.0, 3.0),
)
def test_more_capacity_never_lowers_tts(seed: int, pick: int, which: int, factor: float) -> None:
    net = small(seed)
    m = build_model(net)
    node = m.nodes[m.supply_nodes[pick % len(m.supply_nodes)]]
    prod = [p.model_dump() for p in net.production]
    groups = [g.model_dump() for g in net.capacity_groups]
    k = which % (len(prod) + len(groups))
    if k < len(prod):
        if prod[k]["capacity_per_day"] is not None:
            prod[k]["capacity_per_day"] *= factor
    else:
        groups[k - len(prod)]["capacity_per_day"] *= factor
    more = rebuilt(net, production=prod, capacity_groups=groups)
    assert tts(more, node) >= tts(net, node) - 1e-7


@SETTINGS
@given(seed=st.integers(0, 10_000), stock=st.floats(0.0, 1_000.0))
def test_node_without_downstream_demand_survives_indefinitely(seed: int, stock: float) -> None:
    # A supplier of a part that goes into nothing any plant makes: nobody misses it.
    net = small(seed)
    data = net.model_dump()
    data["companies"].append({"id": "X", "name": "X", "country": "CN"})
    data["sites"].append({"id": "X1", "company": "X", "country": "CN", "ttr_days": 30.0})
    data["parts"].append({"id": "orphan", "hs_code": "850511"})
    plant = net.demand[0].site
    data["lanes"].append({"id": "LX", "supplier": "X1", "customer": plant, "part": "orphan"})
    data["inventory"].append({"site": plant, "part": "orphan", "on_hand": stock})
    assert math.isinf(tts(Network.model_validate(data), ("X1", "orphan")))
