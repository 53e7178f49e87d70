"""The Monte Carlo use case: ``run_scenarios`` draws futures of one or more assumption sets
with the same seed and returns the summaries every shell prints and a job stores."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from supplyshock.analysis.montecarlo.assumptions import Assumptions
from supplyshock.analysis.montecarlo.results import SimResult, Summary
from supplyshock.domain.controls import Registry
from supplyshock.domain.network import Network
from supplyshock.services import scenarios
from supplyshock.services._json import to_jsonable
from supplyshock.services.errors import InvalidRequest
from supplyshock.services.requests import MonteCarloRequest

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Scenarios:
    """Summaries in the order of the request's sets; ``first`` keeps the base set's traces."""

    summaries: list[Summary]
    first: SimResult | None = field(default=None, compare=False)

    def document(self) -> dict[str, Any]:
        """The JSON document of ``simulate --json`` and of the API job's result."""
        return {"scenarios": to_jsonable(self.summaries)}


def assumption_sets(
    req: MonteCarloRequest, network: Network, registry: Registry, *, allow_files: bool = False
) -> list[Assumptions]:
    """The request's assumption sets, loaded and checked against the network and registry."""
    from supplyshock.services import assumptions as am

    names = am.builtin_names(req.scenario)
    out: list[Assumptions] = []
    for k, value in enumerate(req.sets()):
        where = "assumptions" if k == 0 else "compare"
        if not allow_files and value not in names:
            raise InvalidRequest(
                where, f"unknown assumptions {value!r} (built-in: {', '.join(names) or 'none'})"
            )
        try:
            a = am.load_assumptions_arg(value, req.scenario, network, registry)
        except KeyError as e:
            raise InvalidRequest(where, str(e.args[0])) from None
        if req.horizon is not None:
            a = a.model_copy(update={"horizon_days": req.horizon})
        out.append(a)
    return out


def run_scenarios(
    req: MonteCarloRequest,
    *,
    network: Network | None = None,
    registry: Registry | None = None,
    allow_files: bool = False,
    workers: int = 1,
    scheduler: str | None = None,
    keep_traces: bool = False,
    progress: Progress | None = None,
) -> Scenarios:
    """Draw ``req.runs`` futures of every assumption set, all from ``req.seed``.

    ``workers`` (processes stepping chunks) and ``scheduler`` (a Dask address: one task per
    set) change the time taken, never the numbers (equal model, runs, seed and chunk give equal
    results). ``keep_traces`` keeps the base set's daily traces for its fan charts.
    """
    from supplyshock.analysis.montecarlo.engine import simulate
    from supplyshock.analysis.montecarlo.model import compile_model
    from supplyshock.data import builtin_registry

    net = network or scenarios.network(req.scenario, allow_files=allow_files)
    reg = registry or builtin_registry()
    sets = assumption_sets(req, net, reg, allow_files=allow_files)
    if scheduler is not None:
        from supplyshock.analysis.montecarlo.sweep import sweep

        summaries = sweep(net, reg, sets, runs=req.runs, seed=req.seed, scheduler=scheduler)
        first = None
        if keep_traces:
            first = simulate(compile_model(net, reg, sets[0]), req.runs, seed=req.seed)
        if progress is not None:
            progress(1, 1)
        return Scenarios(summaries, first)
    results: list[SimResult] = []
    for k, a in enumerate(sets):

        def step(done: int, total: int, k: int = k) -> None:
            if progress is not None:
                progress(k * total + done, len(sets) * total)

        res = simulate(
            compile_model(net, reg, a),
            req.runs,
            seed=req.seed,
            workers=workers,
            trace=200 if keep_traces and k == 0 else 0,
            progress=step,
        )
        results.append(res)
    return Scenarios([r.summary() for r in results], results[0] if keep_traces else None)
