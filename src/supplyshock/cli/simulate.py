"""``supplyshock simulate``: Monte Carlo of export-control futures, per plant and product.

Parses options into a :class:`MonteCarloRequest` (the limits are the API's), calls the service
(or queues the same request as a job with ``--detach``) and renders the result.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from supplyshock.cli._common import (
    app,
    checked,
    console,
    emit_csv,
    emit_json,
    err_console,
    fail,
    request_of,
)
from supplyshock.services import limits
from supplyshock.services.montecarlo import Scenarios
from supplyshock.services.requests import MonteCarloRequest

CSV_HEADER = (
    "scenario",
    "plant",
    "product",
    "per_day",
    "p_standstill_2w",
    "p_standstill_4w",
    "p_standstill_8w",
    "p_standstill_horizon",
    "days_to_standstill_q05",
    "days_to_standstill_q50",
    "days_to_standstill_q95",
    "units_lost_mean",
    "units_lost_q05",
    "units_lost_q50",
    "units_lost_q95",
    "margin_lost_mean",
    "margin_lost_q05",
    "margin_lost_q50",
    "margin_lost_q95",
    "runs",
    "seed",
    "start",
    "horizon_days",
)


@app.command("simulate")
@checked
def simulate_cmd(
    scenario: Annotated[
        str, typer.Option(help="A built-in scenario name or a network file.")
    ] = "auto-2025",
    runs: Annotated[int, typer.Option(help="Number of futures drawn per assumption set.")] = 10000,
    assumptions: Annotated[
        str,
        typer.Option(help="Built-in assumption set of the scenario, or an assumptions file."),
    ] = "baseline",
    compare: Annotated[
        list[str] | None,
        typer.Option(help="Further assumption sets (names or files) to compare (repeatable)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed: equal seeds give equal results.")] = 0,
    horizon: Annotated[
        int | None, typer.Option(help="Days to simulate (default: the assumptions' horizon).")
    ] = None,
    registry: Annotated[
        list[Path] | None,
        typer.Option(help="Registry file(s) to use instead of the built-in one (repeatable)."),
    ] = None,
    workers: Annotated[int, typer.Option(help="Processes stepping chunks of draws.")] = 2,
    dask: Annotated[
        bool,
        typer.Option(
            "--dask",
            help="Run the assumption sets on Dask (SUPPLYSHOCK_DASK_SCHEDULER, else a local "
            "cluster).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summaries as JSON.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print one CSV row per product.")] = False,
    plot: Annotated[
        Path | None, typer.Option(help="Write pictures here (.html interactive, .svg).")
    ] = None,
    schema: Annotated[
        bool, typer.Option("--schema", help="Print the JSON Schema of assumptions files.")
    ] = False,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait/--detach",
            help="Run here and print the result, or queue a job in the database and print "
            "its id (built-in scenario and sets only; see `supplyshock jobs`).",
        ),
    ] = True,
) -> None:
    """Draw futures of the measures in force: when does each line stop, and with what odds."""
    from supplyshock.analysis.montecarlo import assumptions as am

    if schema:
        typer.echo(json.dumps(am.schema(), indent=2))
        return
    _check_outputs(as_json, as_csv, plot, workers)
    req = request_of(
        MonteCarloRequest,
        {"assumptions": "--assumptions", "compare": "--compare"},
        scenario=scenario,
        assumptions=assumptions,
        compare=compare or [],
        runs=runs,
        seed=seed,
        horizon=horizon,
    )
    if not wait:
        if registry:
            fail("--detach: a queued job uses the built-in registry; drop --registry")
        from supplyshock.cli.jobs import detach

        detach("montecarlo", req.model_dump(mode="json"))
        return
    out = _run(req, registry, workers, dask, plot is not None, quiet=as_json or as_csv)
    if plot is not None and out.first is not None:
        _write_plot(plot, out, quiet=as_json or as_csv)
    if as_json:
        emit_json(out.document())
    elif as_csv:
        emit_csv(CSV_HEADER, [row for s in out.summaries for row in csv_rows(s)])
    else:
        for s in out.summaries:
            show(s)


def _check_outputs(as_json: bool, as_csv: bool, plot: Path | None, workers: int) -> None:
    if as_json and as_csv:
        fail("choose one of --json and --csv")
    if not 1 <= workers <= limits.MAX_WORKERS:
        fail(f"--workers must be between 1 and {limits.MAX_WORKERS}")
    if plot is not None and plot.suffix.lower() not in (".html", ".htm", ".svg"):
        if plot.suffix.lower() == ".png":
            fail(
                "--plot: PNG needs the kaleido package, which is not installed; "
                "write .html (interactive, works offline) or .svg instead"
            )
        fail(f"--plot: unknown picture format {plot.suffix or '(none)'!r}: use .html or .svg")


def _run(
    req: MonteCarloRequest,
    registry: list[Path] | None,
    workers: int,
    dask: bool,
    keep_traces: bool,
    *,
    quiet: bool,
) -> Scenarios:
    """The service, with a progress bar (or, on Dask, a spinner) unless output is a document."""
    from contextlib import nullcontext

    from supplyshock.data import load_registry_arg
    from supplyshock.services.montecarlo import run_scenarios
    from supplyshock.settings import get_settings

    reg = load_registry_arg(registry)
    if dask:
        # The address comes from the one settings object, passed down explicitly; None
        # starts a LocalCluster for this run.
        scheduler = get_settings().dask_scheduler or ""
        with nullcontext() if quiet else console.status("running on Dask"):
            return run_scenarios(
                req, registry=reg, allow_files=True, scheduler=scheduler, keep_traces=keep_traces
            )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=quiet,
    ) as bar:
        task = bar.add_task(f"{len(req.sets())} set(s) x {req.runs} draws", total=1)

        def step(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return run_scenarios(
            req,
            registry=reg,
            allow_files=True,
            workers=workers,
            keep_traces=keep_traces,
            progress=step,
        )


def _write_plot(plot: Path, out: Scenarios, *, quiet: bool) -> None:
    from supplyshock.charts.montecarlo import PlotError, write_plot

    assert out.first is not None
    try:
        write_plot(plot, out.first, out.summaries if len(out.summaries) > 1 else ())
    except (PlotError, OSError) as e:
        fail(f"--plot: {e}")
    if not quiet:
        err_console.print(f"pictures written to {plot}")


def _q(x: float | None) -> object:
    return "" if x is None else x


def csv_rows(s: object) -> list[list[object]]:
    from supplyshock.analysis.montecarlo.results import Summary

    assert isinstance(s, Summary)
    rows: list[list[object]] = []
    for p in s.products:
        d, u, m = p.days_to_standstill, p.units_lost, p.margin_lost
        rows.append(
            [
                s.scenario,
                p.plant,
                p.product,
                p.per_day,
                p.p_standstill["2w"],
                p.p_standstill["4w"],
                p.p_standstill["8w"],
                p.p_standstill["horizon"],
                _q(d["q05"]),
                _q(d["q50"]),
                _q(d["q95"]),
                round(u["mean"], 3),
                u["q05"],
                u["q50"],
                u["q95"],
                round(m["mean"], 2),
                m["q05"],
                m["q50"],
                m["q95"],
                s.runs,
                s.seed,
                s.start.isoformat(),
                s.horizon_days,
            ]
        )
    return rows


def _days(x: float | None, horizon: int) -> str:
    return f"> {horizon}" if x is None else f"{x:g}"


def show(s: object) -> None:
    from supplyshock.analysis.montecarlo.results import Summary

    assert isinstance(s, Summary)
    t = Table(
        title=(
            f"{s.network} / {s.scenario}: {s.runs} futures from {s.start.isoformat()} over "
            f"{s.horizon_days} days (standstill: sales below {s.standstill_share:.0%} of demand)"
        ),
        title_justify="left",
    )
    for col in (
        "Plant",
        "Product",
        "P(stop) 2 wk",
        "4 wk",
        "8 wk",
        "horizon",
        "Days to stop: median (5-95 %)",
        "Units lost: mean (95 %)",
        "Margin lost: mean",
    ):
        t.add_column(col, justify="left" if col in ("Plant", "Product") else "right")
    for p in s.products:
        d = p.days_to_standstill
        t.add_row(
            p.plant,
            p.product,
            *(f"{p.p_standstill[k]:.0%}" for k in ("2w", "4w", "8w", "horizon")),
            f"{_days(d['q50'], s.horizon_days)} "
            f"({_days(d['q05'], s.horizon_days)}-{_days(d['q95'], s.horizon_days)})",
            f"{p.units_lost['mean']:,.0f} ({p.units_lost['q95']:,.0f})",
            f"{p.margin_lost['mean']:,.0f}",
        )
    console.print(t)
