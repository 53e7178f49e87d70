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
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from supplyshock.analysis.exposure import shipped_item
from supplyshock.analysis.montecarlo.assumptions import Assumptions, Dist, checked
from supplyshock.domain.controls import Item, Registry
from supplyshock.domain.network import Network

Node = tuple[str, str]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass
class Level:
    """Make-nodes whose BOM inputs are all made at lower levels or bought.

    Edges are sorted by make node (``make_starts`` for ``reduceat``); ``in_perm`` sorts them by
    input node (``in_starts``), so usage per input is one ``reduceat`` too.
    """

    make: IntArray
    edge_make_pos: IntArray
    edge_input: IntArray
    edge_qty: FloatArray
    make_starts: IntArray
    in_unique: IntArray
    in_perm: IntArray
    in_starts: IntArray
    edge_in_pos: IntArray
    shared: bool  # an input feeds more than one make node: rationing needed
    dem_pos: IntArray  # positions in ``make`` that are demand nodes...
    dem_idx: IntArray  # ...and their index among the demand nodes


@dataclass
class MeasureSpec:
    id: str
    lift: Dist | None  # days after D0 from which the measure no longer applies
    approval: Dist | None
    review: Dist | None
    per_applicant: bool


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


def _starts(keys: IntArray) -> IntArray:
    """Start offsets of runs of equal values in a sorted key array."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]).astype(np.int64)


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
    # -- nodes --------------------------------------------------------------------------
    keys: set[Node] = {k for k, v in req.items() if v > 0}
    keys |= set(idx.inventory) | set(idx.demand)
    lanes = [
        ln
        for ln in network.lanes
        if req.get((ln.customer, ln.part), 0.0) * idx.supply_share(ln) > 0
    ]
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

    nodes = sorted(keys, key=rank)
    at = {n: i for i, n in enumerate(nodes)}
    N = len(nodes)
    n_bought = sum(1 for n in nodes if n in bought)
    target = np.array([req.get(n, 0.0) for n in nodes])
    inv0 = np.array([idx.inventory[n].on_hand if n in idx.inventory else 0.0 for n in nodes])
    # -- levels -------------------------------------------------------------------------
    made = [n for n in nodes if n not in bought and idx.children.get(n[1])]
    sources = np.array(
        [at[n] for n in nodes if n not in bought and not idx.children.get(n[1])], dtype=np.int64
    )
    dem_keys = sorted(idx.demand)
    dem_at = {k: i for i, k in enumerate(dem_keys)}
    by_level: dict[int, list[Node]] = defaultdict(list)
    for n in made:
        by_level[level_of[n[1]]].append(n)
    levels = [_level(by_level[k], at, nodes, idx.children, dem_at) for k in sorted(by_level)]
    # -- lanes --------------------------------------------------------------------------
    g = _Gates(network, registry, a, [m for m in registry.measures if m.kind in ("ban", "licence")])
    gates_of = {ln.id: g.lane(ln.supplier, ln.customer, ln.part) for ln in lanes}
    # Lanes without gates first, then the controlled ones: both are contiguous row blocks.
    lanes.sort(key=lambda ln: (bool(gates_of[ln.id]), at[(ln.customer, ln.part)], ln.id))
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
    lane_sup_pos = np.searchsorted(sup_unique, lane_sup).astype(np.int64)
    cus_unique = np.unique(lane_cus).astype(np.int64)
    # -- gates --------------------------------------------------------------------------
    per_lane = [gates_of[ln.id] for ln in lanes]
    ctrl = np.array([i for i, gs in enumerate(per_lane) if gs], dtype=np.int64)
    unc = np.array([i for i, gs in enumerate(per_lane) if not gs], dtype=np.int64)
    rows = [(k, gate) for k, i in enumerate(ctrl) for gate in per_lane[int(i)]]
    m_ids = sorted({gate.measure for _, gate in rows} | set(a.measures))
    m_at = {m: i for i, m in enumerate(m_ids)}
    carve_ids = sorted(a.carve_outs)
    G = len(rows)
    specs = [_spec(m, a) for m in m_ids]
    max_review = 0
    for gate in (gt for _, gt in rows):
        finite = gate.review[gate.active]
        if finite.size:
            max_review = max(max_review, int(np.rint(finite.max())))
    for spec in specs:
        if spec.review is not None:
            hi = spec.review.bounds()[1]
            max_review = max(max_review, int(np.rint(min(hi, H))))
    max_review = min(max_review, H)
    gate_carve = np.zeros((G, len(carve_ids)), dtype=bool)
    gate_drawn = np.zeros(G, dtype=bool)
    for r, (_, gate) in enumerate(rows):
        for c, cid in enumerate(carve_ids):
            if cid in gate.carve_cover:
                gate_carve[r, c] = gate.carve_cover[cid]
                gate_drawn[r] = True
    gate_ctrl = np.array([k for k, _ in rows], dtype=np.int64)
    dem_in_node: list[int] = []
    dem_in_qty: list[float] = []
    dem_in_starts: list[int] = []
    for s, p in dem_keys:
        dem_in_starts.append(len(dem_in_node))
        for b in idx.children.get(p, []):
            dem_in_node.append(at[(s, b.child)])
            dem_in_qty.append(b.qty)
        if len(dem_in_node) == dem_in_starts[-1]:
            dem_in_node.append(at[(s, p)])  # a bought product: its own stock
            dem_in_qty.append(1.0)
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
        n_bought=n_bought,
        target=target,
        inv0=inv0,
        sources=sources,
        levels=levels,
        lane_ids=[ln.id for ln in lanes],
        lane_sup=lane_sup,
        lane_cus=lane_cus,
        lane_flow=flow,
        lane_lead=lead,
        lane_transit=transit,
        cus_unique=cus_unique,
        sup_unique=sup_unique,
        lane_sup_pos=lane_sup_pos,
        unc=unc,
        ctrl=ctrl,
        gate_ctrl=gate_ctrl,
        gate_measure=np.array([m_at[gt.measure] for _, gt in rows], dtype=np.int64),
        gate_starts=_starts(gate_ctrl),
        gate_active=_stack([gt.active for _, gt in rows], H, bool),
        gate_ban=_stack([gt.ban for _, gt in rows], H, bool),
        gate_p=_stack([gt.p for _, gt in rows], H, float),
        gate_review=_stack([np.clip(np.rint(gt.review), 0, H) for _, gt in rows], H, float),
        gate_exempt=_stack([gt.exempt for _, gt in rows], H, bool),
        gate_drawn=gate_drawn,
        gate_carve=gate_carve,
        measures=specs,
        carve_ids=carve_ids,
        carve_start=[a.carve_outs[c].start.in_days(a.start) for c in carve_ids],
        dem_node=np.array([at[k] for k in dem_keys], dtype=np.int64),
        dem_rate=np.array([idx.demand[k].per_day for k in dem_keys]),
        dem_margin=np.array([idx.demand[k].margin_per_unit for k in dem_keys]),
        dem_cv=cv,
        plants=[s for s, _ in dem_keys],
        products=[p for _, p in dem_keys],
        dem_in_starts=np.array(dem_in_starts, dtype=np.int64),
        dem_in_node=np.array(dem_in_node, dtype=np.int64),
        dem_in_qty=np.array(dem_in_qty),
        max_review=max_review,
    )


def _stack(rows: list[npt.NDArray[Any]], H: int, dtype: type) -> npt.NDArray[Any]:
    if not rows:
        return np.zeros((0, H), dtype=dtype)
    return np.stack(rows).astype(dtype)


def _spec(mid: str, a: Assumptions) -> MeasureSpec:
    ma = a.measures.get(mid)
    if ma is None:
        return MeasureSpec(mid, None, None, None, False)
    return MeasureSpec(
        mid,
        ma.lifted.in_days(a.start) if ma.lifted is not None else None,
        ma.approval,
        ma.review_days,
        ma.per == "applicant",
    )


def _level(
    make: list[Node],
    at: dict[Node, int],
    nodes: list[Node],
    children: dict[str, list],  # type: ignore[type-arg]
    dem_at: dict[Node, int],
) -> Level:
    make_idx = np.array(sorted(at[n] for n in make), dtype=np.int64)
    e_make: list[int] = []
    e_in: list[int] = []
    e_qty: list[float] = []
    for pos, ni in enumerate(make_idx):
        s, p = nodes[int(ni)]
        for b in children[p]:
            e_make.append(pos)
            e_in.append(at[(s, b.child)])
            e_qty.append(b.qty)
    edge_make_pos = np.array(e_make, dtype=np.int64)
    edge_input = np.array(e_in, dtype=np.int64)
    in_perm = np.argsort(edge_input, kind="stable").astype(np.int64)
    in_sorted = edge_input[in_perm]
    in_starts = _starts(in_sorted)
    in_unique = in_sorted[in_starts]
    dem = [
        (pos, dem_at[nodes[int(ni)]]) for pos, ni in enumerate(make_idx) if nodes[int(ni)] in dem_at
    ]
    return Level(
        make=make_idx,
        edge_make_pos=edge_make_pos,
        edge_input=edge_input,
        edge_qty=np.array(e_qty),
        make_starts=_starts(edge_make_pos),
        in_unique=in_unique,
        in_perm=in_perm,
        in_starts=in_starts,
        edge_in_pos=np.searchsorted(in_unique, edge_input).astype(np.int64),
        shared=len(in_unique) < len(edge_input),
        dem_pos=np.array([p for p, _ in dem], dtype=np.int64),
        dem_idx=np.array([d for _, d in dem], dtype=np.int64),
    )


@dataclass
class _Gate:
    measure: str
    active: BoolArray
    ban: BoolArray
    p: FloatArray
    review: FloatArray
    exempt: BoolArray
    carve_cover: dict[str, bool]


class _Gates:
    """Per lane, the days on which each ban or licence measure applies in the baseline registry.

    The registry is asked on each day its answer can change (event dates within the horizon);
    the answer holds until the next such day.
    """

    def __init__(self, network: Network, registry: Registry, a: Assumptions, measures: list):  # type: ignore[type-arg]
        self.net = network
        self.reg = registry
        self.a = a
        self.H = a.horizon_days
        self.measures = {m.id: m for m in measures}
        days: set[int] = {0}
        for m in registry.measures:
            evs = list(m.events) + [e for c in m.carve_outs for e in c.events]
            for e in evs:
                for d in (e.effective, e.until):
                    if d is not None and 0 < (d - a.start).days < self.H:
                        days.add((d - a.start).days)
        self.breaks = sorted(days)
        self._origins: dict[Node, frozenset[str]] = {}

    def lane(self, supplier: str, customer: str, part: str) -> list[_Gate]:
        idx = self.net.index
        o, d = idx.sites[supplier].country, idx.sites[customer].country
        if o == d:
            return []
        item = shipped_item(self.net, supplier, part, cache=self._origins)
        H = self.H
        found: dict[str, _Gate] = {}
        ends = [*self.breaks[1:], H]
        for b, e in zip(self.breaks, ends, strict=True):
            day = self.a.start + timedelta(days=b)
            for eff in self.reg.in_force(day, item, o, d, self.net.meta.sector):
                m = self.measures.get(eff.measure_id)
                if m is None or eff.effect not in ("ban", "licence", "exempt"):
                    continue
                g = found.get(m.id)
                if g is None:
                    g = found[m.id] = _Gate(
                        m.id,
                        np.zeros(H, bool),
                        np.zeros(H, bool),
                        np.ones(H),
                        np.zeros(H),
                        np.zeros(H, bool),
                        self._cover(m, item, d),
                    )
                g.active[b:e] = True
                if eff.effect == "exempt":
                    g.exempt[b:e] = True
                    kind, params = m.kind, self.reg.state(m, day).params
                    p, rv = params.approval_share, params.review_days
                else:
                    kind, p, rv = eff.effect, eff.approval_share, eff.review_days
                g.ban[b:e] = kind == "ban"
                g.p[b:e] = 1.0 if p is None else p
                g.review[b:e] = 0.0 if rv is None else rv
        # Lanes that a scenario measure reaches only once its registry carve-out is moved are
        # already here (the registry answers "exempt" on those days); nothing else to add.
        return [found[k] for k in sorted(found)]

    def _cover(self, m, item: Item, dest: str) -> dict[str, bool]:  # type: ignore[no-untyped-def]
        out: dict[str, bool] = {}
        for c in m.carve_outs:
            ca = self.a.carve_outs.get(c.id)
            if ca is None:
                continue
            co = c if ca.sectors is None else c.model_copy(update={"sectors": ca.sectors})
            out[c.id] = co.covers(item, dest, self.net.meta.sector)
        return out


def horizon_dates(model: SimModel) -> list[date]:
    return [model.start + timedelta(days=t) for t in range(model.horizon)]


def finite_or_none(x: float) -> float | None:
    return None if math.isinf(x) or math.isnan(x) else x
