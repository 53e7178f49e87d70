"""Group reductions of a :class:`SimModel` prepared once per run for the vectorised engine.

Sums over lanes or BOM edges become sparse matrix products; minima and maxima over a node's
inputs become loops of ``np.minimum`` / ``np.maximum`` over padded index columns (``reduceat``
along rows is ten times slower).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from supplyshock.analysis.montecarlo.model import SimModel

FloatArray = npt.NDArray[np.float64]


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
    """Positions ``0 .. n-1`` (or ``perm``'s) cut into runs at ``starts``."""
    bounds = [*starts.tolist(), n]
    order = list(range(n)) if perm is None else perm.tolist()
    return [order[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def reduce_min(x: npt.NDArray[Any], idx: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
    """Minimum of ``x`` over each row of a :func:`_pad` index matrix."""
    out = x[idx[:, 0]]
    for w in range(1, idx.shape[1]):
        np.minimum(out, x[idx[:, w]], out=out)
    return out


def reduce_max(x: npt.NDArray[Any], idx: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
    """Maximum of ``x`` over each row of a :func:`_pad` index matrix."""
    out = x[idx[:, 0]]
    for w in range(1, idx.shape[1]):
        np.maximum(out, x[idx[:, w]], out=out)
    return out


@dataclass
class LevelOps:
    """One BOM level's inputs as padded index matrices and its usage as a sparse matrix."""

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
    levels: list[LevelOps]
    gates: npt.NDArray[np.int64]  # (controlled lanes, W) gate rows per lane
    dem_in: npt.NDArray[np.int64]  # (P, W) rows of the cover trace per demand node


def build_ops(m: SimModel) -> Ops:
    """The index matrices and sparse sums of ``m`` (the same for every chunk)."""
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
            LevelOps(
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
