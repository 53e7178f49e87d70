"""``supplyshock survival``: time to survive vs time to recover, impact and REI per node.

Parses options into a :class:`SurvivalRequest`, calls the service (or queues the same request as
a job with ``--detach``), renders the table, JSON, CSV or picture.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from supplyshock.analysis.survival.sweep import NodeRisk
from supplyshock.cli._common import (
    app,
    checked,
    console,
    emit_csv,
    emit_json,
    err_console,
    fail,
    parse_date,
    request_of,
)
from supplyshock.services.requests import MeasureSurvivalRequest, SurvivalRequest
from supplyshock.services.survival import SurvivalTable

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


OPTIONS = {"only": "--only", "default_ttr": "--default-ttr", "horizon": "--horizon"}


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
    wait: Annotated[
        bool,
        typer.Option(
            "--wait/--detach",
            help="Run here and print the result, or queue a job in the database and print "
            "its id (built-in scenarios only; see `supplyshock jobs`).",
        ),
    ] = True,
) -> None:
    """Rank nodes by risk exposure index: TTS, TTR, lost units and margin if down for TTR."""
    _check_outputs(as_json, as_csv, plot)
    if measure is not None:
        _by_measure(scenario, measure, on, days, registry, as_json, as_csv)
        return
    if on is not None:
        fail("--date goes with --measure")
    if level not in ("node", "site"):
        fail(f"--level: {level!r} is not 'node' or 'site'")
    req = request_of(
        SurvivalRequest,
        OPTIONS,
        scenario=scenario,
        level=level,
        only=only,
        default_ttr=default_ttr,
        horizon=horizon,
    )
    if not wait:
        from supplyshock.cli.jobs import detach

        detach("survival", req.model_dump(mode="json"))
        return
    table = _run(req, workers, scheduler, quiet=as_json or as_csv)
    if plot is not None:
        _write_plot(table, plot)
    if as_json:
        emit_json(table.document())
    elif as_csv:
        emit_csv(CSV_HEADER, _csv_rows(table.rows))
    else:
        _print_table(table, top)


def _check_outputs(as_json: bool, as_csv: bool, plot: Path | None) -> None:
    if as_json and as_csv:
        fail("choose one of --json and --csv")
    if plot is not None and plot.suffix.lower() not in (".html", ".svg"):
        if plot.suffix.lower() == ".png":
            fail(
                "--plot: PNG export needs the 'kaleido' package (Plotly's static image "
                "engine), which is not installed; use .html or .svg"
            )
        fail(f"--plot: unknown picture format {plot.suffix!r}; use .html or .svg")


def _run(
    req: SurvivalRequest, workers: int, scheduler: str | None, *, quiet: bool
) -> SurvivalTable:
    """The service, with a progress bar on stderr for sweeps long enough to want one."""
    from supplyshock.services.scenarios import checked_network
    from supplyshock.services.survival import rank_survival

    net = checked_network(req.scenario, allow_files=True)
    with Progress(
        TextColumn("disrupting {task.total} " + f"{req.level}s"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(),
        console=err_console,
        disable=quiet,
        transient=True,
    ) as bar:
        task = bar.add_task("sweep", total=None)

        def step(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return rank_survival(req, network=net, workers=workers, scheduler=scheduler, progress=step)


def _write_plot(table: SurvivalTable, plot: Path) -> None:
    from supplyshock.charts.survival import write_plot

    write_plot(table.rows, plot, title=f"Time to survive vs time to recover — {table.network}")
    err_console.print(f"picture written to {plot}")


def _csv_rows(rows: list[NodeRisk]) -> list[list[object]]:
    return [
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
    ]


def _caption(rows: list[NodeRisk], h: float | None) -> str | None:
    """The horizon note, and a note when the sweep fell back from the region method."""
    notes = [] if h is None else [f"TTS past {h:g} days shown as ≥{h:g} unless unbounded"]
    warm = sum(r.method == "warm" for r in rows)
    if warm:
        notes.append(
            f"{warm} of {len(rows)} solved as the whole-network LP (warm-started): the "
            "network is short before any disruption and sub-networks would be slower; "
            "answers are the same"
        )
    return "\n".join(notes) or None


def _print_table(t: SurvivalTable, top: int) -> None:
    rows, h = t.rows, t.horizon_days
    at_risk = sum(r.at_risk for r in rows)
    table = Table(
        title=f"Risk exposure — {t.network}: {len(rows)} {t.level}s, {at_risk} with TTS < TTR",
        caption=_caption(rows, h),
    )
    for col, justify in (
        ("#", "right"),
        (t.level, "left"),
        ("TTS d", "right"),
        ("TTR d", "right"),
        ("lost units", "right"),
        ("lost margin", "right"),
        ("REI", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    shown = rows if top <= 0 else rows[:top]
    for i, r in enumerate(shown, start=1):
        table.add_row(
            str(i),
            r.label,
            _days(r.tts, r.beyond_horizon),
            _days(r.ttr),
            _num(r.lost_units),
            _num(r.lost_margin),
            _num(r.rei, ".3f"),
            style="bold red" if r.at_risk else None,
        )
    console.print(table)


def _by_measure(
    scenario: str,
    measure: str,
    on: str | None,
    days: float,
    registry: list[Path] | None,
    as_json: bool,
    as_csv: bool,
) -> None:
    from supplyshock.data import load_registry_arg
    from supplyshock.services.survival import survival_by_measure

    if on is None:
        fail("--measure needs --date")
    day = parse_date(on, "date")
    req = request_of(
        MeasureSurvivalRequest, {}, scenario=scenario, measure=measure, date=day, days=days
    )
    doc = survival_by_measure(req, registry=load_registry_arg(registry), allow_files=True)
    if as_json:
        emit_json(doc)
    elif as_csv:
        emit_csv(
            ("plant", "tts_days", "lost_units", "lost_margin"),
            [
                [
                    p["plant"],
                    "inf" if p["tts_unbounded"] else f"{p['tts_days']:.6g}",
                    f"{p['lost_units']:.6g}",
                    f"{p['lost_margin']:.6g}",
                ]
                for p in doc["plants"]
            ],
        )
    else:
        _print_measure(doc)


def _print_measure(doc: dict[str, Any]) -> None:
    tts = math.inf if doc["network_tts_days"] is None else doc["network_tts_days"]
    days = doc["horizon_days"]
    table = Table(
        title=f"{doc['measure']} on {doc['date']}: {len(doc['blocked_lanes'])} lanes cut; "
        f"network TTS {_days(tts)} d; loss over {days:g} days"
    )
    for col in ("plant", "TTS d", "lost units", "lost margin"):
        table.add_column(col, justify="left" if col == "plant" else "right")
    for p in doc["plants"]:
        p_tts = math.inf if p["tts_unbounded"] else p["tts_days"]
        table.add_row(
            p["plant"],
            _days(p_tts),
            _num(p["lost_units"]),
            _num(p["lost_margin"]),
            style="bold red" if p_tts < days else None,
        )
    console.print(table)
    if not doc["blocked_lanes"]:
        console.print("[green]the measure blocks no lane of this network on that day[/]")
