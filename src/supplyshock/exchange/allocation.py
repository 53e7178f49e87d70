"""Allocation under scarcity: an LP that sends scarce stock where it protects most production.

Notation. Offers :math:`o` with open quantity :math:`S_o` (units), needs :math:`n` with open
quantity :math:`D_n` (units), days of supply left :math:`d_n` (days) and margin per unit
:math:`m_n` (currency per unit); :math:`E` is the set of compatible (offer, need) pairs.

- urgency :math:`u_n = 1 / (1 + d_n)`: a line that stops tomorrow (d = 0) counts fully, one
  with nine days left counts a tenth;
- value per unit :math:`w_n = m_n u_n`: margin protected per unit, weighted by urgency;
- pro-rata ratio :math:`r = \\min(1, \\sum_o S_o / \\sum_n D_n)`; **fairness floor**
  :math:`F_n = \\lfloor f \\cdot r \\cdot D_n \\rfloor` with floor share ``f`` (default 0.2):
  whatever its value, every need gets at least a fifth of what a pro-rata split would give it.

The LP (HiGHS dual simplex, through ``scipy.optimize.linprog``) is::

    maximise    sum_{(o,n) in E} (w_n / W + eps) x_on        W = max_n w_n (1 if all are 0)
    subject to  sum_n x_on <= S_o          for every offer   (stock is never promised twice)
                sum_o x_on <= D_n          for every need    (nobody gets more than asked)
                sum_o x_on >= F_n          for every need    (fairness floor)
                x_on >= 0

``eps`` = 0.001 is the same for every unit, so between needs drawing on the same stock it
changes nothing; it makes sure that a need whose stated value is zero still gets stock nobody
else wants (and, across several offers, prefers serving more units among near-equal options).
If the floors cannot all be met (incompatible pairs can make that happen), the LP is solved
again without them and every explanation says so.
The constraint matrix is a transportation matrix (totally unimodular) and all bounds are whole
numbers, so the simplex vertex is integral: units are never split.

Missing figures never help a need: a need without ``margin_per_unit`` is valued at the smallest
margin stated among its competitors (1.0 if none states one), a need without ``days_of_supply``
at the largest stated days (0 if none).

The shadow price of an offer (the dual of its stock constraint) is the value of one more unit
of that stock; a need that got less than it asked for did so because its value per unit is
below that price — the explanation says exactly that.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import linprog

DEFAULT_FLOOR_SHARE = 0.2
_TOL = 1e-6


@dataclass(frozen=True)
class Supply:
    """An offer's stock still open to promise (units)."""

    id: str
    quantity: int


@dataclass(frozen=True)
class Demand:
    """A need's open quantity (units) and what it states about urgency and value."""

    id: str
    quantity: int
    days_of_supply: float | None = None
    margin_per_unit: float | None = None


@dataclass(frozen=True)
class NeedAllocation:
    """How much one need gets and why; the API returns it as ``explanation``."""

    need_id: str
    requested: int
    allocated: int
    days_of_supply: float
    urgency: float
    margin_per_unit: float
    value_per_unit: float
    floor: int
    floor_binding: bool
    shadow_price: float
    assumed: list[str] = field(default_factory=list)
    reason: str = ""  # for the operator: may quote the shadow price
    member_reason: str = ""  # for the need's holder: its own figures only

    def as_dict(self) -> dict[str, Any]:
        """Everything, for the neutral operator."""
        return asdict(self)

    def for_member(self) -> dict[str, Any]:
        """What the need's holder may see: nothing computed from a competitor's figures.

        The shadow price is the value per unit of the best competing need, i.e. another
        member's margin x urgency; with two competitors it would disclose the other's margin.
        """
        out = asdict(self)
        del out["shadow_price"], out["reason"], out["need_id"]
        out["reason"] = out.pop("member_reason")
        # The floor is floor(f r D_n), and the ratio r = supply / demand is the same for every
        # need served in one run: two members comparing floors could tell they drew on the
        # same offer. Shown only where it binds, where it equals the quantity allocated.
        if not self.floor_binding:
            out["floor"] = None
        # A default is a competitor's figure (the lowest margin, the most days stated).
        out["assumed"] = []
        if any(a.startswith("margin") for a in self.assumed):
            out["margin_per_unit"] = out["value_per_unit"] = None
            out["assumed"].append(
                "margin_per_unit not stated: counted as the lowest margin a competing need states"
            )
        if any(a.startswith("days") for a in self.assumed):
            out["days_of_supply"] = out["urgency"] = out["value_per_unit"] = None
            out["assumed"].append(
                "days_of_supply not stated: counted as the most days a competing need states"
            )
        if any(a.startswith("fairness") for a in self.assumed):
            out["assumed"].append("fairness floors could not all be met and were dropped")
        return out


