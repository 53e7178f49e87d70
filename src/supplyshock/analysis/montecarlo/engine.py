"""The vectorised Monte Carlo engine: every future of a chunk of draws stepped at once, day by day.

State is held as ``(nodes, draws)`` arrays (each node's draws contiguous), so gathering a set of
nodes copies whole rows; sums over lanes or BOM edges are sparse matrix products and minima
over a node's inputs are loops of ``np.minimum`` over padded index columns (``reduceat`` along
rows is ten times slower). One day is, in this order (the same in the SimPy reference,
``reference.py``):

1. **arrivals**: shipments due today are added to their customer node;
2. **production**: sources add their target; make-nodes, level by level (children first), make
   ``x = min(target, min_i inv_i / qty_i)``; when several make-nodes draw on one input and
   together want more than it holds, each is scaled down by the worst ratio
   ``inv_i / wanted_i`` among its inputs, then inputs are consumed and outputs added;
3. **sales**: a plant sells ``min(stock, demand)`` of each finished product; the first day
   sales fall below ``standstill_share x demand`` is the product's standstill day;
4. **shipping**: each lane asks for its flow (nothing on a day a ban applies); a supplier short
   of stock serves all its lanes in the same proportion; licensed shipments are approved with
   probability ``p`` (per shipment: each day anew; per applicant: once per lane) after the
   review time, refused ones are lost; shipments arrive after ``lead (+ review)`` days.

Draws are split into chunks of ``chunk`` draws, each with its own random stream spawned from
``seed``, so a result depends only on (model, runs, seed, chunk), not on the number of threads.
"""

from __future__ import annotations

import math
import multiprocessing
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from supplyshock.analysis.montecarlo.model import SimModel
from supplyshock.analysis.montecarlo.results import SimResult

FloatArray = npt.NDArray[np.float64]
Progress = Callable[[int, int], None]  # (steps done, total steps); a step is one day of a chunk


def _pad(groups: list[list[int]]) -> npt.NDArray[np.int64]:
    """Groups as a (groups, width) index matrix, short rows padded with their first member.

    Repeating a member leaves a min, max, all or any unchanged, so a group reduction is a loop
    of ``np.minimum`` over the columns: far faster than ``reduceat`` along axis 0.
    """
    width = max((len(g) for g in groups), default=1)
    return np.array([g + [g[0]] * (width - len(g)) for g in groups], dtype=np.int64).reshape(
        len(groups), width
    )


