"""Gates: the days on which a ban or licence measure of the baseline registry reaches a lane.

A gate is a (lane, measure) pair; :func:`~supplyshock.analysis.montecarlo.model.compile_model`
stacks them into the ``gate_*`` arrays of :class:`SimModel`, with the scenario's
:class:`MeasureSpec` of every measure a gate or the scenario names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import numpy.typing as npt

from supplyshock.analysis.montecarlo.assumptions import Assumptions, Dist
from supplyshock.analysis.shipped import Node, shipped_item
from supplyshock.domain.controls import Item, Registry
from supplyshock.domain.network import Network

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass
class Gate:
    """One measure on one lane, day by day over the horizon."""

    measure: str
    active: BoolArray
    ban: BoolArray
    p: FloatArray
    review: FloatArray
    exempt: BoolArray
    carve_cover: dict[str, bool]


class Gates:
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

    def lane(self, supplier: str, customer: str, part: str) -> list[Gate]:
        idx = self.net.index
        o, d = idx.sites[supplier].country, idx.sites[customer].country
        if o == d:
            return []
        item = shipped_item(self.net, supplier, part, cache=self._origins)
        H = self.H
        found: dict[str, Gate] = {}
        ends = [*self.breaks[1:], H]
        for b, e in zip(self.breaks, ends, strict=True):
            day = self.a.start + timedelta(days=b)
            for eff in self.reg.in_force(day, item, o, d, self.net.meta.sector):
                m = self.measures.get(eff.measure_id)
                if m is None or eff.effect not in ("ban", "licence", "exempt"):
                    continue
                g = found.get(m.id)
                if g is None:
                    g = found[m.id] = Gate(
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


@dataclass
class MeasureSpec:
    """What the scenario draws for one measure (None: the registry decides)."""

    id: str
    lift: Dist | None  # days after D0 from which the measure no longer applies
    approval: Dist | None
    review: Dist | None
    per_applicant: bool


@dataclass
class GateArrays:
    """The controlled lanes and their gates, one gate per row, sorted by lane."""

    ctrl: IntArray
    unc: IntArray
    gates: list[Gate]
    gate_ctrl: IntArray
    measure: IntArray
    specs: list[MeasureSpec]
    carve_ids: list[str]
    drawn: BoolArray
    carve: BoolArray
    max_review: int


def gate_arrays(a: Assumptions, per_lane: list[list[Gate]]) -> GateArrays:
    """Split lanes into ungated and controlled ones and lay their gates out row by row."""
    ctrl = np.array([i for i, gs in enumerate(per_lane) if gs], dtype=np.int64)
    unc = np.array([i for i, gs in enumerate(per_lane) if not gs], dtype=np.int64)
    rows = [(k, gate) for k, i in enumerate(ctrl) for gate in per_lane[int(i)]]
    gates = [gate for _, gate in rows]
    m_ids = sorted({gate.measure for gate in gates} | set(a.measures))
    m_at = {m: i for i, m in enumerate(m_ids)}
    carve_ids = sorted(a.carve_outs)
    specs = [_spec(m, a) for m in m_ids]
    drawn, carve = _carve_cover(gates, carve_ids)
    return GateArrays(
        ctrl=ctrl,
        unc=unc,
        gates=gates,
        gate_ctrl=np.array([k for k, _ in rows], dtype=np.int64),
        measure=np.array([m_at[gt.measure] for gt in gates], dtype=np.int64),
        specs=specs,
        carve_ids=carve_ids,
        drawn=drawn,
        carve=carve,
        max_review=_max_review(gates, specs, a.horizon_days),
    )


def _max_review(gates: list[Gate], specs: list[MeasureSpec], H: int) -> int:
    """The longest review in whole days any gate or drawn review can take, at most ``H``."""
    max_review = 0
    for gate in gates:
        finite = gate.review[gate.active]
        if finite.size:
            max_review = max(max_review, int(np.rint(finite.max())))
    for spec in specs:
        if spec.review is not None:
            hi = spec.review.bounds()[1]
            max_review = max(max_review, int(np.rint(min(hi, H))))
    return min(max_review, H)


def _carve_cover(gates: list[Gate], carve_ids: list[str]) -> tuple[BoolArray, BoolArray]:
    """Per gate: whether a scenario carve-out decides its exemption, and which ones cover it."""
    G = len(gates)
    gate_carve = np.zeros((G, len(carve_ids)), dtype=bool)
    gate_drawn = np.zeros(G, dtype=bool)
    for r, gate in enumerate(gates):
        for c, cid in enumerate(carve_ids):
            if cid in gate.carve_cover:
                gate_carve[r, c] = gate.carve_cover[cid]
                gate_drawn[r] = True
    return gate_drawn, gate_carve


def _spec(mid: str, a: Assumptions) -> MeasureSpec:
    """What the scenario assumes about measure ``mid`` (nothing drawn when it is silent)."""
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
