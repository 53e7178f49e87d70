"""The whole-network LP kept in one HiGHS model across disruptions, proved from the difference.

Where the region method cannot win (mostly: networks already short before anything fails,
whose deficits drag every region out to the whole network), the sweep falls back to this
solver. It is the naive whole-network LP without the naive costs: the model is compiled and
passed to HiGHS once, a disruption only changes column bounds, and HiGHS re-solves from the
last basis.

**Proof from the difference.** For every question (a :class:`~.region.Mode`: a TTS segment,
the long-run test, the impact LP at one TTR) the undisrupted optimum ``v0`` is solved once and
kept. A disruption fixes some columns at zero, which only removes options; when ``v0`` is
already zero on every one of them, ``v0`` is still feasible, so it is still optimal (its
duals still certify it: the reduced costs of the other columns did not change). The answer
is then the undisrupted one and no LP is solved. This is exact, not a heuristic: it is the
case of a node whose output was already unusable, or not used, in the best plan of the
undisrupted network.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from supplyshock.analysis.survival.bounds import highs_model, quiet_highs
from supplyshock.analysis.survival.model import (
    LOST,
    QUALIFY,
    SUBST,
    FloatArray,
    IntArray,
    SurvivalModel,
)
from supplyshock.analysis.survival.region import INF, Mode, Region, highspy, take, touched

if TYPE_CHECKING:
    from supplyshock.analysis.survival.solve import _Base

__all__ = ["WarmSearch"]

_ZERO = 1e-9  # relative to the largest value of the undisrupted optimum
_LOCAL_ROWS = 5000  # measured: below this the whole LP re-solves faster than a local try
_HOPS = 2  # how far around the node a local re-routing may reach


def _nearest(mode: Mode, done: dict[Mode, Any]) -> Any:
    """The solved question most like ``mode`` (same kind, closest day), or None."""
    same = [k for k in done if (k.T is None, k.zero_stock) == (mode.T is None, mode.zero_stock)]
    if not same:
        return None
    day = mode.t_lower if mode.T is None else mode.T
    best = min(same, key=lambda k: abs((k.t_lower if k.T is None else k.T) - day))
    return done[best]


class WarmSearch:
    """One whole-network :class:`Region` (every row), re-solved per disruption.

    Quacks like :class:`~.region.Search` (``region``, ``solves``, :meth:`optimise`), so the
    solver's TTS segments, long-run test and impact LP run on it unchanged.
    """

    def __init__(self, s: _Base, model: SurvivalModel) -> None:
        self.s = s
        self.model = model
        self.free = np.zeros(model.n_cols, dtype=bool)
        self.whole = Region(s, np.ones(model.n_rows, dtype=bool), self.free)
        # With every row in the region no column is on the boundary: all are inner.
        # (Every column has an entry, so they are all there, in order: a value's position is
        # its column.)
        assert np.array_equal(self.whole.inner, np.arange(model.n_cols))
        assert len(self.whole.boundary) == 0 and len(self.whole.semi) == 0
        self.region: Region | None = self.whole
        self.solves = 0
        self.shortcuts = 0
        self.cols = np.zeros(0, dtype=np.int64)
        # Big networks: first try to re-route around the node locally (primal proof).
        self.local = Local(s) if model.n_rows >= _LOCAL_ROWS else None
        # Mode -> (t, column values, row duals) of the undisrupted optimum.
        self._undisrupted: dict[Mode, tuple[float, FloatArray, FloatArray, Any]] = {}

    def start(self, fixed: np.ndarray, cols: tuple[int, ...]) -> WarmSearch:
        """Begin a disruption: ``fixed`` marks its stopped columns."""
        self.whole.fixed_inner = fixed[self.whole.inner]
        self.cols = np.asarray(cols, dtype=np.int64)
        self.region = self.whole
        self.solves = 0
        return self

    def _baseline(self, mode: Mode) -> tuple[float, FloatArray, FloatArray, Any]:
        got = self._undisrupted.get(mode)
        if got is None:
            r = self.whole
            mine = r.fixed_inner
            r.fixed_inner = self.free[r.inner]
            r.set_mode(mode)
            near = _nearest(mode, self._undisrupted)
            if near is not None:  # a neighbouring question's optimum: a few pivots away
                r.h.setBasis(near[3])
            t, _grow = r.run(mode)
            got = (t, r.values.copy(), r.y.copy(), r.h.getBasis())
            self._undisrupted[mode] = got
            r.fixed_inner = mine
        return got

    def optimise(self, mode: Mode) -> float:
        """The whole-network optimum with the disruption's columns stopped."""
        t0, v0, y0, basis = self._baseline(mode)
        r = self.whole
        scale = 1.0 + float(np.max(np.abs(v0), initial=0.0))
        # (An unbounded undisrupted LP has no optimum to keep: solve.)
        if t0 < INF and (
            not len(self.cols) or bool(np.all(np.abs(v0[self.cols]) <= _ZERO * scale))
        ):
            # The undisrupted optimum never used what stopped: still feasible, so optimal.
            r.values, r.y = v0, y0
            self.shortcuts += 1
            return t0
        if t0 < INF and self.local is not None:
            plan = self.local.reach(mode, t0, v0, self.cols, self.whole.fixed_inner)
            if plan is not None:
                # Still reachable with the node down: the undisrupted optimum (no better is
                # possible, as a disruption only removes options), so y0 still certifies it.
                r.values, r.y = plan, y0
                self.shortcuts += 1
                self.solves += 1
                return t0
        r.set_mode(mode)
        # From the undisrupted optimum: only the difference is left to pivot on.
        r.h.setBasis(basis)
        t, _grow = r.run(mode)  # the whole network: nothing outside to prove
        self.solves += 1
        return t


