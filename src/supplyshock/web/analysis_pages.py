"""Pages over the registry and the analyses: home, timeline, exposure, survival / Monte Carlo."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Annotated, Any, cast, get_args

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.responses import Response

from supplyshock.data import builtin_network, builtin_registry, scenario_names
from supplyshock.domain.codes import check_element, check_hs_prefix
from supplyshock.domain.controls import MeasureKind
from supplyshock.web import charts
from supplyshock.web.common import (
    FormDep,
    figure_json,
    principal_from_cookie,
    render,
    unit_of_work,
)
from supplyshock.web.jobs import Job, JobRunner

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Query(max_length=100)]
MAX_RUNS = 5000


@router.get("/")
def home(request: Request) -> Response:
    registry = builtin_registry()
    network = builtin_network()
    return render(
        request,
        "home.html",
        measures=len(registry.measures),
        events=len(registry.timeline()),
        scenarios=scenario_names(),
        sites=len(network.sites),
        lanes=len(network.lanes),
    )


@router.get("/timeline")
def timeline(
    request: Request, issuer: Text = "", kind: Text = "", element: Text = "", hs: Text = ""
) -> Response:
    registry = builtin_registry()
    errors: dict[str, str] = {}
    checked: dict[str, str | None] = {}
    for name, value, check in (("element", element, check_element), ("hs", hs, check_hs_prefix)):
        try:
            checked[name] = check(value) if value.strip() else None
        except ValueError as exc:
            errors[name] = str(exc)
            checked[name] = None
    kinds = list(get_args(MeasureKind))
    if kind and kind not in kinds:
        errors["kind"] = f"choose one of: {', '.join(kinds)}"
    entries = registry.timeline(
        issuer=issuer.strip() or None,
        kind=kind if kind in kinds else None,
        element=checked["element"],
        hs_code=checked["hs"],
    )
    sources = {s.id: s for s in registry.sources}
    fig = charts.timeline_figure(entries, registry.observations)
    return render(
        request,
        "timeline.html",
        status_code=422 if errors else 200,
        entries=entries,
        sources=sources,
        group=charts.event_group,
        colours=charts.GROUP_COLOUR,
        figure=figure_json(fig),
        errors=errors,
        form={"issuer": issuer, "kind": kind, "element": element, "hs": hs},
        kind_options=[(k, k) for k in kinds],
    )


@router.get("/exposure")
def exposure_page(
    request: Request,
    scenario: Annotated[str, Query(max_length=64)] = "auto-2025",
    on: Annotated[str, Query(alias="date", max_length=20)] = "",
) -> Response:
    from supplyshock.analysis.exposure import exposure

    errors: dict[str, str] = {}
    names = scenario_names()
    if scenario not in names:
        errors["scenario"] = f"unknown scenario; built-in: {', '.join(names)}"
    try:
        day = dt.date.fromisoformat(on) if on else dt.date.today()
    except ValueError:
        errors["date"] = "a date as YYYY-MM-DD"
        day = dt.date.today()
    context: dict[str, Any] = {"errors": errors, "form": {"scenario": scenario, "date": on}}
    if not errors:
        report = exposure(builtin_network(scenario), builtin_registry(), day)
        bars, sankey = charts.exposure_figures(report)
        context.update(report=report, bars=figure_json(bars), sankey=figure_json(sankey))
    context["form"]["date"] = on or day.isoformat()
    return render(
        request,
        "exposure.html",
        status_code=422 if errors else 200,
        scenario_options=[(n, n) for n in names],
        **context,
    )


def _runner(request: Request) -> JobRunner:
    return cast(JobRunner, request.app.state.web_jobs)


@lru_cache(maxsize=4)
def _survival_table(scenario: str) -> tuple[list[Any], str | None, str | None]:
    """The TTS/TTR ranked table and its chart, or why they are not available.

    Cached: the built-in network does not change while the server runs.
    """
    try:
        from supplyshock.analysis.survival import sweep

        rows = sorted(sweep(builtin_network(scenario)), key=lambda r: -(r.rei or 0))
        return rows, figure_json(charts.tts_figure(rows)), None
    except Exception as exc:  # the survival analysis is optional for this page
        return [], None, f"time-to-survive analysis is not available ({type(exc).__name__}: {exc})"


@router.get("/survival")
def survival(
    request: Request,
    scenario: Annotated[str, Query(max_length=64)] = "auto-2025",
    job: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    from supplyshock.analysis.montecarlo.assumptions import builtin_names

    if scenario not in scenario_names():
        scenario = "auto-2025"
    rows, tts_fig, tts_error = _survival_table(scenario)
    found: Job | None = _runner(request).get(job) if job else None
    return render(
        request,
        "survival.html",
        scenario=scenario,
        assumption_sets=builtin_names(scenario),
        rows=rows[:25],
        tts_figure=tts_fig,
        tts_error=tts_error,
        job=found,
        errors={},
        form={"runs": "500", "seed": "0", "assumptions": "baseline", "compare": ""},
    )


def _simulate(scenario: str, names: list[str], runs: int, seed: int) -> Any:
    """The job: one simulation per assumption set; figures for the first, comparison of all."""

    def work(job: Job) -> dict[str, Any]:
        from supplyshock.analysis.montecarlo.assumptions import load_assumptions_arg
        from supplyshock.analysis.montecarlo.engine import simulate
        from supplyshock.analysis.montecarlo.model import compile_model
        from supplyshock.charts.montecarlo import figures

        network, registry = builtin_network(scenario), builtin_registry()
        results = []
        for k, name in enumerate(names):
            a = load_assumptions_arg(name, scenario, network, registry)

            def step(done: int, total: int, k: int = k) -> None:
                job.progress(k * total + done, len(names) * total)

            results.append(
                simulate(compile_model(network, registry, a), runs, seed=seed, progress=step)
            )
        summaries = [r.summary() for r in results]
        figs = figures(results[0], summaries if len(summaries) > 1 else ())
        return {"figures": [figure_json(f) for f in figs], "summaries": summaries}

    return work


@router.post("/survival/run")
def run_simulation(request: Request, form: FormDep) -> Response:
    from supplyshock.analysis.montecarlo.assumptions import builtin_names

    scenario = form.get("scenario", "auto-2025")
    if scenario not in scenario_names():
        scenario = "auto-2025"
    known = builtin_names(scenario)
    errors: dict[str, str] = {}
    with unit_of_work(request) as uow:
        # Simulations cost CPU: only someone holding a token may start one.
        if principal_from_cookie(request, uow.session) is None:
            errors["__all__"] = "sign in (any member or operator token) to run a simulation"
    base = form.get("assumptions", "")
    if base not in known:
        errors["assumptions"] = f"choose one of: {', '.join(known)}"
    compare = [c for c in form.get("compare", "").split(",") if c and c != base]
    if any(c not in known for c in compare):
        errors["compare"] = f"choose among: {', '.join(known)}"
    runs = seed = 0
    try:
        runs = int(form.get("runs", ""))
        if not 10 <= runs <= MAX_RUNS:
            raise ValueError
    except ValueError:
        errors["runs"] = f"a whole number from 10 to {MAX_RUNS}"
    try:
        seed = int(form.get("seed", "0") or "0")
    except ValueError:
        errors["seed"] = "a whole number"
    if errors:
        rows, tts_fig, tts_error = _survival_table(scenario)
        return render(
            request,
            "survival.html",
            status_code=422,
            scenario=scenario,
            assumption_sets=known,
            rows=rows[:25],
            tts_figure=tts_fig,
            tts_error=tts_error,
            job=None,
            errors=errors,
            form=form,
        )
    names = [base, *compare]
    job = _runner(request).submit(
        f"{scenario}: {', '.join(names)}, {runs} draws, seed {seed}",
        _simulate(scenario, names, runs, seed),
    )
    return RedirectResponse(f"/survival?scenario={scenario}&job={job.id}", status_code=303)


@router.get("/survival/jobs/{job_id}")
def job_status(request: Request, job_id: str) -> Response:
    job = _runner(request).get(job_id)
    if job is None:
        return JSONResponse({"error": "unknown job"}, status_code=404)
    return JSONResponse(job.status())
