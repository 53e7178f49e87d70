"""``supplyshock run``: start the platform on its embedded default and show where things stand.

Until the web server exists this is the platform's front door: it migrates the embedded SQLite
store, loads the built-in registry and scenario, and prints the timeline and exposure overview.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn

from supplyshock.cli._common import app, checked, console, parse_date


@app.command()
@checked
def run(
    on: Annotated[
        str | None, typer.Option("--date", help="Date of the exposure report (default: today).")
    ] = None,
    scenario: Annotated[str, typer.Option(help="Built-in scenario or network file.")] = "auto-2025",
    timeline_from: Annotated[
        str, typer.Option("--from", help="Show registry events from this date.")
    ] = "2025-01-01",
) -> None:
    """Start supplyshock on its embedded default (SQLite, built-in data) and print an overview."""
    from supplyshock.analysis.exposure import exposure
    from supplyshock.cli.exposure import show
    from supplyshock.cli.registry import _print_timeline
    from supplyshock.data import builtin_registry, load_network_arg
    from supplyshock.settings import get_settings

    day = parse_date(on) or date.today()
    start = parse_date(timeline_from, "from")
    url = get_settings().resolved_database_url()
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), console=console, transient=True
    ) as bar:
        task = bar.add_task("migrating the database", total=None)
        from supplyshock.store.migrate import upgrade

        upgrade(url)
        bar.update(task, description="loading the measure registry")
        registry = builtin_registry()
        bar.update(task, description=f"loading scenario {scenario}")
        network = load_network_arg(scenario)
        bar.update(task, description="computing exposure")
        report = exposure(network, registry, day)
    console.print(f"[bold]supplyshock[/] database: {url}")
    console.print(
        f"registry: {len(registry.measures)} measures, {len(registry.observations)} observations; "
        f"scenario {network.meta.name}: {len(network.sites)} sites, {len(network.lanes)} lanes"
    )
    _print_timeline(registry.timeline(start=start))
    show(report)
