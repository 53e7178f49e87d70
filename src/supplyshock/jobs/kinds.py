"""What each kind of job runs: the request checked, then the same service the CLI calls.

A job stores its request as JSON; :func:`execute` turns it back into the request model and
calls the service, so a job's result is exactly the document ``--json`` prints.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from supplyshock.domain.controls import Registry
from supplyshock.jobs.records import Kind
from supplyshock.services.requests import MonteCarloRequest, SurvivalRequest

Progress = Callable[[int, int], None]

REQUESTS: dict[str, type[SurvivalRequest] | type[MonteCarloRequest]] = {
    "survival": SurvivalRequest,
    "montecarlo": MonteCarloRequest,
}


def check(kind: Kind, params: dict[str, Any]) -> dict[str, Any]:
    """The request checked against the data before it is queued; its JSON form.

    Cheap checks only (names resolve): a bad scenario or assumption set is refused at
    submission with the field named, not discovered by the worker later.
    """
    from supplyshock.services import scenarios
    from supplyshock.services.assumptions import builtin_names
    from supplyshock.services.errors import InvalidRequest

    req = REQUESTS[kind].model_validate(params)
    net = scenarios.network(req.scenario)  # InvalidRequest("scenario") for an unknown one
    if isinstance(req, SurvivalRequest) and req.only is not None:
        from supplyshock.analysis.survival.model import build_model
        from supplyshock.analysis.survival.sweep import disruptions

        try:
            disruptions(build_model(net), req.level, req.only)
        except KeyError as e:
            raise InvalidRequest("only", str(e.args[0])) from None
    if isinstance(req, MonteCarloRequest):
        names = builtin_names(req.scenario)
        for k, name in enumerate(req.sets()):
            if name not in names:
                raise InvalidRequest(
                    "assumptions" if k == 0 else "compare",
                    f"unknown assumptions {name!r} (built-in: {', '.join(names) or 'none'})",
                )
    return req.model_dump(mode="json")


def execute(
    kind: str,
    params: dict[str, Any],
    *,
    scheduler: str | None = None,
    workers: int = 1,
    progress: Progress | None = None,
    registry: Registry | None = None,
) -> dict[str, Any]:
    """Run one job's request; the JSON document of its result.

    ``registry`` is the measure registry the run reads (the worker passes the one published
    in the database; None: the built-in files).
    """
    if kind == "survival":
        from supplyshock.services.survival import rank_survival

        table = rank_survival(
            SurvivalRequest.model_validate(params),
            workers=workers,
            scheduler=scheduler,
            progress=progress,
        )
        return table.document()
    if kind == "montecarlo":
        from supplyshock.services.montecarlo import run_scenarios

        req = MonteCarloRequest.model_validate(params)
        out = run_scenarios(
            req,
            registry=registry,
            workers=workers,
            scheduler=scheduler,
            progress=progress,
            keep_traces=req.figures,
        )
        doc = out.document()
        if req.figures and out.first is not None:
            doc["figures"] = figures_json(out)
        return doc
    raise ValueError(f"unknown job kind {kind!r}")


def figures_json(out: Any) -> list[Any]:
    """The Monte Carlo figures (fan charts, histogram, comparison) as Plotly JSON."""
    import json

    from supplyshock.charts.montecarlo import figures

    figs = figures(out.first, out.summaries if len(out.summaries) > 1 else ())
    return [json.loads(f.to_json()) for f in figs]
