"""Make-nodes level by level (children first), with their BOM edges as index arrays."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from supplyshock.domain.network import BomLine

Node = tuple[str, str]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass
class Level:
    """Make-nodes whose BOM inputs are all made at lower levels or bought.

    Edges are sorted by make node (``make_starts`` for ``reduceat``); ``in_perm`` sorts them by
    input node (``in_starts``), so usage per input is one ``reduceat`` too.
    """

    make: IntArray
    edge_make_pos: IntArray
    edge_input: IntArray
    edge_qty: FloatArray
    make_starts: IntArray
    in_unique: IntArray
    in_perm: IntArray
    in_starts: IntArray
    edge_in_pos: IntArray
    shared: bool  # an input feeds more than one make node: rationing needed
    dem_pos: IntArray  # positions in ``make`` that are demand nodes...
    dem_idx: IntArray  # ...and their index among the demand nodes


def run_starts(keys: IntArray) -> IntArray:
    """Start offsets of runs of equal values in a sorted key array."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]).astype(np.int64)


def build_levels(
    nodes: list[Node],
    at: dict[Node, int],
    bought: set[Node],
    level_of: dict[str, int],
    children: dict[str, list[BomLine]],
    dem_keys: list[Node],
) -> tuple[IntArray, list[Level]]:
    """Source nodes (neither bought nor made) and the made nodes grouped level by level."""
    made = [n for n in nodes if n not in bought and children.get(n[1])]
    sources = np.array(
        [at[n] for n in nodes if n not in bought and not children.get(n[1])], dtype=np.int64
    )
    dem_at = {k: i for i, k in enumerate(dem_keys)}
    by_level: dict[int, list[Node]] = defaultdict(list)
    for n in made:
        by_level[level_of[n[1]]].append(n)
    levels = [make_level(by_level[k], at, nodes, children, dem_at) for k in sorted(by_level)]
    return sources, levels


def make_level(
    make: list[Node],
    at: dict[Node, int],
    nodes: list[Node],
    children: dict[str, list[BomLine]],
    dem_at: dict[Node, int],
) -> Level:
    """One level's make-nodes and BOM edges, sorted both ways for ``reduceat``."""
    make_idx = np.array(sorted(at[n] for n in make), dtype=np.int64)
    e_make: list[int] = []
    e_in: list[int] = []
    e_qty: list[float] = []
    for pos, ni in enumerate(make_idx):
        s, p = nodes[int(ni)]
        for b in children[p]:
            e_make.append(pos)
            e_in.append(at[(s, b.child)])
            e_qty.append(b.qty)
    edge_make_pos = np.array(e_make, dtype=np.int64)
    edge_input = np.array(e_in, dtype=np.int64)
    in_perm = np.argsort(edge_input, kind="stable").astype(np.int64)
    in_sorted = edge_input[in_perm]
    in_starts = run_starts(in_sorted)
    in_unique = in_sorted[in_starts]
    dem = [
        (pos, dem_at[nodes[int(ni)]]) for pos, ni in enumerate(make_idx) if nodes[int(ni)] in dem_at
    ]
    return Level(
        make=make_idx,
        edge_make_pos=edge_make_pos,
        edge_input=edge_input,
        edge_qty=np.array(e_qty),
        make_starts=run_starts(edge_make_pos),
        in_unique=in_unique,
        in_perm=in_perm,
        in_starts=in_starts,
        edge_in_pos=np.searchsorted(in_unique, edge_input).astype(np.int64),
        shared=len(in_unique) < len(edge_input),
        dem_pos=np.array([p for p, _ in dem], dtype=np.int64),
        dem_idx=np.array([d for _, d in dem], dtype=np.int64),
    )
