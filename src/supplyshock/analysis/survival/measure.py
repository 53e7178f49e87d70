"""Survival by measure: cut every lane a measure blocks at once; TTS and impact per plant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from supplyshock.analysis.survival.model import LOST, SurvivalModel, build_model
from supplyshock.analysis.survival.solve import RegionSolver, lanes_disruption
from supplyshock.domain.controls import Registry
from supplyshock.domain.network import Network

#: Effects that stop a shipment for the purpose of survival: a ban, and a licence requirement
#: (nothing ships until a licence is granted, so the licence wait is the disruption).
BLOCKING = frozenset({"ban", "licence"})


def lanes_blocked_by(network: Network, registry: Registry, measure_id: str, on: date) -> set[str]:
    """Ids of the lanes whose shipments ``measure_id`` bans or puts under licence on ``on``.

    The shipped item (HS code, part number, maker, element content and origins) is built the
    way the exposure analysis builds it, so both agree on what a measure reaches.
    """
    from supplyshock.analysis.exposure import shipped_item

    registry.measure(measure_id)  # KeyError for an unknown id
    idx = network.index
    out: set[str] = set()
    cache: dict[tuple[str, str], frozenset[str]] = {}
    for ln in network.lanes:
        item = shipped_item(network, ln.supplier, ln.part, cache=cache)
        effects = registry.in_force(
            on,
            item,
            idx.sites[ln.supplier].country,
            idx.sites[ln.customer].country,
            network.meta.sector,
        )
        if any(e.measure_id == measure_id and e.effect in BLOCKING for e in effects):
            out.add(ln.id)
    return out


@dataclass(frozen=True)
class PlantSurvival:
    """A plant's time to survive with the blocked lanes cut, and its loss over the horizon."""

    plant: str
    tts: float
    lost_units: float
    lost_margin: float


@dataclass(frozen=True)
class MeasureSurvival:
    blocked_lanes: list[str]
    horizon_days: float
    network_tts: float  # every plant's demand at once
    lost_units: float
    lost_margin: float
    plants: list[PlantSurvival]


def survival_by_measure(
    network: Network | SurvivalModel, blocked_lanes: set[str], *, horizon_days: float = 30.0
) -> MeasureSurvival:
    """Cut every lane in ``blocked_lanes`` at once; TTS and impact per plant.

    A plant's TTS counts only its own demand (it has first call on shared supply, so it is an
    upper bound when plants compete); the impact is one allocation of the remaining supply over
    ``horizon_days`` that loses the least margin across all plants.
    """
    model = network if isinstance(network, SurvivalModel) else build_model(network)
    unknown = sorted(set(blocked_lanes) - set(model.lane_col))
    if unknown:
        raise KeyError(f"unknown lane {unknown[0]!r}")
    solver = RegionSolver(model)
    d = lanes_disruption(model, blocked_lanes, "measure")
    whole = solver.solve(d, horizon_days)
    plants: dict[str, list[int]] = {}
    for n in model.demand_nodes:
        plants.setdefault(model.nodes[n][0], []).append(n)
    lost_cols = np.flatnonzero(model.col_kind == LOST)
    margins = {int(model.col_node[c]): float(model.lost_margin[c]) for c in lost_cols}
    out: list[PlantSurvival] = []
    for plant, nodes in sorted(plants.items()):
        tts = solver.solve(d, None, demand_nodes=set(nodes)).tts
        units = sum(whole.lost_by_node.get(n, 0.0) for n in nodes)
        margin = sum(whole.lost_by_node.get(n, 0.0) * margins.get(n, 0.0) for n in nodes)
        out.append(PlantSurvival(plant, tts, units, margin))
    out.sort(key=lambda p: (p.tts, p.plant))
    return MeasureSurvival(
        sorted(blocked_lanes),
        horizon_days,
        whole.tts,
        whole.lost_units or 0.0,
        whole.lost_margin or 0.0,
        out,
    )
