"""Compile a supply network into the arrays of the time-to-survive linear program.

The LP (docs/survival.md) is a single-period fluid model over a horizon of ``t`` days. Every
quantity is a total over ``[0, t]``; capacities and demand are rates, so they enter multiplied
by ``t``. All rows are ``<=`` rows::

    A v + a_t t <= rhs,   v >= 0

Rows, in this order:

* one *balance* row per node ``(site, part)``: outflow + consumption by parents made at the
  site + demand*t - lost - production - inflow - substitutes <= inventory (on hand + in transit)
* one *capacity* row per production column with a finite capacity: x - c*t <= 0
* one row per capacity group: sum of member productions - C*t <= 0
* one row per lane with a stated capacity: f - c*t <= 0
* one *qualification* row per alternate use: z - rate*t <= -rate*q (switched off when the
  alternate is not yet qualified)

Columns: production ``x`` per make-node, flow ``f`` per lane, substitution ``z`` per alternate
use, lost demand ``l`` per demand node (only free in the performance-impact LP), then ``t``.
The *baseline* ``b`` is today's per-day operation (requirements pushed through lane shares);
rows the baseline cannot sustain forever are the model's *deficit rows*.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import sparse

from supplyshock.domain.network import Network, NetworkIndex, Production

Node = tuple[str, str]  # (site, part)
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Row kinds
BALANCE, CAPACITY, GROUP, LANE_CAP, QUALIFY = 0, 1, 2, 3, 4
# Column kinds
PROD, FLOW, SUBST, LOST = 0, 1, 2, 3

_DEFICIT_TOL = 1e-9


@dataclass
class SurvivalModel:
    """The whole-network LP as arrays, plus the lookups a sweep needs (picklable)."""

    nodes: list[Node]
    node_index: dict[Node, int]
    A: sparse.csc_matrix  # rows x columns, without t
    a_t: FloatArray  # coefficient of t in each row
    rhs: FloatArray  # row upper bounds (qualification rows: -rate*q)
    row_kind: npt.NDArray[np.int8]
    col_kind: npt.NDArray[np.int8]
    baseline: FloatArray  # per-day value of every column today
    col_q: FloatArray  # qualification days of substitution columns (nan elsewhere)
    col_qrow: IntArray  # the qualification row of a substitution column (-1 elsewhere)
    lost_rate: FloatArray  # demand per day behind a lost column (0 elsewhere)
    lost_margin: FloatArray  # margin per unit behind a lost column (0 elsewhere)
    col_node: IntArray  # node a column belongs to (x, l, z: its node; f: the customer node)
    lane_col: dict[str, int]
    disrupt_cols: list[list[int]]  # per node: columns that stop when the node is down
    downstream: list[list[int]]  # per node: nodes that consume what it holds
    supply_nodes: list[int]  # nodes that make or ship a part (the sweep's default list)
    site_ttr: dict[str, float | None]
    site_nodes: dict[str, list[int]]
    demand_nodes: list[int]
    qualification_days: list[float] = field(default_factory=list)  # distinct q, ascending

    @property
    def n_rows(self) -> int:
        return int(self.A.shape[0])

    @property
    def n_cols(self) -> int:
        return int(self.A.shape[1])

    def deficit_rows(self) -> IntArray:
        """Rows the baseline cannot sustain for ever (they may bind whatever is disrupted)."""
        per_day = self.A @ self.baseline + self.a_t
        scale = abs(self.A) @ self.baseline + np.abs(self.a_t)
        live = self.row_kind != QUALIFY
        # Relative test: rates summed through shares carry rounding noise.
        return np.flatnonzero((per_day > _DEFICIT_TOL * (1.0 + scale)) & live).astype(np.int64)

    def ttr(self, node: int) -> float | None:
        return self.site_ttr.get(self.nodes[node][0])


def build_model(net: Network) -> SurvivalModel:
    """Compile ``net`` into a :class:`SurvivalModel` (see the module docstring for the LP)."""
    idx = net.index
    req = requirements(net)
    prod = {(p.site, p.part): p for p in net.production}
    nodes = _nodes(net, req, prod)
    lp = _Lp(net, nodes)
    # Columns in this order: production, lanes, substitutes, lost demand (the module docstring).
    _add_production(lp, net, req, prod)
    lane_col = _add_lanes(lp, net, req)
    qs = _add_substitutes(lp, net, req)
    demand_nodes = _add_lost(lp, net)
    A = sparse.csc_matrix(
        (lp.entries_v, (lp.entries_r, lp.entries_c)), shape=(len(lp.rows_kind), len(lp.col_kind))
    )
    A.sum_duplicates()
    ships = {lp.node_index[(ln.supplier, ln.part)] for ln in net.lanes}
    supply = sorted({i for i, n in enumerate(nodes) if _makes(idx, prod, n)} | ships)
    site_nodes: dict[str, list[int]] = defaultdict(list)
    for i, (site, _p) in enumerate(nodes):
        site_nodes[site].append(i)
    return SurvivalModel(
        nodes=nodes,
        node_index=lp.node_index,
        A=A,
        a_t=np.asarray(lp.a_t, dtype=np.float64),
        rhs=np.asarray(lp.rhs, dtype=np.float64),
        row_kind=np.asarray(lp.rows_kind, dtype=np.int8),
        col_kind=np.asarray(lp.col_kind, dtype=np.int8),
        baseline=np.asarray(lp.baseline, dtype=np.float64),
        col_q=np.asarray(lp.col_q, dtype=np.float64),
        col_qrow=np.asarray(lp.col_qrow, dtype=np.int64),
        lost_rate=np.asarray(lp.lost_rate, dtype=np.float64),
        lost_margin=np.asarray(lp.lost_margin, dtype=np.float64),
        col_node=np.asarray(lp.col_node, dtype=np.int64),
        lane_col=lane_col,
        disrupt_cols=lp.disrupt,
        downstream=[sorted(d) for d in lp.down],
        supply_nodes=supply,
        site_ttr={s.id: s.ttr_days for s in net.sites},
        site_nodes=dict(site_nodes),
        demand_nodes=demand_nodes,
        qualification_days=sorted(qs),
    )


def _makes(idx: NetworkIndex, prod: dict[Node, Production], n: Node) -> bool:
    """A node makes its part when no lane feeds it, or when it states a production."""
    return n not in idx.lanes_in or n in prod


def _nodes(net: Network, req: dict[Node, float], prod: dict[Node, Production]) -> list[Node]:
    """Every node the LP needs, sorted: required, stocked, demanded, made or on a lane."""
    idx = net.index
    node_set: set[Node] = {k for k, v in req.items() if v > 0}
    node_set |= set(idx.inventory) | set(idx.demand) | set(prod)
    for ln in net.lanes:
        node_set.add((ln.customer, ln.part))
        node_set.add((ln.supplier, ln.part))
    # A make-node needs its BOM children at the same site: add them (they are make-nodes too
    # unless lanes feed them), down the BOM.
    queue = [n for n in node_set if _makes(idx, prod, n)]
    while queue:
        site, part = queue.pop()
        for b in idx.children.get(part, []):
            child = (site, b.child)
            if child not in node_set:
                node_set.add(child)
                if _makes(idx, prod, child):
                    queue.append(child)
    return sorted(node_set)


class _Lp:
    """The LP being assembled: rows, columns with their per-column facts, and COO entries."""

    def __init__(self, net: Network, nodes: list[Node]) -> None:
        """Start with one balance row per node: inventory as its bound, demand on ``t``."""
        idx = net.index
        self.nodes = nodes
        self.node_index = {n: i for i, n in enumerate(nodes)}
        self.rows_kind: list[int] = [BALANCE] * len(nodes)
        self.rhs: list[float] = []
        self.a_t: list[float] = []
        for n in nodes:
            inv = idx.inventory.get(n)
            self.rhs.append(0.0 if inv is None else inv.on_hand + inv.in_transit)
            dem = idx.demand.get(n)
            self.a_t.append(0.0 if dem is None else dem.per_day)
        self.entries_r: list[int] = []
        self.entries_c: list[int] = []
        self.entries_v: list[float] = []
        self.col_kind: list[int] = []
        self.baseline: list[float] = []
        self.col_q: list[float] = []
        self.col_qrow: list[int] = []
        self.lost_rate: list[float] = []
        self.lost_margin: list[float] = []
        self.col_node: list[int] = []
        self.disrupt: list[list[int]] = [[] for _ in nodes]
        self.down: list[set[int]] = [set() for _ in nodes]

    def new_row(self, kind: int, t_coef: float, upper: float) -> int:
        """Append a row ``... + t_coef*t <= upper``; return its index."""
        self.rows_kind.append(kind)
        self.a_t.append(t_coef)
        self.rhs.append(upper)
        return len(self.rows_kind) - 1

    def new_col(self, kind: int, node: int, base: float, coefs: list[tuple[int, float]]) -> int:
        """Append a column with its (row, value) entries; return its index."""
        c = len(self.col_kind)
        self.col_kind.append(kind)
        self.col_node.append(node)
        self.baseline.append(base)
        self.col_q.append(float("nan"))
        self.col_qrow.append(-1)
        self.lost_rate.append(0.0)
        self.lost_margin.append(0.0)
        for r, v in coefs:
            self.entries_r.append(r)
            self.entries_c.append(c)
            self.entries_v.append(v)
        return c


def _add_production(
    lp: _Lp, net: Network, req: dict[Node, float], prod: dict[Node, Production]
) -> None:
    """One production column per make-node, with its capacity and capacity-group rows."""
    idx = net.index
    group_rows: dict[str, int] = {}
    group_cap = {g.id: g.capacity_per_day for g in net.capacity_groups}
    for i, n in enumerate(lp.nodes):
        if not _makes(idx, prod, n):
            continue
        site, part = n
        coefs: list[tuple[int, float]] = [(i, -1.0)]
        for b in idx.children.get(part, []):
            j = lp.node_index[(site, b.child)]
            coefs.append((j, b.qty))
            lp.down[j].add(i)
        rate = req.get(n, 0.0)
        pr = prod.get(n)
        cap: float | None = rate
        if pr is not None and pr.capacity_per_day is not None:
            cap = pr.capacity_per_day
        elif pr is not None and pr.capacity_group is not None:
            cap = None  # only the shared group limits it
        if cap is not None:
            coefs.append((lp.new_row(CAPACITY, -cap, 0.0), 1.0))
        if pr is not None and pr.capacity_group is not None:
            g = pr.capacity_group
            if g not in group_rows:
                group_rows[g] = lp.new_row(GROUP, -group_cap[g], 0.0)
            coefs.append((group_rows[g], 1.0))
        base = rate if n not in idx.lanes_in else 0.0
        lp.disrupt[i].append(lp.new_col(PROD, i, base, coefs))


def _add_lanes(lp: _Lp, net: Network, req: dict[Node, float]) -> dict[str, int]:
    """One flow column per lane; a lane may carry more or less than its share today, up to
    its capacity. Returns each lane's column."""
    idx = net.index
    lane_col: dict[str, int] = {}
    for ln in net.lanes:
        s = lp.node_index[(ln.supplier, ln.part)]
        k = lp.node_index[(ln.customer, ln.part)]
        coefs = [(k, -1.0), (s, 1.0)]
        if ln.capacity_per_day is not None:
            coefs.append((lp.new_row(LANE_CAP, -ln.capacity_per_day, 0.0), 1.0))
        base = idx.supply_share(ln) * req.get((ln.customer, ln.part), 0.0)
        c = lp.new_col(FLOW, k, base, coefs)
        lane_col[ln.id] = c
        lp.disrupt[k].append(c)
        lp.down[s].add(k)
    return lane_col