class Local:
    """Re-route around a disruption near it, everything else as in the undisrupted optimum.

    Rows within ``_HOPS`` of the stopped columns form a small LP; columns touching only them
    are free, every other column keeps its undisrupted value, and ``t`` stays at the
    undisrupted optimum ``t0``. Rows outside see exactly what they saw, so a feasible plan
    (TTS question), or one losing no more than the undisrupted plan lost there (impact
    question), is a plan of the whole network as good as the undisrupted optimum; as the
    disruption only removes options, it is optimal. Otherwise nothing is proved and the
    whole network is solved.
    """

    def __init__(self, s: _Base) -> None:
        self.s = s
        self.highs = quiet_highs()
        self.highs.setOptionValue("simplex_dual_edge_weight_strategy", 1)

    def reach(
        self, mode: Mode, t0: float, v0: FloatArray, cols: IntArray, fixed: np.ndarray
    ) -> FloatArray | None:
        """The whole-network plan (column values) if one is found, else None."""
        s, m = self.s, self.s.model
        rows = touched(m.A, cols)
        for _ in range(_HOPS):
            rows = np.union1d(rows, touched(m.A, touched(s.A_csr, rows)))
        r_at, r_col, r_val = take(s.A_csr, rows)
        counts = np.bincount(r_col, minlength=m.n_cols)
        near = np.flatnonzero(counts)
        inner = near[counts[near] == s.col_nnz[near]]
        held = np.zeros(m.n_cols, dtype=bool)
        held[near] = True
        held[inner] = False
        kind, q = m.col_kind, m.col_q
        # The region's row bounds: stock (none in the long-run question), qualification
        # rows as the question has them, less what t and the held columns take.
        rhs = m.rhs[rows].copy()
        qual = m.row_kind[rows] == QUALIFY
        if mode.zero_stock:
            rhs[:] = 0.0
        else:
            on = s.row_q[rows] <= mode.q_active if mode.T is None else s.row_q[rows] < mode.T
            rhs[qual & ~on] = np.inf
        rhs -= s.a_t[rows] * t0
        kept = np.where(held, v0, 0.0)[r_col]
        rhs -= np.bincount(r_at, weights=r_val * kept, minlength=len(rows))
        upper = np.full(len(inner), np.inf)
        upper[fixed[inner]] = 0.0
        lost = kind[inner] == LOST
        if mode.T is None:
            upper[lost] = 0.0
            usable = q[inner] <= mode.q_active
        else:
            upper[lost] = m.lost_rate[inner[lost]] * mode.T
            usable = q[inner] < mode.T
        upper[(kind[inner] == SUBST) & ~usable] = 0.0
        cost = np.zeros(len(inner))
        if mode.T is not None:
            cost[lost] = s.weight[inner[lost]]
        sub = m.A[rows][:, inner].tocsc()
        h = highs_model(sub.indptr, sub.indices, sub.data, rhs, cost, upper, into=self.highs)
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        x = np.asarray(h.getSolution().col_value)
        before = float(cost @ v0[inner])
        if mode.T is not None and float(cost @ x) > before + 1e-9 * (1.0 + abs(before)):
            return None
        plan = v0.copy()
        plan[inner] = x
        return plan
