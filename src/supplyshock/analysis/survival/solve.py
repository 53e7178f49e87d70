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

import numpy as np

from supplyshock.analysis.survival.bounds import (
    PartBalance,
    Upstream,
    downstream_closure,
    part_needs,
    quiet_highs,
)
from supplyshock.analysis.survival.model import LOST, PROD, SUBST, FloatArray, SurvivalModel
from supplyshock.analysis.survival.region import INF, Mode, Region, Search, touched
from supplyshock.analysis.survival.warm import WarmSearch

__all__ = [
    "INF",
    "Disruption",
    "FullSolver",
    "Outcome",
    "RegionSolver",
    "WarmSolver",
    "lanes_disruption",
    "node_disruption",
    "site_disruption",
]


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
    method: str = "region"  # "region", "warm" (whole network, one warm model) or "full"


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
        self.deadline: float | None = None  # perf_counter() past which a search gives up
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
        search = self.search_for(d, fixed, demand_nodes)
        saved_a_t = self.a_t
        if demand_nodes is not None:
            self.a_t = self._own_demand(demand_nodes)
        try:
            t, beyond = self._tts(search, d, demand_nodes)
        finally:
            self.a_t = saved_a_t
        lost_units: float | None = None
        lost_margin: float | None = None
        by_node: dict[int, float] = {}
        if ttr is not None:
            lost_units, lost_margin, by_node = self._impact(search, t, ttr, demand_nodes)
        rows = 0 if search.region is None else len(search.region.rows)
        return Outcome(
            d.label,
            t,
            ttr,
            lost_units,
            lost_margin,
            by_node,
            rows,
            search.solves,
            beyond,
            self.method,
        )

    method = "region"

    def search_for(
        self, d: Disruption, fixed: np.ndarray, demand_nodes: set[int] | None
    ) -> Search | WarmSearch:
        """The search that answers this disruption (a region grown from its seed rows)."""
        return Search(self, fixed, self.seed_rows(d))

    def _own_demand(self, demand_nodes: set[int]) -> FloatArray:
        """``a_t`` with demand kept only at ``demand_nodes`` (only balance rows carry it)."""
        m = self.model
        a_t = m.a_t.copy()
        drop = np.ones(len(m.nodes), dtype=bool)
        drop[sorted(demand_nodes)] = False
        a_t[: len(m.nodes)][drop] = 0.0
        return a_t

    def _tts(
        self, search: Search | WarmSearch, d: Disruption, demand_nodes: set[int] | None
    ) -> tuple[float, bool]:
        """Max t, alternates joining as they qualify; and whether it is only "at least"."""
        m = self.model
        horizon = INF if self.horizon is None else self.horizon
        t = search.optimise(Mode(q_active=0.0, t_upper=horizon))
        # An alternate counts only if the network survives until it is qualified.
        q_prev = 0.0
        for q in m.qualification_days:
            if q <= 0:
                continue
            if t == INF or t < q:
                break
            # Same region and no alternate of the region qualifying in (q_prev, q]: the
            # LP is unchanged but for t >= q, which the optimum already meets.
            if search.region is None or not search.region.still_optimal(q_prev, q):
                t = search.optimise(Mode(q_active=q, t_lower=q, t_upper=horizon))
            q_prev = q
        if t < horizon * (1 - 1e-9):
            return t, False
        # Past the horizon: indefinitely, or only for a long while? The cheap proofs
        # first (counting, then the part sums); the network's own certificate of a
        # shortfall can be wide.
        whole = demand_nodes is None  # the proofs weigh every plant's demand
        if whole and self.cannot_last(d):
            forever = 0.0
        else:
            forever = search.optimise(Mode(q_active=INF, t_upper=1.0, zero_stock=True))
        if forever >= 1 - 1e-9:
            return INF, False
        return horizon, True

    def _impact(
        self, search: Search | WarmSearch, t: float, ttr: float, demand_nodes: set[int] | None
    ) -> tuple[float, float, dict[int, float]]:
        """Units and margin lost while down for ``ttr`` days, in total and per node."""
        if not t < ttr:
            return 0.0, 0.0, {}
        m = self.model
        if demand_nodes is not None:
            search.region = None  # the impact LP counts every plant's demand: new t column
        search.optimise(Mode(q_active=ttr, T=ttr))
        assert search.region is not None
        r: Region = search.region
        lost = r.kind_inner == LOST
        cols = r.inner[lost]
        vals = np.maximum(r.values[lost], 0.0)
        by_node = {int(m.col_node[c]): float(v) for c, v in zip(cols, vals, strict=True) if v > 0}
        return float(vals.sum()), float(vals @ m.lost_margin[cols]), by_node


class FullSolver(_Base):
    """The whole-network LP for every disruption (no cut), built afresh each time."""

    method = "full"

    def seed_rows(self, d: Disruption) -> np.ndarray:
        return np.ones(self.model.n_rows, dtype=bool)


class WarmSolver(FullSolver):
    """The whole-network LP in one HiGHS model: a disruption changes bounds, HiGHS re-solves
    from the last basis, and a disruption the undisrupted optimum never relied on is
    answered without an LP (:mod:`~supplyshock.analysis.survival.warm`)."""

    method = "warm"

    def __init__(self, model: SurvivalModel, horizon: float | None = None) -> None:
        super().__init__(model, horizon)
        # Devex pricing: 30 % faster than the default here (350-node three-tier network).
        self.highs.setOptionValue("simplex_dual_edge_weight_strategy", 1)
        self._warm: WarmSearch | None = None  # built on first use (passes the whole LP)

    def search_for(
        self, d: Disruption, fixed: np.ndarray, demand_nodes: set[int] | None
    ) -> Search | WarmSearch:
        if demand_nodes is not None:  # another t column: not the kept model
            return Search(self, fixed, self.seed_rows(d))
        if self._warm is None:
            self._warm = WarmSearch(self, self.model)
        return self._warm.start(fixed, d.cols)


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
            mask[touched(m.A, d.cols)] = True
        # Everything downstream of the cut loses supply: start with its balance rows...
        cone = np.asarray(self._cone(d), dtype=np.int64)
        mask[cone] = True
        # ...and the other makers of a part whose production stops: their customers turn to
        # them first (seeding them saves two rounds on most nodes of the default network).
        cut = set(d.cols)
        stopped = {int(self._node_part[m.col_node[c]]) for c in cut if m.col_kind[c] == PROD}
        others = [k for p in stopped for k in self._part_prod[p] if k not in cut]
        if others:
            mask[touched(m.A, others)] = True
        return mask
