"""``supplyshock survival``: time to survive vs time to recover, impact and REI per node."""

from __future__ import annotations

import math
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
    parse_date,
)

CSV_HEADER = (
    "rank",
    "site",
    "part",
    "tts_days",
    "tts_beyond_horizon",
    "ttr_days",
    "lost_units",
    "lost_margin",
    "rei",
    "at_risk",
)


def _days(x: float | None, beyond: bool = False) -> str:
    if x is None:
        return ""
    if math.isinf(x):
        return "unbounded"
    return f"≥{x:g}" if beyond else f"{x:.1f}"


def _num(x: float | None, fmt: str = ",.0f") -> str:
    return "" if x is None else format(x, fmt)


@app.command("survival")
@checked
def survival_cmd(
    scenario: Annotated[
        str, typer.Option(help="A built-in scenario name or a network file.")
    ] = "auto-2025",
    level: Annotated[str, typer.Option(help="Disrupt each 'node' (site/part) or each 'site'.")] = (
        "node"
    ),
    only: Annotated[
        list[str] | None, typer.Option(help="Only these nodes (SITE/PART) or sites (repeatable).")
    ] = None,
    default_ttr: Annotated[
        float | None, typer.Option(help="TTR in days for sites that state none.")
    ] = None,
    horizon: Annotated[
        float | None,
        typer.Option(
            help="Days past which a finite TTS is shown as '≥ horizon' (default: the longest "
            "TTR; 0: solve every TTS exactly)."
        ),
    ] = None,
    workers: Annotated[int, typer.Option(help="Worker processes (0: every core).")] = 0,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address, e.g. tcp://host:8786.")
    ] = None,
    top: Annotated[int, typer.Option(help="Rows to show in the table (0: all).")] = 30,
    measure: Annotated[
        str | None,
        typer.Option(help="Cut every lane this measure blocks (ban or licence) at once."),
    ] = None,
    on: Annotated[str | None, typer.Option("--date", help="Day the measure is evaluated.")] = None,
    days: Annotated[float, typer.Option(help="Horizon of the impact with --measure.")] = 30.0,
    registry: Annotated[
        list[Path] | None,
        typer.Option(help="Registry file(s) instead of the built-in one (with --measure)."),
    ] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Write the TTS-vs-TTR picture (.html or .svg).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the table as JSON.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print the table as CSV.")] = False,
) -> None:
    """Rank nodes by risk exposure index: TTS, TTR, lost units and margin if down for TTR."""
    from supplyshock.data import load_network_arg

    if as_json and as_csv:
        fail("choose one of --json and --csv")
    if level not in ("node", "site"):
        fail(f"--level: {level!r} is not 'node' or 'site'")
    if plot is not None and plot.suffix.lower() not in (".html", ".svg"):
        if plot.suffix.lower() == ".png":
            fail(
                "--plot: PNG export needs the 'kaleido' package (Plotly's static image "
                "engine), which is not installed; use .html or .svg"
            )
        fail(f"--plot: unknown picture format {plot.suffix!r}; use .html or .svg")
    net = load_network_arg(scenario)
    problems = net.problems()
    if problems:
        from supplyshock.domain.problems import ProblemReport

        raise ProblemReport(problems)
    if measure is not None:
        _by_measure(net, measure, on, days, registry, as_json, as_csv)
        return
    if on is not None:
        fail("--date goes with --measure")

    from supplyshock.analysis.survival.model import build_model
    from supplyshock.analysis.survival.sweep import (
        default_horizon,
        disruptions,
        risk_table,
        solve_all,
    )

    model = build_model(net)
    items = disruptions(model, "site" if level == "site" else "node", only)
    if default_ttr is not None:
        items = [(d, default_ttr if ttr is None else ttr) for d, ttr in items]
    h = default_horizon(items) if horizon is None else (None if horizon <= 0 else horizon)
    import os

    n_workers = workers if workers > 0 else (os.cpu_count() or 1)
    quiet = as_json or as_csv or len(items) < 200
    with Progress(
        TextColumn("disrupting {task.total} {task.fields[what]}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(),
        console=err_console,
        disable=quiet,
    ) as bar:
        task = bar.add_task("sweep", total=len(items), what=f"{level}s")

        def step(done: int, total: int) -> None:
            bar.update(task, completed=done)

        outcomes = solve_all(
            model, items, workers=n_workers, scheduler=scheduler, progress=step, horizon=h
        )
    rows = risk_table(model, items, outcomes)
    if plot is not None:
        from supplyshock.charts.survival import write_plot

        write_plot(rows, plot, title=f"Time to survive vs time to recover — {net.meta.name}")
        err_console.print(f"picture written to {plot}")
    if as_json:
        emit_json(
            {
                "network": net.meta.name,
                "level": level,
                "horizon_days": h,
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
                    }
                    for i, r in enumerate(rows, start=1)
                ],
            }
        )
        return
    if as_csv:
        emit_csv(
            CSV_HEADER,
            [
                [
                    i,
                    r.site,
                    r.part or "",
                    "inf" if math.isinf(r.tts) else f"{r.tts:.6g}",
                    r.beyond_horizon,
                    "" if r.ttr is None else f"{r.ttr:g}",
                    "" if r.lost_units is None else f"{r.lost_units:.6g}",
                    "" if r.lost_margin is None else f"{r.lost_margin:.6g}",
                    "" if r.rei is None else f"{r.rei:.4f}",
                    r.at_risk,
                ]
                for i, r in enumerate(rows, start=1)
            ],
        )
        return
    at_risk = sum(r.at_risk for r in rows)
    table = Table(
        title=f"Risk exposure — {net.meta.name}: {len(rows)} {level}s, {at_risk} with TTS < TTR",
        caption=None if h is None else f"TTS past {h:g} days shown as ≥{h:g} unless unbounded",
    )
    for col, justify in (
        ("#", "right"),
        (level, "left"),
        ("TTS d", "right"),
        ("TTR d", "right"),
        ("lost units", "right"),
        ("lost margin", "right"),
        ("REI", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    shown = rows if top <= 0 else rows[:top]
    for i, r in enumerate(shown, start=1):
        style = "bold red" if r.at_risk else None
        table.add_row(
            str(i),
            r.label,
            _days(r.tts, r.beyond_horizon),
            _days(r.ttr),
            _num(r.lost_units),
            _num(r.lost_margin),
            _num(r.rei, ".3f"),
            style=style,
        )
    console.print(table)


def _by_measure(
    net: object,
    measure: str,
    on: str | None,
    days: float,
    registry: list[Path] | None,
    as_json: bool,
    as_csv: bool,
) -> None:
    from supplyshock.analysis.survival.measure import lanes_blocked_by, survival_by_measure
    from supplyshock.data import load_registry_arg
    from supplyshock.domain.network import Network

    assert isinstance(net, Network)
    if on is None:
        fail("--measure needs --date")
    day = parse_date(on, "date")
    assert day is not None
    reg = load_registry_arg(registry)
    try:
        reg.measure(measure)
    except KeyError:
        fail(f"--measure: unknown measure {measure!r}")
    blocked = lanes_blocked_by(net, reg, measure, day)
    res = survival_by_measure(net, blocked, horizon_days=days)
    if as_json:
        emit_json(
            {
                "measure": measure,
                "date": day.isoformat(),
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
        )
        return
    if as_csv:
        emit_csv(
            ("plant", "tts_days", "lost_units", "lost_margin"),
            [
                [
                    p.plant,
                    "inf" if math.isinf(p.tts) else f"{p.tts:.6g}",
                    f"{p.lost_units:.6g}",
                    f"{p.lost_margin:.6g}",
                ]
                for p in res.plants
            ],
        )
        return
    table = Table(
        title=f"{measure} on {day}: {len(res.blocked_lanes)} lanes cut; "
        f"network TTS {_days(res.network_tts)} d; loss over {days:g} days"
    )
    for col in ("plant", "TTS d", "lost units", "lost margin"):
        table.add_column(col, justify="left" if col == "plant" else "right")
    for p in res.plants:
        table.add_row(
            p.plant,
            _days(p.tts),
            _num(p.lost_units),
            _num(p.lost_margin),
            style="bold red" if p.tts < days else None,
        )
    console.print(table)
    if not res.blocked_lanes:
        console.print("[green]the measure blocks no lane of this network on that day[/]")
