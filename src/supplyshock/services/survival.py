"""Survival use cases: the ranked TTS/TTR sweep (``rank_survival``) and one measure's cut
(``survival_by_measure``), each returning the document every shell prints and a job stores."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from supplyshock.analysis.survival.sweep import NodeRisk
from supplyshock.domain.controls import Registry
from supplyshock.domain.network import Network
from supplyshock.services import scenarios
from supplyshock.services.errors import InvalidRequest
from supplyshock.services.requests import MeasureSurvivalRequest, SurvivalRequest

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SurvivalTable:
    """The ranked risk table of one sweep."""

    network: str
    level: str
    horizon_days: float | None  # None: every TTS solved exactly
    rows: list[NodeRisk]

    def document(self) -> dict[str, Any]:
        """The JSON document of ``survival --json``, of the API job's result, of the page."""
        return {
            "network": self.network,
            "level": self.level,
            "horizon_days": self.horizon_days,
            "nodes": [
                {
                    "rank": i,
                    "site": r.site,
                    "part": r.part,
                    "tts_days": None if math.isinf(r.tts) else r.tts,
                    "tts_unbounded": math.isinf(r.tts),
                    "tts_beyond_horizon": r.beyond_horizon,
                    "ttr_days": r.ttr,
                    "lost_units": r.lost_units,
                    "lost_margin": r.lost_margin,
                    "rei": r.rei,
                    "at_risk": r.at_risk,
                    "method": r.method,
                }
                for i, r in enumerate(self.rows, start=1)
            ],
        }


def rows_of(document: dict[str, Any]) -> list[NodeRisk]:
    """The rows back from a stored :meth:`SurvivalTable.document` (for charts and pages)."""
    return [
        NodeRisk(
            n["site"],
            n["part"],
            math.inf if n["tts_unbounded"] else float(n["tts_days"]),
            n["ttr_days"],
            n["lost_units"],
            n["lost_margin"],
            n["rei"],
            n["at_risk"],
            n["tts_beyond_horizon"],
            n.get("method", "region"),  # documents stored before the field existed
        )
        for n in document["nodes"]
    ]


def rank_survival(
    req: SurvivalRequest,
    *,
    network: Network | None = None,
    allow_files: bool = False,
    workers: int = 1,
    scheduler: Any = None,
    progress: Progress | None = None,
) -> SurvivalTable:
    """Disrupt every supply node (or site) in turn: TTS, TTR, impact and REI, ranked.

    ``network`` overrides the request's scenario (already loaded by the caller); ``workers``
    (0: every core) and ``scheduler`` (a Dask address or client) are the runner's resources,
    not part of the request: they change the time taken, never the numbers.
    """
    from supplyshock.analysis.survival.model import build_model
    from supplyshock.analysis.survival.sweep import (
        default_horizon,
        disruptions,
        risk_table,
        solve_all,
    )

    net = network or scenarios.checked_network(req.scenario, allow_files=allow_files)
    model = build_model(net)
    try:
        items = disruptions(model, req.level, req.only)
    except KeyError as e:
        raise InvalidRequest("only", str(e.args[0])) from None
    if req.default_ttr is not None:
        items = [(d, req.default_ttr if ttr is None else ttr) for d, ttr in items]
    if req.horizon is None:
        horizon: float | None = default_horizon(items)
    else:
        horizon = None if req.horizon <= 0 else req.horizon
    n = workers if workers > 0 else (os.cpu_count() or 1)
    outcomes = solve_all(
        model, items, workers=n, scheduler=scheduler, progress=progress, horizon=horizon
    )
    return SurvivalTable(net.meta.name, req.level, horizon, risk_table(model, items, outcomes))


def survival_by_measure(
    req: MeasureSurvivalRequest,
    *,
    network: Network | None = None,
    registry: Registry | None = None,
    allow_files: bool = False,
) -> dict[str, Any]:
    """Cut every lane ``req.measure`` bans or licenses on ``req.date``: TTS and loss per plant.

    Returns the document of ``survival --measure --json``.
    """
    from supplyshock.analysis.survival import measure as sm
    from supplyshock.data import builtin_registry

    net = network or scenarios.checked_network(req.scenario, allow_files=allow_files)
    reg = registry or builtin_registry()
    try:
        reg.measure(req.measure)
    except KeyError:
        raise InvalidRequest("measure", f"unknown measure {req.measure!r}") from None
    blocked = sm.lanes_blocked_by(net, reg, req.measure, req.date)
    res = sm.survival_by_measure(net, blocked, horizon_days=req.days)
    return {
        "measure": req.measure,
        "date": req.date.isoformat(),
        "blocked_lanes": res.blocked_lanes,
        "horizon_days": res.horizon_days,
        "network_tts_days": None if math.isinf(res.network_tts) else res.network_tts,
        "lost_units": res.lost_units,
        "lost_margin": res.lost_margin,
        "plants": [
            {
                "plant": p.plant,
                "tts_days": None if math.isinf(p.tts) else p.tts,
                "tts_unbounded": math.isinf(p.tts),
                "lost_units": p.lost_units,
                "lost_margin": p.lost_margin,
            }
            for p in res.plants
        ],
    }
