"""Which solver a sweep uses: the region method, or the warm whole-network LP where it loses.

The region method (:class:`~supplyshock.analysis.survival.solve.RegionSolver`) wins by far on a
network that can meet demand before anything fails: a disruption's LP stays a few hundred rows.
On a network that is short before anything fails, every region carries the baseline's deficits
and the duals that price them, which run from the short rows to the vehicles; regions then
grow to most of the network over many rounds (31 LPs per node on a 350-node three-tier
network). There the warm whole-network LP
(:class:`~supplyshock.analysis.survival.solve.WarmSolver`) wins. Both are exact, so the choice
changes the time taken, never an answer.

``auto``: no deficit row, the region method; otherwise both run on a small strided sample and
the faster one (per disruption) does the rest. The sample's answers are kept. The region side
of the trial stops as soon as it has cost more than the warm side, so a losing trial costs
little.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from supplyshock.analysis.survival.model import SurvivalModel
from supplyshock.analysis.survival.region import TooSlow
from supplyshock.analysis.survival.solve import (
    Disruption,
    FullSolver,
    Outcome,
    RegionSolver,
    WarmSolver,
    _Base,
)

Method = Literal["auto", "region", "warm", "full"]
Chosen = Literal["region", "warm", "full"]
_TRIAL = 8  # disruptions timed both ways when the baseline is short


def make_solver(model: SurvivalModel, method: Chosen, horizon: float | None) -> _Base:
    """A solver of the given kind."""
    if method == "region":
        return RegionSolver(model, horizon)
    if method == "warm":
        return WarmSolver(model, horizon)
    return FullSolver(model, horizon)


@dataclass
class Choice:
    """The solver kind for a sweep, the answers found while choosing (by item index), the
    trial's solver (ready to go on) and its measured seconds per disruption (None: not
    measured)."""

    method: Chosen
    found: dict[int, Outcome] = field(default_factory=dict)
    solver: _Base | None = None
    per_item: float | None = None


def choose(
    model: SurvivalModel,
    items: list[tuple[Disruption, float | None]],
    horizon: float | None,
    method: Method = "auto",
) -> Choice:
    """The solver for the sweep (see the module docstring)."""
    if method != "auto":
        return Choice(method)
    if not len(model.deficit_rows()) or len(items) <= 1:
        return Choice("region")
    step = max(1, len(items) // _TRIAL)
    trial = list(range(0, len(items), step))[:_TRIAL]
    warm = WarmSolver(model, horizon)
    # The warm solver's first question also solves the undisrupted network (once per
    # question kind): a cost of the sweep, not of the node, so warm it up outside the clock.
    warm.solve(*items[trial[0]])
    t0 = time.perf_counter()
    found = {i: warm.solve(*items[i]) for i in trial}
    spent_warm = time.perf_counter() - t0
    region = RegionSolver(model, horizon)
    mine: dict[int, Outcome] = {}
    t0 = time.perf_counter()
    region.deadline = t0 + spent_warm  # a losing trial stops mid-node
    try:
        for i in trial:
            mine[i] = region.solve(*items[i])
    except TooSlow:
        return Choice("warm", found, warm, spent_warm / len(trial))
    region.deadline = None
    return Choice("region", mine, region, (time.perf_counter() - t0) / len(trial))
