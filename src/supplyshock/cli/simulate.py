"""``supplyshock simulate``: Monte Carlo of export-control futures, per plant and product."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from supplyshock.cli._common import app, checked, console, emit_csv, emit_json, fail

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
) -> None:
    """Draw futures of the measures in force: when does each line stop, and with what odds."""
    from supplyshock.analysis.montecarlo import assumptions as am

    if schema:
        typer.echo(json.dumps(am.schema(), indent=2))
        return
    if as_json and as_csv:
        fail("choose one of --json and --csv")
    if runs < 1:
        fail("--runs must be at least 1")
    if horizon is not None and not 1 <= horizon <= 3650:
        fail("--horizon must be between 1 and 3650 days")
    if workers < 1:
        fail("--workers must be at least 1")
    if plot is not None and plot.suffix.lower() not in (".html", ".htm", ".svg"):
        if plot.suffix.lower() == ".png":
            fail(
                "--plot: PNG needs the kaleido package, which is not installed; "
                "write .html (interactive, works offline) or .svg instead"
            )
        fail(f"--plot: unknown picture format {plot.suffix or '(none)'!r}: use .html or .svg")
    from supplyshock.analysis.montecarlo.engine import simulate
    from supplyshock.analysis.montecarlo.model import compile_model
    from supplyshock.analysis.montecarlo.results import SimResult, Summary
    from supplyshock.data import load_network_arg, load_registry_arg

    net = load_network_arg(scenario)
    reg = load_registry_arg(registry)
    sets = [am.load_assumptions_arg(v, scenario, net, reg) for v in [assumptions, *(compare or [])]]
    if horizon is not None:
        sets = [a.model_copy(update={"horizon_days": horizon}) for a in sets]
    quiet = as_json or as_csv
    summaries: list[Summary] = []
    first: SimResult | None = None
    if dask:
        from contextlib import nullcontext

        from supplyshock.analysis.montecarlo.sweep import sweep

        with nullcontext() if quiet else console.status("running on Dask"):
            summaries = sweep(net, reg, sets, runs=runs, seed=seed)
        if plot is not None:
            first = simulate(compile_model(net, reg, sets[0]), min(runs, 2000), seed=seed)
    else:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=quiet,
        ) as bar:
            for a in sets:
                task = bar.add_task(f"{a.name}: {runs} draws x {a.horizon_days} days", total=1)
                model = compile_model(net, reg, a)

                def step(done: int, total: int, task: TaskID = task) -> None:
                    bar.update(task, completed=done, total=total)

                res = simulate(model, runs, seed=seed, workers=workers, progress=step)
                first = first or res
                summaries.append(res.summary())
    if plot is not None and first is not None:
        from supplyshock.charts.montecarlo import PlotError, write_plot

        try:
            write_plot(plot, first, summaries if len(summaries) > 1 else ())
        except (PlotError, OSError) as e:
            fail(f"--plot: {e}")
        if not quiet:
            console.print(f"pictures written to {plot}")
    if as_json:
        emit_json({"scenarios": summaries})
    elif as_csv:
        emit_csv(CSV_HEADER, [row for s in summaries for row in csv_rows(s)])
    else:
        for s in summaries:
            show(s)


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
