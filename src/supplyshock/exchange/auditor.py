"""The board auditor: can a coalition pin down a member's quantity from everything published?

Pure code (numpy and scipy, no database), so every bound can be checked by hand
(tests/unit/test_auditor.py). The board calls :func:`audit` before each publication, with the
crisis's whole publication history plus the candidate, and suppresses or coarsens figures
until it reports nothing (:mod:`supplyshock.exchange.board`, docs/anonymity.md).

The attacker's model
--------------------
One *component* is one listing kind in one part family: no published figure combines two
components, so they are audited separately. Within it, time is cut into *epochs* (one per
publication). The unknowns are

.. math:: x_{m,c,s} \\ge 0

the quantity member :math:`m` holds in part cell :math:`c` during *segment* :math:`s`, a
maximal run of epochs over which that quantity did not change. The attacker is granted more
than it sees, so that what the audit proves holds a fortiori:

- it knows the **support**: which members hold something in which cell in which epoch, and
  when each of their quantities changed (not to what). Members outside the support are known
  zeros, and one variable spans all the epochs of a segment, so differencing two readings
  (a listing that arrived, or one the coalition amended itself) is modelled exactly;
- a **coalition** :math:`S` of up to :math:`k-1` members knows its own :math:`x_{m,c,s}`,
  :math:`m \\in S`, exactly, in every epoch.

Each published figure of epoch :math:`e` (a part cell, or the family total) says

.. math:: lo_f \\le \\sum_{m} \\sum_{c \\in f} x_{m,c,s(m,c,e)} \\le hi_f,

an interval because totals are published rounded (``lo = hi`` for an exact figure).

The test (the p % rule, as protection levels)
---------------------------------------------
For each coalition :math:`S` and each other member's positive variable with true value
:math:`v`, two LPs give the tightest bounds :math:`[\\underline{x}, \\overline{x}]` the
attacker can derive. The variable is **exposed** unless

.. math:: \\overline{x} \\ge (1 + p) v \\quad\\text{and}\\quad \\underline{x} \\le (1 - p) v,

i.e. the attacker cannot estimate it to within :math:`p` (default 10 %) on either side
(Fischetti and Salazar-González, "Models and algorithms for optimizing cell suppression in
tabular data with linear constraints", JASA 95(451), 2000: upper and lower protection levels).

Coalitions and cost
-------------------
With :math:`M` members in a component, every :math:`(k-1)`-subset is tried against every
victim while :math:`\\binom{M}{k-1} \\le` ``max_coalitions``. In larger components each victim
is checked against two coalitions: the :math:`k-1` largest *other* contributors of its cell,
and of its family, in the last epoch of its segment (the worst coalitions for it: they know
the most of what surrounds it). A larger coalition knows more than any of its subsets, so only
:math:`(k-1)`-subsets are needed.

Before any LP, a victim with *twins* — free unknowns in exactly the same rows, typically the
other members of its cell whose quantities did not change either — is certified directly:
moving units between twins changes no published figure, so a victim with twins holding
:math:`t \\ge p v` can be anywhere in :math:`[0, v + t]`. Only the rest (mostly quantities that
changed alone, the differencing case) costs two LPs each. The work is capped at ``max_lps``
LPs, after which the audit says it is incomplete and the caller must treat the candidate as
exposed. Measured on random components (one change per cell per epoch, all
figures published): 30 members x 5 parts x 5 epochs, 148 LPs in 0.26 s; 100 members x
10 parts x 5 epochs, 312 LPs in 1.9 s (about 6 ms an LP at that size).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

# epoch -> cell -> member -> quantity, for one component
Epochs = Sequence[Mapping[str, Mapping[str, float]]]


@dataclass(frozen=True)
class Figure:
    """One published figure: the cells it sums in one epoch, and the interval it states."""

    epoch: int
    cells: frozenset[str]
    lo: float
    hi: float


@dataclass(frozen=True)
class Exposure:
    """A member's quantity that a coalition can bound to within ``protection`` of its value."""

    member: str
    cell: str
    first_epoch: int
    last_epoch: int
    value: float
    low: float
    high: float
    coalition: tuple[str, ...]


@dataclass(frozen=True)
class AuditResult:
    exposures: list[Exposure]
    lps: int
    complete: bool  # False when max_lps ran out: treat the candidate as exposed

    @property
    def safe(self) -> bool:
        return self.complete and not self.exposures


@dataclass(frozen=True)
class _Var:
    member: str
    cell: str
    first: int
    last: int
    value: float


def _variables(epochs: Epochs) -> tuple[list[_Var], dict[tuple[str, str, int], int]]:
    """The positive segments, and which variable holds (member, cell, epoch)."""
    pairs = sorted({(m, c) for ep in epochs for c, cell in ep.items() for m in cell})
    out: list[_Var] = []
    where: dict[tuple[str, str, int], int] = {}
    for m, c in pairs:
        values = [float(ep.get(c, {}).get(m, 0.0)) for ep in epochs]
        for v, run in itertools.groupby(enumerate(values), key=lambda iv: iv[1]):
            run_epochs = [e for e, _ in run]
            if v <= 0:
                continue  # outside the support: a known zero
            out.append(_Var(m, c, run_epochs[0], run_epochs[-1], v))
            for e in run_epochs:
                where[(m, c, e)] = len(out) - 1
    return out, where


