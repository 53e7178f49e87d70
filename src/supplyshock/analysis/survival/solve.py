"""Solve the time-to-survive and performance-impact LPs for one disruption with HiGHS.

Two solvers share one code path. :class:`FullSolver` puts the whole network into the LP (the
naive way). :class:`RegionSolver` cuts the LP down to the sub-network the disruption can
affect and proves the cut exact: everything outside the region keeps its baseline operation
(feasible for any horizon), the region's LP is solved, and the dual certificate below decides
whether an outside column could improve the answer; if one could, its rows join the region and
the LP is re-solved. The answer is therefore the whole-network optimum, not an approximation.

Certificate (min form, HiGHS signs): a *boundary* column j (touching region rows and outside
rows, held at its baseline b_j per day) has reduced cost d_j = c_j - A_Rj' y_R with the outside
rows' duals at zero. If d_j = 0 for every boundary column with b_j > 0 and d_j >= 0 for those
at zero, (region solution + baseline outside, region duals + zeros) satisfy the whole LP's
optimality conditions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import highspy as _highspy
import numpy as np
from scipy import sparse

from supplyshock.analysis.survival.bounds import (
    PartBalance,
    Upstream,
    downstream_closure,
    highs_model,
    part_needs,
    quiet_highs,
)
from supplyshock.analysis.survival.model import (
    LOST,
    PROD,
    QUALIFY,
    SUBST,
    FloatArray,
    IntArray,
    SurvivalModel,
)

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
_Basis = tuple[IntArray, np.ndarray, IntArray, np.ndarray, int]


@dataclass(frozen=True)
class Disruption:
    """Columns forced to zero, and the nodes whose supply they cut (they seed the region)."""

    label: str
    cols: tuple[int, ...]
    origins: tuple[int, ...]


@dataclass(frozen=True)
class Outcome:
    """Answer for one disruption; ``tts`` is ``inf`` when the network survives indefinitely."""

    label: str
    tts: float
    ttr: float | None
    lost_units: float | None
    lost_margin: float | None
    lost_by_node: dict[int, float]
    region_rows: int  # rows of the final LP (the whole model for the full solver)
    solves: int
    beyond_horizon: bool = False  # TTS is at least ``tts`` (the horizon), but finite


def node_disruption(model: SurvivalModel, node: int) -> Disruption:
    site, part = model.nodes[node]
    return Disruption(f"{site}/{part}", tuple(model.disrupt_cols[node]), (node,))


def site_disruption(model: SurvivalModel, site: str) -> Disruption:
    nodes = model.site_nodes.get(site, [])
    cols = sorted({c for n in nodes for c in model.disrupt_cols[n]})
    return Disruption(site, tuple(cols), tuple(nodes))


def lanes_disruption(model: SurvivalModel, lane_ids: set[str], label: str) -> Disruption:
    cols = sorted(model.lane_col[i] for i in lane_ids if i in model.lane_col)
    origins = sorted({int(model.col_node[c]) for c in cols})
    return Disruption(label, tuple(cols), tuple(origins))


@dataclass(frozen=True)
class _Mode:
    """What the LP asks: max t (``T`` is None) or min weighted lost demand with t fixed at T.

    ``zero_stock`` asks the long-run question: with no inventory at all, can t reach 1? The
    feasible set is then a cone, so yes means the network survives indefinitely.
    """

    q_active: float  # alternates qualified within this many days are usable
    t_lower: float = 0.0
    t_upper: float = INF
    T: float | None = None
    zero_stock: bool = False


def _take(
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


def _touched(a: sparse.csc_matrix | sparse.csr_matrix, sel: Any) -> IntArray:
    """The rows columns ``sel`` touch (CSC), or the columns rows ``sel`` touch (CSR), once
    each."""
    return np.unique(_take(a, np.asarray(sel, dtype=np.int64))[1])


class _Region:
    """The LP restricted to a set of rows, kept in one Highs object between re-solves."""

    def __init__(self, s: _Base, rows_mask: np.ndarray, fixed: np.ndarray) -> None:
        m = s.model
        self.s = s
        self.rows = np.flatnonzero(rows_mask)
        n_r = len(self.rows)
        # The region's rows, entry by entry (plain NumPy: scipy's slicing costs more here
        # than the small LPs take to solve).
        self.r_at, self.r_col, self.r_val = _take(s.A_csr, self.rows)
        counts = np.bincount(self.r_col, minlength=m.n_cols)
        touched = np.flatnonzero(counts)
        whole = counts[touched] == s.col_nnz[touched]
        inner = touched[whole]
        edge = touched[~whole]
        # An edge column may move off its baseline in the direction that only loosens the
        # outside rows it touches (less consumption, or more supply): it joins the LP with
        # one extra row, x <= b*t or x >= b*t. Otherwise it is held at b*t (folded into t).
        owner, e_row, e_val = _take(m.A, edge)
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
        owner, e_row, e_val = _take(m.A, self.inner)
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

    def set_mode(self, mode: _Mode) -> None:
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

    def run(self, mode: _Mode) -> tuple[float, IntArray]:
        """Solve; return (t, outside columns whose rows must join), t = inf if unbounded."""
        self.h.run()
        status = self.h.getModelStatus()
        if status not in _SETTLED:
            # A warm start HiGHS could not use (rare): forget the basis and solve cold.
            self.h.clearSolver()
            self.h.run()
            status = self.h.getModelStatus()
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


class _Base:
    """Shared machinery; subclasses choose the starting rows."""

    def __init__(self, model: SurvivalModel, horizon: float | None = None) -> None:
        """``horizon``: days beyond which TTS is only reported as "at least this" (None: exact).

        With a horizon, the long-survival nodes need not be solved to the last day, which
        is where the sub-network grows widest; whether they survive indefinitely is still
        decided exactly.
        """
        self.model = model
        self.horizon = horizon
        self.A_csr = model.A.tocsr()
        self.col_nnz = np.diff(model.A.indptr)
        self.a_t = model.a_t
        self.row_q = np.full(model.n_rows, np.nan)
        sub = np.flatnonzero(model.col_kind == SUBST)
        self.row_q[model.col_qrow[sub]] = model.col_q[sub]
        top = float(np.max(model.lost_margin, initial=0.0))
        # Margin first; a small per-unit term makes losing zero-margin output still count.
        self.weight = model.lost_margin + 1e-6 * max(top, 1.0)
        self.deficit = model.deficit_rows()
        self.highs = quiet_highs()
        self.highs.setOptionValue("presolve", "off")

    def seed_rows(self, d: Disruption) -> np.ndarray:
        raise NotImplementedError

    def cannot_last(self, d: Disruption) -> bool:
        """Cheap proofs, asked before the long-run LP on the network, that the disruption
        cannot be survived indefinitely (False: unknown)."""
        return False

    def solve(
        self, d: Disruption, ttr: float | None = None, demand_nodes: set[int] | None = None
    ) -> Outcome:
        """TTS of the disruption and, when ``ttr`` is given, its performance impact.

        ``demand_nodes`` keeps only those nodes' demand in the TTS question (a plant's own
        time to survive); the impact LP always counts all demand.
        """
        m = self.model
        fixed = np.zeros(m.n_cols, dtype=bool)
        fixed[list(d.cols)] = True
        mask = self.seed_rows(d)
        solves = 0
        saved_a_t = self.a_t
        if demand_nodes is not None:
            # Only balance rows carry demand; drop it everywhere but the chosen nodes.
            a_t = m.a_t.copy()
            drop = np.ones(len(m.nodes), dtype=bool)
            drop[sorted(demand_nodes)] = False
            a_t[: len(m.nodes)][drop] = 0.0
            self.a_t = a_t
        region: _Region | None = None

        def optimise(mode: _Mode) -> float:
            """The region's optimum, grown until proved exact."""
            nonlocal region, solves, mask
            saved = None
            while True:
                if region is None:
                    region = _Region(self, mask, fixed)
                    if saved is not None:
                        region.warm_start(saved)
                region.set_mode(mode)
                t, grow = region.run(mode)
                solves += 1
                if not len(grow):
                    return t
                # Warm-start a wider region from this one's basis (nan: infeasible, no basis);
                # small LPs solve cold faster than a basis travels through Python.
                warm = t == t and len(region.rows) >= _WARM_ROWS
                saved = region.keep_basis() if warm else None
                mask = mask.copy()
                new = _touched(m.A, grow)
                for _ in range(_GROW_HOPS - 1):
                    # A shortfall travels along supply chains: widen by a few hops at once
                    # rather than walk them one round (one LP) per hop.
                    new = new[~mask[new]]
                    mask[new] = True
                    new = _touched(m.A, _touched(self.A_csr, new))
                mask[new] = True
                region = None

        horizon = INF if self.horizon is None else self.horizon
        beyond = False
        try:
            t = optimise(_Mode(q_active=0.0, t_upper=horizon))
            # An alternate counts only if the network survives until it is qualified.
            q_prev = 0.0
            for q in m.qualification_days:
                if q <= 0:
                    continue
                if t == INF or t < q:
                    break
                # Same region and no alternate of the region qualifying in (q_prev, q]: the
                # LP is unchanged but for t >= q, which the optimum already meets.
                if region is None or not region.still_optimal(q_prev, q):
                    t = optimise(_Mode(q_active=q, t_lower=q, t_upper=horizon))
                q_prev = q
            if t >= horizon * (1 - 1e-9):
                # Past the horizon: indefinitely, or only for a long while? The cheap proofs
                # first (counting, then the part sums); the network's own certificate of a
                # shortfall can be wide.
                whole = demand_nodes is None  # the proofs weigh every plant's demand
                if whole and self.cannot_last(d):
                    forever = 0.0
                else:
                    forever = optimise(_Mode(q_active=INF, t_upper=1.0, zero_stock=True))
                if forever >= 1 - 1e-9:
                    t = INF
                else:
                    t, beyond = horizon, True
        finally:
            self.a_t = saved_a_t
        lost_units: float | None = None
        lost_margin: float | None = None
        by_node: dict[int, float] = {}
        if ttr is not None:
            lost_units = lost_margin = 0.0
            if t < ttr:
                if demand_nodes is not None:
                    region = None  # the impact LP counts every plant's demand: new t column
                optimise(_Mode(q_active=ttr, T=ttr))
                assert region is not None
                r: _Region = region
                lost = r.kind_inner == LOST
                cols = r.inner[lost]
                vals = np.maximum(r.values[lost], 0.0)
                lost_units = float(vals.sum())
                lost_margin = float(vals @ m.lost_margin[cols])
                by_node = {
                    int(m.col_node[c]): float(v) for c, v in zip(cols, vals, strict=True) if v > 0
                }
        rows = 0 if region is None else len(region.rows)
        return Outcome(d.label, t, ttr, lost_units, lost_margin, by_node, rows, solves, beyond)


