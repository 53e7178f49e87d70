"""Compile a network, a registry and scenario assumptions into the arrays the simulations step.

Both engines (the vectorised one in ``engine.py`` and the SimPy reference in ``reference.py``)
read the same :class:`SimModel`, so they differ only in how they step time, never in what the
network or the registry says. The semantics are documented in ``docs/montecarlo.md``:

* a *node* is a (site, part) pair; its daily *target* is its requirement (``requirements()``);
* a node fed by lanes buys the part; a node without lanes that has BOM children makes it
  (level by level, children first); a node with neither is a *source* with unlimited supply;
* a lane ships ``flow = requirement(customer) x supply share`` a day, arriving after its lead
  time in whole days (at least one); a lane's ``in_transit`` share arrives evenly over days
  ``0 .. lead-1``;
* a *gate* is a (lane, measure) pair: the days on which the measure, in the baseline registry,
  bans or licenses the lane's shipment, and the days a carve-out exempts it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from supplyshock.analysis.montecarlo.assumptions import Assumptions, Dist, checked
from supplyshock.analysis.montecarlo.gates import Gates, MeasureSpec, gate_arrays
from supplyshock.analysis.montecarlo.levels import Level, build_levels, run_starts
from supplyshock.domain.controls import Registry
from supplyshock.domain.network import Lane, Network, NetworkIndex

__all__ = [
    "Level",
    "MeasureSpec",
    "SimModel",
    "compile_model",
    "finite_or_none",
    "horizon_dates",
]

Node = tuple[str, str]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass
class SimModel:
    """Everything both engines need, as plain arrays (picklable, for Dask)."""

    name: str
    scenario: str
    start: date
    horizon: int
    standstill_share: float
    nodes: list[Node]  # bought nodes (rows 0 .. n_bought-1), made ones by level, sources
    n_bought: int
    target: FloatArray  # (N,) daily production target of make and source nodes
    inv0: FloatArray  # (N,) on hand at D0
    sources: IntArray
    levels: list[Level]
    # lanes with a positive flow: ungated lanes (``unc``) first, then gated ones (``ctrl``)
    lane_ids: list[str]
    lane_sup: IntArray
    lane_cus: IntArray
    lane_flow: FloatArray
    lane_lead: IntArray
    lane_transit: FloatArray
    cus_unique: IntArray  # customer nodes, ascending
    sup_unique: IntArray
    lane_sup_pos: IntArray
    unc: IntArray  # lanes without gates
    ctrl: IntArray  # lanes with gates
    # gates, sorted by their lane's position in ``ctrl``
    gate_ctrl: IntArray
    gate_measure: IntArray
    gate_starts: IntArray
    gate_active: BoolArray  # (G, H)
    gate_ban: BoolArray  # (G, H) ban (else licence) on days it is active
    gate_p: FloatArray  # (G, H) registry approval share (1 where unknown)
    gate_review: FloatArray  # (G, H) registry review days (0 where unknown)
    gate_exempt: BoolArray  # (G, H) exempt by a registry carve-out
    gate_drawn: BoolArray  # (G,) exemption comes from the scenario's carve-out dates
    gate_carve: BoolArray  # (G, C) scenario carve-out c covers the gate
    measures: list[MeasureSpec]
    carve_ids: list[str]
    carve_start: list[Dist]  # days after D0
    # demand (finished goods at plants)
    dem_node: IntArray
    dem_rate: FloatArray
    dem_margin: FloatArray
    dem_cv: FloatArray
    plants: list[str]
    products: list[str]
    dem_in_starts: IntArray  # the demand node's BOM inputs, for the cover trace
    dem_in_node: IntArray
    dem_in_qty: FloatArray
    max_review: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @property
    def ring_size(self) -> int:
        """Slots of the controlled lanes' arrival ring: the longest possible delay + 1."""
        lead = int(self.lane_lead[self.ctrl].max()) if len(self.ctrl) else 1
        return lead + self.max_review + 1


