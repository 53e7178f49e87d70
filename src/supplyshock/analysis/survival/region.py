"""The LP restricted to a region of rows, and the search that grows the region until exact.

Why the grown region's optimum is the whole network's is the certificate in ``solve.py``'s
docstring; :meth:`Region.run` checks it and names the outside columns that fail it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import highspy as _highspy
import numpy as np
from scipy import sparse

from supplyshock.analysis.survival.bounds import highs_model
from supplyshock.analysis.survival.model import LOST, QUALIFY, SUBST, FloatArray, IntArray

if TYPE_CHECKING:
    from supplyshock.analysis.survival.solve import _Base

highspy: Any = _highspy  # untyped extension module
INF = float("inf")
_HINF = highspy.kHighsInf
_GROW_HOPS = 3  # hops a region widens by per round (measured: 1 walks supply chains slowly)
_WARM_ROWS = 300  # measured: below this a cold solve beats carrying the basis over
_STATUS = [
    highspy.HighsBasisStatus.kLower,
    highspy.HighsBasisStatus.kBasic,
    highspy.HighsBasisStatus.kUpper,
    highspy.HighsBasisStatus.kZero,
    highspy.HighsBasisStatus.kNonbasic,
]


_SETTLED = (
    highspy.HighsModelStatus.kOptimal,
    highspy.HighsModelStatus.kUnbounded,
    highspy.HighsModelStatus.kUnboundedOrInfeasible,
    highspy.HighsModelStatus.kInfeasible,
)
# What run() tries, in order, when HiGHS ends in neither an optimum nor a verdict (see _rescue).
_RESCUES: tuple[dict[str, Any], ...] = ({}, {"presolve": "on"}, {"simplex_scale_strategy": 0})
_Basis = tuple[IntArray, np.ndarray, IntArray, np.ndarray, int]


class TooSlow(Exception):
    """A region search ran past its solver's ``deadline`` (a timed trial gave up on it)."""


@dataclass(frozen=True)
class Mode:
    """What the LP asks: max t (``T`` is None) or min weighted lost demand with t fixed at T.

    ``zero_stock`` asks the long-run question: with no inventory at all, can t reach 1? The
    feasible set is then a cone, so yes means the network survives indefinitely.
    """

    q_active: float  # alternates qualified within this many days are usable
    t_lower: float = 0.0
    t_upper: float = INF
    T: float | None = None
    zero_stock: bool = False


def take(
    a: sparse.csc_matrix | sparse.csr_matrix, sel: IntArray
) -> tuple[IntArray, IntArray, FloatArray]:
    """The entries of columns (CSC) or rows (CSR) ``sel``, grouped in that order: (position
    in ``sel``, other index, value)."""
    starts = a.indptr[sel]
    counts = a.indptr[sel + 1] - starts
    owner = np.repeat(np.arange(len(sel)), counts)
    first = np.cumsum(counts) - counts
    at = np.repeat(starts - first, counts) + np.arange(int(counts.sum()))
    return owner, a.indices[at], a.data[at]


def touched(a: sparse.csc_matrix | sparse.csr_matrix, sel: Any) -> IntArray:
    """The rows columns ``sel`` touch (CSC), or the columns rows ``sel`` touch (CSR), once
    each."""
    return np.unique(take(a, np.asarray(sel, dtype=np.int64))[1])


