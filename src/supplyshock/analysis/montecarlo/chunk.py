"""One chunk of draws stepped through the horizon, step by step (the day of ``engine.py``).

A chunk first draws its scenario (:class:`_Draws`: lift days, approval shares, carve-out dates,
per-applicant decisions), then repeats, every day: gates, arrivals, demand and production,
sales, shipping. The order of the random draws is part of the result (equal seeds give equal
results), so each step draws exactly where the day draws it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from supplyshock.analysis.montecarlo.levels import Level
from supplyshock.analysis.montecarlo.model import SimModel
from supplyshock.analysis.montecarlo.ops import LevelOps, Ops, build_ops, reduce_max, reduce_min

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass
class ChunkOut:
    """What one chunk of draws returns (P products, D draws, H days, T traced draws)."""

    stop: FloatArray  # (P, D) day index of the standstill, inf if none within the horizon
    lost: FloatArray  # (P, D) units of demand not sold
    sales: npt.NDArray[np.float32]  # (P, H, T) units sold per day, first T draws
    cover: npt.NDArray[np.float32]  # (P, H, T) days of the scarcest BOM input at the plant


def run_chunk(
    m: SimModel,
    D: int,
    seq: np.random.SeedSequence,
    T: int,
    tick: Callable[[], None] | None = None,
    ops: Ops | None = None,
) -> ChunkOut:
    """Step ``D`` futures through the horizon; keep daily traces of the first ``T``."""
    ops = ops or build_ops(m)
    rng = np.random.default_rng(seq)
    c = _Chunk(m, ops, D, T, rng)
    for t in range(m.horizon):
        c.gates(t)
        slot_u = c.arrive(t)
        dem_today = c.demand_today()
        c.produce()
        c.sell(t, dem_today)
        c.ship(t, slot_u)
        if tick is not None:
            tick()
    return ChunkOut(c.stop, c.lost, c.sales_tr, c.cover_tr)


@dataclass
class _Draws:
    """The scenario's draws for one chunk, per gate row, and the per-applicant decisions."""

    lift_g: FloatArray  # (G, D) day the gate's measure is lifted (inf: never)
    appr_g: FloatArray  # (G, D) drawn approval share (nan: the registry's)
    p_from_reg: BoolArray
    ex_start: FloatArray  # (G, D) day a scenario carve-out starts exempting the gate
    per_app: BoolArray  # (G,) approval decided once per applicant (lane)
    u_app: FloatArray  # (G, D) the uniform draw that decides a per-applicant approval
    rev_app: FloatArray  # (G, D) per-applicant review days (nan: the registry's)
    ship_review: list[tuple[IntArray, int]]  # (gate rows, measure) drawn per shipment
    first: FloatArray  # (G, D) day the applicant first applied (inf: not yet)
    decision: FloatArray  # (G, D) day its decision comes
    ok_app: BoolArray  # (G, D) approved

    def per_applicant(
        self, t: int, lic: BoolArray, p: FloatArray, review: FloatArray, ok: BoolArray
    ) -> tuple[BoolArray, FloatArray]:
        """Today's approvals and delays once per-applicant gates use their first decision."""
        new = lic & np.isinf(self.first) & self.per_app[:, None]
        rv = np.where(np.isnan(self.rev_app), review, self.rev_app)
        self.first[new] = t
        self.decision[new] = t + rv[new]
        self.ok_app[new] = self.u_app[new] < p[new]
        ok = np.where(self.per_app[:, None], self.ok_app, ok)
        review = np.where(self.per_app[:, None], np.maximum(self.decision - t, 0.0), review)
        return ok, review


