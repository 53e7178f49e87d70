"""The reference model: the engine's semantics as a SimPy discrete-event simulation.

It steps one draw at a time. It exists to check the vectorised engine (tests show both agree
within Monte Carlo error) and to be the benchmark's baseline. A daily process takes the same
decisions in the same order as ``engine.py`` (gates, production level by level, sales,
shipping), with plain Python numbers; every shipment is its own SimPy process that waits out
its delay and then lands in the customer's stock, so arrivals are events rather than
ring-buffer slots. Random draws come from one stream for the whole run, so it agrees with the
engine in distribution, not draw by draw.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from typing import Any

import numpy as np

from supplyshock.analysis.montecarlo.model import SimModel
from supplyshock.analysis.montecarlo.results import SimResult

_PHASE = 0.1  # the day's decisions happen at t + 0.1, after the arrivals due at t


def simulate_reference(
    model: SimModel,
    runs: int,
    *,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> SimResult:
    """Draw ``runs`` futures one by one with SimPy; same outputs as :func:`engine.simulate`
    (without daily traces)."""
    if runs < 1:
        raise ValueError("runs must be at least 1")
    rng = np.random.default_rng(seed)
    P = len(model.dem_node)
    stop = np.full((P, runs), math.inf)
    lost = np.zeros((P, runs))
    plan = _Plan(model)
    for r in range(runs):
        stop[:, r], lost[:, r] = _one(model, plan, rng)
        if progress is not None:
            progress(r + 1, runs)
    empty = np.zeros((P, model.horizon, 0), dtype=np.float32)
    return SimResult.from_arrays(model, seed=seed, stop=stop, lost=lost, sales=empty, cover=empty)


class _Plan:
    """The model's arrays as Python lists, so the inner loops touch no NumPy scalars."""

    def __init__(self, m: SimModel) -> None:
        self.levels = [
            (
                lv.make.tolist(),
                [
                    [
                        (int(lv.edge_input[e]), float(lv.edge_qty[e]))
                        for e in range(len(lv.edge_input))
                        if lv.edge_make_pos[e] == pos
                    ]
                    for pos in range(len(lv.make))
                ],
                dict(zip(lv.dem_pos.tolist(), lv.dem_idx.tolist(), strict=True)),
            )
            for lv in m.levels
        ]
        self.ctrl_of = {int(lane): k for k, lane in enumerate(m.ctrl)}
        self.gates_of: list[list[int]] = [[] for _ in m.ctrl]
        for g, k in enumerate(m.gate_ctrl.tolist()):
            self.gates_of[k].append(g)
        self.by_sup: dict[int, list[int]] = {}
        for i, s in enumerate(m.lane_sup.tolist()):
            self.by_sup.setdefault(s, []).append(i)
        self.target = m.target.tolist()
        self.flow = m.lane_flow.tolist()
        self.lead = m.lane_lead.tolist()
        self.cus = m.lane_cus.tolist()