class Region:
    """The LP restricted to a set of rows, kept in one Highs object between re-solves."""

    def __init__(self, s: _Base, rows_mask: np.ndarray, fixed: np.ndarray) -> None:
        m = s.model
        self.s = s
        self.rows = np.flatnonzero(rows_mask)
        n_r = len(self.rows)
        # The region's rows, entry by entry (plain NumPy: scipy's slicing costs more here
        # than the small LPs take to solve).
        self.r_at, self.r_col, self.r_val = take(s.A_csr, self.rows)
        counts = np.bincount(self.r_col, minlength=m.n_cols)
        touched = np.flatnonzero(counts)
        whole = counts[touched] == s.col_nnz[touched]
        inner = touched[whole]
        edge = touched[~whole]
        # An edge column may move off its baseline in the direction that only loosens the
        # outside rows it touches (less consumption, or more supply): it joins the LP with
        # one extra row, x <= b*t or x >= b*t. Otherwise it is held at b*t (folded into t).
        owner, e_row, e_val = take(m.A, edge)
        outside = ~rows_mask[e_row]
        pos_out = np.bincount(owner[outside & (e_val > 0)], minlength=len(edge))
        neg_out = np.bincount(owner[outside & (e_val < 0)], minlength=len(edge))
        base = m.baseline[edge]
        down = (neg_out == 0) & (base > 0) & ~fixed[edge]
        up = (pos_out == 0) & (base > 0) & ~fixed[edge] & ~down
        semi_mask = down | up
        self.semi = edge[semi_mask]
        sign = np.where(down[semi_mask], 1.0, -1.0)
        self.boundary = edge[~semi_mask]
        self.inner = np.concatenate([inner, self.semi])
        bb = np.zeros(m.n_cols)
        bb[self.boundary] = m.baseline[self.boundary]
        # Outside columns run at their baseline, i.e. proportionally to t: fold them into t.
        tcol = s.a_t[self.rows] + np.bincount(
            self.r_at, weights=self.r_val * bb[self.r_col], minlength=n_r
        )
        pos = np.full(m.n_rows, -1, dtype=np.int64)
        pos[self.rows] = np.arange(n_r)
        n_in, n_semi = len(self.inner), len(self.semi)
        owner, e_row, e_val = take(m.A, self.inner)
        keep = rows_mask[e_row]  # semi columns lose their outside entries
        t_rows = np.flatnonzero(tcol)
        k = np.arange(n_semi)
        r_all = np.concatenate([pos[e_row[keep]], n_r + k, t_rows, n_r + k])
        c_all = np.concatenate(
            [owner[keep], len(inner) + k, np.full(len(t_rows), n_in), np.full(n_semi, n_in)]
        )
        v_all = np.concatenate([e_val[keep], sign, tcol[t_rows], -sign * m.baseline[self.semi]])
        order = np.argsort(c_all, kind="stable")
        start = np.zeros(n_in + 2, dtype=np.int32)
        np.cumsum(np.bincount(c_all, minlength=n_in + 1), out=start[1:])
        row_upper = np.concatenate([m.rhs[self.rows], np.zeros(n_semi)])
        # One HiGHS instance per solver: only one region is alive at a time.
        self.h = highs_model(start, r_all[order], v_all[order], row_upper, into=s.highs)
        self.fixed_inner = fixed[self.inner]
        self.kind_inner = m.col_kind[self.inner]
        self.q_inner = m.col_q[self.inner]
        self.qrows = np.flatnonzero(m.row_kind[self.rows] == QUALIFY)
        self.qrow_q = s.row_q[self.rows[self.qrows]]
        self.col_idx = np.arange(n_in + 1, dtype=np.int32)
        self.row_idx = self.qrows.astype(np.int32)
        self.all_rows = np.arange(n_r, dtype=np.int32)
        self.stock_zeroed = False
        self.values: FloatArray = np.zeros(n_in)
        self.y: FloatArray = np.zeros(n_r)
        self.tol = 1e-9

    def col_dots(self, y: FloatArray) -> FloatArray:
        """A_R' y for every column of the model (zero where a column misses the region)."""
        m = self.s.model
        dots: FloatArray = np.bincount(  # type: ignore[assignment]
            self.r_col, weights=self.r_val * y[self.r_at], minlength=m.n_cols
        )
        return dots

    def keep_basis(self) -> _Basis:
        """The optimal basis by global row and column id, to warm-start a wider region."""
        b = self.h.getBasis()
        cols = np.fromiter((v.value for v in b.col_status), dtype=np.int8)
        rows = np.fromiter((v.value for v in b.row_status), dtype=np.int8)
        return self.inner, cols[:-1], self.rows, rows[: len(self.rows)], int(cols[-1])

    def warm_start(self, saved: _Basis) -> None:
        """Old rows and columns keep their status; new rows start basic, new columns at 0."""
        inner, cols, rows, row_status, t_status = saved
        m = self.s.model
        col_full = np.zeros(m.n_cols, dtype=np.int8)  # kLower
        col_full[inner] = cols
        row_full = np.ones(m.n_rows, dtype=np.int8)  # kBasic
        row_full[rows] = row_status
        b = highspy.HighsBasis()
        b.col_status = [_STATUS[v] for v in col_full[self.inner].tolist()] + [_STATUS[t_status]]
        b.row_status = [_STATUS[v] for v in row_full[self.rows].tolist()] + [_STATUS[1]] * len(
            self.semi
        )
        b.valid = True
        b.alien = True
        self.h.setBasis(b)

    def still_optimal(self, after: float, upto: float) -> bool:
        """Whether the last optimum stays optimal once alternates qualified in (after, upto]
        become usable: true when none of them has a negative reduced cost (it would enter
        at zero, and its qualification row is slack or at zero dual while t >= upto).
        """
        touched = np.concatenate([self.inner, self.boundary])
        q = self.s.model.col_q[touched]
        new = touched[(q > after) & (q <= upto)]
        if not len(new):
            return True
        d = -self.col_dots(self.y)[new]
        return bool(np.all(d >= -self.tol))

    def set_mode(self, mode: Mode) -> None:
        m = self.s.model
        n_in = len(self.inner)
        upper = np.full(n_in + 1, _HINF)
        lower = np.zeros(n_in + 1)
        cost = np.zeros(n_in + 1)
        upper[:n_in][self.fixed_inner] = 0.0
        subst = self.kind_inner == SUBST
        lost = self.kind_inner == LOST
        if mode.T is None:
            active_q = self.q_inner <= mode.q_active
            upper[:n_in][lost] = 0.0
            lower[n_in] = mode.t_lower
            upper[n_in] = min(mode.t_upper, _HINF)
            cost[n_in] = -1.0
            row_on = self.qrow_q <= mode.q_active
        else:
            active_q = self.q_inner < mode.T
            lost_cols = self.inner[lost]
            upper[:n_in][lost] = m.lost_rate[lost_cols] * mode.T
            cost[:n_in][lost] = self.s.weight[lost_cols]
            lower[n_in] = upper[n_in] = mode.T
            row_on = self.qrow_q < mode.T
        upper[:n_in][subst & ~active_q] = 0.0
        self.h.changeColsBounds(n_in + 1, self.col_idx, lower, upper)
        self.h.changeColsCost(n_in + 1, self.col_idx, cost)
        rhs = m.rhs[self.rows].copy()
        if mode.zero_stock:
            rhs[m.row_kind[self.rows] != QUALIFY] = 0.0
            rhs[self.qrows] = 0.0  # in the long run every alternate is qualified
        else:
            rhs[self.qrows] = np.where(row_on, rhs[self.qrows], _HINF)
        if mode.zero_stock or self.stock_zeroed:
            n = len(self.rows)
            self.h.changeRowsBounds(n, self.all_rows, np.full(n, -_HINF), rhs)
        elif len(self.qrows):
            q = len(self.qrows)
            self.h.changeRowsBounds(q, self.row_idx, np.full(q, -_HINF), rhs[self.qrows])
        self.stock_zeroed = mode.zero_stock

    def _rescue(self) -> Any:
        """Solve again when HiGHS gave up: cold (a warm start it could not use), then with
        presolve, then without scaling. Badly scaled networks need the last two (demand of
        3e5/day times BOM quantities in the hundreds over recovery times of years left the
        scaled simplex at "Unknown"). The solver's options are restored afterwards."""
        status = self.h.getModelStatus()
        for options in _RESCUES:
            saved = {name: self.h.getOptionValue(name)[1] for name in options}
            for name, value in options.items():
                self.h.setOptionValue(name, value)
            try:
                self.h.clearSolver()
                self.h.run()
                status = self.h.getModelStatus()
            finally:
                for name, value in saved.items():
                    self.h.setOptionValue(name, value)
            if status in _SETTLED:
                break
        return status

    def run(self, mode: Mode) -> tuple[float, IntArray]:
        """Solve; return (t, outside columns whose rows must join), t = inf if unbounded."""
        self.h.run()
        status = self.h.getModelStatus()
        if status not in _SETTLED:
            status = self._rescue()
        if status in (
            highspy.HighsModelStatus.kUnbounded,
            highspy.HighsModelStatus.kUnboundedOrInfeasible,
        ):
            return INF, np.zeros(0, dtype=np.int64)
        if status == highspy.HighsModelStatus.kInfeasible and len(self.boundary) + len(self.semi):
            # With t fixed, outside columns held at baseline can over-constrain the region
            # (an outside plant still wants the parts that are cut): widen it by one hop.
            return float("nan"), np.concatenate([self.boundary, self.semi])
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"HiGHS: {self.h.modelStatusToString(status)}")
        sol = self.h.getSolution()
        x = np.asarray(sol.col_value)
        self.values = x[:-1]
        t = float(x[-1]) + 0.0  # no -0.0 in reports
        dual = np.asarray(sol.row_dual)
        n_r = len(self.rows)
        self.y = y = dual[:n_r]
        self.tol = tol = 1e-9 * (1.0 + float(np.max(np.abs(dual), initial=0.0)))
        # A one-sided edge column whose extra row carries a dual wants to go further: the
        # rows outside that it touches must join.
        pushing = self.semi[np.abs(dual[n_r:]) > tol]
        if not len(self.boundary):
            return t, pushing
        g = self.col_dots(y)[self.boundary]
        m = self.s.model
        kind = m.col_kind[self.boundary]
        # A not-yet-qualified alternate is fixed at zero in the whole LP too: nothing to prove.
        q = m.col_q[self.boundary]
        limit = mode.q_active if mode.T is None else mode.T
        frozen = (kind == SUBST) & ~(q <= limit if mode.T is None else q < limit)
        d = -g  # boundary columns carry no cost
        running = m.baseline[self.boundary] > 0
        bad = (np.where(running, np.abs(d) > tol, d < -tol)) & ~frozen
        return t, np.concatenate([self.boundary[bad], pushing])


