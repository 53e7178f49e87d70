"""Cheap proofs that a disruption cannot be survived indefinitely.

Used by :class:`~supplyshock.analysis.survival.solve.RegionSolver` to skip the long-run LP on
the network: with no stock anywhere, what could each node have per day at most, what must each
part be made in total, and can the network summed part by part still go on for ever.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

import highspy as _highspy
import numpy as np
from scipy import sparse

from supplyshock.analysis.survival.model import (
    CAPACITY,
    FLOW,
    GROUP,
    LANE_CAP,
    PROD,
    QUALIFY,
    SUBST,
    SurvivalModel,
)

highspy: Any = _highspy  # untyped extension module
_ITERATION_LIMIT = 2000
_NO_LIMIT = 2**31 - 1  # HiGHS's default
_LOOSEN = 1e-6  # relative slack given to the part sums' bounds (see PartBalance)

INF = float("inf")


class Upstream:
    """Upper bounds on what each node could have per day with no stock anywhere.

    A make-node makes at most its capacity (and its group's) and what its BOM inputs allow; a
    node has at most what it makes plus what its lanes (up to their capacity) and alternates
    (up to their rate) could bring if every supplier upstream worked for it alone. Optimistic
    on purpose: these bounds only ever prove that a disruption cannot be covered.
    """

    def __init__(self, m: SurvivalModel) -> None:
        n = len(m.nodes)
        csc = m.A.tocsc()
        # node -> [(column, source node, units of source per unit, cap per day)]
        self.inputs: list[list[tuple[int, int, float, float]]] = [[] for _ in range(n)]
        # node -> (production column, cap per day, [(input node, qty)])
        self.make: dict[int, tuple[int, float, list[tuple[int, float]]]] = {}
        for c in range(m.n_cols):
            lo, hi = csc.indptr[c], csc.indptr[c + 1]
            rows, vals = csc.indices[lo:hi], csc.data[lo:hi]
            kind = m.col_kind[c]
            own = int(m.col_node[c])
            if kind == PROD:
                cap, kids = INF, []
                for r, v in zip(rows, vals, strict=True):
                    if m.row_kind[r] in (CAPACITY, GROUP):
                        cap = min(cap, -float(m.a_t[r]))
                    elif r < n and v > 0:
                        kids.append((int(r), float(v)))
                self.make[own] = (c, cap, kids)
            elif kind == FLOW or kind == SUBST:
                src, ratio, cap = -1, 1.0, INF
                for r, v in zip(rows, vals, strict=True):
                    if r < n and v > 0:
                        src, ratio = int(r), float(v)
                    elif m.row_kind[r] in (LANE_CAP, QUALIFY):
                        cap = -float(m.a_t[r])  # lane capacity, or an alternate's rate
                self.inputs[own].append((c, src, ratio, cap))
        # Dependency order (suppliers and BOM inputs first); nodes on a cycle are left out
        # and count as unlimited, which keeps the bounds safe.
        deps: list[set[int]] = [{src for _c, src, _r, _k in self.inputs[i]} for i in range(n)]
        for i, (_c, _cap, kids) in self.make.items():
            deps[i] |= {k for k, _q in kids}
        users: list[list[int]] = [[] for _ in range(n)]
        for i, ds in enumerate(deps):
            for j in ds:
                users[j].append(i)
        waiting = [len(ds) for ds in deps]
        ready = [i for i in range(n) if waiting[i] == 0]
        self.rank = np.full(n, n, dtype=np.int64)
        self.avail = np.full(n, INF)
        self.most: dict[int, float] = {c: INF for c, _cap, _k in self.make.values()}
        k = 0
        while ready:
            i = ready.pop()
            self.rank[i] = k
            k += 1
            self.avail[i] = self._node(i, frozenset(), self.avail)
            for u in users[i]:
                waiting[u] -= 1
                if waiting[u] == 0:
                    ready.append(u)

    def _node(self, i: int, cut: frozenset[int], avail: np.ndarray) -> float:
        total = 0.0
        if i in self.make:
            c, cap, kids = self.make[i]
            out = 0.0 if c in cut else min([cap] + [avail[k] / q for k, q in kids])
            if not cut:
                self.most[c] = out
            total += out
        for c, src, ratio, cap in self.inputs[i]:
            if c not in cut:
                total += min(cap, avail[src] / ratio)
        return total

    def after_cut(self, cut: frozenset[int], cone: list[int]) -> np.ndarray:
        """The bounds again with ``cut`` columns stopped; only ``cone`` (all that lies
        downstream of them) can change."""
        avail = self.avail.copy()
        for i in sorted(cone, key=lambda j: int(self.rank[j])):
            if self.rank[i] < len(avail):
                avail[i] = self._node(i, cut, avail)
        return avail


def parents_first(n: int, parents: dict[int, set[tuple[int, float]]]) -> list[int]:
    """Parts ordered so that every part comes after all the parts it goes into."""
    kids: dict[int, list[int]] = {}
    waiting = [0] * n
    for child, ps in parents.items():
        waiting[child] = len({q for q, _ in ps})
        for q in {q for q, _ in ps}:
            kids.setdefault(q, []).append(child)
    ready = [p for p in range(n) if waiting[p] == 0]
    order: list[int] = []
    while ready:
        p = ready.pop()
        order.append(p)
        for c in kids.get(p, []):
            waiting[c] -= 1
            if waiting[c] == 0:
                ready.append(c)
    return order


def part_needs(m: SurvivalModel) -> tuple[np.ndarray, np.ndarray]:
    """(need per part, part index of each node).

    need[p] is a lower bound on the units of p per day that demand requires in total, whatever
    the routing: demand of p plus qty x need of each parent, less what alternates may stand
    in for p (each at most its rate).
    """
    parts = sorted({p for _s, p in m.nodes})
    part_id = {p: i for i, p in enumerate(parts)}
    node_part = np.array([part_id[p] for _s, p in m.nodes], dtype=np.int64)
    demand = np.zeros(len(parts))
    np.add.at(demand, node_part, m.a_t[: len(m.nodes)])
    prod = np.flatnonzero(m.col_kind == PROD)
    sub = m.A[:, prod].tocsc()
    parents: dict[int, set[tuple[int, float]]] = {}
    for j, c in enumerate(prod):
        own = node_part[m.col_node[c]]
        lo, hi = sub.indptr[j], sub.indptr[j + 1]
        for r, v in zip(sub.indices[lo:hi], sub.data[lo:hi], strict=True):
            if r < len(m.nodes) and v > 0:
                parents.setdefault(int(node_part[r]), set()).add((int(own), float(v)))
    stand_in = np.zeros(len(parts))
    for c in np.flatnonzero(m.col_kind == SUBST):
        stand_in[node_part[m.col_node[c]]] -= m.a_t[m.col_qrow[c]]  # a_t = -rate
    need = demand.copy()
    for p in parents_first(len(parts), parents):
        for q, qty in parents.get(p, ()):
            need[p] += qty * need[q]
        need[p] = max(0.0, need[p] - stand_in[p])
    return need, node_part


def downstream_closure(m: SurvivalModel, origins: tuple[int, ...]) -> list[int]:
    """The origins and every node downstream of them (that consumes what they hold)."""
    seen = set(origins)
    stack = list(origins)
    while stack:
        n = stack.pop()
        for k in m.downstream[n]:
            if k not in seen:
                seen.add(k)
                stack.append(k)
    return list(seen)


_BANNER_LOCK = threading.Lock()


def quiet_highs() -> Any:
    """A HiGHS instance that prints nothing and runs on one thread (the sweep's workers
    are the parallelism; HiGHS's own thread pool only adds start-up cost per run).

    HiGHS writes its banner straight to file descriptor 1 when an instance is made, before any
    option can switch it off; `--json` output must be the document alone, so the descriptor
    points at /dev/null while the instance is built.
    """
    with _BANNER_LOCK:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "wb") as null:
                os.dup2(null.fileno(), 1)
                h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    return h


def highs_model(
    start: np.ndarray,
    index: np.ndarray,
    value: np.ndarray,
    row_upper: np.ndarray,
    cost: np.ndarray | None = None,
    col_upper: np.ndarray | None = None,
    into: Any = None,
) -> Any:
    """A quiet HiGHS model of ``A x <= row_upper, 0 <= x <= col_upper`` (default: no upper
    bound), minimising ``cost`` (default 0), A given column-wise; ``into`` reuses a HiGHS
    instance (its options stay, its model and solver state go)."""
    n_cols, n_rows = len(start) - 1, len(row_upper)
    h = quiet_highs() if into is None else into
    h.passModel(
        n_cols,
        n_rows,
        len(index),
        highspy.MatrixFormat.kColwise.value,
        highspy.ObjSense.kMinimize.value,
        0.0,
        np.zeros(n_cols) if cost is None else cost,
        np.zeros(n_cols),
        np.full(n_cols, highspy.kHighsInf) if col_upper is None else col_upper,
        np.full(n_rows, -highspy.kHighsInf),
        np.asarray(row_upper, dtype=np.float64),
        np.asarray(start, dtype=np.int32),
        np.asarray(index, dtype=np.int32),
        np.asarray(value, dtype=np.float64),
        np.zeros(n_cols, dtype=np.int32),  # every column continuous
    )
    return h


class PartBalance:
    """The long-run question with each part's balance rows summed over all its sites.

    Summing the balance rows of a part cancels every lane (a lane leaves one node of the part
    and enters another), so what is left says: with no stock, everything made of a part, plus
    what alternates stand in for it, must cover its demand, what its parents consume and what
    it stands in for elsewhere. Capacity-group rows are kept; capacities and alternates' rates
    become column bounds; lane capacities drop out with the lanes. Every plan of the whole
    network sums to a plan of this LP, so when this LP is infeasible with a disruption's
    columns stopped, the network cannot go on for ever: the time to survive is finite.

    The long-run LP is a cone, so going on for ever is the same as lasting one day with no
    stock: t is fixed at 1, which leaves a feasibility LP of one row per part and group.
    Every bound and right-hand side is loosened by a relative ``_LOOSEN`` (still a relaxation,
    so proofs stay proofs): at exactly zero slack, HiGHS's tolerances decided the wrong way
    on one node of the default network and gave up on nine. One HiGHS model answers every
    question: a question stops a few columns, re-solves from the last basis (dual simplex)
    and lets them run again.
    """

    def __init__(self, m: SurvivalModel, node_part: np.ndarray) -> None:
        n = len(m.nodes)
        parts = int(node_part.max(initial=-1)) + 1
        # Lanes cancel in the sums; lost demand is not allowed in the long-run question.
        self.cols = np.flatnonzero((m.col_kind == PROD) | (m.col_kind == SUBST))
        self.pos = np.full(m.n_cols, -1, dtype=np.int64)
        self.pos[self.cols] = np.arange(len(self.cols))
        a = m.A.tocsr()
        groups = np.flatnonzero(m.row_kind == GROUP)
        summed = sparse.csr_matrix((np.ones(n), (node_part, np.arange(n))), shape=(parts, n))
        lp_a = sparse.vstack([summed @ a[:n][:, self.cols], a[groups][:, self.cols]]).tocsc()
        lp_a.eliminate_zeros()
        # t = 1: demand (a part's) and capacity (a group's) move to the right-hand side.
        rhs = -np.concatenate([summed @ m.a_t[:n], m.a_t[groups]])
        rhs *= np.where(rhs > 0, 1 + _LOOSEN, 1 - _LOOSEN)
        # A capacity row x <= c*t, or an alternate's z <= rate*t, is a bound at t = 1.
        caps = np.flatnonzero(np.isin(m.row_kind, (CAPACITY, QUALIFY)))
        bounded = sparse.coo_matrix(a[caps][:, self.cols])
        limits = -m.a_t[caps]
        self.upper = np.full(len(self.cols), highspy.kHighsInf)
        np.minimum.at(self.upper, bounded.col, limits[bounded.row] / bounded.data)
        self.upper *= 1 + _LOOSEN
        self.h = highs_model(lp_a.indptr, lp_a.indices, lp_a.data, rhs, col_upper=self.upper)
        self.stalls = 0
        self._afresh()
        self.sustainable = self.h.getModelStatus() == highspy.HighsModelStatus.kOptimal

    def _afresh(self) -> None:
        """Solve the undisrupted LP cold (presolve helps here), then set up for questions,
        which start from the last basis. A question takes a few dozen dual simplex
        iterations, but this LP is highly degenerate and from an unlucky basis HiGHS can
        stall for minutes: past a limit the question gets no proof (the network LP decides)
        and the model starts afresh."""
        self.h.clearSolver()
        self.h.setOptionValue("presolve", "on")
        self.h.setOptionValue("simplex_iteration_limit", _NO_LIMIT)
        self.h.run()
        self.h.setOptionValue("presolve", "off")
        self.h.setOptionValue("simplex_iteration_limit", _ITERATION_LIMIT)

    def cannot_last(self, cols: tuple[int, ...]) -> bool:
        """Whether stopping ``cols`` provably leaves the network unable to go on for ever."""
        if not self.sustainable:
            return True
        mine = self.pos[list(cols)]
        mine = mine[mine >= 0].astype(np.int32)
        if not len(mine):
            return False  # only lanes stopped: they vanished in the sums
        k = len(mine)
        self.h.changeColsBounds(k, mine, np.zeros(k), np.zeros(k))
        self.h.run()
        status = self.h.getModelStatus()
        self.h.changeColsBounds(k, mine, np.zeros(k), self.upper[mine])
        if status == highspy.HighsModelStatus.kInfeasible:
            return True
        if status != highspy.HighsModelStatus.kOptimal:
            self.stalls += 1
            self._afresh()
        return False