@dataclass(frozen=True)
class AllocationResult:
    flows: dict[tuple[str, str], int]  # (offer id, need id) -> units
    needs: dict[str, NeedAllocation]
    shadow_prices: dict[str, float]  # offer id -> value of one more unit of its stock
    scarce: bool
    floor_share: float
    floors_applied: bool


def _figures(needs: Sequence[Demand]) -> dict[str, tuple[float, float, list[str]]]:
    """(days, margin, assumptions) per need, with the 'missing never helps' defaults."""
    margins = [n.margin_per_unit for n in needs if n.margin_per_unit is not None]
    days = [n.days_of_supply for n in needs if n.days_of_supply is not None]
    default_margin = min(margins) if margins else 1.0
    default_days = max(days) if days else 0.0
    out: dict[str, tuple[float, float, list[str]]] = {}
    for n in needs:
        assumed = []
        if n.days_of_supply is None:
            assumed.append(f"days_of_supply not stated: counted as {default_days:g}")
        if n.margin_per_unit is None:
            assumed.append(f"margin_per_unit not stated: counted as {default_margin:g}")
        d = default_days if n.days_of_supply is None else n.days_of_supply
        m = default_margin if n.margin_per_unit is None else n.margin_per_unit
        out[n.id] = (d, m, assumed)
    return out


def _solve(c: np.ndarray[Any, Any], rows: list[tuple[list[int], float, float]], nvar: int) -> Any:
    """``rows`` are (variables, sign, bound): sign +1 for sum <= bound, -1 for sum >= bound."""
    a = np.zeros((len(rows), nvar))
    b = np.zeros(len(rows))
    for i, (cols, sign, bound) in enumerate(rows):
        a[i, cols] = sign
        b[i] = sign * bound
    return linprog(c, A_ub=a, b_ub=b, bounds=(0, None), method="highs-ds")