def _plan(
    epochs: Epochs, vars_: list[_Var], victims: list[int], size: int, max_coalitions: int
) -> dict[tuple[str, ...], list[int]]:
    """Which victims each coalition is checked against (see the module docstring)."""
    members = sorted({m for ep in epochs for cell in ep.values() for m in cell})
    size = min(size, len(members) - 1)
    plan: dict[tuple[str, ...], list[int]] = {}
    if size <= 0:
        return {(): list(victims)}
    if math.comb(len(members), size) <= max_coalitions:
        for coalition in itertools.combinations(members, size):
            plan[coalition] = [j for j in victims if vars_[j].member not in coalition]
        return plan
    for j in victims:
        v = vars_[j]
        cell = epochs[v.last].get(v.cell, {})
        family: dict[str, float] = {}
        for other in epochs[v.last].values():
            for m, q in other.items():
                family[m] = family.get(m, 0.0) + q
        for group in (cell, family):
            top = sorted((m for m in group if m != v.member), key=lambda m: (-group[m], m))
            plan.setdefault(tuple(sorted(top[:size])), []).append(j)
    return plan


def _twinned(
    vars_: list[_Var], victims: list[int], signature: list[tuple[int, ...]], known: set[str]
) -> dict[int, float]:
    """Per victim, the mass of its free *twins*: other unknowns in exactly the same rows.

    Moving units between twins changes no published figure, so a victim with twins holding
    ``t`` units can be anywhere in ``[0, v + t]``: protected when ``t >= p v`` (no LP needed).
    """
    mass: dict[tuple[int, ...], float] = {}
    for j, v in enumerate(vars_):
        if v.member not in known and signature[j]:
            mass[signature[j]] = mass.get(signature[j], 0.0) + v.value
    return {j: mass.get(signature[j], 0.0) - vars_[j].value for j in victims}


def audit(
    epochs: Epochs,
    figures: Sequence[Figure],
    *,
    coalition_size: int,
    protection: float = 0.10,
    max_coalitions: int = 40,
    max_lps: int = 2000,
    first_only: bool = False,
) -> AuditResult:
    """Check that no coalition of ``coalition_size`` members can pin any other member down.

    Parameters
    ----------
    epochs
        True contributions, oldest first: ``epochs[e][cell][member]`` (units).
    figures
        Everything published about this component, the candidate included.
    coalition_size
        :math:`k - 1`: the largest coalition the board must resist.
    protection
        :math:`p`, the relative protection each value needs on both sides.
    max_coalitions, max_lps
        Work caps (see the module docstring).
    first_only
        Stop at the first exposure (enough for a caller that then suppresses something).
    """
    if not 0 < protection < 1:
        raise ValueError("protection must be in (0, 1)")
    vars_, where = _variables(epochs)
    by_cell: dict[tuple[int, str], set[int]] = {}
    for (_, c, e), j in where.items():
        by_cell.setdefault((e, c), set()).add(j)
    rows: list[tuple[list[int], float, float]] = []
    for f in figures:
        cols = sorted(set().union(*(by_cell.get((f.epoch, c), set()) for c in f.cells)))
        if cols:
            rows.append((cols, f.lo, f.hi))
    in_rows = sorted({j for cols, _, _ in rows for j in cols})
    if not in_rows:
        return AuditResult(exposures=[], lps=0, complete=True)
    n = len(vars_)
    # Two-sided rows as A_ub x <= b_ub: sum <= hi and -sum <= -lo.
    ri: list[int] = []
    ci: list[int] = []
    vals: list[float] = []
    b = np.zeros(2 * len(rows))
    for i, (cols, lo, hi) in enumerate(rows):
        ri += [2 * i] * len(cols) + [2 * i + 1] * len(cols)
        ci += cols + cols
        vals += [1.0] * len(cols) + [-1.0] * len(cols)
        b[2 * i], b[2 * i + 1] = hi, -lo
    a = sparse.csr_matrix((vals, (ri, ci)), shape=(2 * len(rows), n))
    signature: list[list[int]] = [[] for _ in vars_]
    for i, (cols, _, _) in enumerate(rows):
        for j in cols:
            signature[j].append(i)
    sigs = [tuple(x) for x in signature]
    exposures: list[Exposure] = []
    exposed: set[int] = set()
    lps = 0
    plan = _plan(epochs, vars_, in_rows, coalition_size, max_coalitions)
    for coalition, victims in plan.items():
        known = set(coalition)
        bounds: list[tuple[float, float | None]] = [
            (v.value, v.value) if v.member in known else (0.0, None) for v in vars_
        ]
        twins = _twinned(vars_, victims, sigs, known)
        for j in victims:
            v = vars_[j]
            if j in exposed or twins[j] >= protection * v.value:
                continue
            if lps + 2 > max_lps:
                return AuditResult(exposures=exposures, lps=lps, complete=False)
            low, high = _bounds(a, b, bounds, j)
            lps += 2
            tol = 1e-6 * max(1.0, v.value)
            if high < (1 + protection) * v.value - tol or low > (1 - protection) * v.value + tol:
                exposed.add(j)
                exposures.append(
                    Exposure(v.member, v.cell, v.first, v.last, v.value, low, high, coalition)
                )
                if first_only:
                    return AuditResult(exposures=exposures, lps=lps, complete=True)
    return AuditResult(exposures=exposures, lps=lps, complete=True)


def _bounds(
    a: sparse.csr_matrix, b: np.ndarray, bounds: list[tuple[float, float | None]], j: int
) -> tuple[float, float]:
    """min and max of x_j over {A x <= b, bounds}; the max is +inf when unbounded."""
    c = np.zeros(a.shape[1])
    c[j] = 1.0
    lo = linprog(c, A_ub=a, b_ub=b, bounds=bounds, method="highs")
    hi = linprog(-c, A_ub=a, b_ub=b, bounds=bounds, method="highs")
    # Infeasible cannot happen (the true values satisfy every row); be safe: report no bound.
    low = float(lo.fun) if lo.status == 0 else 0.0
    high = float(-hi.fun) if hi.status == 0 else math.inf
    return low, high