def compile_model(
    network: Network, registry: Registry, assumptions: Assumptions, *, check: bool = True
) -> SimModel:
    """Arrays of ``network`` under ``registry`` and ``assumptions`` (see the module docstring).

    Raises :class:`ProblemReport` when the assumptions name unknown measures, carve-outs or
    sites (``check=False`` skips that, for assumptions already checked).
    """
    if check:
        checked(assumptions, network, registry)
    a = assumptions
    idx = network.index
    H = a.horizon_days
    req = idx.requirements()
    lanes = _live_lanes(network, req)
    nodes, bought, level_of = _nodes(idx, req, lanes)
    at = {n: i for i, n in enumerate(nodes)}
    inv0 = np.array([idx.inventory[n].on_hand if n in idx.inventory else 0.0 for n in nodes])
    dem_keys = sorted(idx.demand)
    sources, levels = build_levels(nodes, at, bought, level_of, idx.children, dem_keys)
    g = Gates(network, registry, a, [m for m in registry.measures if m.kind in ("ban", "licence")])
    gates_of = {ln.id: g.lane(ln.supplier, ln.customer, ln.part) for ln in lanes}
    # Lanes without gates first, then the controlled ones: both are contiguous row blocks.
    lanes.sort(key=lambda ln: (bool(gates_of[ln.id]), at[(ln.customer, ln.part)], ln.id))
    la = _lane_arrays(idx, req, lanes, at, inv0)
    gt = gate_arrays(a, [gates_of[ln.id] for ln in lanes])
    dem_in_starts, dem_in_node, dem_in_qty = _demand_inputs(idx, dem_keys, at)
    cv = np.array(
        [a.sites[s].demand_cv if s in a.sites else a.demand_cv for s, _ in dem_keys], dtype=float
    )
    return SimModel(
        name=network.meta.name,
        scenario=a.name,
        start=a.start,
        horizon=H,
        standstill_share=a.standstill_share,
        nodes=nodes,
        n_bought=sum(1 for n in nodes if n in bought),
        target=np.array([req.get(n, 0.0) for n in nodes]),
        inv0=inv0,
        sources=sources,
        levels=levels,
        lane_ids=[ln.id for ln in lanes],
        lane_sup=la.sup,
        lane_cus=la.cus,
        lane_flow=la.flow,
        lane_lead=la.lead,
        lane_transit=la.transit,
        cus_unique=la.cus_unique,
        sup_unique=la.sup_unique,
        lane_sup_pos=la.sup_pos,
        unc=gt.unc,
        ctrl=gt.ctrl,
        gate_ctrl=gt.gate_ctrl,
        gate_measure=gt.measure,
        gate_starts=run_starts(gt.gate_ctrl),
        gate_active=_stack([gate.active for gate in gt.gates], H, bool),
        gate_ban=_stack([gate.ban for gate in gt.gates], H, bool),
        gate_p=_stack([gate.p for gate in gt.gates], H, float),
        gate_review=_stack([np.clip(np.rint(gate.review), 0, H) for gate in gt.gates], H, float),
        gate_exempt=_stack([gate.exempt for gate in gt.gates], H, bool),
        gate_drawn=gt.drawn,
        gate_carve=gt.carve,
        measures=gt.specs,
        carve_ids=gt.carve_ids,
        carve_start=[a.carve_outs[c].start.in_days(a.start) for c in gt.carve_ids],
        dem_node=np.array([at[k] for k in dem_keys], dtype=np.int64),
        dem_rate=np.array([idx.demand[k].per_day for k in dem_keys]),
        dem_margin=np.array([idx.demand[k].margin_per_unit for k in dem_keys]),
        dem_cv=cv,
        plants=[s for s, _ in dem_keys],
        products=[p for _, p in dem_keys],
        dem_in_starts=dem_in_starts,
        dem_in_node=dem_in_node,
        dem_in_qty=dem_in_qty,
        max_review=gt.max_review,
    )


def _live_lanes(network: Network, req: dict[Node, float]) -> list[Lane]:
    """Lanes with a positive flow today (the others never ship in a simulation)."""
    idx = network.index
    return [
        ln
        for ln in network.lanes
        if req.get((ln.customer, ln.part), 0.0) * idx.supply_share(ln) > 0
    ]


def _nodes(
    idx: NetworkIndex, req: dict[Node, float], lanes: list[Lane]
) -> tuple[list[Node], set[Node], dict[str, int]]:
    """The nodes in row order, the bought ones, and each part's BOM level (leaves 0)."""
    keys: set[Node] = {k for k, v in req.items() if v > 0}
    keys |= set(idx.inventory) | set(idx.demand)
    for ln in lanes:
        keys |= {(ln.supplier, ln.part), (ln.customer, ln.part)}
    changed = True
    while changed:  # close over BOM inputs of made nodes
        changed = False
        for s, p in list(keys):
            if (s, p) in idx.lanes_in:
                continue
            for b in idx.children.get(p, []):
                if (s, b.child) not in keys:
                    keys.add((s, b.child))
                    changed = True
    bought = {(ln.customer, ln.part) for ln in lanes} | set(idx.lanes_in)
    order = idx.topological_parts()
    level_of: dict[str, int] = {}
    for p in reversed(order):
        kids = idx.children.get(p, [])
        level_of[p] = 1 + max((level_of.get(b.child, 0) for b in kids), default=-1)

    def rank(n: Node) -> tuple[int, int, Node]:
        # Bought nodes first, then made ones level by level, then sources: arrivals and each
        # level's output then land in contiguous blocks of rows (views, not gathers).
        if n in bought:
            return (0, 0, n)
        return (1, level_of.get(n[1], 0), n) if idx.children.get(n[1]) else (2, 0, n)

    return sorted(keys, key=rank), bought, level_of


