"""Pages over the registry and the analyses: home, timeline, exposure, survival / Monte Carlo."""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import ValidationError
from starlette.responses import Response

from supplyshock.data import builtin_network, builtin_registry, scenario_names
from supplyshock.domain.codes import check_element, check_hs_prefix
from supplyshock.domain.controls import MeasureKind, Registry
from supplyshock.exchange.errors import NotFound
from supplyshock.exchange.schemas import Principal
from supplyshock.jobs.records import owner_of
from supplyshock.services import registry as registry_service
from supplyshock.services.errors import InvalidRequest
from supplyshock.services.registry_store import published_registry
from supplyshock.services.requests import MonteCarloRequest, SurvivalRequest
from supplyshock.web import charts
from supplyshock.web import jobs as web_jobs
from supplyshock.web.common import (
    FormDep,
    field_errors,
    figure_json,
    principal_from_cookie,
    render,
    unit_of_work,
)

router = APIRouter(include_in_schema=False)

Text = Annotated[str, Query(max_length=100)]


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


def _registry_and_who(request: Request) -> tuple[Registry, Principal | None]:
    """The published registry (the built-in files while the database holds no change) and
    who is signed in (the header links the editor's page for an editor)."""
    with unit_of_work(request) as uow:
        registry = published_registry(session=uow.session)
        who = principal_from_cookie(request, uow.session)
    return registry, who


@router.get("/timeline")
def timeline(
    request: Request, issuer: Text = "", kind: Text = "", element: Text = "", hs: Text = ""
) -> Response:
    # The registry as published in the database, like the API: an editor's change shows here.
    registry, who = _registry_and_who(request)
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
    entries = registry_service.timeline(
        registry,
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
        who=who,
    )


@router.get("/exposure")
def exposure_page(
    request: Request,
    scenario: Annotated[str, Query(max_length=64)] = "auto-2025",
    on: Annotated[str, Query(alias="date", max_length=20)] = "",
) -> Response:
    from supplyshock.services.exposure import exposure_report

    errors: dict[str, str] = {}
    names = scenario_names()
    try:
        day = dt.date.fromisoformat(on) if on else dt.date.today()
    except ValueError:
        errors["date"] = "a date as YYYY-MM-DD"
        day = dt.date.today()
    context: dict[str, Any] = {"errors": errors, "form": {"scenario": scenario, "date": on}}
    registry, who = _registry_and_who(request)
    context["who"] = who
    try:
        report = exposure_report(scenario=scenario, on=day, registry=registry)
    except NotFound as e:
        errors["scenario"] = e.message
    if not errors:
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


@lru_cache(maxsize=4)
def _survival_table(scenario: str) -> tuple[list[Any], str | None, str | None]:
    """The TTS/TTR ranked table and its chart, or why they are not available.

    Cached: the built-in network does not change while the server runs. The same service
    (and request) as ``supplyshock survival`` and ``POST /api/v1/jobs/survival``.
    """
    try:
        from supplyshock.charts.survival import figure
        from supplyshock.services.survival import rank_survival

        rows = rank_survival(SurvivalRequest(scenario=scenario)).rows
        return rows, figure_json(figure(rows)), None
    except Exception as exc:  # the survival analysis is optional for this page
        return [], None, f"time-to-survive analysis is not available ({type(exc).__name__}: {exc})"


def _owner(request: Request) -> str | None:
    """The signed-in principal's job owner, or None when nobody is signed in."""
    with unit_of_work(request) as uow:
        who = principal_from_cookie(request, uow.session)
    return None if who is None else owner_of(who)


def _survival_page(
    request: Request,
    scenario: str,
    *,
    job: web_jobs.JobView | None = None,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    from supplyshock.services.assumptions import builtin_names

    rows, tts_fig, tts_error = _survival_table(scenario)
    figures = []
    if job is not None and job.result is not None:
        figures = [json.dumps(f).replace("</", "<\\/") for f in job.result.get("figures", [])]
    return render(
        request,
        "survival.html",
        status_code=422 if errors else 200,
        scenario=scenario,
        assumption_sets=builtin_names(scenario),
        rows=rows[:25],
        tts_figure=tts_fig,
        tts_error=tts_error,
        job=job,
        mc_figures=figures,
        errors=errors or {},
        form=form or {"runs": "500", "seed": "0", "assumptions": "baseline", "compare": ""},
    )


@router.get("/survival")
def survival(
    request: Request,
    scenario: Annotated[str, Query(max_length=64)] = "auto-2025",
    job: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    if scenario not in scenario_names():
        scenario = "auto-2025"
    found = web_jobs.find(request, _owner(request), job) if job else None
    return _survival_page(request, scenario, job=found)


def _montecarlo_request(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The form as a checked Monte Carlo request (with figures for the page), or its errors.

    Bounds come from the request model, names from the same check the API applies; both kinds
    of error are reported together, each next to its field.
    """
    from supplyshock.jobs.kinds import check

    data: dict[str, Any] = {
        "scenario": form.get("scenario", "auto-2025"),
        "assumptions": form.get("assumptions", ""),
        "compare": [c for c in form.get("compare", "").split(",") if c],
        "runs": form.get("runs", ""),
        "seed": form.get("seed", "0") or "0",
        "figures": True,
    }
    errors: dict[str, str] = {}
    try:
        MonteCarloRequest.model_validate(data)
    except ValidationError as exc:
        errors = field_errors(exc)
    names = {k: v for k, v in data.items() if k in ("scenario", "assumptions", "compare")}
    for name in (data["assumptions"], *data["compare"]):
        try:  # names alone, with valid bounds, so their errors show whatever the bounds say
            check("montecarlo", {**names, "assumptions": name, "compare": []})
        except InvalidRequest as e:
            errors.setdefault("assumptions" if name == data["assumptions"] else "compare", e.detail)
        except ValidationError:
            errors.setdefault("assumptions", "choose one of the listed sets")
    if errors:
        return {}, errors
    return check("montecarlo", data), {}


@router.post("/survival/run")
def run_simulation(request: Request, form: FormDep) -> Response:
    scenario = form.get("scenario", "auto-2025")
    if scenario not in scenario_names():
        scenario = form["scenario"] = "auto-2025"
    owner = _owner(request)
    params, errors = _montecarlo_request(form)
    if owner is None:
        # Simulations cost CPU: only someone holding a token may start one.
        errors["__all__"] = "sign in (any member or operator token) to run a simulation"
    if errors:
        return _survival_page(request, scenario, errors=errors, form=form)
    assert owner is not None
    job_id = web_jobs.submit(request, owner, "montecarlo", params)
    return RedirectResponse(f"/survival?scenario={scenario}&job={job_id}", status_code=303)


@router.get("/survival/jobs/{job_id}")
def job_status(request: Request, job_id: str) -> Response:
    found = web_jobs.find(request, _owner(request), job_id[:64])
    if found is None:
        return JSONResponse({"error": "unknown job"}, status_code=404)
    return JSONResponse(found.status())