class FullSolver(_Base):
    """The whole-network LP for every disruption (no cut)."""

    def seed_rows(self, d: Disruption) -> np.ndarray:
        return np.ones(self.model.n_rows, dtype=bool)


class RegionSolver(_Base):
    """The LP cut down to the disruption's sub-network, grown until provably exact."""

    def __init__(self, model: SurvivalModel, horizon: float | None = None) -> None:
        super().__init__(model, horizon)
        # Devex pricing: the region LPs are small and solved few times each, so steepest
        # edge's exact weights cost more than the iterations they save (measured: region
        # solves about 20 % faster; the big part-sum LP is the other way round). The naive
        # whole-network solver keeps HiGHS's default.
        self.highs.setOptionValue("simplex_dual_edge_weight_strategy", 1)
        m = model
        need, node_part = part_needs(m)
        prod = np.flatnonzero(m.col_kind == PROD)
        self._need, self._node_part = need, node_part
        self._need_scale = max(1.0, float(np.max(need, initial=0.0)))
        self._up = Upstream(m)
        self._most = self._up.most
        self._part_prod: dict[int, list[int]] = {}
        self._summed: PartBalance | None = None  # built on first use (0.5 s at Ford's scale)
        self._last_cone: tuple[tuple[int, ...], list[int]] = ((), [])
        for c in prod:
            self._part_prod.setdefault(int(node_part[m.col_node[c]]), []).append(int(c))

    def _cone(self, d: Disruption) -> list[int]:
        """Every node downstream of the disruption (seeding and counting both need it)."""
        if self._last_cone[0] != d.origins:
            self._last_cone = (d.origins, downstream_closure(self.model, d.origins))
        return self._last_cone[1]

    def cannot_last(self, d: Disruption) -> bool:
        """Counting first (microseconds), then the part sums (milliseconds)."""
        return self.counted_short(d) or self.summed_short(d)

    def summed_short(self, d: Disruption) -> bool:
        """The LP summed part by part (:class:`PartBalance`: shared capacity, what
        alternates' makers can spare), a few milliseconds where the network's own long-run
        certificate can take seconds."""
        if self._summed is None:
            self._summed = PartBalance(self.model, self._node_part)
        return self._summed.cannot_last(d.cols)

    def counted_short(self, d: Disruption) -> bool:
        """Some part's production stops where it is made, and the rest cannot make enough.

        With no stock, total production of a part must cover its total need (summing its
        balance rows cancels every lane). ``_most`` bounds what each other maker could make
        per day if its whole upstream worked for it alone, so a sum below the need proves
        TTS finite.
        """
        m = self.model
        cut = set(d.cols)
        for c in cut:
            if m.col_kind[c] != PROD:
                continue
            p = int(self._node_part[m.col_node[c]])
            # Rates summed through the BOM carry rounding noise: demand a clear shortfall.
            slack = 1e-7 * self._need_scale
            if self._need[p] <= slack:
                continue
            left = sum(self._most[k] for k in self._part_prod[p] if k not in cut)
            if left < self._need[p] * (1 - 1e-9) - slack:
                return True
        # Per plant: can what might still reach each demand node cover its demand?
        cone = self._cone(d)
        avail = self._up.after_cut(frozenset(cut), cone)
        for i in cone:
            need = float(m.a_t[i]) if i < len(m.nodes) else 0.0
            if need > 0 and avail[i] < need * (1 - 1e-9) - 1e-7 * self._need_scale:
                return True
        return False

    def seed_rows(self, d: Disruption) -> np.ndarray:
        m = self.model
        mask = np.zeros(m.n_rows, dtype=bool)
        mask[self.deficit] = True
        if d.cols:
            mask[_touched(m.A, d.cols)] = True
        # Everything downstream of the cut loses supply: start with its balance rows...
        cone = np.asarray(self._cone(d), dtype=np.int64)
        mask[cone] = True
        # ...and the other makers of a part whose production stops: their customers turn to
        # them first (seeding them saves two rounds on most nodes of the default network).
        cut = set(d.cols)
        stopped = {int(self._node_part[m.col_node[c]]) for c in cut if m.col_kind[c] == PROD}
        others = [k for p in stopped for k in self._part_prod[p] if k not in cut]
        if others:
            mask[_touched(m.A, others)] = True
        return mask
