"""``supplyshock run``: start the platform on its embedded default and say where things stand.

It migrates the embedded SQLite store (or the configured database), loads the built-in registry
and scenario, prints the exposure overview, seeds demo members and serves the web UI and API.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn

from supplyshock.cli._common import app, checked, console, fail, parse_date

if TYPE_CHECKING:
    from supplyshock.settings import Settings


@app.command()
@checked
def run(
    on: Annotated[
        str | None, typer.Option("--date", help="Date of the exposure overview (default: today).")
    ] = None,
    scenario: Annotated[str, typer.Option(help="Built-in scenario or network file.")] = "auto-2025",
    timeline_from: Annotated[
        str, typer.Option("--from", help="With --no-serve: registry events from this date.")
    ] = "2025-01-01",
    host: Annotated[str, typer.Option(help="Address to serve the UI and API on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve/--no-serve", help="Serve the web UI (default), or only print the overview."
        ),
    ] = True,
) -> None:
    """Start supplyshock on its embedded default (SQLite, built-in data, demo members)."""
    from supplyshock.analysis.exposure import exposure
    from supplyshock.cli.exposure import show
    from supplyshock.cli.registry import _print_timeline
    from supplyshock.data import builtin_registry, load_network_arg
    from supplyshock.settings import get_settings

    day = parse_date(on) or date.today()
    start = parse_date(timeline_from, "from")
    settings = get_settings()
    url = settings.resolved_database_url()
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), console=console, transient=True
    ) as bar:
        task = bar.add_task("migrating the database", total=None)
        from supplyshock.store.migrate import upgrade

        upgrade(url)
        bar.update(task, description="loading the measure registry")
        registry = builtin_registry()
        bar.update(task, description=f"loading scenario {scenario}")
        from supplyshock.services.scenarios import load_limits

        network = load_network_arg(scenario, load_limits())
        bar.update(task, description="computing exposure")
        report = exposure(network, registry, day)
    console.print(f"[bold]supplyshock[/] database: {url}")
    console.print(
        f"registry: {len(registry.measures)} measures, {len(registry.observations)} observations; "
        f"scenario {network.meta.name}: {len(network.sites)} sites, {len(network.lanes)} lanes"
    )
    if not serve:
        _print_timeline(registry.timeline(start=start))
        show(report)
        return
    show(report, paths=False)
    _serve(settings, host, port)


def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from supplyshock.services.demo import seed_demo
    from supplyshock.store.db import make_engine, make_session_factory

    _check_port_free(host, port)  # before seeding: a failed start must not issue new tokens
    engine = make_engine(settings.resolved_database_url())
    try:
        seed = seed_demo(make_session_factory(engine))
    finally:
        engine.dispose()
    console.print(f"\n[bold green]supplyshock UI:[/] http://{host}:{port}/   (API: /api/v1)")
    for name, token in seed.member_tokens.items():
        console.print(f"  demo member token for {name}: [cyan]{token}[/]")
    console.print(f"  demo operator token: [cyan]{seed.operator_token}[/]")
    console.print("Sign in on the Exchange page with a token. Ctrl+C stops the server.")
    # The factory reads the same settings from the environment (server.py builds the app).
    uvicorn.run(
        "supplyshock.server:create_app", factory=True, host=host, port=port, log_level="warning"
    )


def _check_port_free(host: str, port: int) -> None:
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            fail(
                f"cannot listen on {host}:{port} ({e.strerror}): is supplyshock already running? "
                "Choose another port with --port"
            )
