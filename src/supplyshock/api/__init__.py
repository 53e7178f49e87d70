"""The REST API under ``/api/v1``: its routers and error handlers.

:func:`supplyshock.server.create_app` builds the application that serves them.
"""

from __future__ import annotations

from fastapi import FastAPI

from supplyshock.api import errors
from supplyshock.api.routers import ROUTERS

PREFIX = "/api/v1"


def install(app: FastAPI) -> None:
    """Add the API's routers under :data:`PREFIX` and its JSON error handlers to ``app``."""
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router, prefix=PREFIX)