class Search:
    """One disruption's region, grown until its optimum is proved exact; counts the solves."""

    def __init__(self, s: _Base, fixed: np.ndarray, mask: np.ndarray) -> None:
        """``fixed``: columns forced to zero; ``mask``: the rows the region starts with."""
        self.s = s
        self.fixed = fixed
        self.mask = mask
        self.region: Region | None = None
        self.solves = 0

    def optimise(self, mode: Mode) -> float:
        """The region's optimum, grown until proved exact."""
        saved = None
        while True:
            if self.region is None:
                self.region = Region(self.s, self.mask, self.fixed)
                if saved is not None:
                    self.region.warm_start(saved)
            region = self.region
            region.set_mode(mode)
            t, grow = region.run(mode)
            self.solves += 1
            if not len(grow):
                return t
            if self.s.deadline is not None and time.perf_counter() > self.s.deadline:
                raise TooSlow
            # Warm-start a wider region from this one's basis (nan: infeasible, no basis);
            # small LPs solve cold faster than a basis travels through Python.
            warm = t == t and len(region.rows) >= _WARM_ROWS
            saved = region.keep_basis() if warm else None
            self._widen(grow)
            self.region = None

    def _widen(self, grow: IntArray) -> None:
        """Add the rows the columns ``grow`` touch, and a few hops beyond them."""
        m = self.s.model
        mask = self.mask.copy()
        new = touched(m.A, grow)
        for _ in range(_GROW_HOPS - 1):
            # A shortfall travels along supply chains: widen by a few hops at once
            # rather than walk them one round (one LP) per hop.
            new = new[~mask[new]]
            mask[new] = True
            new = touched(m.A, touched(self.s.A_csr, new))
        mask[new] = True
        self.mask = mask