def _groups(
    starts: npt.NDArray[np.int64], n: int, perm: npt.NDArray[np.int64] | None = None
) -> list[list[int]]:
    bounds = [*starts.tolist(), n]
    order = list(range(n)) if perm is None else perm.tolist()
    return [order[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _reduce_min(x: npt.NDArray[Any], idx: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
    out = x[idx[:, 0]]
    for w in range(1, idx.shape[1]):
        np.minimum(out, x[idx[:, w]], out=out)
    return out


def _reduce_max(x: npt.NDArray[Any], idx: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
    out = x[idx[:, 0]]
    for w in range(1, idx.shape[1]):
        np.maximum(out, x[idx[:, w]], out=out)
    return out


@dataclass
class _LevelOps:
    in_node: npt.NDArray[np.int64]  # (M, W) input node of each make node's edges (padded)
    qty: npt.NDArray[np.float64]  # (M, W, 1)
    use: sparse.csr_matrix  # (inputs x make) qty: use = U @ x
    in_pos: npt.NDArray[np.int64]  # (M, W) position of each edge's input in ``in_unique``


@dataclass
class Ops:
    """Group reductions of a model as index matrices and sparse sums (built once per run)."""

    arrive: sparse.csr_matrix  # (bought nodes x lanes)
    sup_lo: int  # suppliers are the rows from sup_lo on (-1: use sup_rows)
    sup_rows: npt.NDArray[np.int64]  # the rows a supplier's stock is read from
    lane_pos: npt.NDArray[np.int64]  # per lane, its supplier's position in sup_rows
    supply_tot: FloatArray  # (supplier rows,) sum of the flows of their lanes
    supply_ctrl: sparse.csr_matrix  # (suppliers of controlled lanes x controlled lanes)
    ctrl_sup: npt.NDArray[np.int64]  # their rows among the supplier nodes
    levels: list[_LevelOps]
    gates: npt.NDArray[np.int64]  # (controlled lanes, W) gate rows per lane
    dem_in: npt.NDArray[np.int64]  # (P, W) rows of the cover trace per demand node


def build_ops(m: SimModel) -> Ops:
    nL = len(m.lane_ids)
    lo = int(m.lane_sup.min()) if nL else 0
    if nL and lo >= m.n_bought:
        # Every supplier makes its part (no distributors): they are all rows from ``lo`` on,
        # so their stock is a view and is updated in place.
        sup_lo, sup_rows, pos = lo, np.arange(lo, m.n_nodes, dtype=np.int64), m.lane_sup - lo
    else:
        sup_lo, sup_rows, pos = -1, m.sup_unique, m.lane_sup_pos
    ctrl_sup = np.unique(pos[m.ctrl]).astype(np.int64)
    levels = []
    for lv in m.levels:
        E = len(lv.edge_input)
        by_make = _groups(lv.make_starts, E)
        q = lv.edge_qty
        U = sparse.csr_matrix(
            (q, (lv.edge_in_pos, lv.edge_make_pos)), shape=(len(lv.in_unique), len(lv.make))
        )
        levels.append(
            _LevelOps(
                in_node=lv.edge_input[_pad(by_make)],
                qty=q[_pad(by_make)][:, :, None],
                use=U,
                in_pos=lv.edge_in_pos[_pad(by_make)],
            )
        )
    return Ops(
        arrive=sparse.csr_matrix(
            (np.ones(nL), (m.lane_cus, np.arange(nL))), shape=(m.n_bought, nL)
        ),
        sup_lo=sup_lo,
        sup_rows=sup_rows,
        lane_pos=pos.astype(np.int64),
        supply_tot=np.bincount(pos, weights=m.lane_flow, minlength=len(sup_rows)).astype(float),
        supply_ctrl=sparse.csr_matrix(
            (
                np.ones(len(m.ctrl)),
                (np.searchsorted(ctrl_sup, pos[m.ctrl]), np.arange(len(m.ctrl))),
            ),
            shape=(len(ctrl_sup), len(m.ctrl)),
        ),
        ctrl_sup=ctrl_sup,
        levels=levels,
        gates=_pad(_groups(m.gate_starts, len(m.gate_ctrl)))
        if len(m.gate_ctrl)
        else np.zeros((0, 1), dtype=np.int64),
        dem_in=_pad(_groups(m.dem_in_starts, len(m.dem_in_node))),
    )


@dataclass
class ChunkOut:
    stop: FloatArray  # (P, D) day index of the standstill, inf if none within the horizon
    lost: FloatArray  # (P, D) units of demand not sold
    sales: npt.NDArray[np.float32]  # (P, H, T) units sold per day, first T draws
    cover: npt.NDArray[np.float32]  # (P, H, T) days of the scarcest BOM input at the plant


def simulate(
    model: SimModel,
    runs: int,
    *,
    seed: int = 0,
    chunk: int = 256,
    trace: int = 200,
    workers: int = 1,
    progress: Progress | None = None,
) -> SimResult:
    """Draw ``runs`` futures of ``model``.

    Parameters
    ----------
    model : the compiled network, registry and assumptions (:func:`compile_model`).
    runs : number of draws R (>= 1).
    seed : root of the random streams; equal (model, runs, seed, chunk) give equal results.
    chunk : draws stepped together (memory ~ ``chunk x (nodes + lanes x lead)`` floats).
    trace : how many draws keep their daily sales and input cover (for fan charts).
    workers : processes stepping chunks in parallel (progress then advances a chunk at a time).
    progress : called with (steps done, total steps) after every simulated day of a chunk.
    """
    if runs < 1:
        raise ValueError("runs must be at least 1")
    if chunk < 1:
        raise ValueError("chunk must be at least 1")
    sizes = [min(chunk, runs - k) for k in range(0, runs, chunk)]
    seqs = np.random.SeedSequence(seed).spawn(len(sizes))
    traces, left = [], trace
    for n in sizes:
        traces.append(min(n, max(left, 0)))
        left -= n
    total = len(sizes) * model.horizon
    done = [0]

    def tick() -> None:
        if progress is not None:
            done[0] += 1
            progress(done[0], total)

    jobs = list(zip(sizes, seqs, traces, strict=True))
    if workers > 1 and len(jobs) > 1:
        # Processes, not threads: much of a day is NumPy indexing that holds the GIL.
        ctx = multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futs = [pool.submit(run_chunk, model, n, s, t) for n, s, t in jobs]
            for f in as_completed(futs):
                f.result()
                for _ in range(model.horizon):
                    tick()
            outs = [f.result() for f in futs]
    else:
        ops = build_ops(model)
        outs = [run_chunk(model, n, s, t, tick, ops) for n, s, t in jobs]
    return SimResult.from_arrays(
        model,
        seed=seed,
        stop=np.concatenate([o.stop for o in outs], axis=1),
        lost=np.concatenate([o.lost for o in outs], axis=1),
        sales=np.concatenate([o.sales for o in outs], axis=2),
        cover=np.concatenate([o.cover for o in outs], axis=2),
    )


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
    H, P = m.horizon, len(m.dem_node)
    nL, K, G = len(m.lane_ids), len(m.ctrl), len(m.gate_ctrl)
    inv = np.repeat(m.inv0[:, None], D, axis=1)
    # -- the scenario's draws for this chunk ---------------------------------------------
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
    p_from_reg = np.isnan(appr_g)
    per_app = np.array([m.measures[i].per_applicant for i in gm], dtype=bool)
    u_app = rng.random((G, D))
    rev_app = np.full((G, D), np.nan)
    ship_review: list[tuple[npt.NDArray[np.int64], int]] = []
    for i, s in enumerate(m.measures):
        rows = np.flatnonzero(gm == i)
        if s.review is None or rows.size == 0:
            continue
        if s.per_applicant:
            rev_app[rows] = _days(s.review.sample(rng, (rows.size, D)), m.max_review)
        else:
            ship_review.append((rows, i))
    first = np.full((G, D), math.inf)
    decision = np.full((G, D), math.inf)
    ok_app = np.zeros((G, D), dtype=bool)
    cv = m.dem_cv[:, None]
    noisy = bool((m.dem_cv > 0).any())
    # -- rings of shipments on their way ---------------------------------------------------
    lead_u = m.lane_lead[m.unc]
    off_u = np.r_[0, np.cumsum(lead_u)[:-1]].astype(np.int64) if len(m.unc) else lead_u
    ring_u = np.repeat(
        np.repeat(m.lane_transit[m.unc] / np.maximum(lead_u, 1), lead_u)[:, None], D, axis=1
    )
    S = m.ring_size
    ring_c = np.zeros((S, K, D))
    lead_c = m.lane_lead[m.ctrl]
    for k in range(K):
        ring_c[: lead_c[k], k, :] = m.lane_transit[m.ctrl[k]] / lead_c[k]
    flat_c = ring_c.reshape(-1)
    kd = (np.arange(K)[:, None] * D + np.arange(D)[None, :]).astype(np.int64)
    # -- outputs ----------------------------------------------------------------------------
    stop = np.full((P, D), math.inf)
    lost = np.zeros((P, D))
    sales_tr = np.zeros((P, H, T), dtype=np.float32)
    cover_tr = np.zeros((P, H, T), dtype=np.float32)
    dem_base = m.dem_rate[:, None] * np.ones((1, D))
    tgt_dem = (m.target[m.dem_node])[:, None] - m.dem_rate[:, None] + dem_base
    need_in = m.dem_in_qty * np.repeat(
        m.dem_rate, np.diff(np.r_[m.dem_in_starts, len(m.dem_in_node)])
    )
    flow_u = m.lane_flow[m.unc][:, None]
    flow_c = m.lane_flow[m.ctrl][:, None]
    sup_pos_u = ops.lane_pos[m.unc]
    sup_pos_c = ops.lane_pos[m.ctrl]
    nU = len(m.unc)
    tot0 = np.repeat(ops.supply_tot[:, None], D, axis=1)
    tot = np.empty_like(tot0)
    frac = np.empty_like(tot0)
    arr = np.empty((nL, D))  # today's arrivals per lane: ungated rows first (see model)
    ship_u = np.empty((nU, D))
    blocked = np.zeros((K, D), dtype=bool)
    approved = np.ones((K, D), dtype=bool)
    extra = np.zeros((K, D))
    for t in range(H):
        # gates: which controlled lanes are banned, approved, delayed today
        if G:
            exempt = np.where(m.gate_drawn[:, None], t >= ex_start, m.gate_exempt[:, t][:, None])
            applies = m.gate_active[:, t][:, None] & ~exempt & (t < lift_g)
            ban_t = m.gate_ban[:, t][:, None]
            lic = applies & ~ban_t
            p = np.where(p_from_reg, m.gate_p[:, t][:, None], appr_g)
            review = np.repeat(m.gate_review[:, t][:, None], D, axis=1)
            for rows, i in ship_review:
                rdist = m.measures[i].review
                assert rdist is not None
                review[rows] = _days(rdist.sample(rng, (rows.size, D)), m.max_review)
            ok = rng.random((G, D)) < p
            if per_app.any():
                new = lic & np.isinf(first) & per_app[:, None]
                rv = np.where(np.isnan(rev_app), review, rev_app)
                first[new] = t
                decision[new] = t + rv[new]
                ok_app[new] = u_app[new] < p[new]
                ok = np.where(per_app[:, None], ok_app, ok)
                review = np.where(per_app[:, None], np.maximum(decision - t, 0.0), review)
            blocked = _reduce_max(applies & ban_t, ops.gates)
            approved = _reduce_min(~lic | ok, ops.gates)
            extra = _reduce_max(np.where(lic, review, 0.0), ops.gates)
        # 1. arrivals
        slot_u = off_u + t % lead_u
        np.take(ring_u, slot_u, axis=0, out=arr[:nU])
        if K:
            arr[nU:] = ring_c[t % S]
            ring_c[t % S] = 0.0
        if nL:
            inv[: m.n_bought] += ops.arrive @ arr  # customers are the first rows
        # 2. production
        if noisy:
            eps = np.maximum(0.0, 1.0 + cv * rng.standard_normal((P, D)))
            dem_today = m.dem_rate[:, None] * eps
            tgt_dem = (m.target[m.dem_node])[:, None] - m.dem_rate[:, None] + dem_today
        else:
            dem_today = dem_base
        if len(m.sources):
            inv[m.sources] += m.target[m.sources][:, None]
        for lv, lo in zip(m.levels, ops.levels, strict=True):
            cap = inv[lo.in_node[:, 0]] / lo.qty[:, 0]
            for w in range(1, lo.in_node.shape[1]):
                np.minimum(cap, inv[lo.in_node[:, w]] / lo.qty[:, w], out=cap)
            x = np.minimum(cap, m.target[lv.make][:, None])
            if len(lv.dem_pos):
                x[lv.dem_pos] = np.minimum(cap[lv.dem_pos], tgt_dem[lv.dem_idx])
            if lv.shared:
                want = lo.use @ x
                have = inv[lv.in_unique]
                ratio = np.where(want > have, have / np.where(want > 0, want, 1.0), 1.0)
                x *= _reduce_min(ratio, lo.in_pos)
            use = lo.use @ x
            inv[lv.in_unique] = np.maximum(inv[lv.in_unique] - use, 0.0)
            lo_, hi_ = int(lv.make[0]), int(lv.make[-1]) + 1
            if hi_ - lo_ == len(lv.make):  # contiguous (see model): add in place
                inv[lo_:hi_] += x
            else:
                inv[lv.make] += x
        # 3. sales
        have = inv[m.dem_node]
        sold = np.minimum(have, dem_today)
        inv[m.dem_node] = have - sold
        short = sold < m.standstill_share * dem_today * (1 - 1e-9)
        stop = np.where(np.isinf(stop) & short, float(t), stop)
        lost += dem_today - sold
        if T:
            sales_tr[:, t, :] = sold[:, :T]
            days = inv[m.dem_in_node, :T] / need_in[:, None]
            cover_tr[:, t, :] = _reduce_min(days, ops.dem_in)
        # 4. shipping: a supplier short of stock serves all its lanes in the same proportion
        if nL:
            # Preallocated buffers: fresh arrays every day cost more than the arithmetic.
            tot[:] = tot0
            if K:
                tot[ops.ctrl_sup] -= ops.supply_ctrl @ (flow_c * blocked)
            avail = inv[ops.sup_lo :] if ops.sup_lo >= 0 else inv[ops.sup_rows]
            # frac = min(1, avail / tot): 1 when the supplier holds enough (tot 0: nothing asked)
            np.divide(avail, np.maximum(tot, 1e-300, out=frac), out=frac)
            np.minimum(frac, 1.0, out=frac)
            np.subtract(avail, np.multiply(tot, frac, out=tot), out=avail)
            np.maximum(avail, 0.0, out=avail)
            if ops.sup_lo < 0:
                inv[ops.sup_rows] = avail
            if nU:
                np.take(frac, sup_pos_u, axis=0, out=ship_u)
                ring_u[slot_u] = np.multiply(ship_u, flow_u, out=ship_u)
            if K:
                ship_c = (flow_c * ~blocked) * frac[sup_pos_c]
                delay = lead_c[:, None] + extra.astype(np.int64)
                slot = (t + delay) % S
                flat_c[slot * (K * D) + kd] += ship_c * approved
        if tick is not None:
            tick()
    return ChunkOut(stop, lost, sales_tr, cover_tr)


def _days(x: FloatArray, cap: int) -> FloatArray:
    """Review times in whole days, between 0 and ``cap``."""
    return np.clip(np.rint(x), 0, cap)