def allocate(
    offers: Sequence[Supply],
    needs: Sequence[Demand],
    edges: Iterable[tuple[str, str]] | None = None,
    *,
    floor_share: float = DEFAULT_FLOOR_SHARE,
) -> AllocationResult:
    """Split the offers' stock among the needs; see the module docstring for the LP.

    Parameters
    ----------
    offers, needs : the two sides, quantities in units (whole, > 0)
    edges : compatible (offer id, need id) pairs; default every pair
    floor_share : ``f`` in [0, 1], the fraction of its pro-rata share every need is guaranteed
    """
    if not 0 <= floor_share <= 1:
        raise ValueError(f"floor_share must be within [0, 1], not {floor_share}")
    if any(o.quantity <= 0 for o in offers) or any(n.quantity <= 0 for n in needs):
        raise ValueError("quantities must be positive")
    pairs = [(o.id, n.id) for o in offers for n in needs] if edges is None else sorted(set(edges))
    supply = sum(o.quantity for o in offers)
    demand = sum(n.quantity for n in needs)
    ratio = min(1.0, supply / demand) if demand else 1.0
    figures = _figures(needs)
    value = {n.id: figures[n.id][1] / (1 + figures[n.id][0]) for n in needs}
    floors = {n.id: math.floor(floor_share * ratio * n.quantity + _TOL) for n in needs}
    if not pairs:
        flows: dict[tuple[str, str], int] = {}
        return _explain(offers, needs, flows, {}, figures, value, floors, True, floor_share)

    # Values are scaled to [0, 1] so that eps stays well above the solver's tolerances (1e-7)
    # whatever the currency; the same eps on every unit only prefers serving a unit to leaving
    # it idle.
    scale = max(value.values(), default=0.0) or 1.0
    eps = 1e-3
    c = np.array([-(value[n] / scale + eps) for _, n in pairs])
    by_offer = {o.id: [i for i, p in enumerate(pairs) if p[0] == o.id] for o in offers}
    by_need = {n.id: [i for i, p in enumerate(pairs) if p[1] == n.id] for n in needs}
    base = [(by_offer[o.id], 1.0, float(o.quantity)) for o in offers]
    base += [(by_need[n.id], 1.0, float(n.quantity)) for n in needs]
    floor_rows = [(by_need[n.id], -1.0, float(floors[n.id])) for n in needs if floors[n.id] > 0]
    res = _solve(c, base + floor_rows, len(pairs))
    floors_applied = res.status == 0
    if not floors_applied:
        res = _solve(c, base, len(pairs))
        floors = dict.fromkeys(floors, 0)
    if res.status != 0:  # cannot happen for a bounded, feasible transportation problem
        raise RuntimeError(f"allocation LP failed: {res.message}")
    flows = {p: round(x) for p, x in zip(pairs, res.x, strict=True) if round(x) > 0}
    # Duals of "sum <= S_o" are <= 0 for a minimisation; the shadow price is their negative,
    # less eps and scaled back, so that it is in the needs' own units (margin x urgency).
    marg = res.ineqlin.marginals
    shadow = {o.id: max(0.0, (-float(marg[i]) - eps) * scale) for i, o in enumerate(offers)}
    return _explain(
        offers, needs, flows, shadow, figures, value, floors, floors_applied, floor_share
    )


def _explain(
    offers: Sequence[Supply],
    needs: Sequence[Demand],
    flows: dict[tuple[str, str], int],
    shadow: dict[str, float],
    figures: dict[str, tuple[float, float, list[str]]],
    value: dict[str, float],
    floors: dict[str, int],
    floors_applied: bool,
    floor_share: float,
) -> AllocationResult:
    supply = sum(o.quantity for o in offers)
    demand = sum(n.quantity for n in needs)
    explained: dict[str, NeedAllocation] = {}
    for n in needs:
        got = sum(q for (_, nid), q in flows.items() if nid == n.id)
        sources = {oid for (oid, nid) in flows if nid == n.id}
        price = max((shadow.get(o.id, 0.0) for o in offers if o.id in sources), default=0.0)
        if not sources:
            price = max(shadow.values(), default=0.0)
        d, m, assumed = figures[n.id]
        w = value[n.id]
        binding = floors[n.id] > 0 and got <= floors[n.id] < n.quantity
        own = (
            "value per unit, which counts figures it did not state"
            if assumed
            else f"value per unit {w:.4g} = margin {m:g} x urgency {1 / (1 + d):.4g}"
        )
        if got >= n.quantity:
            reason = private = "fully served"
        elif got == 0 and not sources and not shadow:
            reason = private = "no compatible stock"
        elif binding:
            private = (
                f"held at its fairness floor of {floors[n.id]} units ({floor_share:g} of its "
                f"pro-rata share): competing needs protect more per unit than its own {own}"
            )
            reason = f"{private} (one more unit of this stock protects {price:.4g} elsewhere)"
        else:
            private = f"partly served: the stock ran out; its {own}"
            reason = f"{private}; one more unit would protect {price:.4g}"
        if not floors_applied:
            assumed = [*assumed, "fairness floors could not all be met and were dropped"]
        explained[n.id] = NeedAllocation(
            need_id=n.id,
            requested=n.quantity,
            allocated=got,
            days_of_supply=d,
            urgency=1 / (1 + d),
            margin_per_unit=m,
            value_per_unit=w,
            floor=floors[n.id],
            floor_binding=binding,
            shadow_price=price,
            assumed=assumed,
            reason=reason,
            member_reason=private,
        )
    return AllocationResult(
        flows=flows,
        needs=explained,
        shadow_prices=shadow,
        scarce=demand > supply,
        floor_share=floor_share,
        floors_applied=floors_applied,
    )
