"""``supplyshock serve``: run the REST API (``/api/v1``) with uvicorn on the configured database."""

from __future__ import annotations

from typing import Annotated

import typer

from supplyshock.cli._common import app, console


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            help="Server processes (production: about one per core). Each keeps "
            "SUPPLYSHOCK_DB_POOL_SIZE database connections; the rate limit is shared.",
            min=1,
            max=64,
        ),
    ] = 1,
) -> None:
    """Serve the REST API; the database is migrated on start. Stop with Ctrl+C."""
    # FastAPI and uvicorn come with the "web" extra: import them only when serving.
    import uvicorn

    console.print(
        f"supplyshock API on http://{host}:{port}/api/v1 (docs: /api/v1/docs), {workers} worker(s)"
    )
    # Worker processes each build their own application (and pool) from the factory; each
    # migrates at start-up, one at a time (server.py), the later ones finding nothing to do.
    # A spawned worker imports the whole application before it answers the supervisor's
    # health pings; uvicorn's 5 s default killed slow starters on a busy 2-core host.
    uvicorn.run(
        "supplyshock.server:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        timeout_worker_healthcheck=30,
    )