@dataclass
class _LaneArrays:
    """Per-lane arrays, in the lanes' row order."""

    sup: IntArray
    cus: IntArray
    flow: FloatArray
    lead: IntArray
    transit: FloatArray
    sup_unique: IntArray
    sup_pos: IntArray
    cus_unique: IntArray


def _lane_arrays(
    idx: NetworkIndex,
    req: dict[Node, float],
    lanes: list[Lane],
    at: dict[Node, int],
    inv0: FloatArray,
) -> _LaneArrays:
    """Flows, lead times and in-transit stock per lane; in-transit stock of a node no lane
    carries is added to its ``inv0`` (changed in place)."""
    N = len(inv0)
    lane_sup = np.array([at[(ln.supplier, ln.part)] for ln in lanes], dtype=np.int64)
    lane_cus = np.array([at[(ln.customer, ln.part)] for ln in lanes], dtype=np.int64)
    flow = np.array([req[(ln.customer, ln.part)] * idx.supply_share(ln) for ln in lanes])
    lead = np.array([max(1, round(ln.lead_time_days)) for ln in lanes], dtype=np.int64)
    transit = np.zeros(len(lanes))
    flow_in = np.bincount(lane_cus, weights=flow, minlength=N) if len(lanes) else np.zeros(N)
    for i, ln in enumerate(lanes):
        inv = idx.inventory.get((ln.customer, ln.part))
        if inv is not None and inv.in_transit > 0:
            # Split the node's in-transit stock over its lanes by flow.
            transit[i] = inv.in_transit * flow[i] / flow_in[lane_cus[i]]
    for n, inv in idx.inventory.items():
        if inv.in_transit > 0 and n in at and flow_in[at[n]] == 0:
            inv0[at[n]] += inv.in_transit  # no lane to carry it: count it as on hand
    sup_unique = np.unique(lane_sup).astype(np.int64)
    return _LaneArrays(
        sup=lane_sup,
        cus=lane_cus,
        flow=flow,
        lead=lead,
        transit=transit,
        sup_unique=sup_unique,
        sup_pos=np.searchsorted(sup_unique, lane_sup).astype(np.int64),
        cus_unique=np.unique(lane_cus).astype(np.int64),
    )


def _demand_inputs(
    idx: NetworkIndex, dem_keys: list[Node], at: dict[Node, int]
) -> tuple[IntArray, IntArray, FloatArray]:
    """Each demand node's BOM inputs (its own stock for a bought product), for the cover
    trace: (starts, input nodes, quantities)."""
    dem_in_node: list[int] = []
    dem_in_qty: list[float] = []
    dem_in_starts: list[int] = []
    for s, p in dem_keys:
        dem_in_starts.append(len(dem_in_node))
        for b in idx.children.get(p, []):
            if (s, b.child) in at:  # no node when nothing is required (demand of 0)
                dem_in_node.append(at[(s, b.child)])
                dem_in_qty.append(b.qty)
        if len(dem_in_node) == dem_in_starts[-1] and (s, p) in at:
            dem_in_node.append(at[(s, p)])  # a bought product: its own stock
            dem_in_qty.append(1.0)
    return (
        np.array(dem_in_starts, dtype=np.int64),
        np.array(dem_in_node, dtype=np.int64),
        np.array(dem_in_qty),
    )


def _stack(rows: list[npt.NDArray[Any]], H: int, dtype: type) -> npt.NDArray[Any]:
    """Per-gate day rows as one (G, H) array (an empty one when there are no gates)."""
    if not rows:
        return np.zeros((0, H), dtype=dtype)
    return np.stack(rows).astype(dtype)


def horizon_dates(model: SimModel) -> list[date]:
    return [model.start + timedelta(days=t) for t in range(model.horizon)]


def finite_or_none(x: float) -> float | None:
    return None if math.isinf(x) or math.isnan(x) else x