def _draw_scenario(m: SimModel, D: int, rng: np.random.Generator) -> _Draws:
    """Draw what the scenario leaves open, once per draw, in a fixed order."""
    G = len(m.gate_ctrl)
    M = len(m.measures)
    lift = np.full((M, D), math.inf)
    appr = np.full((M, D), np.nan)
    for i, s in enumerate(m.measures):
        if s.lift is not None:
            lift[i] = s.lift.sample(rng, D)
        if s.approval is not None:
            appr[i] = np.clip(s.approval.sample(rng, D), 0.0, 1.0)
    ex_start = np.full((G, D), math.inf)
    for c, dist in enumerate(m.carve_start):
        starts = dist.sample(rng, D)
        cov = m.gate_carve[:, c]
        ex_start[cov] = np.minimum(ex_start[cov], starts)
    gm = m.gate_measure
    lift_g, appr_g = lift[gm], appr[gm]
    per_app = np.array([m.measures[i].per_applicant for i in gm], dtype=bool)
    u_app = rng.random((G, D))
    rev_app = np.full((G, D), np.nan)
    ship_review: list[tuple[IntArray, int]] = []
    for i, s in enumerate(m.measures):
        rows = np.flatnonzero(gm == i)
        if s.review is None or rows.size == 0:
            continue
        if s.per_applicant:
            rev_app[rows] = _days(s.review.sample(rng, (rows.size, D)), m.max_review)
        else:
            ship_review.append((rows, i))
    return _Draws(
        lift_g=lift_g,
        appr_g=appr_g,
        p_from_reg=np.isnan(appr_g),
        ex_start=ex_start,
        per_app=per_app,
        u_app=u_app,
        rev_app=rev_app,
        ship_review=ship_review,
        first=np.full((G, D), math.inf),
        decision=np.full((G, D), math.inf),
        ok_app=np.zeros((G, D), dtype=bool),
    )


class _Rings:
    """Shipments on their way: one ring slot per lead day of each ungated lane (``ring_u``),
    and for the controlled lanes a ring long enough for lead time plus review (``ring_c``)."""

    def __init__(self, m: SimModel, D: int) -> None:
        """Start with each lane's in-transit stock spread evenly over its lead days."""
        K = len(m.ctrl)
        self.lead_u = lead_u = m.lane_lead[m.unc]
        self.off_u = np.r_[0, np.cumsum(lead_u)[:-1]].astype(np.int64) if len(m.unc) else lead_u
        self.ring_u = np.repeat(
            np.repeat(m.lane_transit[m.unc] / np.maximum(lead_u, 1), lead_u)[:, None], D, axis=1
        )
        self.S = m.ring_size
        self.ring_c = np.zeros((self.S, K, D))
        self.lead_c = lead_c = m.lane_lead[m.ctrl]
        for k in range(K):
            self.ring_c[: lead_c[k], k, :] = m.lane_transit[m.ctrl[k]] / lead_c[k]
        self.flat_c = self.ring_c.reshape(-1)
        self.kd = (np.arange(K)[:, None] * D + np.arange(D)[None, :]).astype(np.int64)


