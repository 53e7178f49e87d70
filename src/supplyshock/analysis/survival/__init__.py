"""Time to survive, time to recover, performance impact and the risk exposure index.

The model of Simchi-Levi et al., "Identifying Risks and Mitigating Disruptions in the
Automotive Supply Chain", Interfaces 45(5), 2015; the formulation is in docs/survival.md.
"""

from __future__ import annotations

from supplyshock.analysis.survival.measure import (
    MeasureSurvival,
    PlantSurvival,
    lanes_blocked_by,
    survival_by_measure,
)
from supplyshock.analysis.survival.model import SurvivalModel, build_model
from supplyshock.analysis.survival.solve import FullSolver, Outcome, RegionSolver, WarmSolver
from supplyshock.analysis.survival.sweep import NodeRisk, default_horizon, sweep

__all__ = [
    "FullSolver",
    "MeasureSurvival",
    "NodeRisk",
    "Outcome",
    "PlantSurvival",
    "RegionSolver",
    "SurvivalModel",
    "WarmSolver",
    "build_model",
    "default_horizon",
    "lanes_blocked_by",
    "survival_by_measure",
    "sweep",
]
