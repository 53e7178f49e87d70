"""``supplyshock schema`` and ``supplyshock validate``: the network and registry formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from supplyshock.cli._common import app, checked, console
from supplyshock.formats.schema import SCHEMAS, schema_for

FORMATS = (*SCHEMAS, "assumptions")


@app.command()
def schema(
    kind: Annotated[str, typer.Argument(help=f"Which format: {', '.join(FORMATS)}.")] = "network",
) -> None:
    """Print the JSON Schema of a file format."""
    from supplyshock.cli._common import fail

    if kind == "assumptions":
        # Monte Carlo scenario assumptions live with their engine (analysis/montecarlo).
        from supplyshock.analysis.montecarlo.assumptions import schema as assumptions_schema

        typer.echo(json.dumps(assumptions_schema(), indent=2))
        return
    if kind not in SCHEMAS:
        fail(f"unknown format {kind!r}; choose one of: {', '.join(FORMATS)}")
    typer.echo(json.dumps(schema_for(kind), indent=2))


@app.command()
@checked
def validate(
    path: Annotated[Path, typer.Argument(help="A network or registry file (YAML or JSON).")],
    kind: Annotated[str, typer.Option(help="network or registry")] = "network",
) -> None:
    """Check a file and list every problem with its file, line and field path."""
    if kind == "registry":
        from supplyshock.formats.registry import load_registry

        reg = load_registry(path)
        console.print(
            f"[green]ok[/]: {len(reg.measures)} measures, {len(reg.observations)} observations"
        )
    else:
        from supplyshock.formats.network import load_network
        from supplyshock.services.scenarios import load_limits

        net = load_network(path, load_limits())
        console.print(
            f"[green]ok[/]: {len(net.sites)} sites, {len(net.parts)} parts, "
            f"{len(net.lanes)} lanes, {len(net.bom)} BOM lines"
        )