class _Chunk:
    """The state of ``D`` futures, stepped one day at a time by the methods below, in order."""

    def __init__(self, m: SimModel, ops: Ops, D: int, T: int, rng: np.random.Generator) -> None:
        """Draw the scenario, load the rings and allocate the outputs and day buffers."""
        self.m, self.ops, self.D, self.T, self.rng = m, ops, D, T, rng
        P, H = len(m.dem_node), m.horizon
        nL, K = len(m.lane_ids), len(m.ctrl)
        self.inv = np.repeat(m.inv0[:, None], D, axis=1)
        self.draws = _draw_scenario(m, D, rng)
        self.cv = m.dem_cv[:, None]
        self.noisy = bool((m.dem_cv > 0).any())
        self.rings = _Rings(m, D)
        self.stop = np.full((P, D), math.inf)
        self.lost = np.zeros((P, D))
        self.sales_tr = np.zeros((P, H, T), dtype=np.float32)
        self.cover_tr = np.zeros((P, H, T), dtype=np.float32)
        self.dem_base = m.dem_rate[:, None] * np.ones((1, D))
        self.tgt_dem = (m.target[m.dem_node])[:, None] - m.dem_rate[:, None] + self.dem_base
        self.need_in = m.dem_in_qty * np.repeat(
            m.dem_rate, np.diff(np.r_[m.dem_in_starts, len(m.dem_in_node)])
        )
        self.flow_u = m.lane_flow[m.unc][:, None]
        self.flow_c = m.lane_flow[m.ctrl][:, None]
        self.sup_pos_u = ops.lane_pos[m.unc]
        self.sup_pos_c = ops.lane_pos[m.ctrl]
        self.tot0 = np.repeat(ops.supply_tot[:, None], D, axis=1)
        # Preallocated buffers: fresh arrays every day cost more than the arithmetic.
        self.tot = np.empty_like(self.tot0)
        self.frac = np.empty_like(self.tot0)
        self.arr = np.empty((nL, D))  # today's arrivals per lane: ungated rows first (see model)
        self.ship_u = np.empty((len(m.unc), D))
        self.blocked = np.zeros((K, D), dtype=bool)
        self.approved = np.ones((K, D), dtype=bool)
        self.extra = np.zeros((K, D))

    def gates(self, t: int) -> None:
        """Which controlled lanes are banned, approved and delayed today."""
        m, dr, D = self.m, self.draws, self.D
        G = len(m.gate_ctrl)
        if not G:
            return
        exempt = np.where(m.gate_drawn[:, None], t >= dr.ex_start, m.gate_exempt[:, t][:, None])
        applies = m.gate_active[:, t][:, None] & ~exempt & (t < dr.lift_g)
        ban_t = m.gate_ban[:, t][:, None]
        lic = applies & ~ban_t
        p = np.where(dr.p_from_reg, m.gate_p[:, t][:, None], dr.appr_g)
        review = np.repeat(m.gate_review[:, t][:, None], D, axis=1)
        for rows, i in dr.ship_review:
            rdist = m.measures[i].review
            assert rdist is not None
            review[rows] = _days(rdist.sample(self.rng, (rows.size, D)), m.max_review)
        ok = self.rng.random((G, D)) < p
        if dr.per_app.any():
            ok, review = dr.per_applicant(t, lic, p, review, ok)
        self.blocked = reduce_max(applies & ban_t, self.ops.gates)
        self.approved = reduce_min(~lic | ok, self.ops.gates)
        self.extra = reduce_max(np.where(lic, review, 0.0), self.ops.gates)

    def arrive(self, t: int) -> IntArray:
        """1. Shipments due today join their customer node; returns the ungated ring slots."""
        m, r = self.m, self.rings
        nU = len(m.unc)
        slot_u = r.off_u + t % r.lead_u
        np.take(r.ring_u, slot_u, axis=0, out=self.arr[:nU])
        if len(m.ctrl):
            self.arr[nU:] = r.ring_c[t % r.S]
            r.ring_c[t % r.S] = 0.0
        if len(m.lane_ids):
            self.inv[: m.n_bought] += self.ops.arrive @ self.arr  # customers are the first rows
        return slot_u

    def demand_today(self) -> FloatArray:
        """Today's demand per product and draw (noisy when the scenario gives a CV)."""
        m = self.m
        if not self.noisy:
            return self.dem_base
        eps = np.maximum(0.0, 1.0 + self.cv * self.rng.standard_normal((len(m.dem_node), self.D)))
        dem_today: FloatArray = m.dem_rate[:, None] * eps
        self.tgt_dem = (m.target[m.dem_node])[:, None] - m.dem_rate[:, None] + dem_today
        return dem_today

    def produce(self) -> None:
        """2. Sources add their target; make-nodes make what inputs allow, level by level."""
        m = self.m
        if len(m.sources):
            self.inv[m.sources] += m.target[m.sources][:, None]
        for lv, lo in zip(m.levels, self.ops.levels, strict=True):
            self._make(lv, lo)

    def _make(self, lv: Level, lo: LevelOps) -> None:
        """One level makes ``min(target, inputs / qty)``, rationing inputs it shares."""
        inv = self.inv
        cap = inv[lo.in_node[:, 0]] / lo.qty[:, 0]
        for w in range(1, lo.in_node.shape[1]):
            np.minimum(cap, inv[lo.in_node[:, w]] / lo.qty[:, w], out=cap)
        x = np.minimum(cap, self.m.target[lv.make][:, None])
        if len(lv.dem_pos):
            x[lv.dem_pos] = np.minimum(cap[lv.dem_pos], self.tgt_dem[lv.dem_idx])
        if lv.shared:
            want = lo.use @ x
            have = inv[lv.in_unique]
            ratio = np.where(want > have, have / np.where(want > 0, want, 1.0), 1.0)
            x *= reduce_min(ratio, lo.in_pos)
        use = lo.use @ x
        inv[lv.in_unique] = np.maximum(inv[lv.in_unique] - use, 0.0)
        lo_, hi_ = int(lv.make[0]), int(lv.make[-1]) + 1
        if hi_ - lo_ == len(lv.make):  # contiguous (see model): add in place
            inv[lo_:hi_] += x
        else:
            inv[lv.make] += x

    def sell(self, t: int, dem_today: FloatArray) -> None:
        """3. Plants sell what they can; record standstills, lost demand and the traces."""
        m, inv, T = self.m, self.inv, self.T
        have = inv[m.dem_node]
        sold = np.minimum(have, dem_today)
        inv[m.dem_node] = have - sold
        short = sold < m.standstill_share * dem_today * (1 - 1e-9)
        self.stop = np.where(np.isinf(self.stop) & short, float(t), self.stop)
        self.lost += dem_today - sold
        if T:
            self.sales_tr[:, t, :] = sold[:, :T]
            days = inv[m.dem_in_node, :T] / self.need_in[:, None]
            self.cover_tr[:, t, :] = reduce_min(days, self.ops.dem_in)

    def ship(self, t: int, slot_u: IntArray) -> None:
        """4. A supplier short of stock serves all its lanes in the same proportion."""
        m, ops, r = self.m, self.ops, self.rings
        if not len(m.lane_ids):
            return
        K, D = len(m.ctrl), self.D
        tot, frac, inv = self.tot, self.frac, self.inv
        tot[:] = self.tot0
        if K:
            tot[ops.ctrl_sup] -= ops.supply_ctrl @ (self.flow_c * self.blocked)
        avail = inv[ops.sup_lo :] if ops.sup_lo >= 0 else inv[ops.sup_rows]
        # frac = min(1, avail / tot): 1 when the supplier holds enough (tot 0: nothing asked)
        np.divide(avail, np.maximum(tot, 1e-300, out=frac), out=frac)
        np.minimum(frac, 1.0, out=frac)
        np.subtract(avail, np.multiply(tot, frac, out=tot), out=avail)
        np.maximum(avail, 0.0, out=avail)
        if ops.sup_lo < 0:
            inv[ops.sup_rows] = avail
        if len(m.unc):
            np.take(frac, self.sup_pos_u, axis=0, out=self.ship_u)
            r.ring_u[slot_u] = np.multiply(self.ship_u, self.flow_u, out=self.ship_u)
        if K:
            ship_c = (self.flow_c * ~self.blocked) * frac[self.sup_pos_c]
            delay = r.lead_c[:, None] + self.extra.astype(np.int64)
            slot = (t + delay) % r.S
            r.flat_c[slot * (K * D) + r.kd] += ship_c * self.approved


def _days(x: FloatArray, cap: int) -> FloatArray:
    """Review times in whole days, between 0 and ``cap``."""
    return np.clip(np.rint(x), 0, cap)