def _one(m: SimModel, plan: _Plan, rng: np.random.Generator) -> tuple[list[float], list[float]]:
    import simpy

    env = simpy.Environment()
    inv = m.inv0.tolist()
    H, P, G = m.horizon, len(m.dem_node), len(m.gate_ctrl)
    lift = [s.lift.sample(rng, 1)[0] if s.lift is not None else math.inf for s in m.measures]
    appr = [
        float(np.clip(s.approval.sample(rng, 1)[0], 0, 1)) if s.approval is not None else None
        for s in m.measures
    ]
    cstart = [float(d.sample(rng, 1)[0]) for d in m.carve_start]
    gm = m.gate_measure.tolist()
    ex_start = [
        min((cstart[c] for c in range(len(cstart)) if m.gate_carve[g, c]), default=math.inf)
        for g in range(G)
    ]
    u_app = [float(rng.random()) for _ in range(G)]
    rev_app: list[float | None] = []
    for g in range(G):
        s = m.measures[gm[g]]
        rev_app.append(
            _day(s.review.sample(rng, 1)[0], m.max_review)
            if s.per_applicant and s.review is not None
            else None
        )
    first = [math.inf] * G
    decision = [math.inf] * G
    ok_app = [False] * G
    stop = [math.inf] * P
    lost = [0.0] * P
    dem_node = m.dem_node.tolist()
    rate = m.dem_rate.tolist()

    def transit(node: int, amount: float, delay: float) -> Generator[Any, Any, None]:
        yield env.timeout(delay)
        inv[node] += amount

    for i, amount in enumerate(m.lane_transit.tolist()):
        if amount > 0:
            for k in range(plan.lead[i]):
                env.process(transit(plan.cus[i], amount / plan.lead[i], k))

    def gates(t: int) -> tuple[list[bool], list[bool], list[float]]:
        st: list[tuple[bool, bool, float]] = []
        for g in range(G):
            s = m.measures[gm[g]]
            exempt = t >= ex_start[g] if m.gate_drawn[g] else bool(m.gate_exempt[g, t])
            applies = bool(m.gate_active[g, t]) and not exempt and t < lift[gm[g]]
            is_ban = bool(m.gate_ban[g, t])
            lic = applies and not is_ban
            p = appr[gm[g]] if appr[gm[g]] is not None else float(m.gate_p[g, t])
            review = float(m.gate_review[g, t])
            ok = True
            if lic and s.per_applicant:
                if math.isinf(first[g]):
                    first[g] = t
                    rv = rev_app[g]
                    decision[g] = t + (review if rv is None else rv)
                    ok_app[g] = u_app[g] < p
                ok, review = ok_app[g], max(decision[g] - t, 0.0)
            elif lic:
                if s.review is not None:
                    review = _day(s.review.sample(rng, 1)[0], m.max_review)
                ok = float(rng.random()) < p
            st.append((applies and is_ban, (not lic) or ok, review if lic else 0.0))
        blocked, approved, extra = [], [], []
        for gs in plan.gates_of:
            blocked.append(any(st[g][0] for g in gs))
            approved.append(all(st[g][1] for g in gs))
            extra.append(max(st[g][2] for g in gs))
        return blocked, approved, extra

    def day() -> Generator[Any, Any, None]:
        yield env.timeout(_PHASE)
        for t in range(H):
            blocked, approved, extra = gates(t)
            dem = [
                r * max(0.0, 1.0 + cv * float(rng.standard_normal())) if cv > 0 else r
                for r, cv in zip(rate, m.dem_cv.tolist(), strict=True)
            ]
            for s in m.sources.tolist():
                inv[s] += plan.target[s]
            for make, edges, dem_pos in plan.levels:
                x = []
                for pos, node in enumerate(make):
                    cap = min(inv[i] / q for i, q in edges[pos])
                    d = dem_pos.get(pos)
                    tgt = plan.target[node] if d is None else plan.target[node] - rate[d] + dem[d]
                    x.append(min(cap, tgt))
                want: dict[int, float] = {}
                for pos in range(len(make)):
                    for i, q in edges[pos]:
                        want[i] = want.get(i, 0.0) + x[pos] * q
                ratio = {i: (inv[i] / w if w > inv[i] else 1.0) for i, w in want.items()}
                for pos in range(len(make)):
                    x[pos] *= min(ratio[i] for i, _ in edges[pos])
                use: dict[int, float] = {}
                for pos in range(len(make)):
                    for i, q in edges[pos]:
                        use[i] = use.get(i, 0.0) + x[pos] * q
                for i, u in use.items():
                    inv[i] = max(inv[i] - u, 0.0)
                for pos, node in enumerate(make):
                    inv[node] += x[pos]
            for k, node in enumerate(dem_node):
                sold = min(inv[node], dem[k])
                inv[node] -= sold
                if math.isinf(stop[k]) and sold < m.standstill_share * dem[k] * (1 - 1e-9):
                    stop[k] = float(t)
                lost[k] += dem[k] - sold
            for sup, lanes in plan.by_sup.items():
                req = []
                for i in lanes:
                    kc = plan.ctrl_of.get(i)
                    req.append(0.0 if kc is not None and blocked[kc] else plan.flow[i])
                tot = sum(req)
                frac = inv[sup] / tot if tot > inv[sup] else 1.0
                inv[sup] = max(inv[sup] - tot * frac, 0.0)
                for i, q in zip(lanes, req, strict=True):
                    amount = q * frac
                    kc = plan.ctrl_of.get(i)
                    delay = plan.lead[i]
                    if kc is not None:
                        if not approved[kc]:
                            continue
                        delay += int(extra[kc])
                    if amount > 0:
                        env.process(transit(plan.cus[i], amount, delay - _PHASE))
            yield env.timeout(1)

    env.process(day())
    env.run(until=H)
    return stop, lost


def _day(x: float, cap: int) -> float:
    return float(min(max(round(float(x)), 0), cap))
