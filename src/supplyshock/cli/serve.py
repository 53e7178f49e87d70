"""``supplyshock serve``: run the REST API (``/api/v1``) with uvicorn on the configured database."""

from __future__ import annotations

from typing import Annotated

import typer

from supplyshock.cli._common import app, console


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
) -> None:
    """Serve the REST API; the database is migrated on start. Stop with Ctrl+C."""
    # FastAPI and uvicorn come with the "web" extra: import them only when serving.
    import uvicorn

    from supplyshock.api.app import create_app

    console.print(f"supplyshock API on http://{host}:{port}/api/v1 (docs: /api/v1/docs)")
    uvicorn.run(create_app(), host=host, port=port)