def _add_substitutes(lp: _Lp, net: Network, req: dict[Node, float]) -> set[float]:
    """Substitution columns: after q days an alternate may stand in for the part at a site, at
    most at the part's baseline consumption rate there. Returns the qualification days seen."""
    idx = net.index
    nodes = lp.nodes
    qs: set[float] = set()
    nodes_of_part: dict[str, list[int]] = defaultdict(list)
    for i, (_site, p) in enumerate(nodes):
        nodes_of_part[p].append(i)
    for part, alts in idx.alternates.items():
        for a in alts:
            for i in nodes_of_part.get(part, []):
                site, p = nodes[i]
                if a.site is not None and a.site != site:
                    continue
                alt_node = lp.node_index.get((site, a.alternate))
                rate = req.get((site, p), 0.0)
                if alt_node is None or rate <= 0:
                    continue
                qrow = lp.new_row(QUALIFY, -rate, -rate * a.qualification_days)
                c = lp.new_col(SUBST, i, 0.0, [(i, -1.0), (alt_node, a.ratio), (qrow, 1.0)])
                lp.col_q[c] = a.qualification_days
                lp.col_qrow[c] = qrow
                qs.add(a.qualification_days)
                lp.down[alt_node].add(i)
    return qs


def _add_lost(lp: _Lp, net: Network) -> list[int]:
    """Lost-demand columns (free in the performance-impact LP only); returns the demand nodes."""
    demand_nodes: list[int] = []
    for n, d in sorted(net.index.demand.items()):
        i = lp.node_index[n]
        c = lp.new_col(LOST, i, 0.0, [(i, -1.0)])
        lp.lost_rate[c] = d.per_day
        lp.lost_margin[c] = d.margin_per_unit
        demand_nodes.append(i)
    return demand_nodes


def requirements(net: Network) -> dict[Node, float]:
    """Daily requirement of every node (:meth:`NetworkIndex.requirements`)."""
    return net.index.requirements()
